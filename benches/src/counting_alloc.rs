//! A global allocator that counts allocations and live heap bytes while counting is switched on.
//!
//! Counting is off by default so that timed workloads pay one relaxed load per allocation, not
//! two contended read-modify-writes. Install it in a binary with
//! `#[global_allocator] static ALLOC: CountingAllocator = CountingAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// The system allocator, plus counters read through [`AllocationWindow`].
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to `System`; the counters do not touch the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size() as i64);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size() as i64);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(0, -(layout.size() as i64));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(1, new_size as i64 - layout.size() as i64);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn record(allocations: u64, bytes: i64) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(allocations, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Counts allocations (a `realloc` counts as one) and the net change of heap bytes from its
/// creation on. Only one window should be open at a time; the counts are process-wide, so open
/// it while no unrelated thread allocates.
#[derive(Debug)]
pub struct AllocationWindow {
    allocations_at_start: u64,
    live_bytes_at_start: i64,
}

impl AllocationWindow {
    /// Switches counting on and remembers the current counts.
    ///
    /// ```
    /// use readthrough_benches::counting_alloc::AllocationWindow;
    /// let window = AllocationWindow::open();
    /// let (allocations, _bytes) = window.close();
    /// // Without the allocator installed as the global one nothing is counted.
    /// assert_eq!(allocations, 0);
    /// ```
    pub fn open() -> Self {
        COUNTING.store(true, Ordering::SeqCst);
        Self {
            allocations_at_start: ALLOCATIONS.load(Ordering::SeqCst),
            live_bytes_at_start: LIVE_BYTES.load(Ordering::SeqCst),
        }
    }

    /// Allocations and net heap bytes since [`open`](Self::open), without closing.
    ///
    /// ```
    /// use readthrough_benches::counting_alloc::AllocationWindow;
    /// let window = AllocationWindow::open();
    /// assert_eq!(window.read(), (0, 0));
    /// ```
    pub fn read(&self) -> (u64, i64) {
        (
            ALLOCATIONS.load(Ordering::SeqCst) - self.allocations_at_start,
            LIVE_BYTES.load(Ordering::SeqCst) - self.live_bytes_at_start,
        )
    }

    /// Switches counting off and returns allocations and net heap bytes since `open`.
    ///
    /// ```
    /// use readthrough_benches::counting_alloc::AllocationWindow;
    /// assert_eq!(AllocationWindow::open().close(), (0, 0));
    /// ```
    pub fn close(self) -> (u64, i64) {
        let counts = self.read();
        COUNTING.store(false, Ordering::SeqCst);
        counts
    }
}
