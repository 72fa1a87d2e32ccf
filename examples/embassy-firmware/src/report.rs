//! Where the firmware's status lines go: stdout on the host; on the board, semihosting (feature
//! `semihosting`, for a debugger or QEMU) or else a RAM buffer a debugger can read (`REPORT_LOG`).

use core::fmt;

#[cfg(not(target_os = "none"))]
pub fn line(args: fmt::Arguments<'_>) {
    std::println!("{args}");
}

// The Arm and RISC-V semihosting crates offer the same `hprintln!` and `debug::exit`.
#[cfg(all(target_os = "none", feature = "semihosting", target_arch = "arm"))]
use cortex_m_semihosting as semihosting;
#[cfg(all(target_os = "none", feature = "semihosting", target_arch = "riscv32"))]
use riscv_semihosting as semihosting;

#[cfg(all(target_os = "none", feature = "semihosting"))]
pub fn line(args: fmt::Arguments<'_>) {
    semihosting::hprintln!("{}", args);
}

/// Under semihosting a panic prints its message and ends the session with a failure status, so
/// a CI run fails at once with the reason instead of waiting for its timeout.
#[cfg(all(target_os = "none", feature = "semihosting"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    semihosting::hprintln!("panicked: {}", info);
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

/// Formats one status line to wherever this build reports.
macro_rules! report {
    ($($arg:tt)*) => {
        $crate::report::line(format_args!($($arg)*))
    };
}
pub(crate) use report;
