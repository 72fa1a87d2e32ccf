//! Entries that left a shard under its lock, kept until the lock is released.
//!
//! User code (the listener, and the `Drop` of keys and values) never runs under a shard lock:
//! a panic there could not leave a shard half-changed, and a listener may call back into the
//! cache. The first two entries stay inline, which is all an insert without a weigher can
//! displace (one replaced value and one evicted entry), so such inserts allocate nothing.

use alloc::vec::Vec;

use crate::listener::{Listener, RemovalCause};

const INLINE: usize = 2;

pub(crate) struct Leaving<K, V> {
    inline: [Option<(K, V, RemovalCause)>; INLINE],
    spilled: Vec<(K, V, RemovalCause)>,
}

impl<K, V> Leaving<K, V> {
    pub(crate) fn new() -> Self {
        Leaving {
            inline: [const { None }; INLINE],
            spilled: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, key: K, value: V, cause: RemovalCause) {
        match self.inline.iter_mut().find(|place| place.is_none()) {
            Some(place) => *place = Some((key, value, cause)),
            None => self.spilled.push((key, value, cause)),
        }
    }

    /// Hands every entry to `listener`, in the order they left; call with no lock held.
    pub(crate) fn deliver<N: Listener<K, V>>(self, listener: &N) {
        if !N::LISTENS {
            return;
        }
        let Leaving { inline, spilled } = self;
        for (key, value, cause) in inline.into_iter().flatten().chain(spilled) {
            listener.on_removal(key, value, cause);
        }
    }
}
