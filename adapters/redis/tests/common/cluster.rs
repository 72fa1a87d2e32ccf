//! A real Redis Cluster: 3 masters (`redis-server --cluster-enabled yes` on free loopback ports,
//! joined by `redis-cli --cluster create`), nodes of a fleet on `RedisTier::connect_cluster`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use readthrough_core::{Cache, LockOutcome, Status, Tier, Tiered, Timer};
use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};

use super::fleet::{FleetNode, Origin, count, within};
use super::join_all;
use super::server::RedisServer;

const MASTERS: usize = 3;

struct RedisCluster {
    nodes: Vec<RedisServer>,
    _directory: tempfile::TempDir,
}

impl RedisCluster {
    /// Three masters sharing the 16,384 slots, answering `cluster_state:ok` on every node.
    fn start() -> Option<Self> {
        let directory = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for index in 0..MASTERS {
            let own = directory.path().join(index.to_string());
            std::fs::create_dir(&own).unwrap();
            nodes.push(RedisServer::start_cluster_node(&own)?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("redis-cli (Debian package redis-tools: bash ci/install.sh redis)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed:\n{}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &nodes {
            loop {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut node.raw())
                    .unwrap();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the cluster was not ok within 20 s:\n{info}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(RedisCluster {
            nodes,
            _directory: directory,
        })
    }

    fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Every key name on every node that matches `pattern`, with the node's index.
    fn names(&self, pattern: &str) -> Vec<(usize, Vec<u8>)> {
        let mut names = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let found: Vec<Vec<u8>> = redis::cmd("KEYS")
                .arg(pattern)
                .query(&mut node.raw())
                .unwrap();
            names.extend(found.into_iter().map(|name| (index, name)));
        }
        names
    }

    fn slot(&self, name: &[u8]) -> i64 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(name)
            .query(&mut self.nodes[0].raw())
            .unwrap()
    }
}

async fn cluster_node<T>(cluster: &RedisCluster, prefix: &str, timer: &T) -> FleetNode<T>
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let config = RedisTierConfig::new()
        .prefix(prefix)
        .call_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(10));
    let tier = RedisTier::connect_cluster(cluster.urls(), config, Postcard, timer.clone())
        .await
        .expect("connect to the cluster");
    let cache = Cache::<String, String, String>::builder()
        .capacity(10_000)
        .timer(timer.clone())
        .ttl(Duration::from_secs(60))
        .lock_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let node = Arc::new(Tiered::new(cache, tier.clone()).unwrap());
    tier.deliver_invalidations_to(&node);
    node
}

/// 3 nodes of a fleet on a 3-master cluster: a storm of 300 callers per node over 60 keys
/// (spread over all masters) loads each key once; a key's value and lock names hash to one
/// slot; an invalidation on one node reaches the others (pub/sub across the cluster bus)
/// within 100 ms.
pub async fn a_fleet_on_a_redis_cluster_loads_each_key_once_and_hears_invalidations<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let prefix = "test:cluster";
    let mut fleet = Vec::new();
    for _ in 0..3 {
        fleet.push(cluster_node(&cluster, prefix, &timer).await);
    }
    let origin = Origin::new(&timer, Duration::from_millis(20));
    let calls: Vec<_> = (0..300)
        .flat_map(|caller| fleet.iter().map(move |node| (caller, node)))
        .map(|(caller, node)| {
            let origin = &origin;
            async move {
                let key = format!("key{}", caller % 60);
                let answer = node.get_or_load(&key, origin).await.unwrap();
                assert_eq!(answer.value, format!("value of {key}"));
                answer.status
            }
        })
        .collect();
    let statuses = join_all(calls).await;
    for key in 0..60 {
        assert_eq!(
            origin.loads_of(&format!("key{key}")),
            1,
            "key{key} loaded twice"
        );
    }
    assert_eq!(count(&statuses, Status::Miss), 60);
    for node in &fleet {
        assert_eq!(node.stats().tier_errors, 0, "{:?}", node.tier().stats());
        assert_eq!(node.cache().loads_in_flight(), 0);
    }

    // The values are spread over the masters, and each key's value and lock share a slot.
    let values = cluster.names(&format!("{prefix}*:v:*"));
    assert_eq!(values.len(), 60);
    let mut masters: Vec<usize> = values.iter().map(|(node, _)| *node).collect();
    masters.sort_unstable();
    masters.dedup();
    assert_eq!(
        masters.len(),
        MASTERS,
        "the 60 values sit on {masters:?} only"
    );
    let key = "key7".to_string();
    let held = Tier::<String, String>::lock(fleet[0].tier(), &key, Duration::from_secs(5)).await;
    assert!(matches!(held, LockOutcome::Acquired(_)));
    let locks = cluster.names(&format!("{prefix}*:l:*"));
    assert_eq!(locks.len(), 1);
    let (lock_node, lock) = &locks[0];
    let tag = |name: &[u8]| {
        let open = name.iter().position(|byte| *byte == b'{').unwrap();
        let close = name.iter().position(|byte| *byte == b'}').unwrap();
        name[open..=close].to_vec()
    };
    let (value_node, value) = values
        .iter()
        .find(|(_, name)| tag(name) == tag(lock))
        .expect("key7's value");
    assert_eq!(cluster.slot(value), cluster.slot(lock));
    assert_eq!(value_node, lock_node, "a key's value and lock on two nodes");

    // An invalidation crosses the cluster: every other node drops its copy within 100 ms.
    let start = timer.now();
    fleet[0].invalidate(&key).await;
    for node in &fleet[1..] {
        let dropped = within(&timer, start, Duration::from_millis(100), || {
            node.cache().get(&key).is_none()
        })
        .await;
        assert!(
            dropped.is_some(),
            "a node kept key7 100 ms after the invalidate"
        );
    }
}
