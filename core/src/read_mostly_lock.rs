//! A shard lock whose readers write only cache lines of their own thread.

use crate::lock::RawLock;
use crate::slot_column::SlotColumn;
use crate::sync::{AtomicBool, AtomicUsize, Ordering};

#[cfg(not(loom))]
type WriterMutex = parking_lot::Mutex<()>;
#[cfg(loom)]
type WriterMutex = loom::sync::Mutex<()>;

/// A read-write lock for read-mostly shards ("big reader" lock): the default with `std`.
///
/// A read-write lock counts its readers in one word, so every shared acquire and release is an
/// atomic read-modify-write of one cache line, which two cores reading the same shard pass back
/// and forth. This lock gives each shard one reader count per thread slot and each thread a
/// slot of its own (the smallest index free when it first reads, given back when it exits): a
/// reader increments its slot's count and checks the writer flag, so readers on different cores
/// share no line that either writes. The counts live in a process-wide table whose rows belong
/// to slots: a thread's counts for every shard lie side by side in its row, so reading many
/// shards keeps few lines in the core's cache, and no two rows share a line.
///
/// A writer takes a parking mutex, raises the writer flag and waits (spinning briefly, then
/// yielding) for every slot's count to reach zero. A reader that finds the flag raised backs
/// out and waits on the writers' mutex, parked rather than spinning, then enters while holding
/// it, so a stream of writers cannot starve it. A write costs a look at every slot (a shard has
/// as many slots as the machine has threads, rounded up to a power of two, at most 16).
///
/// Memory: the lock itself is 32 bytes; its counts take 8 bytes per slot in the table (a
/// 64-shard cache on a 16-thread machine: 8 KiB, and as much for the striped hit counter). The
/// table grows by blocks of 512 counts per slot (4 KiB per slot) and keeps them for reuse.
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
    /// Raised by the writer that holds `writers` until its closure returns.
    writer: AtomicBool,
    /// Serialises writers; readers that meet a writer wait here.
    writers: WriterMutex,
    /// A slot's count is the number of readers inside through it.
    slots: SlotColumn,
}

impl core::fmt::Debug for ReadMostlyLock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReadMostlyLock")
            .field("slots", &self.slots.cells().count())
            .field("writer", &self.writer.load(Ordering::Relaxed))
            .finish()
    }
}

impl ReadMostlyLock {
    /// Enters as a reader through `slot`.
    #[inline]
    fn enter(&self, slot: &AtomicUsize) {
        // SeqCst on both sides (this increment then the flag's load here; the flag's store then
        // the slots' loads in `wait_for_readers`): in their single total order either this load
        // sees the flag, or the writer's load of this slot sees the increment and waits.
        //
        // Every access to a slot or the flag is SeqCst, also the decrements and the flag's
        // lowering, where Release would do under C++20's rules: Miri's weak-memory emulation
        // predates them (rust-lang/miri#2301) and reports overlapping readers and writers when a
        // slot mixes Release decrements with SeqCst loads. On x86 every read-modify-write is a
        // locked instruction whatever its ordering, so the readers pay nothing for it; a write
        // pays an `xchg` for the lowering.
        slot.fetch_add(1, Ordering::SeqCst);
        loom_sees_seq_cst();
        if self.writer.load(Ordering::SeqCst) {
            self.enter_behind_writer(slot);
        }
    }

    #[cold]
    #[inline(never)]
    fn enter_behind_writer(&self, slot: &AtomicUsize) {
        slot.fetch_sub(1, Ordering::SeqCst);
        // Holding the writers' mutex, no writer is inside: enter now. The next writer takes the
        // mutex after this release, so its scan sees this increment.
        let _writers = lock_writers(&self.writers);
        slot.fetch_add(1, Ordering::SeqCst);
    }

    /// Waits until no reader is inside, the writer flag being raised. Inline: on a miss the
    /// slots are usually all zero, a few loads.
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
/// a SeqCst fence follows each of the two stores of the handshake (which orders them before the
/// loads that follow as the SeqCst accesses do in the real memory model), and the model checks
/// the protocol with the ordering loom can represent. Outside loom nothing is added: a fence
/// here would cost every hit an `mfence` on x86, where the locked increment is already one.
#[inline(always)]
fn loom_sees_seq_cst() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}

/// Readers hold the lock for a hash probe and a clone: spin a little, then yield the core to a
/// reader that may have been preempted inside.
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

#[cfg(not(loom))]
#[inline]
fn lock_writers(mutex: &WriterMutex) -> parking_lot::MutexGuard<'_, ()> {
    mutex.lock()
}

#[cfg(loom)]
fn lock_writers(mutex: &WriterMutex) -> loom::sync::MutexGuard<'_, ()> {
    // The mutex guards no data and nothing panics while holding it: poisoning means nothing.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Leaves the read side, also when the reader's closure unwinds.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Lowers the writer flag, also when the writer's closure unwinds (before the mutex is
/// released: declared after its guard, dropped before it).
struct Lower<'a>(&'a AtomicBool);

impl Drop for Lower<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

// SAFETY: a reader runs its closure only between an increment of its slot that was followed by
// a load of the flag finding it lowered (or made while holding the writers' mutex, when no writer
// is inside) and the matching decrement; a writer runs its closure only while holding the
// writers' mutex (excluding other writers), with the flag raised, after seeing every slot at
// zero. With the SeqCst orders in `enter` and `wait_for_readers`, a reader and a writer cannot
// both go ahead: either the reader's load sees the flag, or the writer's scan sees the reader's
// increment and waits for its decrement. Both guards release on unwind.
unsafe impl RawLock for ReadMostlyLock {
    fn new() -> Self {
        ReadMostlyLock {
            writer: AtomicBool::new(false),
            writers: WriterMutex::new(()),
            slots: SlotColumn::new(),
        }
    }

    #[inline]
    fn read<R>(&self, f: impl FnOnce() -> R) -> R {
        let slot = self.slots.mine();
        self.enter(slot);
        let _leave = Leave(slot);
        f()
    }

    #[inline]
    fn write<R>(&self, f: impl FnOnce() -> R) -> R {
        let _writers = lock_writers(&self.writers);
        self.writer.store(true, Ordering::SeqCst);
        loom_sees_seq_cst();
        let _lower = Lower(&self.writer);
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
