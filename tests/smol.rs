//! The behaviour suite on smol, in real time: tasks run on smol's global executor threads, the
//! unit of time is 5 ms, and the suite only relies on a sleep lasting at least its duration.

#[macro_use]
mod suite;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use readthrough::smol::SmolTimer;
use readthrough::{Builder, DefaultHashBuilder, DefaultLock, Status};
use suite::{Join, Runtime};

/// Real time after which a test counts as stalled.
const STALL: Duration = Duration::from_secs(30);

struct Smol;

impl Runtime for Smol {
    type Timer = SmolTimer;
    type Lock = DefaultLock;
    const UNIT: Duration = Duration::from_millis(5);
    const VIRTUAL_TIME: bool = false;

    fn builder<K, V, E>() -> Builder<K, V, E, SmolTimer, DefaultHashBuilder, DefaultLock> {
        readthrough::smol::builder()
    }

    fn block_on(test: impl Future<Output = ()> + 'static) {
        smol::block_on(smol::future::or(test, async {
            smol::Timer::after(STALL).await;
            panic!("the test stalled");
        }));
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Join<T> {
        Box::pin(smol::spawn(task))
    }

    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }

    async fn pause() {
        smol::Timer::after(Duration::from_micros(50)).await;
    }
}

behaviour_suite!(Smol);

/// Background stale-while-revalidate on smol's global executor and on an executor of the
/// caller's ([`SmolTimer::on`]): the stale value at once, then the refreshed one.
#[test]
fn background_revalidation() {
    static EXECUTOR: smol::Executor<'static> = smol::Executor::new();
    smol::block_on(EXECUTOR.run(async {
        for (key, timer) in [(1, SmolTimer::new()), (2, SmolTimer::on(&EXECUTOR))] {
            let cache: Arc<readthrough::smol::Cache<u64, u64>> = Arc::new(
                readthrough::Cache::builder()
                    .capacity(100)
                    .timer(timer)
                    .ttl(Duration::from_millis(2))
                    .stale_window(Duration::from_secs(30))
                    .build()
                    .unwrap(),
            );
            let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let loader = {
                let loads = Arc::clone(&loads);
                move |key: &u64| {
                    let (loads, key) = (Arc::clone(&loads), *key);
                    async move {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(key * 10)
                    }
                }
            };
            cache.insert(key, 100);
            smol::Timer::after(Duration::from_millis(3)).await;
            let answer = cache
                .get_or_revalidate_in_background(&key, loader.clone())
                .await
                .unwrap();
            assert_eq!(answer.value, 100);
            assert!(
                matches!(answer.status, Status::Stale(_)),
                "{:?}",
                answer.status
            );
            let refreshed = smol::future::or(
                async {
                    // The refreshed value may be past its 2 ms TTL again by the time we look.
                    while cache.get_stale(&key).map(|answer| answer.value) != Some(key * 10) {
                        smol::Timer::after(Duration::from_micros(100)).await;
                    }
                    true
                },
                async {
                    smol::Timer::after(STALL).await;
                    false
                },
            );
            assert!(refreshed.await, "the background refresh never stored");
            assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
            assert_eq!(cache.loads_in_flight(), 0);
        }
    }));
}
