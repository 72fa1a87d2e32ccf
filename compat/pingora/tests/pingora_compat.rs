//! Pingora 0.9's own tests of `MemoryCache` (its `lib.rs`) and `RTCache` (its `read_through.rs`),
//! restated against `readthrough_pingora` with the same calls and the same assertions, followed
//! by one test per deliberate difference.
//!
//! Where the originals sleep for real (up to two seconds), these run on tokio's paused clock:
//! the same durations elapse, instantly. Pingora's test that expects a panic on a wrong batch
//! count expects an error here instead.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pingora_error::{Error, ErrorTrait};
use readthrough_pingora::{
    CacheStatus, Lookup, MemoryCache, MultiLookup, RTCache, SharedLookupError,
};

// ---------------------------------------------------------------------------------------------
// MemoryCache (Pingora's lib.rs tests)
// ---------------------------------------------------------------------------------------------

#[test]
fn memory_get_on_empty_cache_is_a_miss() {
    let cache: MemoryCache<i32, ()> = MemoryCache::new(10);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
}

#[test]
fn memory_put_then_get_hits() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    cache.put(&1, 2, None);
    let (value, status) = cache.get(&1);
    assert_eq!(value.unwrap(), 2);
    assert_eq!(status, CacheStatus::Hit);
}

#[test]
fn memory_remove_drops_only_the_named_keys() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    cache.put(&1, 2, None);
    cache.put(&3, 4, None);
    cache.put(&5, 6, None);
    let (value, status) = cache.get(&1);
    assert_eq!(value.unwrap(), 2);
    assert_eq!(status, CacheStatus::Hit);
    cache.remove(&1);
    cache.remove(&3);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    let (value, status) = cache.get(&3);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    let (value, status) = cache.get(&5);
    assert_eq!(value.unwrap(), 6);
    assert_eq!(status, CacheStatus::Hit);
}

#[tokio::test(start_paused = true)]
async fn memory_get_after_ttl_reports_expired() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    cache.put(&1, 2, Some(Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Expired);
}

#[tokio::test(start_paused = true)]
async fn memory_get_stale_returns_expired_value_with_its_age() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    cache.put(&1, 2, Some(Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (value, status) = cache.get_stale(&1);
    assert_eq!(value.unwrap(), 2);
    // 1100 ms elapsed against a 1000 ms TTL.
    assert!(status.stale().unwrap() >= Duration::from_millis(100));
}

#[test]
fn memory_full_cache_evicts_the_oldest_unread_entry() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(2);
    cache.put(&1, 2, None);
    cache.put(&2, 4, None);
    cache.put(&3, 6, None);
    let (value, status) = cache.get(&1);
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    let (value, status) = cache.get(&2);
    assert_eq!(value.unwrap(), 4);
    assert_eq!(status, CacheStatus::Hit);
    let (value, status) = cache.get(&3);
    assert_eq!(value.unwrap(), 6);
    assert_eq!(status, CacheStatus::Hit);
}

#[test]
fn memory_multi_get_and_multi_get_with_miss() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
    cache.put(&2, -2, None);
    let keys: Vec<i32> = vec![1, 2, 3];
    let answers = cache.multi_get(keys.iter());
    assert_eq!(answers[0].0, None);
    assert_eq!(answers[0].1, CacheStatus::Miss);
    assert_eq!(answers[1].0.unwrap(), -2);
    assert_eq!(answers[1].1, CacheStatus::Hit);
    assert_eq!(answers[2].0, None);
    assert_eq!(answers[2].1, CacheStatus::Miss);

    let (answers, missing) = cache.multi_get_with_miss(keys.iter());
    assert_eq!(answers[0].0, None);
    assert_eq!(answers[0].1, CacheStatus::Miss);
    assert_eq!(answers[1].0.unwrap(), -2);
    assert_eq!(answers[1].1, CacheStatus::Hit);
    assert_eq!(answers[2].0, None);
    assert_eq!(answers[2].1, CacheStatus::Miss);
    assert_eq!(missing[0], &1);
    assert_eq!(missing[1], &3);
}

