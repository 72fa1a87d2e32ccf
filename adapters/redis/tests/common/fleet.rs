//! Several caches ("nodes") in one process in front of one real `redis-server`, through the
//! core's `Tiered`: one origin load per key across the fleet, invalidations across nodes, and
//! a server that dies and comes back. Written once on the core's `Timer` for tokio and smol.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use readthrough_core::{
    BatchLoader, Builder, Cache, Loader, SendLoader, Stats, Status, Tiered, Timer, with_timeout,
};
use readthrough_redis::{BreakerState, Postcard, RedisTier, RedisTierConfig};

use super::join_all;
use super::server::RedisServer;

pub type FleetNode<T> =
    Arc<Tiered<Cache<String, String, String, T>, RedisTier<String, Postcard, T>>>;

/// The builder of a node's cache, for `fleet_node_with` to add options to.
pub type NodeBuilder<T> = Builder<String, String, String, T>;

pub const TTL: Duration = Duration::from_secs(60);

/// How soon another node's write must reach a node (issue 11: "within 100 ms").
const PROPAGATION: Duration = Duration::from_millis(100);

/// A node: its own connection, its own cache, hearing the others' invalidations.
async fn fleet_node<T>(
    server: &RedisServer,
    config: RedisTierConfig,
    lock_timeout: Duration,
    timer: &T,
) -> FleetNode<T>
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let lock_timeout = move |builder: NodeBuilder<T>| builder.lock_timeout(lock_timeout);
    fleet_node_with(server, config, timer, lock_timeout).await
}

/// [`fleet_node`] with the cache's builder (TTL 60 s) passed through `configure`.
pub async fn fleet_node_with<T>(
    server: &RedisServer,
    config: RedisTierConfig,
    timer: &T,
    configure: impl FnOnce(NodeBuilder<T>) -> NodeBuilder<T>,
) -> FleetNode<T>
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let tier = RedisTier::connect(server.url(), config, Postcard, timer.clone())
        .await
        .expect("connect to the test server");
    let builder = Cache::<String, String, String>::builder()
        .capacity(10_000)
        .timer(timer.clone())
        .ttl(TTL);
    let cache = configure(builder).build().unwrap();
    let node = Arc::new(Tiered::new(cache, tier.clone()).unwrap());
    tier.deliver_invalidations_to(&node);
    node
}

/// The origin: counts loads per key, answers after `delay`.
pub struct Origin<T> {
    timer: T,
    delay: Duration,
    loads: Mutex<HashMap<String, usize>>,
}

impl<T: Timer> Origin<T> {
    pub fn new(timer: &T, delay: Duration) -> Self
    where
        T: Clone,
    {
        Origin {
            timer: timer.clone(),
            delay,
            loads: Mutex::new(HashMap::new()),
        }
    }

    pub fn loads_of(&self, key: &str) -> usize {
        self.loads.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    pub fn total_loads(&self) -> usize {
        self.loads.lock().unwrap().values().sum()
    }
}

impl<T: Timer> Origin<T> {
    async fn answer(&self, key: &String) -> Result<String, String> {
        *self.loads.lock().unwrap().entry(key.clone()).or_default() += 1;
        self.timer.sleep(self.delay).await;
        Ok(format!("value of {key}"))
    }
}

impl<T: Timer> Loader<String> for &Origin<T> {
    type Value = String;
    type Error = String;

    fn load(&self, key: &String) -> impl Future<Output = Result<String, String>> {
        self.answer(key)
    }
}

/// A shared origin, for background refreshes (their loader outlives the call).
pub struct SharedOrigin<T>(pub Arc<Origin<T>>);

impl<T: Timer> Loader<String> for SharedOrigin<T> {
    type Value = String;
    type Error = String;

    fn load(&self, key: &String) -> impl Future<Output = Result<String, String>> {
        self.0.answer(key)
    }
}

impl<T> SendLoader<String> for SharedOrigin<T>
where
    T: Timer<Sleep: Send> + Send + Sync + 'static,
{
    fn load_send(&self, key: &String) -> impl Future<Output = Result<String, String>> + Send {
        self.0.answer(key)
    }
}

/// A batch is one origin call, counted under each of its keys.
impl<T: Timer> BatchLoader<String> for &Origin<T> {
    type Value = String;
    type Error = String;

