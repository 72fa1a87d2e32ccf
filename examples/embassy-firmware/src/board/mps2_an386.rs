//! Arm's MPS2 board with the AN386 image (a Cortex-M4 with FPU), as QEMU's `mps2-an386` models
//! it: time from the core's SysTick timer, so no vendor HAL or PAC is needed.

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

pub const NAME: &str = "mps2-an386 (Cortex-M4F, thumbv7em-none-eabihf)";

/// 16 KiB of the 64 KiB of RAM in `memory/mps2-an386.x`.
pub const HEAP_BYTES: usize = 16 * 1024;

/// The clock SysTick counts: the board's 25 MHz core clock (QEMU models the same).
const CORE_CLOCK_HZ: u32 = 25_000_000;

/// Starts SysTick at [`super::TICK_HZ`]; embassy-time's clock runs from here on.
pub fn start() {
    // SAFETY: the firmware owns SysTick: nothing else in it programs the timer.
    let mut systick = unsafe { cortex_m::Peripherals::steal() }.SYST;
    systick.set_clock_source(SystClkSource::Core);
    systick.set_reload(CORE_CLOCK_HZ / super::TICK_HZ - 1);
    systick.clear_current();
    systick.enable_interrupt();
    systick.enable_counter();
}

#[exception]
fn SysTick() {
    super::tick();
}