#[test]
fn memory_get_with_borrowed_key_type() {
    let cache: MemoryCache<String, ()> = MemoryCache::new(10);
    let (value, status) = cache.get("Hello");
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
}

#[test]
fn memory_put_and_get_with_borrowed_key_type() {
    let cache: MemoryCache<String, i32> = MemoryCache::new(10);
    let (value, status) = cache.get("1");
    assert_eq!(value, None);
    assert_eq!(status, CacheStatus::Miss);
    cache.put("1", 2, None);
    let (value, status) = cache.get("1");
    assert_eq!(value.unwrap(), 2);
    assert_eq!(status, CacheStatus::Hit);
}

// ---------------------------------------------------------------------------------------------
// RTCache (Pingora's read_through.rs tests)
// ---------------------------------------------------------------------------------------------

/// What the test lookups should do, passed as the `extra` argument.
#[derive(Clone, Debug)]
struct Script {
    fail: bool,
    return_nothing: bool,
    delay: Option<Duration>,
    /// The TTL a successful lookup returns.
    own_ttl: Option<Duration>,
    /// Counts `Lookup::lookup` calls; each successful lookup returns the count so far, so the
    /// values tell how many lookups ran.
    calls: Arc<AtomicI32>,
}

impl Script {
    fn plain() -> Self {
        Script {
            fail: false,
            return_nothing: false,
            delay: None,
            own_ttl: None,
            calls: Arc::new(AtomicI32::new(0)),
        }
    }

    fn failing() -> Self {
        Script {
            fail: true,
            ..Script::plain()
        }
    }

    fn slow(delay: Duration, calls: &Arc<AtomicI32>) -> Self {
        Script {
            delay: Some(delay),
            calls: calls.clone(),
            ..Script::plain()
        }
    }

    fn counting(calls: &Arc<AtomicI32>) -> Self {
        Script {
            calls: calls.clone(),
            ..Script::plain()
        }
    }
}

struct Scripted;

#[async_trait]
impl Lookup<i32, i32, Script> for Scripted {
    async fn lookup(
        _key: &i32,
        extra: Option<&Script>,
    ) -> Result<(i32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> {
        let mut calls = 0;
        let mut own_ttl = None;
        if let Some(script) = extra {
            own_ttl = script.own_ttl;
            calls = script.calls.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(delay) = script.delay {
                tokio::time::sleep(delay).await;
            }
            if script.fail {
                return Err(Error::new_str("scripted failure"));
            }
        }
        Ok((calls, own_ttl))
    }
}

#[async_trait]
impl MultiLookup<i32, i32, Script> for Scripted {
    async fn multi_lookup(
        keys: &[&i32],
        extra: Option<&Script>,
    ) -> Result<Vec<(i32, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>> {
        if extra.is_some_and(|script| script.return_nothing) {
            return Ok(Vec::new());
        }
        Ok(keys.iter().map(|key| (**key, None)).collect())
    }
}

type TestCache = RTCache<i32, i32, Scripted, Script>;

/// Three tasks calling `get` on `keys` at once, each with its own copy of `script`.
async fn three_gets(
    cache: &Arc<TestCache>,
    keys: [i32; 3],
    script: &Script,
) -> [(Result<i32, Box<Error>>, CacheStatus); 3] {
    let tasks = keys.map(|key| {
        let cache = cache.clone();
        let script = script.clone();
        tokio::spawn(async move { cache.get(&key, None, Some(&script)).await })
    });
    let [a, b, c] = tasks;
    let (a, b, c) = tokio::join!(a, b, c);
    [a.unwrap(), b.unwrap(), c.unwrap()]
}

#[tokio::test]
async fn rt_get_misses_then_hits() {
    let cache: TestCache = RTCache::new(10, None, None);
    let script = Some(Script::plain());
    let (value, status) = cache.get(&1, None, script.as_ref()).await;
    assert_eq!(value.unwrap(), 1);
    assert_eq!(status, CacheStatus::Miss);
    let (value, status) = cache.get(&1, None, script.as_ref()).await;
    assert_eq!(value.unwrap(), 1);
    assert_eq!(status, CacheStatus::Hit);
}

#[tokio::test]
async fn rt_get_reports_lookup_error_as_miss() {
    let cache: TestCache = RTCache::new(10, None, None);
    let script = Some(Script::failing());
    let (value, status) = cache.get(&-1, None, script.as_ref()).await;
    assert!(value.is_err());
    assert_eq!(status, CacheStatus::Miss);
}

#[tokio::test]
async fn rt_concurrent_gets_of_one_key_share_one_lookup() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let answers = three_gets(&cache, [1, 1, 1], &Script::plain()).await;
    for (value, _) in answers {
        assert_eq!(value.unwrap(), 1);
    }
}

#[tokio::test]
async fn rt_concurrent_gets_of_failing_key_all_fail() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let answers = three_gets(&cache, [-1, -1, -1], &Script::failing()).await;
    for (value, _) in answers {
        assert!(value.is_err());
    }
}

