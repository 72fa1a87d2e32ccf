//! A shard lock whose readers write only cache lines of their own thread.

use crate::lock::RawLock;
use crate::slot_column::{SlotColumn, Stripe};
use crate::sync::{AtomicBool, AtomicUsize, Ordering};

/// A read-write lock for read-mostly shards ("big reader" lock): the default with `std`.
///
/// A read-write lock counts its readers in one word, so every shared acquire and release is an
/// atomic read-modify-write of one cache line, which two cores reading the same shard pass back
/// and forth. This lock gives each shard one reader count per thread slot and each thread a
/// slot of its own (the smallest index free when it first reads, given back when it exits;
/// twice as many slots as the machine has cores, and one that the threads past those share): a
/// reader increments its slot's count and checks the writer flag, so readers on different cores
/// share no line that either writes, and leaves with a plain store (its slot has no other
/// writer), so a read costs one locked instruction, where a read-write lock's costs two. The counts live in a process-wide table whose rows belong
/// to slots: a thread's counts for every shard lie side by side in its row, so reading many
/// shards keeps few lines in the core's cache, and no two rows share a line.
///
/// The writer flag is also the writers' mutex: a writer raises it with one compare-exchange
/// (false to true), waits (spinning briefly, then yielding) for every slot's count to reach
/// zero, runs, and lowers it with a store. A reader that finds the flag raised backs out
/// and waits, spinning then yielding, until it is lowered, then tries again; a reader that has
/// backed out twice takes the flag itself, as a writer would, only to count itself in, so that
/// a stream of writers cannot keep it out by raising the flag again between its tries: it then
/// competes for the flag with them as an equal (a test-and-set, not a queue). Waiting threads
/// spin and yield rather than park: the sections this lock guards are a hash probe and a clone
/// (reads) or an insert with its eviction (writes), never a wait. A write costs a look at every
/// slot (twice as many own slots as the machine has threads, at most 32, and the shared one).
///
/// Memory: the lock itself is 32 bytes; its counts take 8 bytes per slot in the table (a
/// 64-shard cache on a 16-thread machine: 33 slots, 16.5 KiB, and as much for the striped hit
/// counter). The table grows by blocks of 512 counts per slot (4 KiB per slot) and keeps them for reuse.
///
/// ```
/// use readthrough_core::{Cache, ReadMostlyLock};
///
/// let cache = Cache::<u32, u32>::builder()
///     .capacity(16)
///     .lock::<ReadMostlyLock>()
///     .build()
///     .unwrap();
/// cache.insert(1, 10);
/// assert_eq!(cache.get(&1), Some(10));
/// ```
pub struct ReadMostlyLock {
    /// Raised (compare-exchange false to true) by the one thread that holds the lock's
    /// exclusive side: a writer until its closure returns, or a reader out of patience while it
    /// counts itself in.
    writer: AtomicBool,
    /// A slot's count is the number of readers inside through it.
    slots: SlotColumn,
    /// Under loom, threads that wait for the flag's lowering block here instead of spinning:
    /// loom explores two spinners yielding to each other forever and never to the holder, so a
    /// model with two waiters would not end. The flag and the slots, which the exclusion rests
    /// on, are accessed as without loom.
    #[cfg(loom)]
    lowered: (loom::sync::Mutex<()>, loom::sync::Condvar),
}

/// How many times a reader backs out for a writer before it takes the flag itself to enter.
const BACK_OUTS: u32 = 2;

impl core::fmt::Debug for ReadMostlyLock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadMostlyLock")
            .field("slots", &self.slots.slots())
            .field("writer", &self.writer.load(Ordering::Relaxed))
            .finish()
    }
}

impl ReadMostlyLock {
    /// Enters as a reader through `slot`.
    #[inline]
    fn enter(&self, slot: &AtomicUsize) {
        // SeqCst on both sides (this increment then the flag's load here; the flag's raising
        // then the slots' loads in `wait_for_readers`): in their single total order either this
        // load sees the flag raised, or the writer's load of this slot sees the increment and
        // waits.
        //
        // The increments and the backing out are SeqCst read-modify-writes; leaving is a
        // Release store in an own slot (no locked instruction: `Leave`) and a Release
        // decrement in the shared one, except under Miri (see `Leave`).
        slot.fetch_add(1, Ordering::SeqCst);
        loom_sees_seq_cst();
        if self.writer.load(Ordering::SeqCst) {
            self.enter_behind_writer(slot);
        }
    }

