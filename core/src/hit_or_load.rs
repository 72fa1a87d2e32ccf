//! The future of a read-through call: a lookup that answers a hit in its first poll without
//! entering the miss path's state machine, and a miss path that is compiled out of line.
//!
//! An `async fn` that looks up and then awaits the miss path is one state machine: LLVM inlines
//! the whole miss path (join, load, landing) into the caller's poll when it can, and a hit pays
//! for that machine's entry, its jump tables and the caller's spilled registers; when it cannot
//! (a loader type used at several call sites), a hit pays for a call that returns the answer
//! through memory. Here `poll` is always inlined and holds only the lookup; a miss builds the
//! miss path's future (in place, in the same memory: a miss allocates nothing more) and polls it
//! through `#[inline(never)]` functions.
//!
//! How the answer travels matters as much as the instruction count (measured in
//! `benches/RESULTS-hitpath.md`): a hit's answer must stay in registers until the caller uses
//! it. Two things used to put it in memory, where it was written field by field and read back
//! at once by wider loads (a store-forwarding stall each, which made a hit slower in wall time
//! than with the `async fn` at fewer instructions):
//! - the out-of-line miss functions returning the answer: the caller's slot for it was shared
//!   with the hit's answer. They leave it in the future (`Landed`) and return only whether it
//!   is there.
//! - a state change after a hit that drops whatever the state holds: the state is read back
//!   after the lookup's atomics, and every state's drop (calls that may unwind while the answer
//!   is alive) is considered. A hit's state change drops the closures it knows are there.

use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr;
use core::task::{Context, Poll};

/// Looks up with `look`; on a miss, runs the future that `start` makes from what the lookup
/// found.
///
/// What both need (the cache, the key, the loader) is held once, in `args`, and lent to
/// `look` and given to `start`: closures that captured it each would store it twice when the
/// future is made, which is most of what a hit pays beyond the lookup itself.
pub(crate) enum HitOrLoad<Args, Look, Start, Load, Output> {
    /// Not polled yet.
    Lookup {
        args: Args,
        look: Look,
        start: Start,
    },
    /// The miss path's future, pinned (never moved; dropped in place).
    Loading { load: ManuallyDrop<Load> },
    /// The miss path's answer, until `poll` hands it out.
    Landed { answer: Output },
    /// The answer was handed out.
    Done,
}

impl<Args, Look, Start, Load, Output> HitOrLoad<Args, Look, Start, Load, Output> {
    /// A lookup that answers at once (`Ok`) or hands what it found to `start` (`Err`).
    pub(crate) fn new<Missed>(args: Args, look: Look, start: Start) -> Self
    where
        Look: Fn(&Args) -> Result<Output, Missed>,
        Start: FnOnce(Args, Missed) -> Load,
        Load: Future<Output = Output>,
    {
        HitOrLoad::Lookup { args, look, start }
    }

    /// `Lookup` → `Done` after a hit: the closures are moved out, the state overwritten without
    /// a drop, then the closures dropped. The caller's compiler then knows the state it drops
    /// the future in (`Done`: nothing to do).
    #[inline(always)]
    fn finish_hit(&mut self) {
        let HitOrLoad::Lookup { args, look, start } = self else {
            // SAFETY: only called by `poll` in the lookup state, right after the lookup, which
            // cannot reach this future (`poll` holds it exclusively). A checked `unreachable!`
            // here would be a call that may unwind while the answer is alive.
            unsafe { core::hint::unreachable_unchecked() }
        };
        // SAFETY: `Lookup`'s fields are not pinned (they are never polled), so they may be
        // moved out; they are read once, and the state is overwritten without being dropped,
        // so nothing is dropped twice, even if dropping a closure unwinds (the state is
        // already `Done` then).
        let closures = unsafe { (ptr::read(args), ptr::read(look), ptr::read(start)) };
        // SAFETY: `self` is valid for writes; its old contents were moved out just above.
        unsafe { ptr::write(self, HitOrLoad::Done) };
        drop(closures);
    }

    /// `Landed` → `Done`, handing out the answer.
    #[inline(always)]
    fn take_landed(&mut self) -> Output {
        let HitOrLoad::Landed { answer } = self else {
            unreachable!("the miss path said it landed")
        };
        // SAFETY: read once; the state is overwritten below without being dropped.
        let answer = unsafe { ptr::read(answer) };
        // SAFETY: `self` is valid for writes; its only field was moved out just above.
        unsafe { ptr::write(self, HitOrLoad::Done) };
        answer
    }
}

