//! Pingora's `RTCache` (crate `pingora-memory-cache`: TinyUFO storage, ahash, tokio semaphores).
//! Its lookup is a type-level callback without `self`, so each loader is its own type.

use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use pingora_memory_cache::{CacheStatus, Lookup as PingoraLookup, RTCache};

use crate::contender::{Contender, Lookup, StormContender};
use crate::loader::{LoadFailed, StormOutcome, slow_load};

type LookupResult = Result<(u64, Option<Duration>), Box<dyn StdError + Send + Sync>>;

/// The instant loader: the value of a key is the key.
pub struct InstantLookup;

#[async_trait]
impl PingoraLookup<u64, u64, ()> for InstantLookup {
    async fn lookup(key: &u64, _extra: Option<&()>) -> LookupResult {
        Ok((*key, None))
    }
}

/// The storm loader that succeeds.
pub struct SlowLookup;

#[async_trait]
impl PingoraLookup<u64, u64, ()> for SlowLookup {
    async fn lookup(key: &u64, _extra: Option<&()>) -> LookupResult {
        let value = slow_load(*key, StormOutcome::Succeeds).await?;
        Ok((value, None))
    }
}

/// The storm loader that fails.
pub struct FailingLookup;

#[async_trait]
impl PingoraLookup<u64, u64, ()> for FailingLookup {
    async fn lookup(key: &u64, _extra: Option<&()>) -> LookupResult {
        let value = slow_load(*key, StormOutcome::Fails).await?;
        Ok((value, None))
    }
}

/// `RTCache` with the instant loader, no lock age and no lock timeout (its defaults in the docs).
pub struct Pingora(RTCache<u64, u64, InstantLookup, ()>);

impl Contender for Pingora {
    const NAME: &'static str = "pingora RTCache";
    type Storm = PingoraStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(RTCache::new(capacity, None, None))
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        let (result, status) = self.0.get(&key, None, None).await;
        Lookup {
            value: result.unwrap_or(u64::MAX),
            loaded: !matches!(status, CacheStatus::Hit),
        }
    }

    fn plain_get(&self, _key: u64) -> Option<Option<u64>> {
        None
    }

    async fn settle(&self) {}

    fn entry_count(&self) -> Option<usize> {
        None
    }
}

/// `RTCache` with a storm loader.
pub enum PingoraStorm {
    /// The loader succeeds.
    Succeeding(RTCache<u64, u64, SlowLookup, ()>),
    /// The loader fails.
    Failing(RTCache<u64, u64, FailingLookup, ()>),
}

impl StormContender for PingoraStorm {
    fn for_storm(capacity: usize, outcome: StormOutcome) -> Self {
        match outcome {
            StormOutcome::Succeeds => Self::Succeeding(RTCache::new(capacity, None, None)),
            StormOutcome::Fails => Self::Failing(RTCache::new(capacity, None, None)),
        }
    }

    async fn get_or_load_slowly(&self, key: u64) -> Result<u64, LoadFailed> {
        let (result, _status) = match self {
            Self::Succeeding(cache) => cache.get(&key, None, None).await,
            Self::Failing(cache) => cache.get(&key, None, None).await,
        };
        result.map_err(|_| LoadFailed)
    }
}