    async fn load_many(&self, keys: &[&String]) -> Result<Vec<String>, String> {
        {
            let mut loads = self.loads.lock().unwrap();
            for key in keys {
                *loads.entry((*key).clone()).or_default() += 1;
            }
        }
        self.timer.sleep(self.delay).await;
        Ok(keys.iter().map(|key| format!("value of {key}")).collect())
    }
}

/// `callers` calls per node, spread over `keys` keys named `{prefix}{n}`; every answer must be
/// its key's value. Returns the statuses per node.
async fn storm<T>(
    nodes: &[FleetNode<T>],
    origin: &Origin<T>,
    callers: usize,
    prefix: &str,
    keys: usize,
) -> Vec<Vec<Status>>
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let calls: Vec<_> = (0..callers)
        .flat_map(|caller| {
            nodes
                .iter()
                .enumerate()
                .map(move |(index, node)| (caller, index, node))
        })
        .map(|(caller, index, node)| async move {
            let key = format!("{prefix}{}", caller % keys);
            let answer = node.get_or_load(&key, origin).await;
            let answer = answer.unwrap_or_else(|error| panic!("{key}: {error:?}"));
            assert_eq!(answer.value, format!("value of {key}"));
            (index, answer.status)
        })
        .collect();
    let mut per_node = vec![Vec::new(); nodes.len()];
    for (index, status) in join_all(calls).await {
        per_node[index].push(status);
    }
    per_node
}

pub fn count(statuses: &[Status], wanted: Status) -> usize {
    statuses.iter().filter(|status| **status == wanted).count()
}

/// Each node's counters, since `before`, equal the statuses its callers saw.
fn assert_counted(before: &Stats, stats: &Stats, statuses: &[Status]) {
    let seen = [
        Status::Hit,
        Status::Miss,
        Status::Expired,
        Status::LockHit,
        Status::TierHit,
        Status::TierLockHit,
    ]
    .map(|status| count(statuses, status));
    let fields = |stats: &Stats| {
        [
            stats.hits,
            stats.misses,
            stats.expired,
            stats.lock_hits,
            stats.tier_hits,
            stats.tier_lock_hits,
        ]
    };
    let (now, then) = (fields(stats), fields(before));
    let counted: Vec<usize> = now.iter().zip(then).map(|(now, then)| now - then).collect();
    assert_eq!(counted, seen, "counters differ from the statuses seen");
    assert_eq!(stats.failures, before.failures);
}

/// Polls `done` every 5 ms until `bound` after `start` (a `timer.now()`); returns how long
/// after `start` it was seen done, if within `bound`.
pub async fn within<T: Timer>(
    timer: &T,
    start: Duration,
    bound: Duration,
    mut done: impl FnMut() -> bool,
) -> Option<Duration> {
    loop {
        // Read before looking: what is seen done was done by then, so a late look cannot
        // pass for an early one.
        let elapsed = timer.now() - start;
        if done() {
            return (elapsed <= bound).then_some(elapsed);
        }
        if elapsed >= bound {
            return None;
        }
        timer.sleep(Duration::from_millis(5)).await;
    }
}

/// 4 nodes, 1,000 callers each over 100 keys, a 20 ms origin: the origin sees each key once.
pub async fn a_fleet_storm_loads_each_key_once<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    // A generous call timeout: this test is about coalescing, not about a slow tier (a
    // 4,000-future storm on a loaded 2-core machine can stall a reply past 50 ms).
    let config = RedisTierConfig::new()
        .prefix("test:fleet-storm")
        .call_timeout(Duration::from_secs(2));
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(fleet_node(&server, config.clone(), Duration::from_secs(10), &timer).await);
    }
    let origin = Origin::new(&timer, Duration::from_millis(20));
    let started = Instant::now();
    let statuses = storm(&nodes, &origin, 1_000, "key", 100).await;
    eprintln!(
        "fleet storm: 4 nodes x 1,000 callers over 100 keys, last answer after {:?}, {} origin loads",
        started.elapsed(),
        origin.total_loads()
    );
    for key in 0..100 {
        assert_eq!(
            origin.loads_of(&format!("key{key}")),
            1,
            "key{key} loaded more than once"
        );
    }
    let mut misses = 0;
    for (node, statuses) in nodes.iter().zip(&statuses) {
        let stats = node.stats();
        assert_eq!(statuses.len(), 1_000);
        assert_counted(&Stats::default(), &stats, statuses);
        assert_eq!(stats.tier_errors, 0, "the tier did not answer: {stats:?}");
        misses += stats.misses;
    }
    assert_eq!(misses, 100, "one Miss (one load) per key across the fleet");
    for node in &nodes {
        assert_eq!(node.cache().loads_in_flight(), 0);
    }
}

