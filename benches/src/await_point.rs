//! An await that could suspend, as far as the optimiser knows, and never does.
//!
//! A loop with such an await in an `async` block keeps its variables in the block's state
//! (memory) across it, as a loop awaiting `get_or_load` must: timing plain `get` in that loop
//! separates what being in `async` code costs the caller from what the read-through API
//! adds to a hit.

use core::future::Future;
use core::hint::black_box;
use core::task::Poll;

/// Ready at its first poll, through a branch the optimiser cannot see through.
///
/// ```
/// # futures_lite::future::block_on(async {
/// readthrough_benches::await_point::await_point().await;
/// # });
/// ```
pub fn await_point() -> impl Future<Output = ()> {
    core::future::poll_fn(|_| {
        if black_box(false) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
}
