//! The circuit breaker: after a run of failures the tier is skipped for a while instead of
//! making every cache miss wait out a timeout against a dead server.

use core::time::Duration;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Whether a call may go to the server now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Closed: calls go through.
    Pass,
    /// The back-off ended: this one call probes the server; the others stay skipped until it
    /// answers.
    Probe,
    /// Open: skip the tier.
    Skip,
}

/// The breaker's state as the counters report it.
///
/// ```
/// use readthrough_redis::BreakerState;
/// assert_ne!(BreakerState::Closed, BreakerState::Open);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go to the server.
    #[default]
    Closed,
    /// Calls are skipped until the back-off ends and a probe succeeds.
    Open,
}

pub(crate) struct Breaker {
    failures_to_open: u32,
    open_for: Duration,
    consecutive_failures: AtomicU32,
    /// Nanoseconds of the tier's timer before which calls are skipped (while open).
    closed_again_at: AtomicU64,
}

fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

impl Breaker {
    pub(crate) fn new(failures_to_open: u32, open_for: Duration) -> Self {
        Breaker {
            failures_to_open,
            open_for,
            consecutive_failures: AtomicU32::new(0),
            closed_again_at: AtomicU64::new(0),
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        if self.consecutive_failures.load(Ordering::Relaxed) >= self.failures_to_open {
            BreakerState::Open
        } else {
            BreakerState::Closed
        }
    }

    pub(crate) fn admit(&self, now: Duration) -> Admission {
        if self.state() == BreakerState::Closed {
            return Admission::Pass;
        }
        let now = nanos(now);
        let until = self.closed_again_at.load(Ordering::Acquire);
        if now < until {
            return Admission::Skip;
        }
        // One caller wins the probe; pushing the deadline keeps the others skipping meanwhile.
        let next = now.saturating_add(nanos(self.open_for));
        match self.closed_again_at.compare_exchange(
            until,
            next,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Admission::Probe,
            Err(_) => Admission::Skip,
        }
    }

    pub(crate) fn succeeded(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
    }

    /// Returns whether this failure opened the breaker.
    pub(crate) fn failed(&self, now: Duration) -> bool {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        if failures >= self.failures_to_open {
            self.closed_again_at.store(
                nanos(now).saturating_add(nanos(self.open_for)),
                Ordering::Release,
            );
        }
        failures == self.failures_to_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn opens_after_the_threshold_then_lets_one_probe_through_after_the_back_off() {
        let breaker = Breaker::new(2, SECOND);
        assert_eq!(breaker.admit(Duration::ZERO), Admission::Pass);
        assert!(!breaker.failed(Duration::ZERO));
        assert_eq!(breaker.admit(Duration::ZERO), Admission::Pass);
        assert!(breaker.failed(Duration::ZERO));
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.admit(SECOND / 2), Admission::Skip);
        assert_eq!(breaker.admit(SECOND), Admission::Probe);
        assert_eq!(breaker.admit(SECOND), Admission::Skip);
        breaker.succeeded();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.admit(SECOND), Admission::Pass);
    }

    #[test]
    fn a_failed_probe_opens_it_for_another_back_off() {
        let breaker = Breaker::new(1, SECOND);
        breaker.failed(Duration::ZERO);
        assert_eq!(breaker.admit(SECOND), Admission::Probe);
        breaker.failed(SECOND);
        assert_eq!(breaker.admit(SECOND * 3 / 2), Admission::Skip);
        assert_eq!(breaker.admit(SECOND * 2), Admission::Probe);
    }
}
