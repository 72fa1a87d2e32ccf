//! The same scripted scenarios run against `pingora-memory-cache` 0.9 itself and against
//! `readthrough_pingora`; what each observes (values, statuses, lookup counts) is compared.
//!
//! One macro writes each scenario once, for a crate path, so both sides run literally the same
//! code. Pingora reads `std::time::Instant`, which tokio's paused clock does not move, so these
//! scenarios run on real time with TTLs and delays of tens of milliseconds.
//!
//! The last group shows the deliberate differences on the real Pingora: each test asserts what
//! Pingora does and what we do instead.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// What the scenario lookups should do, passed as `extra`.
#[derive(Clone, Debug, Default)]
pub struct Knobs {
    fail: bool,
    return_nothing: bool,
    delay: Option<Duration>,
    /// TTL the lookup itself returns.
    own_ttl: Option<Duration>,
    /// Counts lookups; a single-key lookup returns `key * 100 + count so far`.
    calls: Arc<AtomicI32>,
}

impl Knobs {
    fn calls(&self) -> i32 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// One thing a scenario saw: a label, a value (or none / an error), a status word.
pub type Seen = (String, String, String);

/// Records a `(Option<value>, status)` pair.
fn seen<T: std::fmt::Debug>(label: &str, value: T, status: &str) -> Seen {
    (label.to_owned(), format!("{value:?}"), status.to_owned())
}

const MS: Duration = Duration::from_millis(1);
/// A TTL the scenarios wait out; long enough that a value checked right after it was stored is
/// still fresh on a busy machine.
const SHORT_TTL: Duration = Duration::from_millis(200);
/// Sleeping this long lets a `SHORT_TTL` run out.
const PAST_SHORT_TTL: Duration = Duration::from_millis(300);
const LONG_TTL: Duration = Duration::from_secs(60);

macro_rules! scenarios {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::*;
            use async_trait::async_trait;
            use pingora_error::{Error, ErrorTrait};
            use $krate::{CacheStatus, Lookup, MemoryCache, MultiLookup, RTCache};

            pub struct Backend;

            #[async_trait]
            impl Lookup<i32, i32, Knobs> for Backend {
                async fn lookup(
                    key: &i32,
                    extra: Option<&Knobs>,
                ) -> Result<(i32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> {
                    let knobs = extra.cloned().unwrap_or_default();
                    let call = knobs.calls.fetch_add(1, Ordering::Relaxed) + 1;
                    if let Some(delay) = knobs.delay {
                        tokio::time::sleep(delay).await;
                    }
                    if knobs.fail {
                        return Err(Error::new_str("backend down"));
                    }
                    Ok((key * 100 + call, knobs.own_ttl))
                }
            }

            #[async_trait]
            impl MultiLookup<i32, i32, Knobs> for Backend {
                async fn multi_lookup(
                    keys: &[&i32],
                    extra: Option<&Knobs>,
                ) -> Result<Vec<(i32, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>>
                {
                    let knobs = extra.cloned().unwrap_or_default();
                    knobs.calls.fetch_add(1, Ordering::Relaxed);
                    if knobs.fail {
                        return Err(Error::new_str("backend down"));
                    }
                    if knobs.return_nothing {
                        return Ok(Vec::new());
                    }
                    Ok(keys.iter().map(|key| (**key * 10, knobs.own_ttl)).collect())
                }
            }

            pub type Cache = RTCache<i32, i32, Backend, Knobs>;

            fn word(status: &CacheStatus) -> String {
                match status.stale() {
                    Some(age) if age > Duration::ZERO => format!("{}(>0)", status.as_str()),
                    Some(_) => format!("{}(0)", status.as_str()),
                    None => status.as_str().to_owned(),
                }
            }

            fn rt(label: &str, answer: &(Result<i32, Box<Error>>, CacheStatus)) -> Seen {
                let value = match &answer.0 {
                    Ok(value) => format!("{value}"),
                    Err(error) => format!("error {}", error.etype().as_str()),
                };
                (label.to_owned(), value, word(&answer.1))
            }

            fn log_multi(
                log: &mut Vec<Seen>,
                label: &str,
                answer: Result<Vec<(i32, CacheStatus)>, Box<Error>>,
            ) {
                match answer {
                    Ok(answers) => {
                        for (i, (v, s)) in answers.iter().enumerate() {
                            log.push(seen(&format!("{label} {i}"), v, &word(s)));
                        }
                    }
                    Err(error) => log.push(seen(label, error.etype().as_str(), "error")),
                }
            }

            pub fn memory_script() -> Vec<Seen> {
                let mut log = Vec::new();
                let cache: MemoryCache<i32, i32> = MemoryCache::new(10);
                let (v, s) = cache.get(&1);
                log.push(seen("empty", v, &word(&s)));
                cache.put(&1, 10, None);
                cache.put(&2, 20, Some(SHORT_TTL));
                cache.put(&3, 30, Some(LONG_TTL));
                let (v, s) = cache.get(&1);
                log.push(seen("no ttl", v, &word(&s)));
                let (v, s) = cache.get(&2);
                log.push(seen("short ttl, fresh", v, &word(&s)));
                let (v, s) = cache.get_stale(&2);
                log.push(seen("get_stale of fresh", v, &word(&s)));
                std::thread::sleep(PAST_SHORT_TTL);
                let (v, s) = cache.get(&2);
                log.push(seen("short ttl, expired", v, &word(&s)));
                let (v, s) = cache.get_stale(&2);
                log.push(seen("get_stale of expired", v, &word(&s)));
                let (v, s) = cache.get_stale(&9);
                log.push(seen("get_stale of absent", v, &word(&s)));
                let (v, s) = cache.get(&3);
                log.push(seen("long ttl", v, &word(&s)));
                cache.put(&2, 21, None);
                let (v, s) = cache.get(&2);
                log.push(seen("replaced", v, &word(&s)));
                cache.remove(&1);
                cache.remove(&8);
                let (v, s) = cache.get(&1);
                log.push(seen("removed", v, &word(&s)));
                cache.put(&4, 40, Some(MS));
                std::thread::sleep(5 * MS);
                for (i, (v, s)) in cache.multi_get([1, 2, 3, 4].iter()).into_iter().enumerate() {
                    log.push(seen(&format!("multi_get {i}"), v, &word(&s)));
                }
                let (answers, missing) = cache.multi_get_with_miss([4, 3, 1, 2].iter());
                for (i, (v, s)) in answers.into_iter().enumerate() {
                    log.push(seen(&format!("multi_get_with_miss {i}"), v, &word(&s)));
                }
                log.push(seen("missing", missing, ""));

                let strings: MemoryCache<String, i32> = MemoryCache::new(10);
                strings.put("a", 1, None);
                let (v, s) = strings.get("a");
                log.push(seen("str key", v, &word(&s)));
                let (v, s) = strings.get(&"a".to_string());
                log.push(seen("String key", v, &word(&s)));
                strings.remove("a");
                let (v, s) = strings.get("a");
                log.push(seen("str key removed", v, &word(&s)));
                log
            }

            pub async fn read_through_script() -> Vec<Seen> {
                let mut log = Vec::new();
                let cache = Cache::new(10, None, None);
                let knobs = Knobs::default();
                let quick = Some(&knobs);
                log.push(rt("first get", &cache.get(&1, None, quick).await));
                log.push(rt("second get", &cache.get(&1, None, quick).await));
                log.push(rt(
                    "call ttl, first",
                    &cache.get(&2, Some(SHORT_TTL), quick).await,
                ));
                let own = Knobs {
                    own_ttl: Some(SHORT_TTL),
                    calls: knobs.calls.clone(),
                    ..Knobs::default()
                };
                log.push(rt(
                    "lookup ttl beats call ttl",
                    &cache.get(&3, Some(LONG_TTL), Some(&own)).await,
                ));
                tokio::time::sleep(PAST_SHORT_TTL).await;
                log.push(rt(
                    "call ttl, after expiry",
                    &cache.get(&2, Some(SHORT_TTL), quick).await,
                ));
                log.push(rt(
                    "lookup ttl, after expiry",
                    &cache.get(&3, None, quick).await,
                ));
                log.push(rt("no ttl, still there", &cache.get(&1, None, quick).await));

                let _ = cache.get(&4, Some(20 * MS), quick).await;
                tokio::time::sleep(40 * MS).await;
                log.push(rt(
                    "get_stale within stale_ttl",
                    &cache.get_stale(&4, None, quick, LONG_TTL).await,
                ));
                log.push(rt(
                    "get_stale beyond stale_ttl",
                    &cache.get_stale(&4, Some(LONG_TTL), quick, MS).await,
                ));
                log.push(rt(
                    "get_stale of fresh",
                    &cache.get_stale(&4, None, quick, MS).await,
                ));
                log.push(rt(
                    "get_stale of absent",
                    &cache.get_stale(&5, None, quick, LONG_TTL).await,
                ));

                let failing = Knobs {
                    fail: true,
                    ..Knobs::default()
                };
                log.push(rt(
                    "failing miss",
                    &cache.get(&6, None, Some(&failing)).await,
                ));
                let _ = cache.get(&7, Some(10 * MS), quick).await;
                tokio::time::sleep(30 * MS).await;
                log.push(rt(
                    "failing after expiry",
                    &cache.get(&7, None, Some(&failing)).await,
                ));
                log.push(rt(
                    "failed key not cached",
                    &cache.get(&6, None, quick).await,
                ));
                log.push(seen("lookups", knobs.calls(), ""));

                let batch = Knobs::default();
                let _ = cache.get(&30, Some(10 * MS), quick).await;
                tokio::time::sleep(30 * MS).await;
                let answer = cache
                    .multi_get([1, 20, 30].iter(), None, Some(&batch))
                    .await;
                log_multi(&mut log, "multi_get", answer);
                let answer = cache
                    .multi_get([1, 20, 30].iter(), None, Some(&batch))
                    .await;
                log_multi(&mut log, "multi_get again", answer);
                let failing_batch = Knobs {
                    fail: true,
                    ..Knobs::default()
                };
                let answer = cache
                    .multi_get([1, 40].iter(), None, Some(&failing_batch))
                    .await;
                log_multi(&mut log, "failing multi_get", answer);
                let answer = cache
                    .multi_get([50, 50, 1, 50].iter(), None, Some(&batch))
                    .await;
                log_multi(&mut log, "repeated key", answer);
                log.push(seen("batch lookups", batch.calls(), ""));
                log
            }

            /// `get` from `callers` tasks at once for key 1; the log holds the sorted values and
            /// statuses and the number of lookups.
            pub async fn concurrent_script(
                lock_age: Option<Duration>,
                lock_timeout: Option<Duration>,
                leader_delay: Duration,
                stagger: Duration,
            ) -> Vec<Seen> {
                let cache = Arc::new(Cache::new(10, lock_age, lock_timeout));
                let calls = Arc::new(AtomicI32::new(0));
                let slow = Knobs {
                    delay: Some(leader_delay),
                    calls: calls.clone(),
                    ..Knobs::default()
                };
                let quick = Knobs {
                    delay: Some(MS),
                    calls: calls.clone(),
                    ..Knobs::default()
                };
                let mut tasks = Vec::new();
                for knobs in [slow, quick.clone(), quick] {
                    let cache = cache.clone();
                    tasks.push(tokio::spawn(async move {
                        cache.get(&1, None, Some(&knobs)).await
                    }));
                    tokio::time::sleep(stagger).await;
                }
                let mut answers = Vec::new();
                for task in tasks {
                    let answer = task.await.unwrap();
                    answers.push((answer.0.unwrap(), word(&answer.1)));
                }
                answers.sort();
                let mut log: Vec<Seen> = answers
                    .into_iter()
                    .map(|(value, status)| seen("answer", value, &status))
                    .collect();
                log.push(seen("lookups", calls.load(Ordering::Relaxed), ""));
                log.push(rt("afterwards", &cache.get(&1, None, None).await));
                log
            }

            pub async fn stale_while_update_script(cache: &'static Cache) -> Vec<Seen> {
                let mut log = Vec::new();
                let knobs = Knobs::default();
                let ttl = Some(SHORT_TTL);
                log.push(rt("first", &cache.get(&1, ttl, Some(&knobs)).await));
                tokio::time::sleep(PAST_SHORT_TTL).await;
                log.push(rt(
                    "stale, refreshing",
                    &cache
                        .get_stale_while_update(&1, ttl, Some(&knobs), LONG_TTL)
                        .await,
                ));
                tokio::time::sleep(50 * MS).await;
                log.push(rt("refreshed", &cache.get(&1, ttl, Some(&knobs)).await));
                log.push(seen("lookups", knobs.calls(), ""));
                log
            }
        }
    };
}

scenarios!(theirs, pingora_memory_cache);
scenarios!(ours, readthrough_pingora);

fn assert_same(theirs: Vec<Seen>, ours: Vec<Seen>) {
    for (theirs, ours) in theirs.iter().zip(&ours) {
        assert_eq!(theirs, ours, "first difference (pingora, readthrough)");
    }
    assert_eq!(theirs.len(), ours.len());
}

#[test]
fn memory_cache_matches() {
    let (theirs, ours) = std::thread::scope(|scope| {
        let theirs = scope.spawn(theirs::memory_script);
        let ours = scope.spawn(ours::memory_script);
        (theirs.join().unwrap(), ours.join().unwrap())
    });
    assert_same(theirs, ours);
}

#[test]
fn size_zero_holds_one_entry_in_both() {
    let theirs: pingora_memory_cache::MemoryCache<i32, i32> =
        pingora_memory_cache::MemoryCache::new(0);
    let ours: readthrough_pingora::MemoryCache<i32, i32> = readthrough_pingora::MemoryCache::new(0);
    let mut seen_by = [Vec::new(), Vec::new()];
    for key in [1, 2] {
        theirs.put(&key, key, None);
        ours.put(&key, key, None);
        seen_by[0].push((theirs.get(&1).0, theirs.get(&2).0));
        seen_by[1].push((ours.get(&1).0, ours.get(&2).0));
    }
    assert_eq!(seen_by[0], vec![(Some(1), None), (None, Some(2))]);
    assert_eq!(seen_by[0], seen_by[1]);
}

#[tokio::test]
async fn read_through_get_get_stale_and_multi_get_match() {
    let (theirs, ours) = tokio::join!(theirs::read_through_script(), ours::read_through_script());
    assert_same(theirs, ours);
}

#[tokio::test]
async fn concurrent_gets_share_one_lookup_in_both() {
    let (theirs, ours) = tokio::join!(
        theirs::concurrent_script(None, None, 500 * MS, 20 * MS),
        ours::concurrent_script(None, None, 500 * MS, 20 * MS)
    );
    assert_eq!(theirs[3], seen("lookups", 1, ""));
    assert_same(theirs, ours);
}

#[tokio::test]
async fn lock_timeout_makes_waiters_look_up_in_both() {
    let (theirs, ours) = tokio::join!(
        theirs::concurrent_script(None, Some(100 * MS), 500 * MS, 10 * MS),
        ours::concurrent_script(None, Some(100 * MS), 500 * MS, 10 * MS)
    );
    assert_eq!(theirs[3], seen("lookups", 3, ""));
    assert_same(theirs, ours);
}

#[tokio::test]
async fn lock_age_stops_waiting_in_both() {
    let (theirs, ours) = tokio::join!(
        theirs::concurrent_script(Some(50 * MS), None, 600 * MS, 150 * MS),
        ours::concurrent_script(Some(50 * MS), None, 600 * MS, 150 * MS)
    );
    assert_eq!(theirs[3], seen("lookups", 3, ""));
    assert_same(theirs, ours);
}

#[tokio::test]
async fn get_stale_while_update_matches() {
    static THEIRS: std::sync::LazyLock<theirs::Cache> =
        std::sync::LazyLock::new(|| pingora_memory_cache::RTCache::new(10, None, None));
    static OURS: std::sync::LazyLock<ours::Cache> =
        std::sync::LazyLock::new(|| readthrough_pingora::RTCache::new(10, None, None));
    let (theirs, ours) = tokio::join!(
        theirs::stale_while_update_script(&THEIRS),
        ours::stale_while_update_script(&OURS)
    );
    assert_same(theirs, ours);
}

// ---------------------------------------------------------------------------------------------
// Deliberate differences, shown on the real Pingora
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn difference_failed_lookup_pingora_runs_it_per_waiter_we_run_it_once() {
    async fn failing_storm<C, F, Fut>(cache: Arc<C>, get: F) -> i32
    where
        C: Send + Sync + 'static,
        F: Fn(Arc<C>, Knobs) -> Fut,
        Fut: std::future::Future<Output = bool> + Send + 'static,
    {
        let knobs = Knobs {
            fail: true,
            delay: Some(200 * MS),
            ..Knobs::default()
        };
        let tasks: Vec<_> = (0..3)
            .map(|_| tokio::spawn(get(cache.clone(), knobs.clone())))
            .collect();
        for task in tasks {
            assert!(task.await.unwrap(), "every caller gets an error");
        }
        knobs.calls()
    }
    let theirs = failing_storm(
        Arc::new(theirs::Cache::new(10, None, None)),
        |c, k| async move { c.get(&1, None, Some(&k)).await.0.is_err() },
    )
    .await;
    let ours = failing_storm(
        Arc::new(ours::Cache::new(10, None, None)),
        |c, k| async move { c.get(&1, None, Some(&k)).await.0.is_err() },
    )
    .await;
    assert_eq!((theirs, ours), (3, 1));
}

#[tokio::test]
async fn difference_cancelled_lookup_pingora_strands_waiters_we_do_not() {
    let knobs = Knobs {
        delay: Some(Duration::from_secs(3600)),
        ..Knobs::default()
    };
    let quick = Knobs::default();

    let theirs = Arc::new(theirs::Cache::new(10, None, None));
    let leader = {
        let (cache, knobs) = (theirs.clone(), knobs.clone());
        tokio::spawn(async move { cache.get(&1, None, Some(&knobs)).await.0.is_ok() })
    };
    tokio::time::sleep(10 * MS).await;
    leader.abort();
    let later = {
        let (cache, quick) = (theirs.clone(), quick.clone());
        tokio::spawn(async move { cache.get(&1, None, Some(&quick)).await.0.is_ok() })
    };
    let stranded = tokio::time::timeout(100 * MS, later).await;
    assert!(stranded.is_err(), "Pingora: the key stays locked");

    let ours = Arc::new(ours::Cache::new(10, None, None));
    let leader = {
        let (cache, knobs) = (ours.clone(), knobs.clone());
        tokio::spawn(async move { cache.get(&1, None, Some(&knobs)).await.0.is_ok() })
    };
    tokio::time::sleep(10 * MS).await;
    leader.abort();
    let later = {
        let (cache, quick) = (ours.clone(), quick.clone());
        tokio::spawn(async move { cache.get(&1, None, Some(&quick)).await })
    };
    let (value, _) = tokio::time::timeout(100 * MS, later)
        .await
        .expect("readthrough: the key is free again")
        .unwrap();
    assert_eq!(value.unwrap(), 101);
    assert_eq!(ours.lookups_in_flight(), 0);
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Colliding(u32);

impl Hash for Colliding {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(0);
    }
}

#[test]
fn difference_colliding_keys_pingora_merges_them_we_do_not() {
    let theirs: pingora_memory_cache::MemoryCache<Colliding, i32> =
        pingora_memory_cache::MemoryCache::new(10);
    theirs.put(&Colliding(1), 1, None);
    theirs.put(&Colliding(2), 2, None);
    assert_eq!(theirs.get(&Colliding(1)).0, Some(2));

    let ours: readthrough_pingora::MemoryCache<Colliding, i32> =
        readthrough_pingora::MemoryCache::new(10);
    ours.put(&Colliding(1), 1, None);
    ours.put(&Colliding(2), 2, None);
    assert_eq!(ours.get(&Colliding(1)).0, Some(1));
}

#[test]
fn difference_zero_ttl_pingora_keeps_the_old_value_we_remove_it() {
    let theirs: pingora_memory_cache::MemoryCache<i32, i32> =
        pingora_memory_cache::MemoryCache::new(10);
    theirs.put(&1, 1, None);
    theirs.put(&1, 2, Some(Duration::ZERO));
    assert_eq!(theirs.get(&1).0, Some(1));

    let ours: readthrough_pingora::MemoryCache<i32, i32> =
        readthrough_pingora::MemoryCache::new(10);
    ours.put(&1, 1, None);
    ours.put(&1, 2, Some(Duration::ZERO));
    assert_eq!(ours.get(&1).0, None);
}

#[tokio::test]
async fn difference_wrong_batch_count_pingora_panics_we_return_an_error() {
    let knobs = Knobs {
        return_nothing: true,
        ..Knobs::default()
    };
    let theirs = Arc::new(theirs::Cache::new(10, None, None));
    let outcome = {
        let knobs = knobs.clone();
        tokio::spawn(async move {
            let _ = theirs.multi_get([1, 2].iter(), None, Some(&knobs)).await;
        })
        .await
    };
    assert!(outcome.unwrap_err().is_panic());

    let ours = ours::Cache::new(10, None, None);
    let answer = ours.multi_get([1, 2].iter(), None, Some(&knobs)).await;
    assert_eq!(
        answer.unwrap_err().etype().as_str(),
        "RTCache: lookup error"
    );
}
