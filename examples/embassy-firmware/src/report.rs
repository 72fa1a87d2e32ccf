//! Where the firmware's status lines go: stdout on the host; on the board, defmt frames on
//! semihosting (feature `defmt`), text on semihosting (feature `semihosting`, for a debugger or
//! QEMU), or else a RAM buffer a debugger can read (`REPORT_LOG`).
//!
//! Report lines are written once for both kinds of output, so they keep to what both accept:
//! positional `{}` placeholders, with values that are `Display` and, for defmt, `defmt::Format`.
//! Values of other crates that have only `Display` or `Debug` go through [`Shown`].

use core::fmt;

#[cfg(not(target_os = "none"))]
pub fn line(args: fmt::Arguments<'_>) {
    std::println!("{args}");
}

// The Arm and RISC-V semihosting crates offer the same `hprintln!`, `hio` and `debug::exit`.
#[cfg(all(target_os = "none", feature = "semihosting", target_arch = "arm"))]
use cortex_m_semihosting as semihosting;
#[cfg(all(target_os = "none", feature = "semihosting", target_arch = "riscv32"))]
use riscv_semihosting as semihosting;

#[cfg(all(target_os = "none", feature = "semihosting", not(feature = "defmt")))]
pub fn line(args: fmt::Arguments<'_>) {
    semihosting::hprintln!("{}", args);
}

/// Under semihosting a panic reports its message and ends the session with a failure status, so
/// a CI run fails at once with the reason instead of waiting for its timeout.
#[cfg(all(target_os = "none", feature = "semihosting"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "defmt")]
    defmt::println!("{}", defmt::Display2Format(info));
    #[cfg(not(feature = "defmt"))]
    semihosting::hprintln!("{}", info);
    semihosting::debug::exit(semihosting::debug::EXIT_FAILURE);
    loop {}
}

#[cfg(all(target_os = "none", not(feature = "semihosting")))]
pub fn line(args: fmt::Arguments<'_>) {
    critical_section::with(|cs| {
        let _ = fmt::Write::write_fmt(
            &mut *log::REPORT_LOG.borrow_ref_mut(cs),
            format_args!("{args}\n"),
        );
    });
}

/// Ends the demonstration: the host process exits; under semihosting the debugger session ends;
/// otherwise the firmware idles with its report in RAM.
pub fn finish() {
    #[cfg(not(target_os = "none"))]
    std::process::exit(0);
    #[cfg(all(target_os = "none", feature = "semihosting"))]
    semihosting::debug::exit(semihosting::debug::EXIT_SUCCESS);
}

#[cfg(all(target_os = "none", not(feature = "semihosting")))]
mod log {
    use core::cell::RefCell;
    use core::fmt;

    use critical_section::Mutex;

    const LOG_BYTES: usize = 2048;

    /// The report's text, newest lines dropped once full.
    pub struct ReportLog {
        bytes: [u8; LOG_BYTES],
        len: usize,
    }

    impl fmt::Write for ReportLog {
        fn write_str(&mut self, text: &str) -> fmt::Result {
            let room = LOG_BYTES - self.len;
            let taken = text.len().min(room);
            self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
            self.len += taken;
            if taken == text.len() {
                Ok(())
            } else {
                Err(fmt::Error)
            }
        }
    }

    #[unsafe(no_mangle)]
    pub static REPORT_LOG: Mutex<RefCell<ReportLog>> = Mutex::new(RefCell::new(ReportLog {
        bytes: [0; LOG_BYTES],
        len: 0,
    }));
}

/// defmt's global logger: frames go out on semihosting's stdout, to be decoded on the host by
/// `defmt-print -e <image>` (what `qemu-run.sh` does with `QEMU_FEATURES=defmt`). A board without
/// a debugger attached would use defmt-rtt instead.
#[cfg(all(target_os = "none", feature = "defmt"))]
mod defmt_semihosting {
    use core::ptr::addr_of_mut;

    use critical_section::RestoreState;

    use super::semihosting::hio::{self, HostStream};

    /// The logger's state. `acquire` enters a critical section that `release` leaves, so only
    /// the one frame being written touches it, and only in between.
    struct State {
        encoder: defmt::Encoder,
        restore: RestoreState,
        taken: bool,
        stdout: Option<HostStream>,
    }

    static mut STATE: State = State {
        encoder: defmt::Encoder::new(),
        restore: RestoreState::invalid(),
        taken: false,
        stdout: None,
    };

    /// # Safety
    /// Only inside the critical section `acquire` entered, and not while another reference
    /// returned by it is in use.
    unsafe fn state() -> &'static mut State {
        // SAFETY: the caller holds the logger's critical section (see above).
        unsafe { &mut *addr_of_mut!(STATE) }
    }

    fn send(stdout: &mut Option<HostStream>, bytes: &[u8]) {
        if stdout.is_none() {
            *stdout = hio::hstdout().ok();
        }
        if let Some(stdout) = stdout {
            // A frame the host did not take cannot be reported anywhere else: drop it.
            let _ = stdout.write_all(bytes);
        }
    }

    #[defmt::global_logger]
    struct SemihostingLogger;

    // SAFETY: `acquire` enters a critical section that `release` leaves and refuses to nest, so
    // frames never interleave; defmt calls `write` and `flush` only in between.
    unsafe impl defmt::Logger for SemihostingLogger {
        fn acquire() {
            // SAFETY: left in `release`, which defmt calls once per `acquire`.
            let restore = unsafe { critical_section::acquire() };
            // SAFETY: inside the critical section just entered.
            let state = unsafe { state() };
            if state.taken {
                panic!("defmt logger taken reentrantly");
            }
            state.taken = true;
            state.restore = restore;
            let stdout = &mut state.stdout;
            state.encoder.start_frame(|bytes| send(stdout, bytes));
        }

        unsafe fn flush() {}

        unsafe fn release() {
            // SAFETY: still inside the critical section `acquire` entered.
            let state = unsafe { state() };
            let stdout = &mut state.stdout;
            state.encoder.end_frame(|bytes| send(stdout, bytes));
            state.taken = false;
            // SAFETY: the state `acquire` saved when it entered this critical section.
            unsafe { critical_section::release(state.restore) };
        }

        unsafe fn write(bytes: &[u8]) {
            // SAFETY: between `acquire` and `release`.
            let state = unsafe { state() };
            let stdout = &mut state.stdout;
            state.encoder.write(bytes, |bytes| send(stdout, bytes));
        }
    }
}

/// A value of another crate shown in a report line through its `Display` or `Debug`: as text,
/// or for defmt formatted on the device (`Display2Format`/`Debug2Format`), since the core has
/// no `defmt::Format` impls of its own.
pub enum Shown<'a> {
    Display(&'a dyn fmt::Display),
    Debug(&'a dyn fmt::Debug),
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Display(value) => value.fmt(f),
            Shown::Debug(value) => value.fmt(f),
        }
    }
}

#[cfg(all(target_os = "none", feature = "defmt"))]
impl defmt::Format for Shown<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self))
    }
}

/// Formats one status line to wherever this build reports.
#[cfg(not(all(target_os = "none", feature = "defmt")))]
macro_rules! report {
    ($($arg:tt)*) => {
        $crate::report::line(format_args!($($arg)*))
    };
}
#[cfg(all(target_os = "none", feature = "defmt"))]
macro_rules! report {
    ($($arg:tt)*) => {
        defmt::println!($($arg)*)
    };
}
pub(crate) use report;
