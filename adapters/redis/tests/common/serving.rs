//! The cache's serving features through the Redis tier (`Tiered` on `RedisTier`):
//! stale-while-revalidate across nodes, and batch loads, one origin load per key per fleet.
//! Real time (a real server), in tenths of a second.

use std::time::Duration;

use readthrough_redis::RedisTierConfig;

use std::sync::Arc;

use super::fleet::{FleetNode, NodeBuilder, Origin, SharedOrigin, count, fleet_node_with, within};
use super::join_all;
use super::server::RedisServer;
use readthrough_core::{Spawn, Status, Timer};

/// Short enough to wait out in a test, long enough for a loaded machine's round trips.
const SHORT_TTL: Duration = Duration::from_millis(300);

async fn stale_node<T>(server: &RedisServer, prefix: &str, timer: &T) -> FleetNode<T>
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let config = RedisTierConfig::new()
        .prefix(prefix)
        .call_timeout(Duration::from_secs(2));
    let options = |builder: NodeBuilder<T>| {
        builder
            .ttl(SHORT_TTL)
            .stale_window(Duration::from_secs(60))
            .lock_timeout(Duration::from_secs(4))
    };
    fleet_node_with(server, config, timer, options).await
}

/// Two nodes hold a value gone stale (and gone from Redis): 100 callers on each revalidate
/// at once; the origin sees one load, every other caller gets the stale value at once, and
/// both nodes end up with the new value.
pub async fn stale_values_are_refreshed_once_across_the_fleet<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = "test:fleet-stale";
    let a = stale_node(&server, prefix, &timer).await;
    let b = stale_node(&server, prefix, &timer).await;
    let first = Origin::new(&timer, Duration::ZERO);
    let key = "k".to_string();
    assert_eq!(
        a.get_or_load(&key, &first).await.unwrap().status,
        Status::Miss
    );
    assert_eq!(
        b.get_or_load(&key, &first).await.unwrap().status,
        Status::TierHit
    );
    timer.sleep(SHORT_TTL + Duration::from_millis(50)).await;

    let origin = Origin::new(&timer, Duration::from_millis(50));
    let callers: Vec<_> = (0..200)
        .map(|index| {
            let (node, key, origin) = (if index % 2 == 0 { &a } else { &b }, &key, &origin);
            async move {
                let answer = node.get_or_revalidate(key, origin).await.unwrap();
                (index % 2, answer.status)
            }
        })
        .collect();
    let outcomes = join_all(callers).await;
    assert_eq!(
        origin.total_loads(),
        1,
        "the fleet refreshed the key more than once"
    );
    let statuses: Vec<Status> = outcomes.iter().map(|(_, status)| *status).collect();
    let stale = statuses
        .iter()
        .filter(|status| matches!(status, Status::Stale(_)))
        .count();
    let fresh = [Status::Expired, Status::TierHit, Status::TierLockHit];
    let refreshed: usize = fresh.iter().map(|status| count(&statuses, *status)).sum();
    assert_eq!((stale, refreshed), (198, 2), "{statuses:?}");
    assert_eq!(
        count(&statuses, Status::Expired),
        1,
        "one node's refresh loaded"
    );
    for node in [&a, &b] {
        assert_eq!(
            node.cache().get(&key).as_deref(),
            Some("value of k"),
            "a node kept its stale value"
        );
        assert_eq!(node.cache().loads_in_flight(), 0);
        assert_eq!(node.stats().tier_errors, 0);
    }
}

