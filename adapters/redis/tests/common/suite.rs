//! The tier's behaviour against a real `redis-server`, written once on the core's `Timer` so
//! that the tokio and the smol binaries run the same bodies.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use readthrough_core::{
    Announced, Announcement, Deleted, Fetched, Lifetime, LockOutcome, Stored, Tier, Timer,
    Unavailable, Unlocked, with_timeout,
};
use readthrough_redis::{
    BreakerState, ConnectError, LockToken, Postcard, RedisTier, RedisTierConfig, TierStats,
};

use super::server::RedisServer;

/// One cache's view of the tier in these tests: `String` keys and values.
pub struct Node<T> {
    tier: RedisTier<String, Postcard, T>,
}

impl<T: Timer + Clone> Node<T> {
    pub async fn connect(server: &RedisServer, config: RedisTierConfig, timer: &T) -> Self {
        let tier = RedisTier::connect(server.url(), config, Postcard, timer.clone())
            .await
            .expect("connect to the test server");
        Node { tier }
    }

    pub async fn fetch(&self, key: &str) -> Fetched<String> {
        Tier::<String, String>::fetch(&self.tier, &key.to_owned()).await
    }

    pub async fn store(&self, key: &str, value: &str, ttl: Duration) -> Stored {
        self.tier
            .store(&key.to_owned(), &value.to_owned(), ttl)
            .await
    }

    pub async fn delete(&self, key: &str) -> Deleted {
        Tier::<String, String>::delete(&self.tier, &key.to_owned()).await
    }

    pub async fn lock(&self, key: &str, hold_for: Duration) -> LockOutcome<LockToken> {
        Tier::<String, String>::lock(&self.tier, &key.to_owned(), hold_for).await
    }

    pub async fn unlock(&self, key: &str, token: LockToken) -> Unlocked {
        Tier::<String, String>::unlock(&self.tier, &key.to_owned(), token).await
    }

    pub async fn announce(&self, key: &str, announcement: Announcement) -> Announced {
        Tier::<String, String>::announce(&self.tier, &key.to_owned(), announcement).await
    }

    pub fn stats(&self) -> TierStats {
        self.tier.stats()
    }

    /// Collects the keys other nodes invalidate.
    pub fn record_invalidations(&self) -> Arc<Mutex<Vec<String>>> {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        self.tier
            .on_invalidation(move |key: &String| sink.lock().unwrap().push(key.clone()));
        heard
    }
}

const SECOND: Duration = Duration::from_secs(1);

fn config(test: &str) -> RedisTierConfig {
    RedisTierConfig::new().prefix(format!("test:{test}"))
}

/// Polls `done` every 10 ms for at most `bound`; returns whether it became true.
async fn eventually<T: Timer>(timer: &T, bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = timer.now();
    while timer.now() - start < bound {
        if done() {
            return true;
        }
        timer.sleep(Duration::from_millis(10)).await;
    }
    done()
}

pub async fn connecting_to_a_dead_server_fails_within_the_connect_timeout<T: Timer + Clone>(
    timer: T,
) {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    server.kill();
    let connect_timeout = Duration::from_millis(500);
    let start = Instant::now();
    let outcome = RedisTier::<String, Postcard, T>::connect(
        url,
        config("dead").connect_timeout(connect_timeout),
        Postcard,
        timer.clone(),
    )
    .await;
    assert!(
        matches!(
            outcome,
            Err(ConnectError::Connect(_) | ConnectError::TimedOut)
        ),
        "connected to a killed server"
    );
    assert!(start.elapsed() < connect_timeout + Duration::from_millis(300));
}

pub async fn stores_and_fetches_with_the_remaining_ttl<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let node = Node::connect(&server, config("fetch"), &timer).await;
    assert_eq!(node.fetch("k").await, Fetched::Miss);
    assert_eq!(node.store("k", "value", 10 * SECOND).await, Stored::Stored);
    let Fetched::Hit { value, lifetime } = node.fetch("k").await else {
        panic!("stored value not fetched");
    };
    assert_eq!(value, "value");
    let Lifetime::Remaining(left) = lifetime else {
        panic!("stored without expiry")
    };
    assert!(
        left > 9 * SECOND && left <= 10 * SECOND,
        "remaining {left:?}"
    );
    let stats = node.stats();
    assert_eq!((stats.hits, stats.misses, stats.stores), (1, 1, 1));
}

