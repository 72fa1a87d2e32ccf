//! Firmware that caches a slow sensor-calibration read with readthrough on embassy.
//!
//! Built for a bare-metal target it is an image for one board (`src/board/`: a time driver on the
//! board's timer, a heap from `embedded-alloc`): `thumbv7em-none-eabihf` for the Cortex-M4F
//! `mps2-an386`, `thumbv6m-none-eabi` for the Cortex-M0 micro:bit, `riscv32imac-unknown-none-elf`
//! for QEMU's RISC-V `virt`. Built for the host it runs on embassy's std executor and prints its
//! report: `cargo run -p readthrough-example-embassy`. With `--features semihosting` the firmware
//! prints the same report under a debugger or QEMU (`examples/embassy-firmware/qemu-run.sh`); with
//! `--features defmt` it sends it as defmt frames instead, for `defmt-print` to decode.
#![cfg_attr(target_os = "none", no_std, no_main)]

extern crate alloc;

#[cfg(target_os = "none")]
mod board;
mod calibration;
#[cfg(target_os = "none")]
mod heap;
mod report;
#[cfg(target_os = "none")]
mod stack;

#[cfg(all(target_os = "none", not(feature = "semihosting")))]
use panic_halt as _;

use alloc::boxed::Box;

use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Duration, Instant, Timer};
use readthrough_core::{Error, Status};

use calibration::{Calibration, SensorError, read_calibration};
use report::{Shown, report};

/// Calibration records by sensor id, on embassy-time, behind critical-section locks (safe against
/// interrupts on a single-core MCU), bounded by the bytes of the records it keeps.
type CalibrationCache = readthrough_core::Cache<
    u8,
    Calibration,
    SensorError,
    readthrough_embassy::EmbassyTimer,
    readthrough_core::DefaultHashBuilder,
    readthrough_embassy::EmbassyLock<CriticalSectionRawMutex>,
    readthrough_core::Weighted<RecordBytes>,
>;

/// Bytes of one record: its sensor id and its calibration.
const RECORD_BYTES: usize = core::mem::size_of::<u8>() + core::mem::size_of::<Calibration>();

/// The heap the cache may fill with records: sixteen of them.
const CACHE_BYTES: usize = 16 * RECORD_BYTES;

/// Records written past the cache's budget, to show it evicting.
const EXTRA_RECORDS: u8 = 32;

/// Weighs a record by its bytes, so the cache's capacity is a heap budget.
struct RecordBytes;

impl readthrough_core::Weigher<u8, Calibration> for RecordBytes {
    fn weigh(&self, _sensor: &u8, _record: &Calibration) -> usize {
        RECORD_BYTES
    }
}

/// How long a calibration record is trusted before it is read from the sensor again.
const CALIBRATION_TTL: Duration = Duration::from_millis(500);

/// Tasks that ask for the same record at the same moment, as several drivers would at boot.
const CONCURRENT_READERS: usize = 4;

type Outcome = (u8, Result<Status, Error<SensorError>>);

static OUTCOMES: Channel<CriticalSectionRawMutex, Outcome, CONCURRENT_READERS> = Channel::new();

#[embassy_executor::task(pool_size = CONCURRENT_READERS)]
async fn calibration_reader(cache: &'static CalibrationCache, sensor: u8) {
    let outcome = cache
        .get_or_load(&sensor, |id: &u8| read_calibration(*id))
        .await
        .map(|answer| answer.status);
    OUTCOMES.send((sensor, outcome)).await;
}

/// Starts `readers` tasks asking for `sensor` at once and reports what each got.
async fn read_concurrently(
    spawner: Spawner,
    cache: &'static CalibrationCache,
    sensor: u8,
    readers: usize,
) {
    let reads_before = calibration::reads();
    let started = Instant::now();
    for _ in 0..readers {
        match calibration_reader(cache, sensor) {
            Ok(token) => spawner.spawn(token),
            Err(error) => report!("could not start a reader task: {}", Shown::Debug(&error)),
        }
    }
    for _ in 0..readers {
        let (sensor, outcome) = OUTCOMES.receive().await;
        match outcome {
            Ok(status) => report!("  sensor {}: {}", sensor, status.as_str()),
            Err(error) => report!("  sensor {}: error: {}", sensor, Shown::Display(&error)),
        }
    }
    report!(
        "  {} readers done in {} ms; sensor reads: {}",
        readers,
        started.elapsed().as_millis(),
        calibration::reads() - reads_before
    );
}

async fn read_once(cache: &CalibrationCache, sensor: u8) {
    let reads_before = calibration::reads();
    match cache
        .get_or_load(&sensor, |id: &u8| read_calibration(*id))
        .await
    {
        Ok(answer) => report!(
            "  sensor {}: {} {}; sensor reads: {}",
            sensor,
            answer.status.as_str(),
            answer.value,
            calibration::reads() - reads_before
        ),
        Err(error) => report!("  sensor {}: error: {}", sensor, Shown::Display(&error)),
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    #[cfg(target_os = "none")]
    {
        stack::paint();
        heap::init();
        board::start();
        report!("board: {}", board::NAME);
    }

    let cache = match readthrough_embassy::builder()
        .capacity(CACHE_BYTES)
        .shards(1)
        .weigher(RecordBytes)
        .ttl(CALIBRATION_TTL.into())
        .build()
    {
        Ok(cache) => Box::leak(Box::new(cache)),
        Err(error) => {
            report!("cache configuration refused: {}", Shown::Display(&error));
            return;
        }
    };
    let cache: &'static CalibrationCache = cache;

    report!(
        "{} tasks ask for sensor 1's calibration at once:",
        CONCURRENT_READERS
    );
    read_concurrently(spawner, cache, 1, CONCURRENT_READERS).await;

    report!("asked again:");
    read_once(cache, 1).await;

    Timer::after(CALIBRATION_TTL).await;
    report!("after its {} ms TTL:", CALIBRATION_TTL.as_millis());
    read_once(cache, 1).await;

    report!("2 tasks ask for sensor 9, which is not fitted:");
    read_concurrently(spawner, cache, 9, 2).await;

    report!(
        "{} more records written into {} bytes:",
        EXTRA_RECORDS,
        CACHE_BYTES
    );
    for sensor in 100..100 + EXTRA_RECORDS {
        let record = Calibration {
            offset_millicelsius: i32::from(sensor),
            gain_ppm: 1_000_000,
        };
        cache.insert(sensor, record);
        if cache.weight() > CACHE_BYTES {
            report!("  over budget: {} bytes", cache.weight());
        }
    }
    report!(
        "  {} cached, {} of {} bytes, {} evicted",
        cache.len(),
        cache.weight(),
        CACHE_BYTES,
        cache.stats().evictions
    );

    report!(
        "loads in flight: {}, cached records: {}, stats: {}",
        cache.loads_in_flight(),
        cache.len(),
        Shown::Debug(&cache.stats())
    );
    #[cfg(target_os = "none")]
    {
        report!(
            "heap: {} of {} bytes in use",
            heap::used(),
            board::HEAP_BYTES
        );
        let (used, size) = stack::used();
        report!("stack: {} of {} bytes used at most", used, size);
    }
    report::finish();
}