    /// Backs out of `slot` while the flag is raised and tries again; after [`BACK_OUTS`] tries,
    /// counts itself in while holding the flag.
    #[cold]
    #[inline(never)]
    fn enter_behind_writer(&self, slot: &AtomicUsize) {
        for _ in 1..BACK_OUTS {
            slot.fetch_sub(1, Ordering::SeqCst);
            self.wait_while_raised();
            slot.fetch_add(1, Ordering::SeqCst);
            loom_sees_seq_cst();
            if !self.writer.load(Ordering::SeqCst) {
                return;
            }
        }
        slot.fetch_sub(1, Ordering::SeqCst);
        // Holding the flag, no writer is inside and none can enter: count in, then lower it.
        // The next writer's raising reads this lowering, so it follows the increment in the
        // SeqCst order and its scan sees the increment.
        self.raise();
        slot.fetch_add(1, Ordering::SeqCst);
        self.lower();
    }

    /// Takes the flag: one compare-exchange when it is lowered.
    #[inline]
    fn raise(&self) {
        if self
            .writer
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            self.raise_behind_writer();
        }
        loom_sees_seq_cst();
    }

    #[cold]
    #[inline(never)]
    fn raise_behind_writer(&self) {
        loop {
            self.wait_while_raised();
            if self
                .writer
                .compare_exchange_weak(false, true, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Gives the flag back. Release would do: what the holder did must happen before whatever
    /// the next reader (its SeqCst load) or writer (its SeqCst compare-exchange) that reads this
    /// store does, and under C++20's rules a reader's SeqCst load that reads this lowering comes
    /// before the next raising in the SeqCst order all the same (it reads a value the raising
    /// overwrites: coherence-ordered before). Miri's weak-memory emulation (nightly of
    /// 2026-05-19) lacks that rule (rust-lang/miri#5104, the same shape: a Release store, then
    /// SeqCst accesses) and reports a reader inside a write with a Release lowering, within the
    /// first two seeds. So SeqCst: on x86 an `xchg` (a locked instruction, some 20 cycles) per
    /// write where Release would be a `mov`; the same instruction count.
    #[inline]
    fn lower(&self) {
        self.writer.store(false, Ordering::SeqCst);
        #[cfg(loom)]
        {
            // Taken after the store: a waiter that checked the flag under the mutex before
            // this is waiting already and is woken; one that checks after sees it lowered.
            let _lowered = lock_ignoring_poison(&self.lowered.0);
            self.lowered.1.notify_all();
        }
    }

    /// Waits until the flag is lowered. Relaxed: the caller's next step (an increment and a
    /// SeqCst load, or a compare-exchange) is what synchronises.
    #[cfg(not(loom))]
    fn wait_while_raised(&self) {
        let mut spins = 0u32;
        while self.writer.load(Ordering::Relaxed) {
            spins = spins.saturating_add(1);
            back_off(spins);
        }
    }

    #[cfg(loom)]
    fn wait_while_raised(&self) {
        let mut lowered = lock_ignoring_poison(&self.lowered.0);
        while self.writer.load(Ordering::Relaxed) {
            lowered = self
                .lowered
                .1
                .wait(lowered)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Waits until no reader is inside, the flag being raised. Inline: on a miss the slots are
    /// usually all zero, a few loads.
    #[inline]
    fn wait_for_readers(&self) {
        for slot in self.slots.cells() {
            // Acquire (SeqCst): the readers' critical sections happen before the writer's.
            if slot.load(Ordering::SeqCst) != 0 {
                wait_for_slot(slot);
            }
        }
    }
}

#[cold]
#[inline(never)]
fn wait_for_slot(slot: &AtomicUsize) {
    let mut spins = 0u32;
    while slot.load(Ordering::SeqCst) != 0 {
        spins = spins.saturating_add(1);
        back_off(spins);
    }
}

/// loom treats SeqCst loads, stores and read-modify-writes as acquire/release, which would let a
/// reader and a writer both miss each other's write; it does model SeqCst fences. So under loom
/// a SeqCst fence follows each of the two writes of the handshake (the reader's increment, the
/// flag's raising), which orders them before the loads that follow as the SeqCst accesses do in
/// the real memory model, and the model checks the protocol with the ordering loom can
/// represent. Outside loom nothing is added: a fence here would cost every hit an `mfence` on
/// x86, where the locked increment is already one.
#[inline(always)]
fn loom_sees_seq_cst() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}

/// Both sides hold the lock for short sections (a hash probe and a clone; an insert and its
/// eviction): spin a little, then yield the core to a thread that may have been preempted
/// inside.
#[inline]
fn back_off(spins: u32) {
    #[cfg(loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    if spins < 64 {
        core::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// The mutex guards nothing and nothing panics while holding it: poisoning means nothing.
#[cfg(loom)]
fn lock_ignoring_poison(mutex: &loom::sync::Mutex<()>) -> loom::sync::MutexGuard<'_, ()> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Leaves the read side, also when the reader's closure unwinds.
struct Leave<'a>(Stripe<'a>);

impl Drop for Leave<'_> {
    #[inline]
    fn drop(&mut self) {
        match self.0 {
            // Only this thread writes its own row: a store, no locked instruction.
            #[cfg(not(miri))]
            Stripe::Own(slot) => slot.store(
                slot.load(Ordering::Relaxed).wrapping_sub(1),
                Ordering::Release,
            ),
            #[cfg(not(miri))]
            Stripe::Shared(slot) => {
                slot.fetch_sub(1, Ordering::Release);
            }
            // Miri's weak-memory emulation lets a SeqCst load read a Release store that an
            // earlier SeqCst read-modify-write (in the total order) overwrote, which C++20
            // forbids (rust-lang/miri#2301, #5104): with the store above it reported a writer
            // beside a reader (`tests/background.rs`). Under Miri every decrement is SeqCst;
            // loom checks the orderings above.
            #[cfg(miri)]
            Stripe::Own(slot) | Stripe::Shared(slot) => {
                slot.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// Lowers the flag when the writer's closure returns, also when it unwinds.
struct Lower<'a>(&'a ReadMostlyLock);

impl Drop for Lower<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.lower();
    }
}

// SAFETY: exclusion rests on the flag and the slots' counts, all accessed in the orders below.
//
// - Writers apart: a writer runs its closure only between a compare-exchange that raised the
//   flag (read false, wrote true) and its store of false. Compare-exchanges on one atomic are
//   totally ordered (its modification order), and each reads the value just before it, so two
//   cannot both turn false into true without a lowering between them: at most one thread holds
//   the flag, and the next one's read (SeqCst, so Acquire) of the lowering (SeqCst, so
//   Release) orders the previous holder's section before its own.
// - A reader and a writer apart: a reader runs its closure only between an increment of its
//   slot that was followed by a load of the flag finding it lowered (or made while it held the
//   flag itself, when no writer is inside) and the matching decrement; a writer runs its
//   closure only after raising the flag and then loading every slot and finding it zero. The
//   increment, the load of the flag, the raising and the slot's loads are SeqCst, so they lie
//   in one total order consistent with each thread's program order. If the reader's load
//   comes before the raising there, it read a lowered flag; the increment comes before that
//   load, the raising before the writer's load of the slot, so that load sees the increment
//   (or a later value of the slot, which counts this reader until its decrement) and the writer
//   waits until it reads a count that includes the decrement. The decrement is a Release
//   read-modify-write (shared slot) or a Release store (own slot, which only its thread
//   writes, so the count the writer reads there was stored by that thread after the section),
//   and the writer's load is Acquire, so the reader's section happens before the writer's.
//   If the load comes after the raising, it
//   reads the flag raised, and the reader backs out before running anything, or a later
//   lowering, which the holder makes after its section and the load reads with Acquire: the
//   reader's section starts after the holder's.
// - A reader that counted itself in while holding the flag: no writer held the flag then; the
//   next writer's raising reads its lowering, which follows the increment, so that writer's
//   scan sees the increment as above.
// - Unwinding: both guards release (a reader's decrement, a holder's lowering).
//
// Starvation: a reader backs out at most `BACK_OUTS` times, then competes for the flag as
// writers do. The flag is a test-and-set lock, not a queue: a thread can lose the
// compare-exchange to others any number of times in a row (a writer that lowers and raises again
// at once, with the line still in its cache, is the likely winner). Nothing bounds that but the
// scheduler: acceptable for sections as short as a shard's insert and eviction, where a lost
// race costs a spin or a yield, not a wait for I/O. Readers do not starve a writer: once the
// flag is raised no new reader stays inside, and those inside leave after their probe.
unsafe impl RawLock for ReadMostlyLock {
    fn new() -> Self {
        ReadMostlyLock {
            writer: AtomicBool::new(false),
            slots: SlotColumn::new(),
            #[cfg(loom)]
            lowered: Default::default(),
        }
    }

    #[inline]
    fn read<R>(&self, f: impl FnOnce() -> R) -> R {
        let stripe = self.slots.stripe();
        self.enter(stripe.cell());
        let _leave = Leave(stripe);
        f()
    }

    #[inline]
    fn write<R>(&self, f: impl FnOnce() -> R) -> R {
        self.raise();
        let _lower = Lower(self);
        self.wait_for_readers();
        f()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use core::cell::UnsafeCell;
    use std::sync::Arc;
    use std::vec::Vec;

    /// Two fields a writer changes one after the other: a reader that sees them differ ran
    /// during a write.
    struct Guarded {
        lock: ReadMostlyLock,
        pair: UnsafeCell<(u64, u64)>,
    }

    // SAFETY: `pair` is only reached through `lock`.
    unsafe impl Sync for Guarded {}

    impl Guarded {
        fn new() -> Self {
            Guarded {
                lock: ReadMostlyLock::new(),
                pair: UnsafeCell::new((0, 0)),
            }
        }

        fn read(&self) -> (u64, u64) {
            let pair = self.pair.get();
            // SAFETY: shared mode excludes writers. Volatile: each field is read from memory,
            // in order, not once for both.
            self.lock.read(|| unsafe {
                let first = core::ptr::read_volatile(&raw const (*pair).0);
                (first, core::ptr::read_volatile(&raw const (*pair).1))
            })
        }

        fn bump(&self) {
            let pair = self.pair.get();
            self.lock.write(|| {
                // SAFETY: exclusive mode excludes everyone else. Volatile, with a yield between
                // the two writes: the fields differ in memory for a while, long enough for a
                // reader let in by a broken lock to see it.
                unsafe {
                    let (first, second) = core::ptr::read_volatile(pair);
                    core::ptr::write_volatile(&raw mut (*pair).0, first + 1);
                    std::thread::yield_now();
                    core::ptr::write_volatile(&raw mut (*pair).1, second + 1);
                }
            });
        }
    }

    /// Readers and writers on several threads (each thread in its own slot and, with 3 threads
    /// on 2 slots, two sharing one): every read sees a consistent pair and no increment is lost.
    #[test]
    fn readers_never_see_a_write_half_done_and_writes_never_overlap() {
        let (threads, rounds) = if cfg!(miri) { (3, 30) } else { (4, 20_000) };
        let guarded = Arc::new(Guarded::new());
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let guarded = guarded.clone();
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    for round in 0..rounds {
                        if (round + thread) % 4 == 0 {
                            guarded.bump();
                        } else {
                            let (a, b) = guarded.read();
                            assert_eq!(a, b, "a reader ran inside a write");
                            reads += 1;
                        }
                    }
                    reads
                })
            })
            .collect();
        let reads: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let writes = (threads * rounds) as u64 - reads;
        assert_eq!(guarded.read(), (writes, writes), "an increment was lost");
        assert!(
            guarded
                .lock
                .slots
                .cells()
                .all(|slot| slot.load(Ordering::Relaxed) == 0)
        );
    }

    #[test]
    fn a_panicking_reader_or_writer_leaves_the_lock_free() {
        let lock = ReadMostlyLock::new();
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.read(|| panic!("reader"))
        }));
        assert!(read.is_err());
        let write = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.write(|| panic!("writer"))
        }));
        assert!(write.is_err());
        assert_eq!(lock.write(|| 1) + lock.read(|| 2), 3);
        assert!(!lock.writer.load(Ordering::Relaxed));
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_lock_is_32_bytes_and_shares_a_line_with_the_hit_counter() {
        assert_eq!(core::mem::size_of::<ReadMostlyLock>(), 32);
        let header = core::mem::size_of::<ReadMostlyLock>()
            + core::mem::size_of::<crate::striped_counter::StripedCounter>();
        assert!(header <= 64, "lock and hit counter take {header} bytes");
    }

    #[test]
    fn readers_share_the_lock() {
        let lock = ReadMostlyLock::new();
        assert_eq!(lock.read(|| lock.read(|| 7)), 7);
    }
}