#[tokio::test]
async fn rt_concurrent_gets_of_different_keys_each_look_up() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let answers = three_gets(&cache, [1, 3, 5], &Script::plain()).await;
    // Three lookups ran, returning 1, 2 and 3 in some order.
    let total: i32 = answers.into_iter().map(|(value, _)| value.unwrap()).sum();
    assert_eq!(total, 6);
}

/// A 2 s lookup for key 1, and after `head_start` two more callers for key 1; returns the sum
/// of the three values. Each lookup returns the number of lookups so far, so a sum of 6 means
/// three lookups ran.
async fn slow_lookup_and_two_latecomers(cache: TestCache, head_start: Duration) -> i32 {
    let cache = Arc::new(cache);
    let calls = Arc::new(AtomicI32::new(0));
    let slow = Script::slow(Duration::from_secs(2), &calls);
    let quick = Script::counting(&calls);

    let first = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&1, None, Some(&slow)).await.0.unwrap() })
    };
    tokio::time::sleep(head_start).await;
    let later = [0, 1].map(|_| {
        let cache = cache.clone();
        let quick = quick.clone();
        tokio::spawn(async move { cache.get(&1, None, Some(&quick)).await.0.unwrap() })
    });
    let [second, third] = later;
    let (first, second, third) = tokio::join!(first, second, third);
    first.unwrap() + second.unwrap() + third.unwrap()
}

#[tokio::test(start_paused = true)]
async fn rt_lookup_older_than_lock_age_stops_making_callers_wait() {
    // 1.5 s after it started, the first lookup is older than the 1 s lock age: no waiting on it.
    let cache = TestCache::new(10, Some(Duration::from_secs(1)), None);
    let total = slow_lookup_and_two_latecomers(cache, Duration::from_secs_f32(1.5)).await;
    assert_eq!(total, 6);
}

#[tokio::test(start_paused = true)]
async fn rt_waiter_past_lock_timeout_looks_up_itself() {
    // The two later callers wait 1 s for the 2 s lookup, then run their own.
    let cache = TestCache::new(10, None, Some(Duration::from_secs(1)));
    let total = slow_lookup_and_two_latecomers(cache, Duration::ZERO).await;
    assert_eq!(total, 6);
}

#[tokio::test(start_paused = true)]
async fn rt_multi_get_looks_up_only_the_misses() {
    let cache: TestCache = RTCache::new(10, None, None);
    let calls = Arc::new(AtomicI32::new(0));
    let script = Some(Script::slow(Duration::from_secs(2), &calls));
    let (value, status) = cache.get(&1, None, script.as_ref()).await;
    assert_eq!(value.unwrap(), 1);
    assert_eq!(status, CacheStatus::Miss);
    let (value, status) = cache.get(&1, None, script.as_ref()).await;
    assert_eq!(value.unwrap(), 1);
    assert_eq!(status, CacheStatus::Hit);

    // 1 is cached; 2 and 3 are not.
    let answers = cache
        .multi_get([1, 2, 3].iter(), None, script.as_ref())
        .await
        .unwrap();
    assert_eq!(answers[0].0, 1);
    assert_eq!(answers[0].1, CacheStatus::Hit);
    assert_eq!(answers[1].0, 2);
    assert_eq!(answers[1].1, CacheStatus::Miss);
    assert_eq!(answers[2].0, 3);
    assert_eq!(answers[2].1, CacheStatus::Miss);

    // Now all three are cached.
    let answers = cache
        .multi_get([1, 2, 3].iter(), None, script.as_ref())
        .await
        .unwrap();
    assert_eq!(answers[0].0, 1);
    assert_eq!(answers[0].1, CacheStatus::Hit);
    assert_eq!(answers[1].0, 2);
    assert_eq!(answers[1].1, CacheStatus::Hit);
    assert_eq!(answers[2].0, 3);
    assert_eq!(answers[2].1, CacheStatus::Hit);
}