pub async fn a_value_expires_after_its_ttl<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let node = Node::connect(&server, config("expiry"), &timer).await;
    assert_eq!(
        node.store("k", "v", Duration::from_millis(100)).await,
        Stored::Stored
    );
    assert!(matches!(node.fetch("k").await, Fetched::Hit { .. }));
    timer.sleep(Duration::from_millis(150)).await;
    assert_eq!(node.fetch("k").await, Fetched::Miss);
}

pub async fn delete_removes_the_value<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let node = Node::connect(&server, config("delete"), &timer).await;
    node.store("k", "v", 10 * SECOND).await;
    assert_eq!(node.delete("k").await, Deleted::Deleted);
    assert_eq!(node.delete("k").await, Deleted::Absent);
    assert_eq!(node.fetch("k").await, Fetched::Miss);
}

pub async fn the_lock_is_exclusive_and_released_only_by_its_token<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = Node::connect(&server, config("lock"), &timer).await;
    let b = Node::connect(&server, config("lock"), &timer).await;
    let LockOutcome::Acquired(token) = a.lock("k", 10 * SECOND).await else {
        panic!("a free lock was not acquired");
    };
    assert_eq!(b.lock("k", 10 * SECOND).await, LockOutcome::HeldElsewhere);
    // A token that is not the holder's releases nothing.
    let LockOutcome::Acquired(other_token) = b.lock("other", 10 * SECOND).await else {
        panic!("a free lock was not acquired");
    };
    assert_eq!(b.unlock("k", other_token).await, Unlocked::Lost);
    assert_eq!(b.lock("k", 10 * SECOND).await, LockOutcome::HeldElsewhere);
    assert_eq!(a.unlock("k", token).await, Unlocked::Released);
    assert!(matches!(
        b.lock("k", 10 * SECOND).await,
        LockOutcome::Acquired(_)
    ));
}

pub async fn the_lock_expires_after_its_hold_time<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = Node::connect(&server, config("lock-expiry"), &timer).await;
    let b = Node::connect(&server, config("lock-expiry"), &timer).await;
    let LockOutcome::Acquired(stale) = a.lock("k", Duration::from_millis(100)).await else {
        panic!("a free lock was not acquired");
    };
    assert_eq!(b.lock("k", SECOND).await, LockOutcome::HeldElsewhere);
    timer.sleep(Duration::from_millis(150)).await;
    assert!(matches!(
        b.lock("k", SECOND).await,
        LockOutcome::Acquired(_)
    ));
    // The dead holder's late unlock must not free the new holder's lock.
    assert_eq!(a.unlock("k", stale).await, Unlocked::Lost);
    assert_eq!(a.lock("k", SECOND).await, LockOutcome::HeldElsewhere);
}

pub async fn announcements_reach_other_nodes_and_not_the_sender<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = Node::connect(&server, config("announce"), &timer).await;
    let b = Node::connect(&server, config("announce"), &timer).await;
    let heard_by_a = a.record_invalidations();
    let heard_by_b = b.record_invalidations();

    let key = "k".to_owned();
    let a_landing = Tier::<String, String>::landing(&a.tier, &key);
    let b_landing = Tier::<String, String>::landing(&b.tier, &key);
    assert_eq!(a.announce("k", Announcement::Landed).await, Announced::Sent);
    let heard = with_timeout(&timer, 5 * SECOND, b_landing).await;
    assert_eq!(heard, Ok(Announcement::Landed));
    let own = with_timeout(&timer, Duration::from_millis(200), a_landing).await;
    assert!(own.is_err(), "a node heard its own landing");

    assert_eq!(
        a.announce("k", Announcement::Invalidated).await,
        Announced::Sent
    );
    let delivered = eventually(&timer, 5 * SECOND, || {
        !heard_by_b.lock().unwrap().is_empty()
    })
    .await;
    assert!(
        delivered,
        "the other node's sink never got the invalidation"
    );
    assert_eq!(*heard_by_b.lock().unwrap(), ["k"]);
    assert!(
        eventually(&timer, 5 * SECOND, || a.stats().own_announcements_ignored
            == 2)
        .await
    );
    assert!(
        heard_by_a.lock().unwrap().is_empty(),
        "a node invalidated on its own announcement"
    );
    assert_eq!(b.stats().announcements_heard, 2);
}

