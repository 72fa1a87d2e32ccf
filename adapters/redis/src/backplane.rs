//! What this node hears on the announcement channel: it wakes the local waits for a key's
//! landing and hands other nodes' invalidations to the cache's sink.
//!
//! redis-rs calls [`Backplane::heard`] from its connection task for every pub/sub message (the
//! tier's push sender), so nothing here may block for long.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use event_listener::Event;
use readthrough_core::{Announcement, InvalidationSink};

use crate::codec::Codec;
use crate::message;
use crate::stats::Counters;

type Sink<K> = Box<dyn InvalidationSink<K> + Send + Sync>;

pub(crate) struct Backplane<K, C> {
    node: u64,
    codec: Arc<C>,
    counters: Arc<Counters>,
    /// Keys some local wait is interested in, by encoded key.
    waits: Mutex<HashMap<Vec<u8>, Waiting>>,
    sink: RwLock<Option<Sink<K>>>,
    _keys: PhantomData<fn(&K)>,
}

struct Waiting {
    event: Arc<Event>,
    heard: u64,
    last: Announcement,
    interested: usize,
}

impl<K, C: Codec<K>> Backplane<K, C> {
    pub(crate) fn new(node: u64, codec: Arc<C>, counters: Arc<Counters>) -> Self {
        Backplane {
            node,
            codec,
            counters,
            waits: Mutex::new(HashMap::new()),
            sink: RwLock::new(None),
            _keys: PhantomData,
        }
    }

    pub(crate) fn set_sink(&self, sink: Sink<K>) {
        *self.sink.write().unwrap_or_else(PoisonError::into_inner) = Some(sink);
    }

    pub(crate) fn heard(&self, payload: &[u8]) {
        let Some(message) = message::decode(payload) else {
            Counters::bump(&self.counters.foreign_messages_ignored);
            return;
        };
        if message.from == self.node {
            Counters::bump(&self.counters.own_announcements_ignored);
            return;
        }
        Counters::bump(&self.counters.announcements_heard);
        if let Some(waiting) = self
            .waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(message.key)
        {
            waiting.heard += 1;
            waiting.last = message.announcement;
            waiting.event.notify(usize::MAX);
        }
        if message.announcement == Announcement::Invalidated {
            let sink = self.sink.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(sink) = sink.as_ref() {
                match self.codec.decode(message.key) {
                    Ok(key) => sink.invalidate_local(&key),
                    Err(_) => Counters::bump(&self.counters.foreign_messages_ignored),
                }
            }
        }
    }

    /// Registers interest in `key` now; the returned wait resolves on the next announcement
    /// about it from another node.
    pub(crate) fn wait_for(self: &Arc<Self>, key: Vec<u8>) -> LandingWait<K, C> {
        let mut waits = self.waits.lock().unwrap_or_else(PoisonError::into_inner);
        let waiting = waits.entry(key.clone()).or_insert_with(|| Waiting {
            event: Arc::new(Event::new()),
            heard: 0,
            last: Announcement::Landed,
            interested: 0,
        });
        waiting.interested += 1;
        LandingWait {
            backplane: self.clone(),
            since: waiting.heard,
            event: waiting.event.clone(),
            key,
        }
    }
}

/// One local wait for a key's next announcement; deregisters on drop.
pub(crate) struct LandingWait<K, C> {
    backplane: Arc<Backplane<K, C>>,
    key: Vec<u8>,
    since: u64,
    event: Arc<Event>,
}

impl<K, C> LandingWait<K, C> {
    fn heard_since(&self) -> Option<Announcement> {
        let waits = self
            .backplane
            .waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let waiting = waits.get(&self.key)?;
        (waiting.heard > self.since).then_some(waiting.last)
    }

    pub(crate) async fn wait(self) -> Announcement {
        loop {
            // Listen before looking, so an announcement in between still wakes this wait.
            let listener = self.event.listen();
            if let Some(announcement) = self.heard_since() {
                return announcement;
            }
            listener.await;
        }
    }
}

impl<K, C> Drop for LandingWait<K, C> {
    fn drop(&mut self) {
        let mut waits = self
            .backplane
            .waits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(waiting) = waits.get_mut(&self.key) {
            waiting.interested -= 1;
            if waiting.interested == 0 {
                waits.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{DecodeError, EncodeError};
    use futures_lite::future::{block_on, poll_once};
    use std::sync::atomic::Ordering;

    struct Utf8;

    impl Codec<String> for Utf8 {
        fn encode(&self, value: &String, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            out.extend_from_slice(value.as_bytes());
            Ok(())
        }
        fn decode(&self, bytes: &[u8]) -> Result<String, DecodeError> {
            String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError)
        }
    }

    const ME: u64 = 1;
    const OTHER: u64 = 2;

    fn backplane() -> Arc<Backplane<String, Utf8>> {
        Arc::new(Backplane::new(ME, Arc::new(Utf8), Arc::default()))
    }

    #[test]
    fn a_wait_resolves_on_another_nodes_announcement_only() {
        let backplane = backplane();
        let wait = backplane.wait_for(b"k".to_vec());
        let mut wait = Box::pin(wait.wait());
        backplane.heard(&message::encode(ME, Announcement::Landed, b"k"));
        backplane.heard(&message::encode(OTHER, Announcement::Landed, b"other key"));
        assert_eq!(block_on(poll_once(&mut wait)), None);
        backplane.heard(&message::encode(OTHER, Announcement::Abandoned, b"k"));
        assert_eq!(block_on(wait), Announcement::Abandoned);
        assert!(
            backplane.waits.lock().unwrap().is_empty(),
            "a finished wait stays registered"
        );
    }

    #[test]
    fn invalidations_reach_the_sink_decoded_and_foreign_bytes_are_counted() {
        let backplane = backplane();
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let sink = dropped.clone();
        backplane.set_sink(Box::new(move |key: &String| {
            sink.lock().unwrap().push(key.clone())
        }));
        backplane.heard(&message::encode(OTHER, Announcement::Invalidated, b"k"));
        backplane.heard(&message::encode(OTHER, Announcement::Landed, b"landed"));
        backplane.heard(&message::encode(ME, Announcement::Invalidated, b"mine"));
        backplane.heard(b"not an announcement");
        backplane.heard(&message::encode(OTHER, Announcement::Invalidated, b"\xff"));
        assert_eq!(*dropped.lock().unwrap(), ["k"]);
        let counters = &backplane.counters;
        let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        assert_eq!(count(&counters.announcements_heard), 3);
        assert_eq!(count(&counters.own_announcements_ignored), 1);
        assert_eq!(count(&counters.foreign_messages_ignored), 2);
    }
}
