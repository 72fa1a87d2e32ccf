//! An embassy-time driver on the Cortex-M SysTick timer, so the firmware needs no HAL.
//!
//! SysTick interrupts at [`TICK_HZ`] (the rate selected with embassy-time-driver's
//! `tick-hz-1_000` feature); each interrupt advances the tick count and wakes the timers that are
//! due. Timer wakers live in embassy-time's queue, integrated into embassy-executor's tasks.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// The clock SysTick counts. 25 MHz is the MPS2-AN386 Cortex-M4 board (and QEMU's model of it);
/// set your board's core clock here.
const CORE_CLOCK_HZ: u32 = 25_000_000;

/// Interrupts per second; must equal embassy-time-driver's tick rate.
const TICK_HZ: u32 = 1_000;

const _: () = assert!(TICK_HZ as u64 == embassy_time_driver::TICK_HZ);

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    next_wake: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl SysTickDriver {
    fn wake_due(&self, cs: CriticalSection<'_>, now: u64) {
        if now >= self.next_wake.borrow(cs).get() {
            let next = self.queue.borrow_ref_mut(cs).next_expiration(now);
            self.next_wake.borrow(cs).set(next);
        }
    }
}

impl Driver for SysTickDriver {
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

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    next_wake: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Starts SysTick at [`TICK_HZ`]; embassy-time's clock runs from here on.
pub fn start(mut systick: SYST) {
    systick.set_clock_source(SystClkSource::Core);
    systick.set_reload(CORE_CLOCK_HZ / TICK_HZ - 1);
    systick.clear_current();
    systick.enable_interrupt();
    systick.enable_counter();
}

#[exception]
fn SysTick() {
    critical_section::with(|cs| {
        let ticks = DRIVER.ticks.borrow(cs);
        let now = ticks.get() + 1;
        ticks.set(now);
        DRIVER.wake_due(cs, now);
    });
}
