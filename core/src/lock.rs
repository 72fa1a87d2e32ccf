//! The lock that guards each shard, chosen by type parameter.
//!
//! The cache never holds a shard lock across an `.await` and never takes two at once, so the
//! lock only has to run a short closure exclusively (writes) or shared (reads). That closure
//! shape is what every lock family offers: OS-parking read-write locks on servers, spin locks
//! without an OS, and critical sections (embassy-sync `RawMutex`) on single-core MCUs, where a
//! spin lock an interrupt handler could also take would deadlock.

/// A lock for one shard of the cache.
///
/// # Safety
///
/// Implementations must guarantee that while a closure passed to [`write`](RawLock::write)
/// runs, no other closure passed to `read` or `write` of the same lock runs, and that while a
/// closure passed to [`read`](RawLock::read) runs, no closure passed to `write` runs. If a
/// closure unwinds, the lock must be released (or stay poisoned forever), never left half-held.
///
/// # Example
///
/// A lock that serialises everything through one `spin::Mutex`:
///
/// ```
/// use readthrough_core::{Cache, RawLock};
///
/// struct OneAtATime(spin::Mutex<()>);
///
/// // SAFETY: both closures run under the same mutex, so none overlaps another.
/// unsafe impl RawLock for OneAtATime {
///     fn new() -> Self {
///         OneAtATime(spin::Mutex::new(()))
///     }
///     fn read<R>(&self, f: impl FnOnce() -> R) -> R {
///         let _held = self.0.lock();
///         f()
///     }
///     fn write<R>(&self, f: impl FnOnce() -> R) -> R {
///         let _held = self.0.lock();
///         f()
///     }
/// }
///
/// let cache = Cache::<u32, u32>::builder().capacity(16).lock::<OneAtATime>().build().unwrap();
/// cache.insert(1, 10);
/// assert_eq!(cache.get(&1), Some(10));
/// ```
pub unsafe trait RawLock {
    /// An unlocked lock.
    fn new() -> Self;
    /// Runs `f` while holding the lock shared with other readers.
    fn read<R>(&self, f: impl FnOnce() -> R) -> R;
    /// Runs `f` while holding the lock exclusively.
    fn write<R>(&self, f: impl FnOnce() -> R) -> R;
}

/// A spinning read-write lock (`spin::RwLock`): the default without `std`.
///
/// Fine on multi-core chips and where no interrupt handler touches the cache. On a single-core
/// MCU whose interrupts use the cache, prefer a critical-section lock (the embassy adapter's
/// `EmbassyLock<CriticalSectionRawMutex>`).
#[derive(Debug)]
pub struct SpinLock(spin::RwLock<()>);

// SAFETY: spin::RwLock excludes writers from readers and from each other; its guards release on
// unwind.
unsafe impl RawLock for SpinLock {
    fn new() -> Self {
        SpinLock(spin::RwLock::new(()))
    }
    fn read<R>(&self, f: impl FnOnce() -> R) -> R {
        let _shared = self.0.read();
        f()
    }
    fn write<R>(&self, f: impl FnOnce() -> R) -> R {
        let _exclusive = self.0.write();
        f()
    }
}

/// An OS-parking read-write lock (`parking_lot::RwLock`), with `std`.
///
/// One word counts its readers, so a read writes the line every other core's read of the shard
/// writes too, and reads from several cores pass it between them; the default,
/// [`ReadMostlyLock`](crate::ReadMostlyLock), has readers write only their own thread's cells.
/// This lock is smaller (8 bytes, against 32 and 8 bytes per thread slot) and its writes cost
/// less (no scan of the reader slots).
///
/// ```
/// use readthrough_core::{Cache, ParkingLotLock};
///
/// let cache = Cache::<u32, u32>::builder().capacity(16).lock::<ParkingLotLock>().build().unwrap();
/// cache.insert(1, 10);
/// assert_eq!(cache.get(&1), Some(10));
/// ```
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct ParkingLotLock(parking_lot::RwLock<()>);

// SAFETY: parking_lot::RwLock excludes writers from readers and from each other; its guards
// release on unwind.
#[cfg(feature = "std")]
unsafe impl RawLock for ParkingLotLock {
    fn new() -> Self {
        ParkingLotLock(parking_lot::RwLock::new(()))
    }
    #[inline]
    fn read<R>(&self, f: impl FnOnce() -> R) -> R {
        let _shared = self.0.read();
        f()
    }
    #[inline]
    fn write<R>(&self, f: impl FnOnce() -> R) -> R {
        let _exclusive = self.0.write();
        f()
    }
}

/// loom's model of a read-write lock, so the model checker sees every interleaving.
#[cfg(loom)]
pub struct LoomLock(loom::sync::RwLock<()>);

#[cfg(loom)]
impl core::fmt::Debug for LoomLock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LoomLock")
    }
}

// SAFETY: loom's RwLock has the semantics of std's.
#[cfg(loom)]
unsafe impl RawLock for LoomLock {
    fn new() -> Self {
        LoomLock(loom::sync::RwLock::new(()))
    }
    fn read<R>(&self, f: impl FnOnce() -> R) -> R {
        let _shared = self.0.read().unwrap();
        f()
    }
    fn write<R>(&self, f: impl FnOnce() -> R) -> R {
        let _exclusive = self.0.write().unwrap();
        f()
    }
}

/// The shard lock used when none is named: [`ReadMostlyLock`](crate::ReadMostlyLock) with
/// `std`, [`SpinLock`] without (and loom's lock under `cfg(loom)`).
#[cfg(all(feature = "std", not(loom)))]
#[cfg_attr(docsrs, doc(auto_cfg = false))]
pub type DefaultLock = crate::ReadMostlyLock;
/// The shard lock used when none is named: [`ReadMostlyLock`](crate::ReadMostlyLock) with
/// `std`, [`SpinLock`] without (and loom's lock under `cfg(loom)`).
#[cfg(all(not(feature = "std"), not(loom)))]
#[cfg_attr(docsrs, doc(auto_cfg = false))]
pub type DefaultLock = SpinLock;
/// The shard lock used when none is named: [`ReadMostlyLock`](crate::ReadMostlyLock) with
/// `std`, [`SpinLock`] without (and loom's lock under `cfg(loom)`).
#[cfg(loom)]
pub type DefaultLock = LoomLock;
