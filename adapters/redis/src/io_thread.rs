//! An I/O thread of the tier's own (tokio): a current-thread runtime on which the connection's
//! tasks and every call run, so that a reply is read as soon as it arrives however busy the
//! callers' runtime is (see `RedisTierConfig::io_thread`).

use core::future::Future;
use std::sync::mpsc;

/// The thread's runtime; dropping this stops it.
pub(crate) struct IoThread {
    handle: tokio::runtime::Handle,
    /// Dropped with this: the thread's `block_on` then returns and its runtime shuts down.
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Why a call spawned on the I/O thread has no reply.
pub(crate) struct Lost;

impl IoThread {
    /// Starts the thread and its runtime.
    pub(crate) fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (started, running) = mpsc::channel();
        std::thread::Builder::new()
            .name("readthrough-redis-io".to_owned())
            .spawn(move || {
                let _ = started.send(());
                // Returns when the sender is dropped (or sends).
                let _ = runtime.block_on(stopped);
            })?;
        let _ = running.recv();
        Ok(IoThread {
            handle,
            _stop: stop,
        })
    }

    /// Runs `call` on the thread; its output, or [`Lost`] if the runtime dropped it.
    pub(crate) fn run<F>(&self, call: F) -> impl Future<Output = Result<F::Output, Lost>> + use<F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let spawned = self.handle.spawn(call);
        async move { spawned.await.map_err(|_| Lost) }
    }
}
