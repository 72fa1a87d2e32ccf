//! Heap use: allocations per hit and per miss, and heap bytes per entry of a full cache.

use std::hint::black_box;

use futures_lite::future::block_on;

use crate::contender::Contender;
use crate::counting_alloc::AllocationWindow;
use crate::workloads::Workload;

/// Counts allocations over `operations` hits and `operations` misses on a full cache of
/// `capacity` entries. Needs [`crate::counting_alloc::CountingAllocator`] as the global allocator.
#[derive(Debug, Clone, Copy)]
pub struct AllocationsPerLookup {
    /// Entries loaded first; the hits read these, the misses ask for new keys and evict.
    pub capacity: u64,
    /// Hits counted, and misses counted.
    pub operations: u64,
}

/// One run of [`AllocationsPerLookup`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocationCounts {
    /// Allocations per hit.
    pub per_hit: f64,
    /// Allocations per miss.
    pub per_miss: f64,
}

impl Workload for AllocationsPerLookup {
    type Output = AllocationCounts;

    fn run<C: Contender>(&self) -> AllocationCounts {
        // Preloaded keys stay well under capacity so that the counted hits are all hits.
        let cache = C::with_capacity(self.capacity as usize);
        let resident = self.capacity / 2;
        block_on(async {
            for key in 0..resident {
                cache.get_or_load(key).await;
            }
            for key in 0..resident {
                cache.get_or_load(key).await;
            }
            cache.settle().await;

            let window = AllocationWindow::open();
            for index in 0..self.operations {
                black_box(cache.get_or_load(index % resident).await);
            }
            let (hit_allocations, _) = window.close();

            // Fill to capacity so that the counted misses evict.
            for key in resident..self.capacity {
                cache.get_or_load(key).await;
            }
            cache.settle().await;
            let window = AllocationWindow::open();
            for key in self.capacity..self.capacity + self.operations {
                black_box(cache.get_or_load(key).await);
            }
            let (miss_allocations, _) = window.close();

            AllocationCounts {
                per_hit: hit_allocations as f64 / self.operations as f64,
                per_miss: miss_allocations as f64 / self.operations as f64,
            }
        })
    }
}

/// Live heap bytes of a cache of `entries` capacity after loading `keys` distinct keys, per
/// unit of capacity: with `keys == entries` a full cache that never evicted, with more keys one
/// that has been evicting (its eviction state, such as a frequency sketch, included).
#[derive(Debug, Clone, Copy)]
pub struct BytesPerEntry {
    /// Capacity.
    pub entries: u64,
    /// Distinct keys loaded, in order.
    pub keys: u64,
}

/// One run of [`BytesPerEntry`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeapFootprint {
    /// Live heap bytes (after − before) divided by the number of keys loaded.
    pub bytes_per_entry: f64,
    /// How many entries the cache says it holds, where it can tell.
    pub resident: Option<usize>,
}

impl Workload for BytesPerEntry {
    type Output = HeapFootprint;

    fn run<C: Contender>(&self) -> HeapFootprint {
        let window = AllocationWindow::open();
        let cache = C::with_capacity(self.entries as usize);
        block_on(async {
            for key in 0..self.keys {
                cache.get_or_load(key).await;
            }
            cache.settle().await;
        });
        let (_, live_bytes) = window.close();
        let resident = cache.entry_count();
        drop(cache);
        HeapFootprint {
            bytes_per_entry: live_bytes as f64 / self.entries as f64,
            resident,
        }
    }
}
