//! A shard's in-flight table: the rows of the loads running in it (and of the failed loads it
//! remembers), found by the key's hash.

use hashbrown::HashTable;

use crate::shard::FlightRow;

/// One row kept inline, the rest in a hash table.
///
/// A shard usually has no load running, or one: a miss then puts its row in the inline place
/// and takes it back when it lands, with no hashing, no control bytes and no tombstones (the
/// table's insert and removal were about a tenth of a miss's instructions), and a shard that
/// never has two loads at once never allocates the table. Rows that find the inline place taken
/// go to the table; a key is in one place or the other, never both.
pub(crate) struct FlightTable<K, V, E, X> {
    inline: Option<FlightRow<K, V, E, X>>,
    table: HashTable<FlightRow<K, V, E, X>>,
}

impl<K, V, E, X> Default for FlightTable<K, V, E, X> {
    fn default() -> Self {
        FlightTable {
            inline: None,
            table: HashTable::new(),
        }
    }
}

/// The table's rehash function. One function for every call, so that hashbrown's growth code is
/// compiled once.
fn row_hash<K, V, E, X>(row: &FlightRow<K, V, E, X>) -> u64 {
    row.hash
}

impl<K, V, E, X> FlightTable<K, V, E, X> {
    /// Every row, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &FlightRow<K, V, E, X>> {
        self.inline.iter().chain(self.table.iter())
    }

    /// The row with this hash that `is_it` accepts.
    #[inline]
    pub(crate) fn find(
        &self,
        hash: u64,
        is_it: impl Fn(&FlightRow<K, V, E, X>) -> bool,
    ) -> Option<&FlightRow<K, V, E, X>> {
        match &self.inline {
            Some(row) if row.hash == hash && is_it(row) => Some(row),
            _ if self.table.is_empty() => None,
            _ => self.table.find(hash, is_it),
        }
    }

    /// The row with this hash that `is_it` accepts, to change.
    #[inline]
    pub(crate) fn find_mut(
        &mut self,
        hash: u64,
        is_it: impl Fn(&FlightRow<K, V, E, X>) -> bool,
    ) -> Option<&mut FlightRow<K, V, E, X>> {
        match &mut self.inline {
            Some(row) if row.hash == hash && is_it(row) => Some(row),
            _ if self.table.is_empty() => None,
            _ => self.table.find_mut(hash, is_it),
        }
    }

    /// Takes out the row with this hash that `is_it` accepts.
    #[inline]
    pub(crate) fn remove(
        &mut self,
        hash: u64,
        is_it: impl Fn(&FlightRow<K, V, E, X>) -> bool,
    ) -> Option<FlightRow<K, V, E, X>> {
        match &self.inline {
            Some(row) if row.hash == hash && is_it(row) => self.inline.take(),
            _ if self.table.is_empty() => None,
            _ => self
                .table
                .find_entry(hash, is_it)
                .ok()
                .map(|row| row.remove().0),
        }
    }

    /// Adds a row for a key that has none.
    #[inline]
    pub(crate) fn insert_new(&mut self, row: FlightRow<K, V, E, X>) {
        if self.inline.is_none() {
            self.inline = Some(row);
        } else {
            self.table.insert_unique(row.hash, row, row_hash);
        }
    }

    /// Makes room for `rows` rows in all, so that adding up to that many allocates nothing.
    /// Without the memory for it, the table grows later, as rows come.
    pub(crate) fn reserve_total(&mut self, rows: usize) {
        // The inline place holds one of them.
        let in_table = rows.saturating_sub(1);
        if self.table.capacity() < in_table {
            let more = in_table.saturating_sub(self.table.len());
            let _grows_later = self.table.try_reserve(more, row_hash);
        }
    }
}
