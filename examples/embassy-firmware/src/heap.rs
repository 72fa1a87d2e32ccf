//! The firmware's heap: the cache stores its entries and in-flight loads there.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_alloc::LlffHeap;

const HEAP_BYTES: usize = 16 * 1024;

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// Hands the heap its memory before anything allocates; later calls do nothing.
pub fn init() {
    static INITIALISED: AtomicBool = AtomicBool::new(false);
    if INITIALISED.swap(true, Ordering::AcqRel) {
        return;
    }
    static mut HEAP_MEMORY: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];
    // SAFETY: runs once (guarded above), before any allocation; nothing else names HEAP_MEMORY.
    unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEMORY) as usize, HEAP_BYTES) }
}
