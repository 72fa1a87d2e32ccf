//! A cache in front of a shared tier (`Tiered` on `MemoryTier`): one tier request per key per
//! node, one load per key per fleet, and every way the fleet lock can end. Time is a
//! `ManualTimer`: nothing here sleeps.

mod common;

use std::time::Duration;

use common::tier::{FLEET_WAIT, LOCK_TIMEOUT, Node, TTL, node};
use common::{Calls, Gate, block_on, bounded, join_all, poll_once, yield_many};
use futures_lite::future::zip;
use readthrough_core::{
    Announcement, Error, Loader, LockOutcome, ManualTimer, MemoryTier, Status, Stored, Tier,
};

/// No test may hang: each gets this long (real time; the tests' own time is manual).
const BOUND: Duration = Duration::from_secs(20);

type Outcome = Result<(u32, Status), String>;

/// A loader that counts its calls and answers `value` once `gate` opens.
#[derive(Clone)]
struct Gated {
    calls: Calls,
    gate: Gate,
    value: Result<u32, String>,
}

impl Loader<u32> for Gated {
    type Value = u32;
    type Error = String;

    async fn load(&self, _key: &u32) -> Result<u32, String> {
        self.calls.record();
        self.gate.then(self.value.clone()).await
    }
}

fn gated(calls: &Calls, gate: &Gate, value: Result<u32, String>) -> Gated {
    Gated {
        calls: calls.clone(),
        gate: gate.clone(),
        value,
    }
}

/// One caller's call, as a future of one type whatever node it runs on.
async fn call(node: &Node, key: u32, load: Gated) -> Outcome {
    node.get_or_load(&key, load)
        .await
        .map(|answer| (answer.value, answer.status))
        .map_err(|error| match error {
            Error::Load(error) => (*error).clone(),
            other => format!("{other:?}"),
        })
}

fn count(outcomes: &[Outcome], wanted: Status) -> usize {
    outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok((_, status)) if *status == wanted))
        .count()
}

#[test]
fn a_local_storm_sends_one_leaders_tier_requests_and_a_hit_sends_none() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, tier_calls) = node(&tier, &timer);
        let (calls, gate) = (Calls::default(), Gate::default());
        let load = gated(&calls, &gate, Ok(7));
        let callers: Vec<_> = (0..50).map(|_| call(&a, 1, load.clone())).collect();
        let opener = async {
            yield_many(10).await;
            gate.open();
        };
        let (outcomes, ()) = block_on(zip(join_all(callers), opener));
        assert_eq!(calls.count(), 1);
        assert_eq!(
            (
                count(&outcomes, Status::Miss),
                count(&outcomes, Status::LockHit)
            ),
            (1, 49)
        );
        assert_eq!(
            (
                tier_calls.fetches(),
                tier_calls.locks(),
                tier_calls.stores()
            ),
            (2, 1, 1),
            "one leader's requests: fetch, lock, fetch again, store"
        );
        assert_eq!(block_on(call(&a, 1, load)), Ok((7, Status::Hit)));
        assert_eq!(tier_calls.fetches(), 2, "an L1 hit asked the tier");
        assert_eq!(a.cache().loads_in_flight(), 0);
        assert_eq!(tier.len(), 1);
    });
}

#[test]
fn two_nodes_sharing_a_tier_load_each_key_once() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, b_calls) = node(&tier, &timer);
        let (calls, gate) = (Calls::default(), Gate::default());
        let load = gated(&calls, &gate, Ok(7));
        // A's callers first: A's leader takes the fleet lock, B's leader finds it held.
        let callers: Vec<_> = (0..40)
            .map(|index| call(if index < 20 { &a } else { &b }, 1, load.clone()))
            .collect();
        let opener = async {
            yield_many(10).await;
            gate.open();
        };
        let (outcomes, ()) = block_on(zip(join_all(callers), opener));
        assert_eq!(calls.count(), 1, "the fleet loaded the key more than once");
        assert!(outcomes.iter().all(|outcome| matches!(outcome, Ok((7, _)))));
        let (from_a, from_b) = outcomes.split_at(20);
        assert_eq!(
            (count(from_a, Status::Miss), count(from_a, Status::LockHit)),
            (1, 19)
        );
        assert_eq!(
            (
                count(from_b, Status::TierLockHit),
                count(from_b, Status::LockHit)
            ),
            (1, 19)
        );
        assert_eq!(
            b_calls.fetches(),
            2,
            "B fetched before locking and after the landing"
        );
        assert_eq!(b_calls.locks(), 1);
        assert_eq!((a.stats().tier_lock_hits, b.stats().tier_lock_hits), (0, 1));
        assert_eq!(a.cache().loads_in_flight() + b.cache().loads_in_flight(), 0);
    });
}

