//! The stack's high-water mark, so the report shows how much of the RAM left after the statics
//! and the heap the run needed: the free part of the stack is painted at start, and the words
//! still painted at the end were never used.

use core::ptr;

// The stack's ends, from the runtime's linker script: it grows down from the top of RAM to the
// end of the statics (the heap is one of them).
unsafe extern "C" {
    #[cfg(target_arch = "arm")]
    #[link_name = "_stack_end"]
    static STACK_BOTTOM: u32;
    #[cfg(target_arch = "arm")]
    #[link_name = "_stack_start"]
    static STACK_TOP: u32;
    #[cfg(target_arch = "riscv32")]
    #[link_name = "__estack"]
    static STACK_BOTTOM: u32;
    #[cfg(target_arch = "riscv32")]
    #[link_name = "__sstack"]
    static STACK_TOP: u32;
}

const PAINT: u32 = 0x5AC5_5AC5;
/// Left unpainted below the painting function's own frame.
const MARGIN: usize = 256;

fn bottom() -> usize {
    (&raw const STACK_BOTTOM as usize).next_multiple_of(4)
}

fn top() -> usize {
    &raw const STACK_TOP as usize
}

/// Paints the unused part of the stack. Interrupts are masked meanwhile: their frames would be
/// pushed onto the very words being painted.
///
/// Never inlined: `here` must be in this function's own small frame, below every live frame.
/// Inlined into the caller's (the async `main`'s poll, whose frame grows with the cache's
/// size), `here` sat high in that frame and the painting overwrote its live part below
/// `here - MARGIN`: on the microbit, 24 more bytes in `Cache` made `main` start over.
#[inline(never)]
pub fn paint() {
    critical_section::with(|_| {
        let here = 0u32;
        let limit = (&raw const here as usize - MARGIN) & !3;
        let mut word = bottom();
        while word < limit {
            // SAFETY: the words between the stack's bottom and (well below) the current frame
            // belong to no live frame, and no interrupt can push one there meanwhile.
            unsafe { ptr::write_volatile(word as *mut u32, PAINT) };
            word += 4;
        }
    });
}

/// Bytes of stack used so far, and the stack's size.
pub fn used() -> (usize, usize) {
    let (bottom, top) = (bottom(), top());
    let mut word = bottom;
    // SAFETY: reads words of the stack's own region below the deepest frame so far.
    while word < top && unsafe { ptr::read_volatile(word as *const u32) } == PAINT {
        word += 4;
    }
    (top - word, top - bottom)
}