/// Pingora: `multi_get` panics ("multi_lookup() failed to return the matching number of
/// results"). Here: an error, and nothing cached.
#[tokio::test]
async fn rt_multi_get_with_wrong_result_count_is_an_error() {
    let script = Some(Script {
        return_nothing: true,
        ..Script::plain()
    });
    let cache: TestCache = RTCache::new(10, None, None);
    let answer = cache
        .multi_get([4, 5, 6].iter(), None, script.as_ref())
        .await;
    let error = answer.unwrap_err();
    assert_eq!(error.etype().as_str(), "RTCache: lookup error");
    let cause = error.cause.as_ref().unwrap().to_string();
    assert!(cause.contains("returned 0 values for 3 keys"), "{cause}");
    for key in [4, 5, 6] {
        assert_eq!(cache.get(&key, None, None).await.1, CacheStatus::Miss);
    }
    assert_eq!(cache.lookups_in_flight(), 0);
}

/// Key 1 is looked up (`Miss`), then served (`Hit`), then left to expire: 150 ms against `ttl`.
async fn miss_hit_then_expire(cache: &TestCache, ttl: Option<Duration>, script: Option<&Script>) {
    let (value, status) = cache.get(&1, ttl, script).await;
    assert_eq!(value.unwrap(), 1);
    assert_eq!(status, CacheStatus::Miss);
    let (value, status) = cache.get(&1, ttl, script).await;
    assert_eq!(value.unwrap(), 1);
    assert_eq!(status, CacheStatus::Hit);
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test(start_paused = true)]
async fn rt_get_stale_serves_within_stale_ttl_and_looks_up_beyond_it() {
    let ttl = Some(Duration::from_millis(100));
    let cache: TestCache = RTCache::new(10, None, None);
    let script = Some(Script::plain());
    miss_hit_then_expire(&cache, ttl, script.as_ref()).await;
    let (value, status) = cache
        .get_stale(&1, ttl, script.as_ref(), Duration::from_millis(1000))
        .await;
    assert_eq!(value.unwrap(), 1);
    assert!(status.stale().is_some());

    let (value, status) = cache
        .get_stale(&1, ttl, script.as_ref(), Duration::from_millis(30))
        .await;
    assert_eq!(value.unwrap(), 2);
    assert_eq!(status, CacheStatus::Expired);
}

#[tokio::test(start_paused = true)]
async fn rt_get_stale_while_update_refreshes_in_the_background() {
    static CACHE: LazyLock<TestCache> = LazyLock::new(|| RTCache::new(10, None, None));
    let ttl = Some(Duration::from_millis(100));
    let script = Some(Script::plain());
    miss_hit_then_expire(&CACHE, ttl, script.as_ref()).await;
    let (value, status) = CACHE
        .get_stale_while_update(&1, ttl, script.as_ref(), Duration::from_millis(1000))
        .await;
    assert_eq!(value.unwrap(), 1);
    assert!(status.stale().is_some());

    // Give the background lookup time to finish.
    tokio::time::sleep(Duration::from_millis(10)).await;

    let (value, status) = CACHE.get(&1, ttl, script.as_ref()).await;
    assert_eq!(value.unwrap(), 2);
    assert_eq!(status, CacheStatus::Hit);
}

// ---------------------------------------------------------------------------------------------
// Deliberate differences from Pingora 0.9, one test each
// ---------------------------------------------------------------------------------------------