#[test]
fn a_tier_hit_lands_for_what_is_left_of_its_tier_lifetime() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        let calls = Calls::default();
        let gate = Gate::default();
        gate.open();
        let load = gated(&calls, &gate, Ok(3));
        assert_eq!(block_on(call(&a, 1, load.clone())), Ok((3, Status::Miss)));
        timer.advance(Duration::from_secs(40));
        assert_eq!(
            block_on(call(&b, 1, load.clone())),
            Ok((3, Status::TierHit))
        );
        assert_eq!(b.stats().tier_hits, 1);
        timer.advance(Duration::from_secs(19));
        assert_eq!(b.cache().get(&1), Some(3));
        timer.advance(Duration::from_secs(1));
        assert_eq!(
            b.cache().get(&1),
            None,
            "B kept the value past its tier lifetime"
        );
        assert_eq!(calls.count(), 1);
        // A tier lifetime longer than the cache's TTL is cut to the TTL.
        let long = tier.node();
        assert_eq!(block_on(long.store(&2, &20, TTL * 10)), Stored::Stored);
        assert_eq!(block_on(call(&b, 2, load)), Ok((20, Status::TierHit)));
        timer.advance(TTL);
        assert_eq!(b.cache().get(&2), None);
    });
}

#[test]
fn a_lock_held_elsewhere_is_waited_for_until_its_landing() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (b, _) = node(&tier, &timer);
        let other = tier.node();
        let LockOutcome::Acquired(token) = block_on(other.lock(&1, Duration::from_secs(30))) else {
            panic!("the lock was free");
        };
        let (calls, gate) = (Calls::default(), Gate::default());
        let mut waiting = Box::pin(call(&b, 1, gated(&calls, &gate, Ok(0))));
        assert!(poll_once(waiting.as_mut()).is_pending());
        block_on(other.store(&1, &5, TTL));
        block_on(other.unlock(&1, token));
        block_on(other.announce(&1, Announcement::Landed));
        assert_eq!(block_on(waiting), Ok((5, Status::TierLockHit)));
        assert_eq!(calls.count(), 0);
        assert_eq!(b.stats().fleet_lock_timeouts, 0);
    });
}

#[test]
fn a_lock_holder_that_never_lands_costs_the_fleet_wait_then_this_node_loads() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (b, _) = node(&tier, &timer);
        let dead = tier.node();
        assert!(matches!(
            block_on(dead.lock(&1, Duration::from_secs(30))),
            LockOutcome::Acquired(_)
        ));
        let (calls, gate) = (Calls::default(), Gate::default());
        gate.open();
        let mut waiting = Box::pin(call(&b, 1, gated(&calls, &gate, Ok(9))));
        assert!(poll_once(waiting.as_mut()).is_pending());
        timer.advance(FLEET_WAIT - Duration::from_millis(1));
        assert!(
            poll_once(waiting.as_mut()).is_pending(),
            "gave up before the fleet wait"
        );
        timer.advance(Duration::from_millis(1));
        assert_eq!(block_on(waiting), Ok((9, Status::Miss)));
        assert_eq!((calls.count(), b.stats().fleet_lock_timeouts), (1, 1));
        assert!(FLEET_WAIT < LOCK_TIMEOUT);
        // The value loaded without the lock is shared all the same.
        assert!(matches!(
            block_on(dead.fetch(&1)),
            readthrough_core::Fetched::Hit { value: 9, .. }
        ));
    });
}

