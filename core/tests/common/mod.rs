//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

pub mod counting_alloc;
mod gate;
mod join;
pub mod tier;

#[allow(unused_imports, reason = "not every test file uses the gate")]
pub use gate::Gate;
#[allow(unused_imports, reason = "not every test file runs futures at once")]
pub use join::join_all;

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use readthrough_core::{ManualTimer, Timer};

#[allow(unused_imports)]
pub use futures_lite::future::block_on;

/// A xorshift sequence from `seed` (not 0): reproducible pseudo-random numbers for workloads.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// Polls `future` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// Counts loader calls.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    /// Records a call and returns its number (1 for the first).
    pub fn record(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A loader of `u32` values that returns its call number after sleeping `delay` on `timer`.
pub fn numbered_after(
    calls: &Calls,
    timer: &ManualTimer,
    delay: Duration,
) -> impl Fn(&u32) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send>> + Clone {
    let calls = calls.clone();
    let timer = timer.clone();
    move |_key: &u32| {
        let call = calls.record() as u32;
        let timer = timer.clone();
        Box::pin(async move {
            if !delay.is_zero() {
                timer.sleep(delay).await;
            }
            Ok(call)
        })
    }
}

/// Lets other futures in a `join_all` run for a while.
pub async fn yield_many(times: usize) {
    for _ in 0..times {
        futures_lite::future::yield_now().await;
    }
}

/// A hasher that sends every key to the same 64-bit hash.
#[derive(Clone, Default)]
pub struct CollidingHasher;

impl BuildHasher for CollidingHasher {
    type Hasher = Colliding;
    fn build_hasher(&self) -> Colliding {
        Colliding
    }
}

pub struct Colliding;

impl Hasher for Colliding {
    fn finish(&self) -> u64 {
        0x5eed_5eed_5eed_5eed
    }
    fn write(&mut self, _bytes: &[u8]) {}
}

/// Runs `body` on a thread of its own and fails the test if it has not finished within
/// `bound` (a deadlock under `block_on` would otherwise hang the test binary).
pub fn bounded(bound: Duration, body: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(bound) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test did not finish within {bound:?}: something hangs")
        }
    }
}
/// A spawned task.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A [`Spawn`](readthrough_core::Spawn) that keeps spawned tasks until the test runs them:
/// background refreshes become deterministic steps.
#[derive(Clone, Default)]
pub struct Tasks(Arc<std::sync::Mutex<Vec<Task>>>);

impl readthrough_core::Spawn for Tasks {
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.lock().unwrap().push(Box::pin(task));
    }
}

impl Tasks {
    /// How many spawned tasks wait to run.
    pub fn pending(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Runs every task spawned so far to completion, in order; returns how many ran.
    pub fn run_all(&self) -> usize {
        let tasks: Vec<_> = self.0.lock().unwrap().drain(..).collect();
        let ran = tasks.len();
        for task in tasks {
            block_on(task);
        }
        ran
    }

    /// Takes every task spawned so far, for the test to poll.
    pub fn take(&self) -> Vec<Task> {
        self.0.lock().unwrap().drain(..).collect()
    }

    /// Drops every spawned task unrun, as an executor that shuts down does.
    pub fn drop_all(&self) -> usize {
        let tasks: Vec<_> = self.0.lock().unwrap().drain(..).collect();
        tasks.len()
    }
}

/// The manual timer with [`Tasks`] as the cache's spawner.
pub type ManualRuntime = readthrough_core::WithSpawn<ManualTimer, Tasks>;

/// Weighs a body by its length in bytes.
pub struct BodyLen;

impl<K> readthrough_core::Weigher<K, Vec<u8>> for BodyLen {
    fn weigh(&self, _key: &K, body: &Vec<u8>) -> usize {
        body.len()
    }
}

/// A cache of byte bodies bounded by their total length.
pub type ByteCache<K> = readthrough_core::Cache<
    K,
    Vec<u8>,
    std::convert::Infallible,
    readthrough_core::NoTimer,
    readthrough_core::DefaultHashBuilder,
    readthrough_core::DefaultLock,
    readthrough_core::Weighted<BodyLen>,
>;
