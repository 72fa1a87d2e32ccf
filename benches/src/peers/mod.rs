//! The four caches behind the [`crate::contender::Contender`] interface.

pub mod defaults;
mod moka;
mod pingora;
mod quick_cache;
mod readthrough;
pub mod reference;
pub mod weighted;

pub use self::moka::{Moka, MokaStorm};
pub use self::pingora::{Pingora, PingoraStorm};
pub use self::quick_cache::{QuickCache, QuickCacheStorm};
pub use self::readthrough::{Readthrough, ReadthroughCache, ReadthroughStorm};
