//! The gate that held-back loads wait on: one helper for the core's tests and the behaviour
//! suite (`tests/suite` includes this file by path).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use event_listener::{Event, listener};

/// A latch: `wait` finishes once `open` was called.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(AtomicBool, Event)>,
}

impl Gate {
    pub fn open(&self) {
        self.inner.0.store(true, Ordering::SeqCst);
        self.inner.1.notify(usize::MAX);
    }

    /// A future that yields `value` once the gate opens: the body of a held-back loader.
    pub fn then<T>(&self, value: T) -> impl Future<Output = T> + use<T> {
        let gate = self.clone();
        async move {
            gate.wait().await;
            value
        }
    }

    pub async fn wait(&self) {
        loop {
            if self.inner.0.load(Ordering::SeqCst) {
                return;
            }
            listener!(self.inner.1 => opened);
            if self.inner.0.load(Ordering::SeqCst) {
                return;
            }
            opened.await;
        }
    }
}
