//! When a hit on a value that is still fresh starts a refresh.

use core::time::Duration;

use crate::error::BuildError;

/// When a hit starts refreshing a value before it expires, so that a key read steadily never
/// expires: set with [`Builder::refresh_ahead`](crate::Builder::refresh_ahead).
///
/// The point is measured back from the value's expiry, which every entry knows whatever TTL it
/// was stored with; a percentage is converted once, at build, against the cache's default
/// [`ttl`](crate::Builder::ttl), in integer arithmetic (no floating point reaches an MCU's
/// flash for it).
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::RefreshAhead;
///
/// // With a 60 s TTL, both refresh a value read in its last 12 s.
/// let by_share = RefreshAhead::AfterPercent(80);
/// let by_time = RefreshAhead::BeforeExpiry(Duration::from_secs(12));
/// # let _ = (by_share, by_time);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshAhead {
    /// Once this percentage of the cache's default TTL has passed: `80` with a 60 s TTL
    /// refreshes a value read in its last 12 s. Must be 1 to 99, and the cache needs a
    /// [`ttl`](crate::Builder::ttl). An entry stored with a TTL of its own (a `_with_ttl`
    /// loader, [`insert_with_ttl`](crate::Cache::insert_with_ttl)) is refreshed in the same
    /// last stretch of its life, `(100 - percent)% of the default TTL`; one whose own TTL is
    /// shorter than that is due for refresh from its first hit.
    AfterPercent(u8),
    /// When less than this is left of the value's life. Must be longer than zero, and shorter
    /// than the cache's default TTL if it has one.
    BeforeExpiry(Duration),
}

impl RefreshAhead {
    /// How long before expiry a hit starts a refresh, or why this setting makes no sense with
    /// this `ttl`.
    pub(crate) fn margin(self, ttl: Option<Duration>) -> Result<Duration, BuildError> {
        match self {
            RefreshAhead::AfterPercent(percent) => {
                if !(1..=99).contains(&percent) {
                    return Err(BuildError::RefreshAheadPercent);
                }
                match ttl {
                    // Divided first, so that no TTL overflows; a hundredth of a nanosecond
                    // is all that is lost.
                    Some(ttl) if !ttl.is_zero() => Ok(ttl / 100 * u32::from(100 - percent)),
                    _ => Err(BuildError::RefreshAheadNeedsTtl),
                }
            }
            RefreshAhead::BeforeExpiry(margin) if margin.is_zero() => {
                Err(BuildError::ZeroDuration("refresh_ahead"))
            }
            RefreshAhead::BeforeExpiry(margin) => match ttl {
                Some(ttl) if margin >= ttl => Err(BuildError::RefreshAheadNotBeforeTtl),
                _ => Ok(margin),
            },
        }
    }
}
