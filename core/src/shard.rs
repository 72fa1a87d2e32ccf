//! A shard: a lock around one store and one in-flight table, plus its counters.

use crate::duel::Role;
use crate::flight::Flight;
use crate::flight_table::FlightTable;
use crate::lock::RawLock;
use crate::remembered::Remembered;
use crate::stats::Counters;
use crate::store::{ReserveError, Store};
use crate::sync::{Arc, UnsafeCell};

/// A row of the in-flight table: the key being loaded and its flight. A row whose load failed
/// stays here while its error is remembered (`negative_ttl`).
pub(crate) struct FlightRow<K, V, E, X> {
    pub(crate) hash: u64,
    pub(crate) key: K,
    pub(crate) flight: Arc<Flight<V, E, X>>,
    /// When the load started (for `lock_age`).
    pub(crate) started: X,
    pub(crate) remembered: Option<RememberedError<X>>,
    /// A waiter was handed this flight. Set and read under the shard lock, so a leader that
    /// finds it unset knows nobody listens, and skips the notification (whose first use would
    /// allocate the event's list).
    pub(crate) waited: bool,
}

/// A failed load's row kept for `negative_ttl`.
#[derive(Clone, Copy)]
pub(crate) struct RememberedError<X> {
    pub(crate) until: X,
    /// Its place in the shard's order of remembered errors.
    pub(crate) serial: u32,
}

pub(crate) struct ShardState<K, V, E, X> {
    pub(crate) store: Store<K, V, X>,
    pub(crate) flights: FlightTable<K, V, E, X>,
    pub(crate) remembered: Remembered,
    /// A landed flight that nobody but its leader ever saw, kept for the shard's next load: a
    /// miss then allocates nothing (see `LoadGuard::complete`).
    pub(crate) spare_flight: Option<Arc<Flight<V, E, X>>>,
}

/// How big one shard is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShardSize {
    /// Most weight stored.
    pub(crate) capacity: usize,
    /// Entries to reserve room for now.
    pub(crate) reserve: usize,
    /// How many entries a full shard is expected to hold, when known.
    pub(crate) expected_entries: Option<usize>,
    /// Most errors remembered at once.
    pub(crate) remembered_errors: usize,
    /// Its part in the duel of regimes.
    pub(crate) role: Role,
}

/// The shard type of a cache whose clock is `T`.
pub(crate) type ShardFor<K, V, E, T, L> = Shard<K, V, E, <T as crate::timer::Clock>::Stamp, L>;

/// All shards of a cache whose clock is `T`.
pub(crate) type Shards<K, V, E, T, L> = alloc::boxed::Box<[ShardFor<K, V, E, T, L>]>;

/// A flight of a cache whose clock is `T`.
pub(crate) type FlightFor<V, E, T> = Flight<V, E, <T as crate::timer::Clock>::Stamp>;

/// Laid out for reads on several cores. With a one-word read-write lock (`ParkingLotLock`,
/// `SpinLock`), every read writes the lock (taking it shared is an atomic read-modify-write)
/// and the hit counter, so both sit on the shard's first cache line; the state, which a hit
/// only reads, starts on a line of its own, and so does the next shard. A hit on a shard another
/// core just read then moves one line between the cores, not three (lock, counter, and the
/// table's pointers beside the lock). With the default `ReadMostlyLock` (std) a hit writes
/// only its thread's reader count and hit count (cells in its thread's row of the per-thread
/// table, `slot_column`) and reads this line.
#[repr(C)]
pub(crate) struct Shard<K, V, E, X, L> {
    lock: L,
    pub(crate) counters: Counters,
    state: OwnLine<UnsafeCell<ShardState<K, V, E, X>>>,
}

/// Starts on a cache line (a pair of lines where the prefetcher fetches lines in pairs) of its
/// own, as crossbeam's `CachePadded` does. Bare-metal targets (MCUs) have no data cache to
/// share and little RAM to pad with: no alignment there.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    all(
        not(any(target_arch = "x86_64", target_arch = "aarch64")),
        not(target_os = "none")
    ),
    repr(align(64))
)]
struct OwnLine<T>(T);

// SAFETY: the state is only reached through `read` (shared access under the lock's shared mode,
// possibly from several threads at once: needs Sync contents) and `write` (exclusive access under
// the lock's exclusive mode, from any thread: needs Send contents).
unsafe impl<K, V, E, X, L> Sync for Shard<K, V, E, X, L>
where
    K: Send + Sync,
    V: Send + Sync,
    E: Send + Sync,
    X: Send + Sync,
    L: Sync,
{
}

impl<K, V, E, X: Copy, L: RawLock> Shard<K, V, E, X, L> {
    pub(crate) fn new(size: ShardSize) -> Result<Self, ReserveError> {
        Ok(Shard {
            lock: L::new(),
            counters: Counters::default(),
            state: OwnLine(UnsafeCell::new(ShardState {
                store: Store::new(
                    size.capacity,
                    size.reserve,
                    size.expected_entries,
                    size.role,
                )?,
                flights: FlightTable::default(),
                remembered: Remembered::new(size.remembered_errors),
                spare_flight: None,
            })),
        })
    }
}

impl<K, V, E, X, L: RawLock> Shard<K, V, E, X, L> {
    #[inline]
    pub(crate) fn read<R>(&self, f: impl FnOnce(&ShardState<K, V, E, X>) -> R) -> R {
        // SAFETY: the lock's shared mode excludes `write`, so no `&mut` to the state exists.
        self.lock
            .read(|| self.state.0.with(|state| f(unsafe { &*state })))
    }

    #[inline]
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut ShardState<K, V, E, X>) -> R) -> R {
        // SAFETY: the lock's exclusive mode excludes every other `read` and `write`.
        self.lock
            .write(|| self.state.0.with_mut(|state| f(unsafe { &mut *state })))
    }
}
