//! Failed loads remembered for `negative_ttl`: bounded in number, oldest forgotten first.
//!
//! A remembered error is its flight's row, left in the in-flight table after the load failed.
//! Without a bound, a client asking for a million missing ids would leave a million rows. Each
//! shard keeps at most `limit` of them, in the order they failed (which is also the order they
//! expire, since they share one TTL): a new one past the limit forgets the oldest, and expired
//! ones at the front are dropped whenever a new one is remembered.

use alloc::collections::VecDeque;

use crate::flight_table::FlightTable;
use crate::shard::{FlightRow, RememberedError};
use crate::sync::Arc;

/// Loads in flight a shard's table is sized for beside its remembered errors.
const ROOM_FOR_LOADS: usize = 2;

/// The most rows a shard's table is sized for up front: a larger limit (the builder takes any)
/// is reached by growing as errors come, not by reserving for all of them at the first.
const MOST_ROWS_SIZED: usize = 4096;

pub(crate) struct Remembered {
    /// `(hash, serial)` of each remembered error, oldest first. A row forgotten another way
    /// (`invalidate`, found expired by a caller) leaves its item here until it is popped or
    /// compacted away.
    order: VecDeque<(u64, u32)>,
    count: usize,
    limit: usize,
    next_serial: u32,
    /// Whether the in-flight table was sized for the remembered rows (once).
    sized: bool,
}

impl Remembered {
    pub(crate) fn new(limit: usize) -> Self {
        Remembered {
            order: VecDeque::new(),
            count: 0,
            limit,
            next_serial: 0,
            sized: false,
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Marks the failed flight's row as remembered until `until`, making room first; removes
    /// the row instead when this shard remembers nothing. `overdue` tells an expired deadline.
    pub(crate) fn remember<K, V, E, X: Copy>(
        &mut self,
        flights: &mut FlightTable<K, V, E, X>,
        hash: u64,
        flight: &Arc<crate::flight::Flight<V, E, X>>,
        until: X,
        overdue: impl Fn(X) -> bool,
    ) {
        self.make_room_for_rows(flights);
        self.drop_expired(flights, &overdue);
        while self.count >= self.limit {
            let Some((old_hash, serial)) = self.order.pop_front() else {
                break;
            };
            if flights
                .remove(old_hash, |row| is_remembered(row, serial))
                .is_some()
            {
                self.count -= 1;
            }
        }
        let is_this = |row: &FlightRow<K, V, E, X>| Arc::ptr_eq(&row.flight, flight);
        if self.limit == 0 {
            let _failed = flights.remove(hash, is_this);
            return;
        }
        if self.order.len() >= self.limit.saturating_mul(2).saturating_add(8) {
            self.compact(flights);
        }
        let Some(row) = flights.find_mut(hash, is_this) else {
            return;
        };
        let serial = self.next_serial;
        self.next_serial = serial.wrapping_add(1);
        row.remembered = Some(RememberedError { until, serial });
        self.order.push_back((hash, serial));
        self.count += 1;
    }

    /// Sizes the in-flight table for this shard's remembered errors (and a few loads) once,
    /// so that it reaches its final size with the first error: hashbrown rehashes a table
    /// whose tombstones ran out of room in place while at most half of it is live, and only
    /// grows it past that. Only once: hashbrown's `capacity()` shrinks as tombstones use up
    /// the spare room, and asking again for `wanted` then would grow a table that has room.
    fn make_room_for_rows<K, V, E, X>(&mut self, flights: &mut FlightTable<K, V, E, X>) {
        if self.sized {
            return;
        }
        self.sized = true;
        let wanted = self.limit.saturating_add(ROOM_FOR_LOADS).saturating_mul(2);
        flights.reserve_total(wanted.min(MOST_ROWS_SIZED));
    }

    /// A remembered row was removed by someone else.
    pub(crate) fn forgot(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    pub(crate) fn clear(&mut self) {
        self.order.clear();
        self.count = 0;
    }

    fn drop_expired<K, V, E, X: Copy>(
        &mut self,
        flights: &mut FlightTable<K, V, E, X>,
        overdue: &impl Fn(X) -> bool,
    ) {
        while let Some(&(hash, serial)) = self.order.front() {
            let is_it = |row: &FlightRow<K, V, E, X>| is_remembered(row, serial);
            if let Some(row) = flights.find(hash, is_it) {
                let kept = row.remembered.as_ref();
                if !kept.is_some_and(|kept| overdue(kept.until)) {
                    return;
                }
                let _expired = flights.remove(hash, is_it);
                self.count -= 1;
            }
            self.order.pop_front();
        }
    }

    fn compact<K, V, E, X>(&mut self, flights: &FlightTable<K, V, E, X>) {
        self.order.retain(|&(hash, serial)| {
            flights
                .find(hash, |row| is_remembered(row, serial))
                .is_some()
        });
    }
}

fn is_remembered<K, V, E, X>(row: &FlightRow<K, V, E, X>, serial: u32) -> bool {
    row.remembered
        .as_ref()
        .is_some_and(|kept| kept.serial == serial)
}
