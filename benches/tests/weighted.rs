//! The weighted workload measures what it claims: a body's heap is what `Body::heap_bytes`
//! says, every weight-bounded contender reports misses and hits truthfully, and a short replay
//! produces sane figures.

use std::sync::Arc;

use futures_lite::future::block_on;
use readthrough_benches::body::{Body, body_sizes};
use readthrough_benches::counting_alloc::{AllocationWindow, CountingAllocator};
use readthrough_benches::peers::weighted::{
    MokaWeighted, QuickCacheWeighted, ReadthroughWeighted, WeightedContender,
};
use readthrough_benches::workloads::weighted::WeightedReplay;
use readthrough_benches::zipf::Zipf;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

// One test: the allocation counts are process-wide, so nothing else may run beside it.
#[test]
fn bodies_and_weighted_contenders() {
    let window = AllocationWindow::open();
    let body = Body::new(1000);
    let (allocations, bytes) = window.read();
    assert_eq!(
        (allocations, bytes),
        (2, Body::heap_bytes(1000) as i64),
        "a body is an Arc allocation and its bytes"
    );
    let clone = body.clone();
    assert_eq!(window.read().0, 2, "a clone allocates nothing");
    drop((body, clone));
    assert_eq!(window.close(), (2, 0));

    miss_then_hit::<ReadthroughWeighted>();
    miss_then_hit::<MokaWeighted>();
    miss_then_hit::<QuickCacheWeighted>();

    let replay = WeightedReplay {
        requests: Arc::new(Zipf::new(2_000, 0.99).unwrap().keys(20_000, 3)),
        sizes: body_sizes(2_000, 4).into(),
        capacity: 4 << 20,
        warmup: 2_000,
        count_allocations: true,
    };
    let runs = replay.interleaved(1);
    assert!(runs[1].is_empty(), "pingora has no weigher");
    for (index, runs) in runs.iter().enumerate().filter(|(index, _)| *index != 1) {
        let run = runs[0];
        assert!(
            run.hit_ratio > 0.3 && run.hit_ratio < 1.0,
            "{index}: {run:?}"
        );
        assert!(run.byte_hit_ratio > 0.0, "{index}: {run:?}");
        assert!(run.entries > 0, "{index}: {run:?}");
        assert!(run.allocations_per_miss.unwrap() >= 2.0, "{index}: {run:?}");
        assert!(run.overhead_per_entry.unwrap() > 0.0, "{index}: {run:?}");
    }
    // readthrough's bound is exact at every observable moment.
    assert!(
        runs[0][0].max_live_body_bytes <= 4 << 20,
        "{:?}",
        runs[0][0]
    );
    assert_eq!(runs[0][0].oversized, Some(0));
}

fn miss_then_hit<C: WeightedContender>() {
    let sizes: Arc<[u32]> = vec![100, 200, 300].into();
    let cache = C::with_weight_capacity(1 << 20, 16, sizes);
    block_on(async {
        let (body, loaded) = cache.get_or_load(1).await;
        assert_eq!(
            (body.len(), loaded),
            (200, true),
            "{}: first lookup",
            C::NAME
        );
        let (body, loaded) = cache.get_or_load(1).await;
        assert_eq!((body.len(), loaded), (200, false), "{}: second", C::NAME);
        cache.settle().await;
    });
    assert_eq!(cache.entry_count(), 1, "{}", C::NAME);
    assert_eq!(cache.weight(), 200, "{}", C::NAME);
}