/// Finds the Redis name of the tier's value entry for `key` by asking the server, as an
/// operator would (the layout is private to the tier).
pub fn value_name(server: &RedisServer, prefix: &str, key: &str) -> Vec<u8> {
    let pattern = format!("{prefix}*:v:*");
    let names: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(pattern)
        .query(&mut server.raw())
        .unwrap();
    let suffix = {
        let mut encoded = Vec::new();
        readthrough_redis::Codec::<String>::encode(&Postcard, &key.to_owned(), &mut encoded)
            .unwrap();
        encoded
    };
    names
        .into_iter()
        .find(|name| name.ends_with(&suffix))
        .expect("the stored value's key")
}

pub async fn garbage_bytes_are_a_counted_miss_and_get_overwritten<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let node = Node::connect(&server, config("garbage"), &timer).await;
    node.store("k", "good", 10 * SECOND).await;
    let name = value_name(&server, "test:garbage", "k");
    redis::cmd("SET")
        .arg(&name)
        .arg(&b"\xff\xff\xff\xff\xff\xff"[..])
        .exec(&mut server.raw())
        .unwrap();
    assert_eq!(node.fetch("k").await, Fetched::Undecodable);
    assert_eq!(node.stats().undecodable, 1);
    assert_eq!(node.store("k", "fresh", 10 * SECOND).await, Stored::Stored);
    assert!(matches!(node.fetch("k").await, Fetched::Hit { value, .. } if value == "fresh"));
}

pub async fn a_value_over_the_size_limit_is_not_written<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let node = Node::connect(&server, config("size").max_value_bytes(64), &timer).await;
    assert_eq!(node.store("k", "small", 10 * SECOND).await, Stored::Stored);
    let large = "x".repeat(1000);
    assert_eq!(node.store("k", &large, 10 * SECOND).await, Stored::TooLarge);
    // The older value is gone too: no node may read what this store meant to replace.
    assert_eq!(node.fetch("k").await, Fetched::Miss);
    assert_eq!(node.stats().too_large, 1);
}

pub async fn a_paused_server_times_out_within_the_call_timeout<T: Timer + Clone>(timer: T) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let call_timeout = Duration::from_millis(50);
    let node = Node::connect(&server, config("slow").call_timeout(call_timeout), &timer).await;
    assert_eq!(node.fetch("k").await, Fetched::Miss);
    let pause = server.pause(1.0);
    // Let DEBUG SLEEP reach the server before the tier's call.
    timer.sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let outcome = node.fetch("k").await;
    let took = start.elapsed();
    assert_eq!(outcome, Fetched::Unavailable(Unavailable::TimedOut));
    assert!(
        took < call_timeout + Duration::from_millis(200),
        "took {took:?}"
    );
    assert_eq!(node.stats().timeouts, 1);
    pause.join().unwrap();
}

pub async fn the_breaker_opens_on_failures_and_closes_when_the_server_is_back<T: Timer + Clone>(
    timer: T,
) {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let back_off = Duration::from_millis(300);
    let config = config("breaker")
        .call_timeout(Duration::from_millis(50))
        .breaker(3, back_off);
    let a = Node::connect(&server, config.clone(), &timer).await;
    let heard_by_a = a.record_invalidations();
    assert_eq!(a.fetch("k").await, Fetched::Miss);

    server.kill();
    for _ in 0..3 {
        let outcome = a.fetch("k").await;
        assert!(
            matches!(
                outcome,
                Fetched::Unavailable(Unavailable::Failed | Unavailable::TimedOut)
            ),
            "{outcome:?}"
        );
    }
    let start = Instant::now();
    assert_eq!(
        a.fetch("k").await,
        Fetched::Unavailable(Unavailable::CircuitOpen)
    );
    assert!(
        start.elapsed() < Duration::from_millis(10),
        "an open breaker still waited"
    );
    let stats = a.stats();
    assert_eq!(
        (stats.breaker, stats.breaker_opened),
        (BreakerState::Open, 1)
    );
    assert_eq!(stats.timeouts + stats.failures, 3);

    server.restart();
    let mut recovered = false;
    let start = timer.now();
    while timer.now() - start < 15 * SECOND {
        if a.fetch("k").await == Fetched::Miss {
            recovered = true;
            break;
        }
        timer.sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "the tier was not used again after the server came back"
    );
    assert_eq!(a.stats().breaker, BreakerState::Closed);

    // The subscription came back too: another node's invalidation reaches this one.
    let b = Node::connect(&server, config, &timer).await;
    let delivered = async {
        loop {
            b.announce("k", Announcement::Invalidated).await;
            if !heard_by_a.lock().unwrap().is_empty() {
                return;
            }
            timer.sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(
        with_timeout(&timer, 10 * SECOND, delivered).await.is_ok(),
        "no announcement heard after the server came back"
    );
}
