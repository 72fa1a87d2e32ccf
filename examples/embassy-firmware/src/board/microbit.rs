//! BBC micro:bit v1: a Nordic nRF51822 (Cortex-M0, no compare-and-swap), as QEMU's `microbit`
//! machine models it. Time from the nRF51's TIMER0, programmed through its registers directly
//! (no PAC): one compare event per tick, cleared by hardware (the COMPARE0_CLEAR shortcut) so the
//! period does not drift with interrupt latency.

use core::ptr;

use cortex_m::peripheral::NVIC;
use cortex_m_rt::exception;

pub const NAME: &str = "microbit (nRF51822 Cortex-M0, thumbv6m-none-eabi)";

/// 6 KiB of the chip's 16 KiB of RAM: the rest holds the executor's tasks, the report's
/// statics and the stack.
pub const HEAP_BYTES: usize = 6 * 1024;

const TIMER0: usize = 0x4000_8000;
const TASKS_START: usize = 0x000;
const TASKS_CLEAR: usize = 0x00C;
const EVENTS_COMPARE0: usize = 0x140;
const SHORTS: usize = 0x200;
const INTENSET: usize = 0x304;
const MODE: usize = 0x504;
const BITMODE: usize = 0x508;
const PRESCALER: usize = 0x510;
const CC0: usize = 0x540;

const SHORTS_COMPARE0_CLEAR: u32 = 1 << 0;
const INTEN_COMPARE0: u32 = 1 << 16;
const MODE_TIMER: u32 = 0;
const BITMODE_16: u32 = 0;
/// 16 MHz / 2^4 = 1 MHz.
const PRESCALER_1MHZ: u32 = 4;
const TIMER_HZ: u32 = 1_000_000;

/// TIMER0's interrupt line on the nRF51.
#[derive(Clone, Copy)]
struct Timer0Interrupt;

// SAFETY: 8 is TIMER0's interrupt number in the nRF51 reference manual.
unsafe impl cortex_m::interrupt::InterruptNumber for Timer0Interrupt {
    fn number(self) -> u16 {
        8
    }
}

fn write(offset: usize, value: u32) {
    // SAFETY: TIMER0's registers are word-sized MMIO at these offsets; the firmware owns TIMER0.
    unsafe { ptr::write_volatile((TIMER0 + offset) as *mut u32, value) }
}

fn read(offset: usize) -> u32 {
    // SAFETY: as in `write`.
    unsafe { ptr::read_volatile((TIMER0 + offset) as *const u32) }
}

/// Starts TIMER0 with a compare event every 1/[`super::TICK_HZ`] s.
pub fn start() {
    write(MODE, MODE_TIMER);
    write(BITMODE, BITMODE_16);
    write(PRESCALER, PRESCALER_1MHZ);
    write(CC0, TIMER_HZ / super::TICK_HZ);
    write(SHORTS, SHORTS_COMPARE0_CLEAR);
    write(INTENSET, INTEN_COMPARE0);
    write(TASKS_CLEAR, 1);
    // SAFETY: the handler below only touches TIMER0 and the driver's critical-section state.
    unsafe { NVIC::unmask(Timer0Interrupt) };
    write(TASKS_START, 1);
}

/// Without a PAC, cortex-m-rt points every device interrupt at this handler; TIMER0's is the only
/// one the firmware enables.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn != 8 {
        panic!("unexpected interrupt {irqn}");
    }
    write(EVENTS_COMPARE0, 0);
    // Reading the event back makes sure the clear reached the peripheral before the handler
    // returns; otherwise the still-set event could raise the interrupt again at once.
    let _ = read(EVENTS_COMPARE0);
    super::tick();
}
