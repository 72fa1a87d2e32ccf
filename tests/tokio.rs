//! The behaviour suite on tokio, in paused time: sleeps end as soon as every task waits.

#[macro_use]
mod suite;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use readthrough::tokio::TokioTimer;
use readthrough::{Builder, DefaultHashBuilder, DefaultLock, Status};
use suite::{Join, Runtime};

/// Virtual time after which a test counts as stalled.
const STALL: Duration = Duration::from_secs(3600);

struct Tokio;

impl Runtime for Tokio {
    type Timer = TokioTimer;
    type Lock = DefaultLock;
    const UNIT: Duration = Duration::from_secs(1);
    const VIRTUAL_TIME: bool = true;

    fn builder<K, V, E>() -> Builder<K, V, E, TokioTimer, DefaultHashBuilder, DefaultLock> {
        readthrough::tokio::builder()
    }

    fn block_on(test: impl Future<Output = ()> + 'static) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime
            .block_on(async { tokio::time::timeout(STALL, test).await })
            .expect("the test stalled");
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Join<T> {
        let handle = tokio::spawn(task);
        Box::pin(async move { handle.await.expect("the task panicked") })
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    fn pause() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

behaviour_suite!(Tokio);
behaviour_suite!(background Tokio);

/// The adapter's own stale-while-revalidate: the stale value at once, one refresh in a spawned
/// task however many callers saw the stale value.
#[tokio::test(start_paused = true)]
async fn background_revalidation_loads_once() {
    let cache: Arc<readthrough::tokio::Cache<u64, u64, suite::Failure>> = Arc::new(
        readthrough::tokio::builder()
            .capacity(100)
            .ttl(Duration::from_secs(10))
            .stale_window(Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    cache.insert(1, 100);
    tokio::time::advance(Duration::from_secs(12)).await;

    let gate = suite::Gate::default();
    let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let loader = {
        let (gate, loads) = (gate.clone(), Arc::clone(&loads));
        move |key: &u64| {
            let (gate, loads, key) = (gate.clone(), Arc::clone(&loads), *key);
            async move {
                loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                gate.wait().await;
                Ok(key * 10)
            }
        }
    };
    for _ in 0..10 {
        let answer = cache
            .get_or_revalidate_in_background(&1, loader.clone())
            .await
            .unwrap();
        assert_eq!(
            (answer.value, answer.status),
            (100, Status::Stale(Duration::from_secs(2)))
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(cache.loads_in_flight(), 1);

    gate.open();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.loads_in_flight(), 0);
    let fresh = cache
        .get_or_revalidate_in_background(&1, loader)
        .await
        .unwrap();
    assert_eq!(fresh.status, Status::Hit);
}

/// A refresh task that starts after an earlier one already stored a fresh value loads nothing.
#[tokio::test(start_paused = true)]
async fn background_revalidation_skips_values_refreshed_meanwhile() {
    let cache: Arc<readthrough::tokio::Cache<u64, u64, suite::Failure>> = Arc::new(
        readthrough::tokio::builder()
            .capacity(100)
            .ttl(Duration::from_secs(10))
            .stale_window(Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    cache.insert(1, 100);
    tokio::time::advance(Duration::from_secs(11)).await;

    let loader = suite::TestLoader::new();
    let immediate = {
        let loader = loader.clone();
        move |key: &u64| {
            let (loader, key) = (loader.clone(), *key);
            async move { readthrough::Loader::load(&loader, &key).await }
        }
    };
    for _ in 0..2 {
        let answer = cache
            .get_or_revalidate_in_background(&1, immediate.clone())
            .await
            .unwrap();
        assert_eq!(answer.status, Status::Stale(Duration::from_secs(1)));
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        loader.loads(),
        1,
        "the second refresh found the first one's fresh value"
    );
    assert_eq!(cache.get(&1), Some(10));
}

/// A missing key is loaded in the caller's task, like `get_or_load`.
#[tokio::test(start_paused = true)]
async fn background_revalidation_loads_missing_keys_inline() {
    let cache: Arc<readthrough::tokio::Cache<u64, u64>> =
        Arc::new(readthrough::tokio::builder().capacity(100).build().unwrap());
    let answer = cache
        .get_or_revalidate_in_background(&3, |k: &u64| {
            let k = *k;
            async move { Ok(k + 1) }
        })
        .await
        .unwrap();
    assert_eq!((answer.value, answer.status), (4, Status::Miss));
    assert_eq!(cache.loads_in_flight(), 0);
}

/// Coalescing across the threads of a multi-threaded runtime, in real time.
#[test]
fn coalescing_across_worker_threads() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cache: Arc<readthrough::tokio::Cache<u64, u64, suite::Failure>> =
            Arc::new(readthrough::tokio::builder().capacity(100).build().unwrap());
        let gate = suite::Gate::default();
        let loader = suite::TestLoader::gated(&gate);
        let callers: Vec<_> = (0..64)
            .map(|_| {
                let (cache, loader) = (Arc::clone(&cache), loader.clone());
                tokio::spawn(async move { cache.get_or_load(&5, loader).await })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(10), async {
            while loader.loads() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the load never started");
        gate.open();
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap().value, 50);
        }
        assert_eq!(loader.loads(), 1);
        assert_eq!(cache.loads_in_flight(), 0);
    });
}
