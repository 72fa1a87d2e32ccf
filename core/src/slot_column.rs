//! Per-thread counters of one shard: a column of a table whose rows belong to threads.
//!
//! A shard's reader count and hit count are split by thread slot (see `thread_slot`) so that
//! threads on different cores write different cache lines. Giving each shard's counters lines of
//! their own would cost a thread one line per shard and counter (64 shards: 128 lines, 8 KiB of
//! a 32 KiB L1, measured at about 16 % of a one-thread hit on the `hit_threads` Zipf keys).
//! Instead every counter is a column of one process-wide table: a thread's cells for all shards
//! of all caches lie side by side in its row (64 shards' reader and hit counts: 1 KiB, 16 lines),
//! and rows, which belong to different threads, never share a line. Columns are handed out in
//! order, so a shard's reader count and hit count (made one after the other) are neighbours,
//! and reused when their counter is dropped.
//!
//! A block has a row per thread slot, the *own rows*, and one *shared row* after them. A thread
//! whose index is below the slot count is the only one writing its own row's cells, and may
//! change them with a plain load and store where a shared cell needs a locked
//! read-modify-write (on a 2-core VM, the hit counter's `fetch_add` was about a fifth of a plain
//! `get`'s time, and so was a reader's decrement of the lock's count). The other threads use the
//! shared row, with read-modify-writes. The hit counter counts with a store in an own row; a
//! reader of a `ReadMostlyLock` counts itself in with a read-modify-write in any row (it must be
//! ordered before its look at the writer flag) and out with a store in an own row.
//!
//! Memory: one block of the table holds `COLUMNS` columns for every row: 4 KiB per row, one more
//! row than thread slots (5 rows on 2 cores, at most 33); blocks are added as columns run out
//! and kept for reuse.

use crate::sync::AtomicUsize;

/// The counters of one column.
pub(crate) struct SlotColumn {
    /// Row 0's cell of this column, derived from the block's whole slice of rows: row `r`'s
    /// cell is `COLUMNS * r` cells on (rows are `COLUMNS` cells long, no padding between them).
    #[cfg(not(loom))]
    first: core::ptr::NonNull<AtomicUsize>,
    /// The block's index in the table and the column's in the block, to give it back: 8 bytes,
    /// so that a shard's lock and hit counter (a column each) share the shard's first line.
    #[cfg(not(loom))]
    home: (u32, u32),
    /// Under loom, where statics do not outlive an execution: the cells in an allocation of the
    /// column's own.
    #[cfg(loom)]
    cells: alloc::boxed::Box<[Padded]>,
    /// Own rows: the shared row comes after them.
    slots: usize,
}

#[cfg(loom)]
#[repr(align(128))]
struct Padded(AtomicUsize);

/// A thread's cell of a column.
#[derive(Clone, Copy)]
pub(crate) enum Stripe<'a> {
    /// In the thread's own row: no other thread writes it.
    Own(&'a AtomicUsize),
    /// In a shared row: other threads may write it too.
    Shared(&'a AtomicUsize),
}

impl<'a> Stripe<'a> {
    /// The cell, own or shared.
    #[inline]
    pub(crate) fn cell(self) -> &'a AtomicUsize {
        match self {
            Stripe::Own(cell) | Stripe::Shared(cell) => cell,
        }
    }
}

impl SlotColumn {
    /// A column of zeros.
    pub(crate) fn new() -> Self {
        let slots = crate::thread_slot::slot_count();
        #[cfg(not(loom))]
        {
            let (block, home) = table::take_column(slots);
            SlotColumn {
                first: table::first_cell(block, home.1),
                home,
                slots,
            }
        }
        #[cfg(loom)]
        SlotColumn {
            cells: (0..=slots).map(|_| Padded(AtomicUsize::new(0))).collect(),
            slots,
        }
    }

    /// The calling thread's cell: in its own row if its index has one, else in the shared row.
    #[inline]
    pub(crate) fn stripe(&self) -> Stripe<'_> {
        let index = crate::thread_slot::thread_index();
        if index < self.slots {
            Stripe::Own(self.cell(index))
        } else {
            Stripe::Shared(self.cell(self.slots))
        }
    }

    /// The number of own rows (thread slots).
    pub(crate) fn slots(&self) -> usize {
        self.slots
    }

    /// Row `row`'s cell; `row <= slots`.
    #[inline]
    fn cell(&self, row: usize) -> &AtomicUsize {
        debug_assert!(row <= self.slots);
        // SAFETY: `first` points into the block's rows, which live as long as the process, and
        // was derived from the slice of all of them; the block has `slots + 1` rows, so the
        // cell `row` rows on is in the slice (the rows lie back to back, `COLUMNS` cells
        // each).
        #[cfg(not(loom))]
        return unsafe { &*self.first.as_ptr().add(row * table::COLUMNS) };
        #[cfg(loom)]
        return &self.cells[row].0;
    }

    /// Every row's cell, own and shared: the parts of a count, or the readers to wait for. A
    /// pointer stepped by a row's length, read from the column once (a writer's scan of the
    /// slots, on every miss: a load, a test, a step and a count per row).
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn cells(&self) -> impl Iterator<Item = &AtomicUsize> {
        Cells {
            next: self.first.as_ptr(),
            left: self.slots + 1,
            column: core::marker::PhantomData,
        }
    }

    /// Every row's cell, own and shared.
    #[cfg(loom)]
    pub(crate) fn cells(&self) -> impl Iterator<Item = &AtomicUsize> {
        (0..=self.slots).map(|row| self.cell(row))
    }
}

