//! The boards the firmware runs on, one per bare-metal target, picked by `build.rs` from the
//! target triple (`cfg(board = "...")`): each starts a periodic timer interrupt at [`TICK_HZ`]
//! and calls [`tick`] from it. The embassy-time driver on those ticks is shared: the boards differ
//! only in which timer they program.
//!
//! | target | board (QEMU machine) | timer |
//! |---|---|---|
//! | `thumbv7em-none-eabihf` | `mps2-an386` (Cortex-M4F) | SysTick |
//! | `thumbv6m-none-eabi` | `microbit` (nRF51822, Cortex-M0) | TIMER0 |
//! | `riscv32imac-unknown-none-elf` | `virt` (RV32, CLINT) | machine timer (`mtime`) |

use core::cell::{Cell, RefCell};
use core::task::Waker;

use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

#[cfg(board = "microbit")]
mod microbit;
#[cfg(board = "mps2_an386")]
mod mps2_an386;
#[cfg(board = "qemu_virt")]
mod qemu_virt;

#[cfg(board = "microbit")]
pub use microbit::{HEAP_BYTES, NAME, start};
#[cfg(board = "mps2_an386")]
pub use mps2_an386::{HEAP_BYTES, NAME, start};
#[cfg(board = "qemu_virt")]
pub use qemu_virt::{HEAP_BYTES, NAME, start};

/// Timer interrupts per second; must equal embassy-time-driver's tick rate (its `tick-hz-1_000`
/// feature), since one interrupt is one embassy-time tick.
pub const TICK_HZ: u32 = 1_000;

const _: () = assert!(TICK_HZ as u64 == embassy_time_driver::TICK_HZ);

struct TickDriver {
    ticks: Mutex<Cell<u64>>,
    next_wake: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl TickDriver {
    fn wake_due(&self, cs: CriticalSection<'_>, now: u64) {
        if now >= self.next_wake.borrow(cs).get() {
            let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
            self.next_wake.borrow(cs).set(next);
        }
    }
}

impl Driver for TickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            if self.queue.borrow_ref_mut(cs).schedule_wake(at, waker) {
                let next = self.next_wake.borrow(cs);
                next.set(next.get().min(at));
                // A deadline already reached is served now rather than on the next tick.
                self.wake_due(cs, self.ticks.borrow(cs).get());
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: TickDriver = TickDriver {
    ticks: Mutex::new(Cell::new(0)),
    next_wake: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Advances embassy-time by one tick and wakes the timers that are due; the boards' timer
/// interrupts call it [`TICK_HZ`] times a second.
fn tick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        DRIVER.wake_due(cs, now);
    });
}
