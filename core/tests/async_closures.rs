//! Async closures as loaders: they borrow the key (no `let k = *k; async move` copy), and
//! coalesce like any loader.

mod common;

use std::time::Duration;

use common::{Calls, Gate, block_on, join_all};
use readthrough_core::{Cache, Error, ManualTimer, Status};

#[test]
fn an_async_closure_borrows_the_key() {
    let cache = Cache::<String, usize, String>::new(8).unwrap();
    block_on(async {
        let answer = cache
            .get_or_load(&"borrowed".to_string(), async |key: &String| Ok(key.len()))
            .await
            .unwrap();
        assert_eq!((answer.value, answer.status), (8, Status::Miss));
        let failed = cache
            .get_or_load(&"bad".to_string(), async |key: &String| {
                Err(format!("no row {key}"))
            })
            .await;
        assert!(matches!(failed, Err(Error::Load(e)) if *e == "no row bad"));
    });
}

#[test]
fn concurrent_calls_with_an_async_closure_load_once() {
    let cache = Cache::<u32, u32, String>::new(8).unwrap();
    let (calls, gate) = (Calls::default(), Gate::default());
    let load = async |key: &u32| {
        calls.record();
        gate.wait().await;
        Ok(key * 10)
    };
    block_on(async {
        let callers = (0..100).map(|_| cache.get_or_load(&4, &load)).collect();
        let opener = async {
            common::yield_many(10).await;
            gate.open();
        };
        let (answers, ()) = futures_lite::future::zip(join_all(callers), opener).await;
        assert!(
            answers
                .iter()
                .all(|answer| answer.as_ref().unwrap().value == 40)
        );
        let loaded = answers
            .iter()
            .filter(|answer| answer.as_ref().unwrap().status == Status::Miss)
            .count();
        assert_eq!(loaded, 1);
    });
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn async_closures_pick_ttls_and_load_batches() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32>::builder()
        .capacity(8)
        .timer(timer.clone())
        .build()
        .unwrap();
    block_on(async {
        let with_ttl = async |key: &u32| Ok((*key, Some(Duration::from_secs(1))));
        assert_eq!(
            cache
                .get_or_load_with_ttl(&1, with_ttl)
                .await
                .unwrap()
                .status,
            Status::Miss
        );
        timer.advance(Duration::from_secs(1));
        assert_eq!(cache.get(&1), None);

        let squares = async |keys: &[&u32]| Ok(keys.iter().map(|key| **key * **key).collect());
        let answers = cache.get_or_load_many(&[2, 3], squares).await.unwrap();
        assert_eq!((answers[0].value, answers[1].value), (4, 9));
    });
}

#[test]
fn an_async_closure_refreshes_in_the_background() {
    let (timer, tasks) = (ManualTimer::new(), common::Tasks::default());
    let cache = std::sync::Arc::new(
        Cache::<u32, u32, String>::builder()
            .capacity(8)
            .timer(readthrough_core::WithSpawn::new(
                timer.clone(),
                tasks.clone(),
            ))
            .ttl(Duration::from_secs(10))
            .stale_window(Duration::from_secs(10))
            .build()
            .unwrap(),
    );
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(11));
    block_on(async {
        let stale = cache
            .get_or_revalidate_in_background(&1, async |key: &u32| Ok(key + 100))
            .await
            .unwrap();
        assert_eq!(
            (stale.value, stale.status),
            (7, Status::Stale(Duration::from_secs(1)))
        );
    });
    assert_eq!(tasks.run_all(), 1);
    assert_eq!(cache.get(&1), Some(101));
}

/// A caller can spawn its own `get_or_load` with an async closure on a multi-threaded
/// executor: the future is `Send` (a compile-time check).
#[test]
fn a_get_or_load_future_with_an_async_closure_is_send() {
    fn assert_send<F: Send>(future: F) -> F {
        future
    }
    let cache = Cache::<u32, u32>::new(8).unwrap();
    let future = assert_send(cache.get_or_load(&1, async |key: &u32| Ok(key + 1)));
    assert_eq!(block_on(future).unwrap().value, 2);
}