#[test]
fn a_leader_dropped_holding_the_fleet_lock_delays_the_others_by_the_fleet_wait_at_most() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        let (calls, gate) = (Calls::default(), Gate::default());
        let load = gated(&calls, &gate, Ok(4));
        let mut leader = Box::pin(call(&a, 1, load.clone()));
        assert!(
            poll_once(leader.as_mut()).is_pending(),
            "A's loader waits for the gate"
        );
        drop(leader);
        assert_eq!(a.stats().fleet_locks_dropped, 1);
        assert_eq!(a.cache().loads_in_flight(), 0);
        gate.open();
        let mut second = Box::pin(call(&b, 1, load.clone()));
        assert!(
            poll_once(second.as_mut()).is_pending(),
            "B waits on A's lock"
        );
        timer.advance(FLEET_WAIT);
        assert_eq!(block_on(second), Ok((4, Status::Miss)));
        assert_eq!(calls.count(), 2);
        // The dropped lock expires after its hold time (the lock timeout): free again.
        timer.advance(LOCK_TIMEOUT - FLEET_WAIT);
        assert!(matches!(
            block_on(tier.node().lock(&1, Duration::from_secs(1))),
            LockOutcome::Acquired(_)
        ));
    });
}

#[test]
fn a_failed_load_releases_the_lock_and_the_waiting_node_takes_it_at_once() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        let (calls, gate) = (Calls::default(), Gate::default());
        let failing = gated(&calls, &gate, Err("origin down".to_string()));
        let working = gated(&calls, &gate, Ok(8));
        let opener = async {
            yield_many(10).await;
            gate.open();
        };
        // No time passes: B is not waiting for any expiry.
        let ((from_a, from_b), ()) =
            block_on(zip(zip(call(&a, 1, failing), call(&b, 1, working)), opener));
        assert_eq!(from_a, Err("origin down".to_string()));
        assert_eq!(from_b, Ok((8, Status::Miss)));
        assert_eq!(calls.count(), 2);
        assert_eq!(b.stats().fleet_lock_timeouts, 0);
        assert_eq!(a.stats().fleet_locks_dropped, 0);
    });
}

#[test]
fn an_unavailable_tier_means_local_loads_and_it_is_used_again_when_back() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, a_calls) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        let (calls, gate) = (Calls::default(), Gate::default());
        gate.open();
        let load = gated(&calls, &gate, Ok(6));
        tier.set_available(false);
        assert_eq!(block_on(call(&a, 1, load.clone())), Ok((6, Status::Miss)));
        assert_eq!(a.stats().tier_errors, 1);
        assert_eq!(
            a_calls.locks(),
            0,
            "asked for a lock from a tier that did not answer"
        );
        assert_eq!(block_on(call(&a, 1, load.clone())), Ok((6, Status::Hit)));
        tier.set_available(true);
        assert_eq!(block_on(call(&a, 2, load.clone())), Ok((6, Status::Miss)));
        assert_eq!(
            block_on(call(&b, 2, load.clone())),
            Ok((6, Status::TierHit))
        );
        assert_eq!(calls.count(), 2);
        assert_eq!(a.stats().tier_errors, 1);
    });
}

#[test]
fn writes_reach_the_other_nodes_and_a_node_ignores_its_own() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        let (calls, gate) = (Calls::default(), Gate::default());
        gate.open();
        let load = gated(&calls, &gate, Ok(1));
        block_on(call(&a, 1, load.clone())).unwrap();
        assert_eq!(
            block_on(call(&b, 1, load.clone())),
            Ok((1, Status::TierHit))
        );

        block_on(a.insert(1, 100));
        a.tier().node.deliver_invalidations(&a);
        assert_eq!(a.cache().get(&1), Some(100), "A dropped its own write");
        b.tier().node.deliver_invalidations(&b);
        assert_eq!(b.cache().get(&1), None, "B kept its copy after A's insert");
        assert_eq!(
            block_on(call(&b, 1, load.clone())),
            Ok((100, Status::TierHit))
        );

        block_on(a.invalidate(&1));
        b.tier().node.deliver_invalidations(&b);
        assert_eq!((b.cache().get(&1), tier.len()), (None, 0));
        assert_eq!(block_on(call(&b, 1, load.clone())), Ok((1, Status::Miss)));

        block_on(b.insert(2, 20));
        assert_eq!(block_on(a.remove(&2)), None, "A never had key 2");
        b.tier().node.deliver_invalidations(&b);
        a.tier().node.deliver_invalidations(&a);
        b.tier().node.deliver_invalidations(&b);
        assert_eq!((b.cache().get(&2), tier.len()), (None, 1));
        assert_eq!(calls.count(), 2);
    });
}

