//! The future of a read-through call: a lookup that answers a hit in its first poll without
//! entering the miss path's state machine, and a miss path that is compiled out of line.
//!
//! An `async fn` that looks up and then awaits the miss path is one state machine: LLVM inlines
//! the whole miss path (join, load, landing) into the caller's poll, and a hit pays for that
//! machine's entry, its jump tables and the caller's spilled registers. Here the lookup is a
//! closure run inline by `poll`; only a miss builds the miss path's future (in place, in the
//! same memory: a miss allocates nothing more) and polls it through an `#[inline(never)]`
//! function, so a hit's code stays small enough to be inlined into the caller.

use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::task::{Context, Poll};

pin_project_lite::pin_project! {
    /// Looks up with `look`; on a miss, runs the future that `start` makes from what the lookup
    /// found.
    #[project = StepProjection]
    #[project_replace = StepOwned]
    pub(crate) enum HitOrLoad<Look, Start, Load> {
        Lookup { look: Look, start: Start },
        Loading { #[pin] load: OutOfLine<Load> },
        Done,
    }
}

impl<Look, Start, Load> HitOrLoad<Look, Start, Load> {
    /// A lookup that answers at once (`Ok`) or hands what it found to `start` (`Err`).
    pub(crate) fn new<Missed>(look: Look, start: Start) -> Self
    where
        Look: FnOnce() -> Result<Load::Output, Missed>,
        Start: FnOnce(Missed) -> Load,
        Load: Future,
    {
        HitOrLoad::Lookup { look, start }
    }
}

impl<Look, Start, Load, Missed> Future for HitOrLoad<Look, Start, Load>
where
    Look: FnOnce() -> Result<Load::Output, Missed>,
    Start: FnOnce(Missed) -> Load,
    Load: Future,
{
    type Output = Load::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Load::Output> {
        match self.as_mut().project() {
            StepProjection::Lookup { .. } => {}
            StepProjection::Loading { .. } => return poll_loading(self, cx),
            StepProjection::Done => panic!("a read-through future polled after it completed"),
        }
        // `Done` first: if the lookup panics (a user `Hash` or `Eq`), the future is finished.
        let StepOwned::Lookup { look, start } = self.as_mut().project_replace(HitOrLoad::Done)
        else {
            unreachable!("the state was checked above")
        };
        match look() {
            Ok(answer) => Poll::Ready(answer),
            Err(missed) => start_loading(self, start, missed, cx),
        }
    }
}

/// Builds the miss path's future in place and polls it for the first time.
#[inline(never)]
fn start_loading<Look, Start, Load, Missed>(
    mut step: Pin<&mut HitOrLoad<Look, Start, Load>>,
    start: Start,
    missed: Missed,
    cx: &mut Context<'_>,
) -> Poll<Load::Output>
where
    Start: FnOnce(Missed) -> Load,
    Load: Future,
{
    step.set(HitOrLoad::Loading {
        load: OutOfLine(ManuallyDrop::new(start(missed))),
    });
    poll_loading(step, cx)
}

/// Polls the miss path's future; finished, the step is `Done` (and the future dropped).
#[inline(never)]
fn poll_loading<Look, Start, Load: Future>(
    mut step: Pin<&mut HitOrLoad<Look, Start, Load>>,
    cx: &mut Context<'_>,
) -> Poll<Load::Output> {
    let StepProjection::Loading { load } = step.as_mut().project() else {
        unreachable!("only called in the loading state")
    };
    let answer = core::task::ready!(load.pinned().poll(cx));
    step.set(HitOrLoad::Done);
    Poll::Ready(answer)
}

/// The miss path's future, dropped by a call: the enum's own drop glue then stays a test of its
/// state that the caller inlines, instead of a call made on every hit.
pub(crate) struct OutOfLine<F>(ManuallyDrop<F>);

impl<F> OutOfLine<F> {
    fn pinned(self: Pin<&mut Self>) -> Pin<&mut F> {
        // SAFETY: a projection to the only field, which is never moved out: it is pinned when
        // `self` is, and dropped in place by `Drop` below.
        unsafe { self.map_unchecked_mut(|cold| &mut *cold.0) }
    }
}

impl<F> Drop for OutOfLine<F> {
    #[inline(never)]
    fn drop(&mut self) {
        // SAFETY: dropped once, here, and never used after.
        unsafe { ManuallyDrop::drop(&mut self.0) }
    }
}
