//! When a hit on a value that is still fresh starts a refresh.

use core::time::Duration;

use crate::error::BuildError;

/// When a hit starts refreshing a value before it expires, so that a key read steadily never
/// expires: set with [`Builder::refresh_ahead`](crate::Builder::refresh_ahead).
///
/// The point is measured back from the value's expiry, which every entry knows whatever TTL it
/// was stored with; a fraction is converted once, at build, against the cache's default
/// [`ttl`](crate::Builder::ttl).
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::RefreshAhead;
///
/// // With a 60 s TTL, both refresh a value read in its last 12 s.
/// let by_share = RefreshAhead::AfterFraction(0.8);
/// let by_time = RefreshAhead::BeforeExpiry(Duration::from_secs(12));
/// # let _ = (by_share, by_time);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RefreshAhead {
    /// Once this share of the cache's default TTL has passed: `0.8` with a 60 s TTL refreshes
    /// a value read in its last 12 s. Must lie strictly between 0 and 1, and the cache needs a
    /// [`ttl`](crate::Builder::ttl). An entry stored with a TTL of its own (a `_with_ttl`
    /// loader, [`insert_with_ttl`](crate::Cache::insert_with_ttl)) is refreshed in the same
    /// last stretch of its life, `(1 - share) × default TTL`; one whose own TTL is shorter than
    /// that is due for refresh from its first hit.
    AfterFraction(f64),
    /// When less than this is left of the value's life. Must be longer than zero, and shorter
    /// than the cache's default TTL if it has one.
    BeforeExpiry(Duration),
}

impl RefreshAhead {
    /// How long before expiry a hit starts a refresh, or why this setting makes no sense with
    /// this `ttl`.
    pub(crate) fn margin(self, ttl: Option<Duration>) -> Result<Duration, BuildError> {
        match self {
            RefreshAhead::AfterFraction(share) => {
                if !(share > 0.0 && share < 1.0) {
                    return Err(BuildError::RefreshAheadFraction);
                }
                match ttl {
                    Some(ttl) if !ttl.is_zero() => Ok(ttl.mul_f64(1.0 - share)),
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