/// Node A's insert and invalidate reach node B, whose next read misses its copy.
pub async fn writes_on_one_node_reach_the_others<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = RedisTierConfig::new().prefix("test:fleet-writes");
    let a = fleet_node(&server, config.clone(), Duration::from_secs(2), &timer).await;
    let b = fleet_node(&server, config, Duration::from_secs(2), &timer).await;
    let origin = Origin::new(&timer, Duration::ZERO);
    let key = "k".to_string();
    assert_eq!(
        a.get_or_load(&key, &origin).await.unwrap().status,
        Status::Miss
    );
    assert_eq!(
        b.get_or_load(&key, &origin).await.unwrap().status,
        Status::TierHit
    );

    // The bound: within 100 ms of A's write (from its call), B's copy is gone and
    // B's next read gets the new value. Real time: the announcement crosses a real server.
    let start = timer.now();
    a.insert(key.clone(), "new".to_string()).await;
    let dropped = within(&timer, start, PROPAGATION, || b.cache().get(&key).is_none()).await;
    let dropped = dropped.expect("B kept its copy 100 ms after A's insert");
    eprintln!("an insert on A dropped B's copy after {dropped:?}");
    let answer = b.get_or_load(&key, &origin).await.unwrap();
    assert_eq!(
        (answer.value.as_str(), answer.status),
        ("new", Status::TierHit)
    );

    let start = timer.now();
    a.invalidate(&key).await;
    let dropped = within(&timer, start, PROPAGATION, || b.cache().get(&key).is_none()).await;
    let dropped = dropped.expect("B kept its copy 100 ms after A's invalidate");
    eprintln!("an invalidate on A dropped B's copy after {dropped:?}");
    let answer = b.get_or_load(&key, &origin).await.unwrap();
    assert_eq!(
        (answer.value.as_str(), answer.status),
        ("value of k", Status::Miss)
    );
    // B's load is now shared; A's own announcements did not drop A's copy of "other".
    a.insert("other".to_string(), "mine".to_string()).await;
    timer.sleep(Duration::from_millis(200)).await;
    assert_eq!(a.cache().get("other").as_deref(), Some("mine"));
    assert_eq!(origin.loads_of("k"), 2);
}

/// The server dies in the middle of a storm: every caller still gets its value in time, the
/// tier errors are counted and the breaker opens; the server comes back: the tier is used
/// again by the same nodes.
pub async fn a_server_killed_mid_storm_costs_local_loads_then_is_used_again<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let call_timeout = Duration::from_millis(100);
    let config = RedisTierConfig::new()
        .prefix("test:fleet-faults")
        .call_timeout(call_timeout)
        .breaker(3, Duration::from_millis(300));
    let lock_timeout = Duration::from_secs(1);
    let nodes = vec![
        fleet_node(&server, config.clone(), lock_timeout, &timer).await,
        fleet_node(&server, config, lock_timeout, &timer).await,
    ];
    let origin = Origin::new(&timer, Duration::from_millis(200));
    storm(&nodes, &origin, 100, "before", 10).await;
    assert_eq!(origin.total_loads(), 10);

    let before: Vec<Stats> = nodes.iter().map(|node| node.stats()).collect();
    // Kill the server while the leaders' loads run.
    let killer = async {
        timer.sleep(Duration::from_millis(50)).await;
        server.kill();
    };
    let started = Instant::now();
    let storming = storm(&nodes, &origin, 100, "during", 10);
    let bound = Duration::from_secs(10);
    let (statuses, ()) = with_timeout(&timer, bound, futures_lite::future::zip(storming, killer))
        .await
        .expect("callers hung while the server was down");
    eprintln!(
        "storm with the server killed: last answer after {:?}",
        started.elapsed()
    );
    for ((node, before), statuses) in nodes.iter().zip(&before).zip(&statuses) {
        assert_counted(before, &node.stats(), statuses);
    }
    // Another storm while it stays down: local loads, and the breaker skips the tier.
    storm(&nodes, &origin, 100, "down", 10).await;
    for node in &nodes {
        assert!(node.stats().tier_errors > 0, "no tier error counted");
        let tier = node.tier().stats();
        assert!(
            tier.breaker_opened >= 1,
            "the breaker never opened: {tier:?}"
        );
    }
    for key in 0..10 {
        assert!(
            origin.loads_of(&format!("down{key}")) <= nodes.len(),
            "more than one load per node"
        );
    }

    server.restart();
    let (a, b) = (&nodes[0], &nodes[1]);
    let mut attempt = 0;
    let start = timer.now();
    let mut back = false;
    while timer.now() - start < Duration::from_secs(15) {
        attempt += 1;
        let key = format!("after{attempt}");
        a.get_or_load(&key, &origin).await.unwrap();
        if b.get_or_load(&key, &origin).await.unwrap().status == Status::TierHit {
            back = true;
            break;
        }
        timer.sleep(Duration::from_millis(100)).await;
    }
    assert!(
        back,
        "the nodes did not use the tier again after the server came back"
    );
    assert_eq!(a.tier().stats().breaker, BreakerState::Closed);
}

