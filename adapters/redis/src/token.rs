//! Random identities: a node's id on the channel and each lock's token.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

/// The random token that proves a [`RedisTier`](crate::RedisTier) node holds a key's fleet lock;
/// only this token releases it.
///
/// Tokens are 128 bits from std's randomly keyed SipHash over a per-process counter: unique
/// per acquisition and not guessable by another node, which is what the compare-and-delete needs
/// (they are not a secret against someone who can read Redis).
///
/// ```
/// # let _ = core::mem::size_of::<readthrough_redis::LockToken>();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockToken(pub(crate) [u8; 16]);

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn random_u64() -> u64 {
    // RandomState's keys come from the OS's randomness; the counter makes each call distinct.
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn new_token() -> LockToken {
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    LockToken(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_differ() {
        assert_ne!(super::new_token(), super::new_token());
    }
}