/// Pingora (issue #931): the waiters of a cancelled lookup wait forever (no `lock_timeout`), and
/// the key stays locked for every later caller. Here a waiter takes the lookup over.
#[tokio::test(start_paused = true)]
async fn difference_cancelled_lookup_is_taken_over_by_a_waiter() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let calls = Arc::new(AtomicI32::new(0));
    let slow = Script::slow(Duration::from_secs(5), &calls);

    let leader = {
        let cache = cache.clone();
        let slow = slow.clone();
        tokio::spawn(async move { cache.get(&1, None, Some(&slow)).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&1, None, Some(&slow)).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    leader.abort();

    let (value, status) = tokio::time::timeout(Duration::from_secs(60), waiter)
        .await
        .expect("the waiter finishes")
        .unwrap();
    // The waiter ran the second lookup itself.
    assert_eq!(value.unwrap(), 2);
    assert_eq!(status, CacheStatus::Miss);
    assert_eq!(cache.lookups_in_flight(), 0);
    let (value, status) = cache.get(&1, None, None).await;
    assert_eq!((value.unwrap(), status), (2, CacheStatus::Hit));
}

/// Pingora (issue #474): each waiter runs the failed lookup again. Here it runs once and every
/// caller gets its error.
#[tokio::test]
async fn difference_failed_lookup_runs_once_for_all_waiters() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let calls = Arc::new(AtomicI32::new(0));
    let script = Script {
        fail: true,
        delay: Some(Duration::from_millis(1)),
        calls: calls.clone(),
        ..Script::plain()
    };
    let answers = three_gets(&cache, [-1, -1, -1], &script).await;
    for (value, status) in answers {
        let error = value.unwrap_err();
        assert_eq!(error.etype().as_str(), "RTCache: lookup error");
        assert!(error.to_string().contains("scripted failure"), "{error}");
        assert_eq!(lookup_error_of(&error).etype().as_str(), "scripted failure");
        assert_eq!(status, CacheStatus::Miss);
    }
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(cache.lookups_in_flight(), 0);
}

/// The lookup's own error inside an `RTCache` error: the cause itself when the caller was alone
/// with the failed lookup, inside a `SharedLookupError` when several callers shared it.
fn lookup_error_of(error: &Error) -> &Error {
    let cause = error.cause.as_deref().expect("a lookup error has a cause");
    match cause.downcast_ref::<SharedLookupError>() {
        Some(shared) => shared.get().downcast_ref::<Error>(),
        None => cause.downcast_ref::<Error>(),
    }
    .expect("the cause is the lookup's pingora_error::Error")
}

/// As in Pingora, a caller alone with its failed lookup gets the lookup's own error as the cause.
#[tokio::test]
async fn lone_failed_lookup_keeps_its_own_error_as_cause() {
    let cache: TestCache = RTCache::new(10, None, None);
    let (value, _) = cache.get(&-1, None, Some(&Script::failing())).await;
    let error = value.unwrap_err();
    let cause = error.cause.as_deref().unwrap();
    assert!(cause.downcast_ref::<SharedLookupError>().is_none());
    assert_eq!(
        cause.downcast_ref::<Error>().unwrap().etype().as_str(),
        "scripted failure"
    );
}

/// A key whose every value hashes alike: Pingora stores only the 64-bit hash, so all of them
/// share one entry (issue #406).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Colliding(u32);

impl Hash for Colliding {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(0);
    }
}

#[test]
fn difference_keys_with_equal_hashes_stay_distinct() {
    let cache: MemoryCache<Colliding, &str> = MemoryCache::new(10);
    cache.put(&Colliding(1), "one", None);
    cache.put(&Colliding(2), "two", None);
    assert_eq!(cache.get(&Colliding(1)), (Some("one"), CacheStatus::Hit));
    assert_eq!(cache.get(&Colliding(2)), (Some("two"), CacheStatus::Hit));
    cache.remove(&Colliding(1));
    assert_eq!(cache.get(&Colliding(1)), (None, CacheStatus::Miss));
    assert_eq!(cache.get(&Colliding(2)), (Some("two"), CacheStatus::Hit));
}

