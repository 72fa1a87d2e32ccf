//! QEMU's RISC-V `virt` machine (one RV32 hart, here in machine mode): time from the CLINT's
//! machine timer, which counts `mtime` at 10 MHz and interrupts when it reaches `mtimecmp`.

use core::ptr;

use riscv::interrupt::Interrupt;

pub const NAME: &str = "virt (RISC-V RV32IMAC, riscv32imac-unknown-none-elf)";

/// 16 KiB of the 64 KiB of RAM in `memory/qemu-virt.x`.
pub const HEAP_BYTES: usize = 16 * 1024;

const CLINT_MTIMECMP0: usize = 0x0200_4000;
const CLINT_MTIME: usize = 0x0200_BFF8;
/// The `timebase-frequency` of QEMU's virt machine.
const MTIME_HZ: u64 = 10_000_000;
const PERIOD: u64 = MTIME_HZ / super::TICK_HZ as u64;

/// Reads the 64-bit `mtime` through two 32-bit halves, retrying when the low half wrapped
/// between the reads.
fn mtime() -> u64 {
    let high = CLINT_MTIME as *const u32;
    loop {
        // SAFETY: the CLINT's `mtime` is two readable 32-bit MMIO words at this address.
        let (hi, lo, hi_again) = unsafe {
            (
                ptr::read_volatile(high.add(1)),
                ptr::read_volatile(high),
                ptr::read_volatile(high.add(1)),
            )
        };
        if hi == hi_again {
            return (u64::from(hi) << 32) | u64::from(lo);
        }
    }
}

fn mtimecmp() -> u64 {
    let cmp = CLINT_MTIMECMP0 as *const u32;
    // SAFETY: hart 0's `mtimecmp` is two 32-bit MMIO words; only this module writes it.
    unsafe {
        (u64::from(ptr::read_volatile(cmp.add(1))) << 32) | u64::from(ptr::read_volatile(cmp))
    }
}

/// Sets hart 0's `mtimecmp` without passing through a value that fires early: the high half
/// is parked at its maximum while the low half changes.
fn set_mtimecmp(at: u64) {
    let cmp = CLINT_MTIMECMP0 as *mut u32;
    // SAFETY: as in `mtimecmp`.
    unsafe {
        ptr::write_volatile(cmp.add(1), u32::MAX);
        ptr::write_volatile(cmp, at as u32);
        ptr::write_volatile(cmp.add(1), (at >> 32) as u32);
    }
}

/// Starts the machine timer interrupting every 1/[`super::TICK_HZ`] s.
pub fn start() {
    set_mtimecmp(mtime() + PERIOD);
    // SAFETY: the handler below only touches `mtimecmp` and the driver's critical-section
    // state; nothing runs before this that interrupts could break.
    unsafe {
        riscv::interrupt::enable_interrupt(Interrupt::MachineTimer);
        riscv::interrupt::enable();
    }
}

#[riscv_rt::core_interrupt(Interrupt::MachineTimer)]
fn machine_timer() {
    // The next compare is one period after the last one, not after now, so ticks do not drift
    // with interrupt latency.
    set_mtimecmp(mtimecmp() + PERIOD);
    super::tick();
}
