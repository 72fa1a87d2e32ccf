//! Entries that left a shard under its lock, kept until the lock is released.
//!
//! User code (the listener, and the `Drop` of keys and values) never runs under a shard lock:
//! a panic there could not leave a shard half-changed, and a listener may call back into the
//! cache. The first two entries stay inline, which is all an insert without a weigher can
//! displace (one replaced value and one evicted entry), so such inserts allocate nothing. An
//! insert with a weigher can evict many entries: those go to a list the store lends out and
//! gets back emptied, so a warm cache does not allocate for them either.

use alloc::vec::Vec;

use crate::listener::{Listener, RemovalCause};

const INLINE: usize = 2;

/// The list evicted entries spill into past the inline ones.
pub(crate) type Spill<K, V> = Vec<(K, V, RemovalCause)>;

pub(crate) struct Leaving<K, V> {
    inline: [Option<(K, V, RemovalCause)>; INLINE],
    spilled: Spill<K, V>,
}

impl<K, V> Leaving<K, V> {
    pub(crate) fn new() -> Self {
        Leaving {
            inline: [const { None }; INLINE],
            spilled: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, key: K, value: V, cause: RemovalCause) {
        let mut no_spare = Vec::new();
        self.push_or_spill(key, value, cause, &mut no_spare);
    }

    /// Like [`push`](Self::push), but past the inline places it first borrows `spare` (the
    /// store's emptied list from an earlier spill) rather than allocating a new one.
    pub(crate) fn push_or_spill(
        &mut self,
        key: K,
        value: V,
        cause: RemovalCause,
        spare: &mut Spill<K, V>,
    ) {
        match self.inline.iter_mut().find(|place| place.is_none()) {
            Some(place) => *place = Some((key, value, cause)),
            None => {
                if self.spilled.capacity() == 0 {
                    self.spilled = core::mem::take(spare);
                }
                self.spilled.push((key, value, cause));
            }
        }
    }

    /// Hands every entry to `listener` (or drops it), in the order they left; call with no
    /// lock held. Returns the spill list, emptied, for the store to lend out again.
    pub(crate) fn deliver<N: Listener<K, V>>(self, listener: &N) -> Spill<K, V> {
        let Leaving {
            inline,
            mut spilled,
        } = self;
        if N::LISTENS {
            for (key, value, cause) in inline.into_iter().flatten().chain(spilled.drain(..)) {
                listener.on_removal(key, value, cause);
            }
        } else {
            drop(inline);
            spilled.clear();
        }
        spilled
    }
}
