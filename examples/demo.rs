//! A tour of readthrough on tokio: coalescing, TTL expiry, every status and a shared error.
//!
//!     cargo run --example demo --features tokio
//!
//! Time is tokio's paused clock, so the minutes of TTL below pass instantly and the output is
//! the same on every run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use readthrough::{Error, Status};

/// A backend that is slow, counts its queries and can be told to fail.
#[derive(Clone)]
struct Backend {
    queries: Arc<AtomicUsize>,
    started: tokio::time::Instant,
}

#[derive(Debug)]
struct BackendDown;

impl std::fmt::Display for BackendDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("backend down")
    }
}

impl Backend {
    fn new() -> Self {
        Backend {
            queries: Arc::default(),
            started: tokio::time::Instant::now(),
        }
    }

    async fn fetch(&self, user: u64) -> Result<String, BackendDown> {
        self.queries.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        if user == 0 {
            return Err(BackendDown);
        }
        let loaded_at = self.started.elapsed().as_secs_f64();
        Ok(format!("user #{user}, loaded at t={loaded_at:.2}s"))
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    fn loader(
        &self,
    ) -> impl Fn(&u64) -> std::pin::Pin<Box<dyn Future<Output = Result<String, BackendDown>> + Send>>
    + Clone
    + Send
    + Sync
    + 'static {
        let backend = self.clone();
        move |user: &u64| {
            let (backend, user) = (backend.clone(), *user);
            Box::pin(async move { backend.fetch(user).await })
        }
    }
}

type Users = readthrough::tokio::Cache<u64, String, BackendDown>;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let backend = Backend::new();
    let cache: Arc<Users> = Arc::new(
        readthrough::tokio::builder()
            .capacity(1_000)
            .ttl(Duration::from_secs(60))
            .stale_window(Duration::from_secs(30))
            .lock_timeout(Duration::from_secs(5))
            .build()
            .expect("a valid configuration"),
    );

    println!("1. coalescing: 100 concurrent callers ask for user 7");
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let (cache, load) = (Arc::clone(&cache), backend.loader());
            tokio::spawn(async move { cache.get_or_load(&7, load).await })
        })
        .collect();
    let mut tally = std::collections::BTreeMap::new();
    for caller in callers {
        let answer = caller.await.expect("caller task").expect("user 7 loads");
        *tally.entry(answer.status.as_str()).or_insert(0) += 1;
    }
    println!("   statuses: {tally:?}");
    println!(
        "   backend queries: {} (one load served everyone)",
        backend.queries()
    );
    println!("   loads in flight afterwards: {}", cache.loads_in_flight());

    println!("2. hit: ask again at once");
    show(&cache.get_or_load(&7, backend.loader()).await);

    println!("3. stale: 70 s later the value is 10 s past its 60 s TTL (stale window 30 s)");
    tokio::time::advance(Duration::from_secs(70)).await;
    show(
        &cache
            .get_or_revalidate_in_background(&7, backend.loader())
            .await,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!(
        "   ...the background refresh stored a new value; queries now {}",
        backend.queries()
    );
    show(&cache.get_or_load(&7, backend.loader()).await);

    println!("4. expired: 2 minutes later, past TTL and stale window, the caller reloads");
    tokio::time::advance(Duration::from_secs(120)).await;
    show(&cache.get_or_load(&7, backend.loader()).await);

    println!("5. a shared error: 10 concurrent callers for user 0, whose load fails");
    let before = backend.queries();
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let (cache, load) = (Arc::clone(&cache), backend.loader());
            tokio::spawn(async move { cache.get_or_load(&0, load).await })
        })
        .collect();
    let mut errors = Vec::new();
    for caller in callers {
        errors.push(
            caller
                .await
                .expect("caller task")
                .expect_err("user 0 fails"),
        );
    }
    let first = errors[0].load_error().expect("a load error");
    let shared = errors
        .iter()
        .filter(|e| matches!(e, Error::Load(_)) && std::ptr::eq(e.load_error().unwrap(), first))
        .count();
    println!("   every caller got \"{}\"", errors[0]);
    println!(
        "   backend queries: {} for 10 callers; {shared} of them hold the very same error",
        backend.queries() - before
    );

    let stats = cache.stats();
    println!("stats: {stats:?}");
}

fn show(answer: &Result<readthrough::Answer<String>, Error<BackendDown>>) {
    match answer {
        Ok(answer) => {
            let note = match answer.status {
                Status::Hit => "fresh in the cache".to_string(),
                Status::Miss => "not cached: this caller loaded it".to_string(),
                Status::Expired => "cached but expired: this caller reloaded it".to_string(),
                Status::LockHit => "waited for another caller's load".to_string(),
                Status::Stale(age) => format!("served {age:?} past its TTL while a refresh runs"),
                Status::TierHit => "from the shared tier: another node loaded it".to_string(),
                Status::TierLockHit => {
                    "waited for another node's load, then the shared tier".to_string()
                }
                Status::Refreshed => "due for refresh ahead: this caller reloaded it".to_string(),
            };
            println!("   {:?}: {} -- {note}", answer.status, answer.value);
        }
        Err(error) => println!("   error: {error}"),
    }
}
