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