/// Pingora skips a zero-TTL `put` and keeps serving the old value.
#[test]
fn difference_zero_ttl_put_removes_the_old_value() {
    let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
    cache.put(&1, 10, None);
    cache.put(&1, 11, Some(Duration::ZERO));
    assert_eq!(cache.get(&1), (None, CacheStatus::Miss));
}

/// Pingora's `RTCache` cannot drop an entry (issue #473).
#[tokio::test]
async fn difference_rt_cache_can_remove_an_entry() {
    let cache: TestCache = RTCache::new(10, None, None);
    let script = Some(Script::plain());
    assert_eq!(cache.get(&1, None, script.as_ref()).await.0.unwrap(), 1);
    cache.remove(&1);
    let (value, status) = cache.get(&1, None, script.as_ref()).await;
    assert_eq!((value.unwrap(), status), (2, CacheStatus::Miss));
}

/// Pingora's `multi_get` never coalesces; here a key already being looked up by `get` is
/// joined, not looked up twice.
#[tokio::test(start_paused = true)]
async fn difference_multi_get_joins_a_lookup_in_flight() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let calls = Arc::new(AtomicI32::new(0));
    let slow = Script::slow(Duration::from_secs(1), &calls);
    let single = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&7, None, Some(&slow)).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let answers = cache
        .multi_get([7, 8].iter(), None, Some(&Script::plain()))
        .await
        .unwrap();
    // 7 came from the single-key lookup (its first call returns 1), 8 from the batch.
    assert_eq!(
        answers,
        vec![(1, CacheStatus::LockHit), (8, CacheStatus::Miss)]
    );
    let (value, status) = single.await.unwrap();
    assert_eq!((value.unwrap(), status), (1, CacheStatus::Miss));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

/// Pingora hands a key repeated in `multi_get` to `multi_lookup` once per repetition; here once.
/// The answers are Pingora's: one per repetition, all with the first one's status.
#[tokio::test]
async fn difference_multi_get_looks_up_a_repeated_key_once() {
    struct Recorded;

    static BATCHES: std::sync::Mutex<Vec<Vec<i32>>> = std::sync::Mutex::new(Vec::new());

    #[async_trait]
    impl MultiLookup<i32, i32, ()> for Recorded {
        async fn multi_lookup(
            keys: &[&i32],
            _extra: Option<&()>,
        ) -> Result<Vec<(i32, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>> {
            BATCHES
                .lock()
                .unwrap()
                .push(keys.iter().map(|key| **key).collect());
            Ok(keys.iter().map(|key| (**key * 10, None)).collect())
        }
    }

    let cache: RTCache<i32, i32, Recorded, ()> = RTCache::new(10, None, None);
    let answers = cache
        .multi_get([1, 1, 2, 1].iter(), None, None)
        .await
        .unwrap();
    assert_eq!(
        answers,
        vec![
            (10, CacheStatus::Miss),
            (10, CacheStatus::Miss),
            (20, CacheStatus::Miss),
            (10, CacheStatus::Miss),
        ]
    );
    assert_eq!(*BATCHES.lock().unwrap(), vec![vec![1, 2]]);
}

/// Pingora's waiters find nothing cached after a zero-TTL lookup and each run the lookup again.
/// Here they receive its value; nothing is stored.
#[tokio::test(start_paused = true)]
async fn difference_waiters_of_a_zero_ttl_lookup_get_its_value() {
    let cache = Arc::new(TestCache::new(10, None, None));
    let calls = Arc::new(AtomicI32::new(0));
    let script = Script {
        own_ttl: Some(Duration::ZERO),
        ..Script::slow(Duration::from_millis(10), &calls)
    };
    let answers = three_gets(&cache, [1, 1, 1], &script).await;
    let mut statuses: Vec<_> = answers
        .into_iter()
        .map(|(value, status)| {
            assert_eq!(value.unwrap(), 1);
            status.as_str().to_owned()
        })
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["lock_hit", "lock_hit", "miss"]);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    let (value, status) = cache.get(&1, None, Some(&script)).await;
    assert_eq!((value.unwrap(), status), (2, CacheStatus::Miss));
}