#[test]
fn a_landing_between_the_fetch_and_the_lock_is_not_loaded_again() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (b, b_calls) = node(&tier, &timer);
        let other = tier.node();
        // Another node lands key 1 just after B's first fetch missed.
        b_calls.before_lock(move || {
            assert_eq!(block_on(other.store(&1, &5, TTL)), Stored::Stored);
        });
        let (calls, gate) = (Calls::default(), Gate::default());
        gate.open();
        assert_eq!(
            block_on(call(&b, 1, gated(&calls, &gate, Ok(0)))),
            Ok((5, Status::TierHit))
        );
        assert_eq!(calls.count(), 0);
        assert_eq!(b_calls.stores(), 0);
        assert!(
            matches!(
                block_on(tier.node().lock(&1, Duration::from_secs(1))),
                LockOutcome::Acquired(_)
            ),
            "B kept the lock it took for nothing"
        );
    });
}

#[test]
fn a_node_that_keeps_abandoning_is_tried_once_more_then_loaded_around() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (b, b_calls) = node(&tier, &timer);
        let other = tier.node();
        assert!(matches!(
            block_on(other.lock(&1, Duration::from_secs(30))),
            LockOutcome::Acquired(_)
        ));
        let (calls, gate) = (Calls::default(), Gate::default());
        gate.open();
        let mut waiting = Box::pin(call(&b, 1, gated(&calls, &gate, Ok(3))));
        assert!(poll_once(waiting.as_mut()).is_pending());
        // The holder says it gave up but still holds the lock: B tries the lock once more...
        block_on(other.announce(&1, Announcement::Abandoned));
        assert!(poll_once(waiting.as_mut()).is_pending());
        assert_eq!(b_calls.locks(), 2);
        // ...and after a second such announcement loads without it, sharing the value.
        block_on(other.announce(&1, Announcement::Invalidated));
        assert_eq!(block_on(waiting), Ok((3, Status::Miss)));
        assert_eq!(
            (calls.count(), b_calls.locks(), b_calls.stores()),
            (1, 2, 1)
        );
        assert_eq!(b.stats().fleet_lock_timeouts, 0, "no time passed");
    });
}

#[test]
fn a_landing_whose_announcement_was_lost_is_found_by_looking() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (b, b_calls) = node(&tier, &timer);
        let other = tier.node();
        let LockOutcome::Acquired(token) = block_on(other.lock(&1, Duration::from_secs(30))) else {
            panic!("the lock was free");
        };
        let (calls, gate) = (Calls::default(), Gate::default());
        let mut waiting = Box::pin(call(&b, 1, gated(&calls, &gate, Ok(0))));
        assert!(poll_once(waiting.as_mut()).is_pending());
        // The other node lands and releases, but its announcement never arrives.
        block_on(other.store(&1, &5, TTL));
        block_on(other.unlock(&1, token));
        assert!(poll_once(waiting.as_mut()).is_pending());
        timer.advance(FLEET_WAIT / 10);
        assert_eq!(block_on(waiting), Ok((5, Status::TierLockHit)));
        assert_eq!((calls.count(), b_calls.fetches()), (0, 2));
        assert_eq!(b.stats().fleet_lock_timeouts, 0);
    });
}

#[test]
fn a_leader_whose_load_panics_leaves_the_fleet_lock_to_expire_and_its_cache_clean() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        let panicking = |_: &u32| async {
            if true {
                panic!("the loader panics");
            }
            Ok::<u32, String>(0)
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on(a.get_or_load(&1, panicking))
        }));
        assert!(outcome.is_err(), "the panic did not reach the caller");
        assert_eq!(a.stats().fleet_locks_dropped, 1);
        assert_eq!(a.cache().loads_in_flight(), 0);
        // B waits out its fleet wait (the lock is still held), then loads; once the lock's hold
        // time (the lock timeout) is over, it is free for anyone.
        let (calls, gate) = (Calls::default(), Gate::default());
        gate.open();
        let mut second = Box::pin(call(&b, 1, gated(&calls, &gate, Ok(2))));
        assert!(poll_once(second.as_mut()).is_pending());
        timer.advance(FLEET_WAIT);
        assert_eq!(block_on(second), Ok((2, Status::Miss)));
        timer.advance(LOCK_TIMEOUT - FLEET_WAIT);
        assert!(matches!(
            block_on(tier.node().lock(&1, Duration::from_secs(1))),
            LockOutcome::Acquired(_)
        ));
        // A itself is usable: the value B shared is a tier hit for it.
        assert_eq!(
            block_on(call(&a, 1, gated(&calls, &gate, Ok(9)))),
            Ok((2, Status::TierHit))
        );
    });
}
