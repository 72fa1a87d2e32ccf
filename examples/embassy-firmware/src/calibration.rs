//! The slow lookup the firmware caches: a sensor's calibration record, read over a slow bus.

use core::cell::Cell;
use core::fmt;

use critical_section::Mutex;

use embassy_time::{Duration, Timer};

/// How long one calibration read keeps the (simulated) bus busy.
pub const READ_TIME: Duration = Duration::from_millis(100);

/// Sensors fitted to this board: ids `0..SENSORS`.
pub const SENSORS: u8 = 4;

// Counted under a critical section: thumbv6m has no atomic read-modify-write.
static READS: Mutex<Cell<u32>> = Mutex::new(Cell::new(0));

/// A sensor's calibration: what the firmware applies to every raw sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calibration {
    /// Added to raw readings, in milli-degrees Celsius.
    pub offset_millicelsius: i32,
    /// Gain correction, in parts per million.
    pub gain_ppm: u32,
}

// The report prints records and errors with `{}`, as text or (feature `defmt`) as defmt frames:
// each gets a Display and a defmt::Format impl that say the same.
impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "offset {} mC, gain {} ppm",
            self.offset_millicelsius, self.gain_ppm
        )
    }
}

#[cfg(all(target_os = "none", feature = "defmt"))]
impl defmt::Format for Calibration {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "offset {} mC, gain {} ppm",
            self.offset_millicelsius,
            self.gain_ppm
        )
    }
}

/// Why a calibration read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensorError {
    /// Nothing answers at this sensor id.
    NoSuchSensor(u8),
}

impl fmt::Display for SensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SensorError::NoSuchSensor(id) => write!(f, "no sensor answers at id {id}"),
        }
    }
}

/// Reads sensor `id`'s calibration record; takes [`READ_TIME`] whether or not the sensor exists.
pub async fn read_calibration(id: u8) -> Result<Calibration, SensorError> {
    critical_section::with(|cs| {
        let reads = READS.borrow(cs);
        reads.set(reads.get() + 1);
    });
    Timer::after(READ_TIME).await;
    if id >= SENSORS {
        return Err(SensorError::NoSuchSensor(id));
    }
    Ok(Calibration {
        offset_millicelsius: -250 + i32::from(id) * 75,
        gain_ppm: 1_000_000 + u32::from(id) * 120,
    })
}

/// Calibration reads started so far, failed ones included.
pub fn reads() -> u32 {
    critical_section::with(|cs| READS.borrow(cs).get())
}
