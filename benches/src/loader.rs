//! The storm loader every contender runs: it sleeps on the tokio timer for [`STORM_LOAD_TIME`],
//! then answers the key itself or fails, and counts its calls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long one storm load takes (real tokio time).
pub const STORM_LOAD_TIME: Duration = Duration::from_millis(10);

static STORM_LOADS: AtomicU64 = AtomicU64::new(0);

/// The error a failing storm loader returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadFailed;

impl core::fmt::Display for LoadFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the storm loader failed on purpose")
    }
}

impl std::error::Error for LoadFailed {}

/// Whether a storm's loader succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StormOutcome {
    /// The loader answers the key after [`STORM_LOAD_TIME`].
    Succeeds,
    /// The loader fails after [`STORM_LOAD_TIME`].
    Fails,
}

/// One storm load of `key`: counts the call, sleeps, then answers `key` or fails.
///
/// ```
/// use readthrough_benches::loader::{slow_load, storm_loads, StormOutcome};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let before = storm_loads();
/// assert_eq!(slow_load(5, StormOutcome::Succeeds).await, Ok(5));
/// assert!(slow_load(5, StormOutcome::Fails).await.is_err());
/// assert_eq!(storm_loads() - before, 2);
/// # });
/// ```
pub async fn slow_load(key: u64, outcome: StormOutcome) -> Result<u64, LoadFailed> {
    STORM_LOADS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(STORM_LOAD_TIME).await;
    match outcome {
        StormOutcome::Succeeds => Ok(key),
        StormOutcome::Fails => Err(LoadFailed),
    }
}

/// How many storm loads ran in this process so far.
///
/// ```
/// use readthrough_benches::loader::storm_loads;
/// assert!(storm_loads() < u64::MAX);
/// ```
pub fn storm_loads() -> u64 {
    STORM_LOADS.load(Ordering::SeqCst)
}
