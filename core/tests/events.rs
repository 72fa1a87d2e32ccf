//! The `tracing` events, captured by a subscriber of the test's own.
//!
//! Run with `cargo test -p readthrough-core --features tracing --test events`; without the
//! feature this file holds no test.
#![cfg(feature = "tracing")]

mod common;

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ManualRuntime, Tasks, block_on, poll_once};
use readthrough_core::{Cache, Error, ManualTimer, RefreshAhead, WithSpawn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One captured event.
struct Emitted {
    level: Level,
    target: String,
    message: String,
    others: String,
}

/// Every event the code under test emitted.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Emitted>>>);

struct Fields {
    message: String,
    others: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.others += &format!("{}={value:?} ", field.name());
        }
    }
}

impl Subscriber for Captured {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields {
            message: String::new(),
            others: String::new(),
        };
        event.record(&mut fields);
        let metadata = event.metadata();
        self.0.lock().unwrap().push(Emitted {
            level: *metadata.level(),
            target: metadata.target().to_string(),
            message: fields.message,
            others: fields.others.trim_end().to_string(),
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Captured {
    fn messages(&self) -> Vec<String> {
        let events = self.0.lock().unwrap();
        assert!(events.iter().all(|event| event.target == "readthrough"));
        events
            .iter()
            .map(|event| format!("{} {} {}", event.level, event.message, event.others))
            .map(|line| line.trim_end().to_string())
            .collect()
    }
}

#[test]
fn failures_lock_timeouts_fail_safe_and_refreshes_are_events() {
    let captured = Captured::default();
    tracing::subscriber::with_default(captured.clone(), || {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let cache: Arc<Cache<u32, u32, String, ManualRuntime>> = Arc::new(
            Cache::builder()
                .capacity(8)
                .timer(WithSpawn::new(timer.clone(), tasks.clone()))
                .ttl(Duration::from_secs(60))
                .refresh_ahead(RefreshAhead::BeforeExpiry(Duration::from_secs(10)))
                .lock_timeout(Duration::from_secs(1))
                .fail_safe(Duration::from_secs(600), Duration::from_secs(5))
                .build()
                .unwrap(),
        );
        block_on(async {
            // A load failure with nothing at hand.
            let failed = cache.get_or_load(&1, async |_: &u32| Err("down".to_string()));
            assert!(matches!(failed.await, Err(Error::Load(_))));

            // A waiter that gives up on a load that hangs.
            let never = common::Gate::default();
            let hanging = async |_: &u32| {
                never.wait().await;
                Ok(0)
            };
            let mut leader = pin!(cache.get_or_load(&2, &hanging));
            assert!(poll_once(leader.as_mut()).is_pending());
            let mut waiter = pin!(cache.get_or_load(&2, async |_: &u32| Ok(2)));
            assert!(poll_once(waiter.as_mut()).is_pending());
            timer.advance(Duration::from_secs(1));
            assert_eq!(waiter.await.unwrap().value, 2);

            // A refresh ahead started in the background.
            cache.insert(3, 30);
            timer.advance(Duration::from_secs(55));
            let hit = cache.get_or_revalidate_in_background(&3, async |_: &u32| Ok(31));
            assert_eq!(hit.await.unwrap().value, 30);
            assert_eq!(tasks.run_all(), 1);

            // A failed load answered by fail-safe.
            cache.insert(4, 40);
            timer.advance(Duration::from_secs(70));
            let safe = cache.get_or_load(&4, async |_: &u32| Err("down".to_string()));
            assert_eq!(safe.await.unwrap().value, 40);
        });
    });
    assert_eq!(
        captured.messages(),
        [
            "WARN load failed timed_out=false",
            "WARN lock timeout: gave up waiting for another caller's load, loading alone",
            "DEBUG load started in a background task",
            "WARN load failed timed_out=false",
            "WARN fail-safe: the load failed, answering with the expired value expired_ms_ago=10000",
        ]
    );
}

#[test]
fn tier_fallbacks_and_fleet_lock_timeouts_are_events() {
    use common::tier::{FLEET_WAIT, node};
    use readthrough_core::{LockOutcome, MemoryTier, Tier};

    let captured = Captured::default();
    tracing::subscriber::with_default(captured.clone(), || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (cache, _) = node(&tier, &timer);
        block_on(async {
            // The tier is down: this node loads alone.
            tier.set_available(false);
            let local = cache.get_or_load(&1, async |_: &u32| Ok(1)).await;
            assert_eq!(local.unwrap().value, 1);
            tier.set_available(true);

            // Another node holds the fleet lock and never lands: past the fleet wait, this
            // node loads.
            let dead = tier.node();
            assert!(matches!(
                dead.lock(&2, Duration::from_secs(30)).await,
                LockOutcome::Acquired(_)
            ));
            let mut waiting = pin!(cache.get_or_load(&2, async |_: &u32| Ok(2)));
            assert!(poll_once(waiting.as_mut()).is_pending());
            timer.advance(FLEET_WAIT);
            assert_eq!(waiting.await.unwrap().value, 2);
        });
    });
    assert_eq!(
        captured.messages(),
        [
            "WARN tier fallback: the tier did not answer, loading locally",
            "WARN fleet lock timeout: gave up waiting for another node's load, loading here",
        ]
    );
}