/// The cells of a column not visited yet, from `next` on.
#[cfg(not(loom))]
struct Cells<'a> {
    /// The next row's cell while `left > 0`; past the last row, an address never read.
    next: *const AtomicUsize,
    left: usize,
    column: core::marker::PhantomData<&'a SlotColumn>,
}

#[cfg(not(loom))]
impl<'a> Iterator for Cells<'a> {
    type Item = &'a AtomicUsize;

    #[inline]
    fn next(&mut self) -> Option<&'a AtomicUsize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let cell = self.next;
        // Wrapping: the step past the last row leaves the rows, and that address is not read.
        self.next = cell.wrapping_add(table::COLUMNS);
        // SAFETY: `cell` is the cell of row `rows - 1 - left` (`left` counted down from
        // `rows`), derived as in `cell` from the slice of all
        // rows, which lives as long as the process.
        Some(unsafe { &*cell })
    }
}

// SAFETY: `first` is a shared pointer to atomics that live as long as the process, as a
// `&'static AtomicUsize` would be (which is Send and Sync).
#[cfg(not(loom))]
unsafe impl Send for SlotColumn {}
// SAFETY: as for Send.
#[cfg(not(loom))]
unsafe impl Sync for SlotColumn {}

#[cfg(not(loom))]
impl Drop for SlotColumn {
    fn drop(&mut self) {
        table::give_back(self.home);
    }
}

#[cfg(not(loom))]
mod table {
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use std::sync::{Mutex, PoisonError};

    use crate::sync::{AtomicUsize, Ordering};

    /// Columns per block: a row of a block is 4 KiB.
    pub(super) const COLUMNS: usize = 512;

    // Rows lie back to back with no padding, so that a column's cells are `COLUMNS` cells apart.
    const _: () =
        assert!(core::mem::size_of::<Row>() == COLUMNS * core::mem::size_of::<AtomicUsize>());

    /// One row's cells of a block (a thread slot's own row or the shared row), on lines of its
    /// own.
    #[repr(align(128))]
    pub(super) struct Row(pub(super) [AtomicUsize; COLUMNS]);

    pub(super) struct Block {
        pub(super) rows: Box<[Row]>,
    }

    struct Table {
        /// Blocks live as long as the process: their columns are reused, never freed.
        blocks: Vec<&'static Block>,
        /// Columns of the last block not handed out yet start here.
        next: usize,
        /// Columns given back: (block index, column).
        free: Vec<(u32, u32)>,
    }

    static TABLE: Mutex<Table> = Mutex::new(Table {
        blocks: Vec::new(),
        next: COLUMNS,
        free: Vec::new(),
    });

    /// A free column of a block with a row per thread slot (`slots` of them) and the shared row.
    pub(super) fn take_column(slots: usize) -> (&'static Block, (u32, u32)) {
        let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        let home = match table.free.pop() {
            Some(home) => home,
            None => {
                if table.next == COLUMNS {
                    let block: &'static Block = Box::leak(Box::new(Block {
                        rows: (0..=slots)
                            .map(|_| Row(core::array::from_fn(|_| AtomicUsize::new(0))))
                            .collect(),
                    }));
                    table.blocks.push(block);
                    table.next = 0;
                }
                let column = table.next;
                table.next += 1;
                let block = table.blocks.len() - 1;
                (
                    u32::try_from(block).expect("fewer than 2^32 blocks"),
                    u32::try_from(column).expect("COLUMNS fits in u32"),
                )
            }
        };
        let (block, column) = (table.blocks[home.0 as usize], home.1 as usize);
        // A reused column holds its last owner's counts (a hit count; reader counts end at 0).
        // The table's mutex orders these stores before the new owner's first use.
        for row in block.rows.iter() {
            row.0[column].store(0, Ordering::Relaxed);
        }
        (block, home)
    }

    /// Row 0's cell of `column`, as a pointer into the slice of all rows.
    pub(super) fn first_cell(
        block: &'static Block,
        column: u32,
    ) -> core::ptr::NonNull<AtomicUsize> {
        let column = column as usize;
        assert!(column < COLUMNS);
        let rows: &'static [Row] = &block.rows;
        let first = core::ptr::NonNull::from(rows).cast::<AtomicUsize>();
        // SAFETY: `column < COLUMNS`, within row 0.
        unsafe { first.add(column) }
    }

    pub(super) fn give_back(home: (u32, u32)) {
        let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        table.free.push(home);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::Ordering;

    #[test]
    fn columns_are_neighbours_start_at_zero_and_are_reused() {
        let first = SlotColumn::new();
        first.stripe().cell().fetch_add(5, Ordering::Relaxed);
        assert_eq!(first.cells().count(), first.slots() + 1);
        let total = |column: &SlotColumn| {
            column
                .cells()
                .map(|cell| cell.load(Ordering::Relaxed))
                .sum::<usize>()
        };
        assert_eq!(total(&first), 5);
        drop(first);
        let again = SlotColumn::new();
        assert_eq!(total(&again), 0, "a reused column starts at zero");
    }
}
