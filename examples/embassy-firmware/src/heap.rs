//! The firmware's heap: the cache stores its entries and in-flight loads there. Its size is the
//! board's (`board::HEAP_BYTES`).

use core::cell::Cell;
use core::mem::MaybeUninit;

use critical_section::Mutex;
use embedded_alloc::LlffHeap;

use crate::board::HEAP_BYTES;

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// Hands the heap its memory before anything allocates; later calls do nothing.
pub fn init() {
    // A critical section rather than an atomic swap: thumbv6m has no compare-and-swap.
    static INITIALISED: Mutex<Cell<bool>> = Mutex::new(Cell::new(false));
    if critical_section::with(|cs| INITIALISED.borrow(cs).replace(true)) {
        return;
    }
    static mut HEAP_MEMORY: [MaybeUninit<u8>; HEAP_BYTES] = [MaybeUninit::uninit(); HEAP_BYTES];
    // SAFETY: runs once (guarded above), before any allocation; nothing else names HEAP_MEMORY.
    unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEMORY) as usize, HEAP_BYTES) }
}

/// Bytes of the heap in use now.
pub fn used() -> usize {
    HEAP.used()
}