/// A batch on node A loads what no node has in one origin call; the same batch on node B is
/// served by the tier, and a batch over both old and new keys loads only the new ones.
pub async fn a_batch_is_loaded_once_across_the_fleet<T>(timer: T)
where
    T: Timer + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let config = RedisTierConfig::new()
        .prefix("test:fleet-batch")
        .call_timeout(Duration::from_secs(2));
    let options = |builder: NodeBuilder<T>| builder.lock_timeout(Duration::from_secs(4));
    let a = fleet_node_with(&server, config.clone(), &timer, options).await;
    let b = fleet_node_with(&server, config, &timer, options).await;
    let origin = Origin::new(&timer, Duration::from_millis(10));
    let keys: Vec<String> = (0..20).map(|key| format!("key{key}")).collect();
    let on_a = a.get_or_load_many(&keys, &origin).await.unwrap();
    assert!(on_a.iter().all(|answer| answer.status == Status::Miss));
    let on_b = b.get_or_load_many(&keys, &origin).await.unwrap();
    assert!(on_b.iter().all(|answer| answer.status == Status::TierHit));
    for (key, answer) in keys.iter().zip(&on_b) {
        assert_eq!(answer.value, format!("value of {key}"));
    }
    let more: Vec<String> = (10..30).map(|key| format!("key{key}")).collect();
    let again = a.get_or_load_many(&more, &origin).await.unwrap();
    let statuses: Vec<Status> = again.iter().map(|answer| answer.status).collect();
    assert_eq!(
        (
            count(&statuses, Status::Hit),
            count(&statuses, Status::Miss)
        ),
        (10, 10)
    );
    for key in (0..30).map(|key| format!("key{key}")) {
        assert_eq!(origin.loads_of(&key), 1, "{key} loaded more than once");
    }
    assert_eq!(b.stats().tier_hits, 20);
    assert_eq!(a.stats().tier_errors + b.stats().tier_errors, 0);
}

/// Node A refreshes a stale key (a load, stored in Redis); on node B, 100 callers read the
/// same stale key with the refresh in the background: all answered at once (stale, or fresh
/// once the refresh landed), and B's background refresh takes A's copy from Redis without
/// loading.
pub async fn a_background_refresh_takes_another_nodes_copy_from_redis<T>(timer: T)
where
    T: Timer<Sleep: Send> + Spawn + Clone + Send + Sync + 'static,
{
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = "test:fleet-background";
    let a = stale_node(&server, prefix, &timer).await;
    let b = stale_node(&server, prefix, &timer).await;
    let first = Origin::new(&timer, Duration::ZERO);
    let key = "k".to_string();
    a.get_or_load(&key, &first).await.unwrap();
    let on_b = b.get_or_load(&key, &first).await.unwrap();
    assert_eq!(on_b.status, Status::TierHit);
    timer.sleep(SHORT_TTL + Duration::from_millis(50)).await;
    let refreshed = a.get_or_load(&key, &first).await.unwrap();
    assert_eq!(refreshed.status, Status::Expired);
    assert_eq!(first.total_loads(), 2);

    let origin = Arc::new(Origin::new(&timer, Duration::ZERO));
    let readers: Vec<_> = (0..100)
        .map(|_| b.get_or_revalidate_in_background(&key, SharedOrigin(Arc::clone(&origin))))
        .collect();
    let statuses: Vec<Status> = join_all(readers)
        .await
        .into_iter()
        .map(|answer| answer.unwrap().status)
        .collect();
    // Stale until the task lands (it may run on another worker meanwhile), then fresh: no
    // caller loaded or waited for the tier.
    assert!(
        matches!(statuses[0], Status::Stale(_))
            && statuses
                .iter()
                .all(|status| matches!(status, Status::Stale(_) | Status::Hit)),
        "a caller waited for the refresh: {statuses:?}"
    );
    let start = timer.now();
    let landed = within(&timer, start, Duration::from_secs(2), || {
        b.cache().loads_in_flight() == 0 && b.cache().get(&key).is_some()
    })
    .await;
    assert!(landed.is_some(), "B's background refresh did not land");
    assert_eq!(origin.total_loads(), 0, "B loaded a value Redis had");
    assert_eq!(
        b.cache().get(&key).as_deref(),
        Some("value of k"),
        "B has no fresh value"
    );
    assert_eq!(b.stats().tier_errors, 0);
}