/// A node whose caller is cancelled while it holds the fleet lock: the lock is left to expire
/// and counted; the other node loads after its fleet wait, within the lock timeout.
pub async fn a_node_cancelled_holding_the_fleet_lock_delays_the_others_less_than_the_lock_timeout<
    T,
>(
    timer: T,
) where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = RedisTierConfig::new()
        .prefix("test:fleet-cancel")
        .call_timeout(Duration::from_secs(1));
    let lock_timeout = Duration::from_secs(1);
    let a = fleet_node(&server, config.clone(), lock_timeout, &timer).await;
    let b = fleet_node(&server, config, lock_timeout, &timer).await;
    let slow = Origin::new(&timer, Duration::from_secs(30));
    let fast = Origin::new(&timer, Duration::ZERO);
    let key = "k".to_string();
    let cancelled = with_timeout(
        &timer,
        Duration::from_millis(300),
        a.get_or_load(&key, &slow),
    );
    assert!(cancelled.await.is_err(), "the slow load finished");
    assert_eq!(
        slow.loads_of("k"),
        1,
        "A was not loading under the fleet lock"
    );
    assert_eq!(a.stats().fleet_locks_dropped, 1);
    assert_eq!(a.cache().loads_in_flight(), 0);

    let start = Instant::now();
    let answer = b.get_or_load(&key, &fast).await.unwrap();
    let waited = start.elapsed();
    eprintln!("B answered {waited:?} after A's cancelled leader left the lock behind");
    assert_eq!(answer.status, Status::Miss);
    assert_eq!(b.stats().fleet_lock_timeouts, 1);
    assert!(
        waited < lock_timeout,
        "B waited {waited:?}, past the lock timeout"
    );
}

/// A server that stops answering (`DEBUG SLEEP`): callers load locally after the call timeout
/// instead of waiting for the server.
pub async fn a_stalled_server_costs_the_call_timeout_then_local_loads<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let call_timeout = Duration::from_millis(100);
    let config = RedisTierConfig::new()
        .prefix("test:fleet-stalled")
        .call_timeout(call_timeout);
    let a = fleet_node(&server, config, Duration::from_secs(2), &timer).await;
    let origin = Origin::new(&timer, Duration::from_millis(20));
    let pause = Duration::from_secs(2);
    let paused = server.pause(pause.as_secs_f64());
    timer.sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let statuses = storm(std::slice::from_ref(&a), &origin, 50, "key", 5).await;
    let took = start.elapsed();
    eprintln!("50 callers over 5 keys with the server stalled: last answer after {took:?}");
    assert_eq!(origin.total_loads(), 5, "one local load per key");
    assert_eq!(count(&statuses[0], Status::Miss), 5);
    assert!(a.stats().tier_errors >= 5, "{:?}", a.stats());
    // Each leader: one fetch that times out, then its load; nobody waits for the server.
    assert!(
        took < pause / 2,
        "callers waited {took:?} for a stalled server"
    );
    paused.join().unwrap();
}

/// Bytes under a key that do not decode: a miss for the node that reads them, overwritten by
/// its load, so the next node gets the value from the tier.
pub async fn garbage_in_the_tier_is_a_miss_and_gets_overwritten<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = "test:fleet-garbage";
    let config = RedisTierConfig::new().prefix(prefix);
    let a = fleet_node(&server, config.clone(), Duration::from_secs(2), &timer).await;
    let b = fleet_node(&server, config.clone(), Duration::from_secs(2), &timer).await;
    let origin = Origin::new(&timer, Duration::ZERO);
    let key = "k".to_string();
    a.get_or_load(&key, &origin).await.unwrap();
    let name = super::suite::value_name(&server, prefix, "k");
    redis::cmd("SET")
        .arg(&name)
        .arg(&b"\xff\xff\xff\xff"[..])
        .exec(&mut server.raw())
        .unwrap();
    let answer = b.get_or_load(&key, &origin).await.unwrap();
    assert_eq!(
        (answer.value.as_str(), answer.status),
        ("value of k", Status::Miss)
    );
    // Read twice: before taking the fleet lock, and once more after.
    assert_eq!(b.tier().stats().undecodable, 2);
    let c = fleet_node(&server, config, Duration::from_secs(2), &timer).await;
    let answer = c.get_or_load(&key, &origin).await.unwrap();
    assert_eq!(
        (answer.value.as_str(), answer.status),
        ("value of k", Status::TierHit)
    );
    assert_eq!(origin.loads_of("k"), 2);
}
