//! The Redis tier against a real `redis-server`, on smol (async-io timers, redis-rs `smol-comp`).

mod common;

use std::time::Duration;

use readthrough_core::with_timeout;
use readthrough_smol::SmolTimer;

/// No test may hang: each gets this long in all.
const BOUND: Duration = Duration::from_secs(60);

macro_rules! on_smol {
    ($module:ident: $($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let timer = SmolTimer::new();
            smol::block_on(with_timeout(&timer, BOUND, common::$module::$name(timer.clone())))
                .expect("the test did not finish in time");
        }
    )*};
}

on_smol!(
    suite:
    connecting_to_a_dead_server_fails_within_the_connect_timeout,
    stores_and_fetches_with_the_remaining_ttl,
    a_value_expires_after_its_ttl,
    delete_removes_the_value,
    the_lock_is_exclusive_and_released_only_by_its_token,
    the_lock_expires_after_its_hold_time,
    announcements_reach_other_nodes_and_not_the_sender,
    garbage_bytes_are_a_counted_miss_and_get_overwritten,
    a_value_over_the_size_limit_is_not_written,
    a_paused_server_times_out_within_the_call_timeout,
    the_breaker_opens_on_failures_and_closes_when_the_server_is_back,
);

#[cfg(feature = "smol-rustls")]
on_smol!(
    tls:
    two_nodes_share_a_tier_over_tls,
);

#[cfg(feature = "cluster")]
on_smol!(
    cluster:
    a_fleet_on_a_redis_cluster_loads_each_key_once_and_hears_invalidations,
);

on_smol!(
    serving:
    stale_values_are_refreshed_once_across_the_fleet,
    a_batch_is_loaded_once_across_the_fleet,
    a_background_refresh_takes_another_nodes_copy_from_redis,
);

on_smol!(
    fleet:
    a_fleet_storm_loads_each_key_once,
    writes_on_one_node_reach_the_others,
    a_server_killed_mid_storm_costs_local_loads_then_is_used_again,
    a_node_cancelled_holding_the_fleet_lock_delays_the_others_less_than_the_lock_timeout,
    a_stalled_server_costs_the_call_timeout_then_local_loads,
    garbage_in_the_tier_is_a_miss_and_gets_overwritten,
);