impl<Args, Look, Start, Load, Output, Missed> Future for HitOrLoad<Args, Look, Start, Load, Output>
where
    Look: Fn(&Args) -> Result<Output, Missed>,
    Start: FnOnce(Args, Missed) -> Load,
    Load: Future<Output = Output>,
{
    type Output = Output;

    /// Always inlined: out of line, the answer would come back through memory (the return
    /// slot), written field by field and read back by wider loads.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        // SAFETY: nothing here or in the functions it calls moves the `Loading` future: it is
        // polled through `Pin::new_unchecked` in place and dropped in place.
        let step = unsafe { self.get_unchecked_mut() };
        let landed = match step {
            // The lookup is called by reference: a hit moves nothing before it answers.
            HitOrLoad::Lookup { args, look, .. } => match look(args) {
                Ok(answer) => {
                    step.finish_hit();
                    return Poll::Ready(answer);
                }
                Err(missed) => start_loading(step, missed, cx),
            },
            HitOrLoad::Loading { .. } => poll_loading(step, cx),
            HitOrLoad::Landed { .. } | HitOrLoad::Done => {
                panic!("a read-through future polled after it completed")
            }
        };
        match landed {
            Poll::Ready(()) => Poll::Ready(step.take_landed()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<Args, Look, Start, Load, Output> Drop for HitOrLoad<Args, Look, Start, Load, Output> {
    /// The miss path's future is dropped by a call: the drop glue the caller inlines stays a
    /// test of the state.
    #[inline(always)]
    fn drop(&mut self) {
        if let HitOrLoad::Loading { load } = self {
            drop_loading(load);
        }
    }
}

#[inline(never)]
fn drop_loading<Load>(load: &mut ManuallyDrop<Load>) {
    // SAFETY: called once, from `Drop`, after which the state is never used again.
    unsafe { ManuallyDrop::drop(load) }
}

/// Builds the miss path's future in place and polls it for the first time.
#[inline(never)]
fn start_loading<Args, Look, Start, Load, Output, Missed>(
    step: &mut HitOrLoad<Args, Look, Start, Load, Output>,
    missed: Missed,
    cx: &mut Context<'_>,
) -> Poll<()>
where
    Start: FnOnce(Args, Missed) -> Load,
    Load: Future<Output = Output>,
{
    let HitOrLoad::Lookup { args, look, start } = step else {
        unreachable!("a miss starts from the lookup state")
    };
    // SAFETY: as in `finish_hit`: moved out once, then the state is overwritten without a drop
    // (`Done` first: if `start` or a closure's drop unwinds, the future is finished).
    let (args, look, start) = unsafe { (ptr::read(args), ptr::read(look), ptr::read(start)) };
    // SAFETY: `step` is valid for writes; its old contents were moved out just above.
    unsafe { ptr::write(step, HitOrLoad::Done) };
    drop(look);
    let load = ManuallyDrop::new(start(args, missed));
    // SAFETY: `Done` holds nothing to drop.
    unsafe { ptr::write(step, HitOrLoad::Loading { load }) };
    poll_loading(step, cx)
}

/// Polls the miss path's future; finished, it is dropped in place and the step is `Landed`.
#[inline(never)]
fn poll_loading<Args, Look, Start, Load: Future<Output = Output>, Output>(
    step: &mut HitOrLoad<Args, Look, Start, Load, Output>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let HitOrLoad::Loading { load } = step else {
        unreachable!("only called in the loading state")
    };
    // SAFETY: the future lives in the pinned `HitOrLoad` and is never moved out of it.
    let answer = core::task::ready!(unsafe { Pin::new_unchecked(&mut **load) }.poll(cx));
    // If the finished future's drop unwinds, the state becomes `Done` without dropping it
    // again.
    let done = DoneOnUnwind(step);
    let HitOrLoad::Loading { load } = &mut *done.0 else {
        unreachable!("still in the loading state")
    };
    // SAFETY: dropped in place, once: the state is overwritten next (or by `DoneOnUnwind`)
    // without being dropped.
    unsafe { ManuallyDrop::drop(load) };
    let step = done.disarm();
    // SAFETY: `step` is valid for writes; its future was dropped just above.
    unsafe { ptr::write(step, HitOrLoad::Landed { answer }) };
    Poll::Ready(())
}

/// Marks the step `Done` (without dropping it) if dropped while unwinding.
struct DoneOnUnwind<'a, Args, Look, Start, Load, Output>(
    &'a mut HitOrLoad<Args, Look, Start, Load, Output>,
);

impl<'a, Args, Look, Start, Load, Output> DoneOnUnwind<'a, Args, Look, Start, Load, Output> {
    fn disarm(self) -> &'a mut HitOrLoad<Args, Look, Start, Load, Output> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the reference is moved out of it.
        unsafe { ptr::read(&this.0) }
    }
}

impl<Args, Look, Start, Load, Output> Drop for DoneOnUnwind<'_, Args, Look, Start, Load, Output> {
    fn drop(&mut self) {
        // SAFETY: the step's future was dropped (or its drop unwound); nothing else in it
        // needs dropping.
        unsafe { ptr::write(self.0, HitOrLoad::Done) };
    }
}
