use readthrough_core::Status;

/// Response header telling how the proxy served a request.
pub const X_CACHE: &str = "x-cache";

/// The `x-cache` value for a cache status: `HIT`, `MISS` (this request loaded it from the origin),
/// `EXPIRED` (loaded again after its TTL ran out), `LOCK-HIT` (waited for another request's load)
/// or `STALE`.
///
/// ```
/// use readthrough_core::Status;
/// use readthrough_example_tokio_proxy::cache_header_value;
/// assert_eq!(cache_header_value(Status::LockHit), "LOCK-HIT");
/// ```
pub fn cache_header_value(status: Status) -> &'static str {
    match status {
        Status::Hit => "HIT",
        Status::Miss => "MISS",
        Status::Expired => "EXPIRED",
        Status::LockHit => "LOCK-HIT",
        Status::Stale(_) => "STALE",
        Status::TierHit => "TIER-HIT",
        Status::TierLockHit => "TIER-LOCK-HIT",
        Status::Refreshed => "REFRESHED",
    }
}
