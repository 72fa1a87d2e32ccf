//! Workload sizes: the full comparison, or a quick one (`BENCH_QUICK=1`) that ends in seconds.

/// Every size the comparison uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Sizes {
    /// Rounds of the timed hit and miss workloads (medians are over these).
    pub rounds: usize,
    /// Keys preloaded for the hit path.
    pub hit_keys: u64,
    /// Zipf(0.99) lookups each thread makes per hit-path run.
    pub hit_lookups: usize,
    /// Cache capacity of the miss path.
    pub miss_capacity: u64,
    /// Distinct absent keys asked for per miss-path run.
    pub miss_lookups: u64,
    /// Tasks per storm.
    pub storm_tasks: usize,
    /// Storms per contender and loader outcome.
    pub storm_rounds: usize,
    /// Lookups counted for allocations per hit and per miss.
    pub allocation_lookups: u64,
    /// Entries of the heap-footprint cache.
    pub footprint_entries: u64,
    /// Key universe of the Zipf hit-ratio runs.
    pub zipf_universe: usize,
    /// Requests per Zipf hit-ratio run, warm-up included.
    pub zipf_requests: usize,
    /// Leading requests of a Zipf hit-ratio run that are not counted.
    pub zipf_warmup: usize,
    /// Block requests read from the trace.
    pub trace_limit: usize,
    /// Cache capacities for the one trace `READTHROUGH_TRACE` names.
    pub trace_capacities: Vec<usize>,
    /// How many of each known trace's capacities are replayed (the smallest first).
    pub trace_sizes: usize,
    /// Keys of the weighted workload (each with a body of 16 B to 64 KiB).
    pub weighted_keys: usize,
    /// Zipf(0.99) requests per weighted run, warm-up included.
    pub weighted_requests: usize,
    /// Leading requests of a weighted run that are not counted.
    pub weighted_warmup: usize,
    /// Capacity of the weighted caches in body bytes.
    pub weighted_capacity: usize,
    /// Timed rounds of the weighted workload (one more runs with allocation counting).
    pub weighted_rounds: usize,
}

impl Sizes {
    /// The sizes of the published table.
    ///
    /// ```
    /// use readthrough_benches::sizes::Sizes;
    /// assert_eq!(Sizes::full().miss_capacity, 100_000);
    /// ```
    pub fn full() -> Self {
        Self {
            rounds: 7,
            hit_keys: 100_000,
            hit_lookups: 2_000_000,
            miss_capacity: 100_000,
            miss_lookups: 1_000_000,
            storm_tasks: 1000,
            storm_rounds: 3,
            allocation_lookups: 200_000,
            footprint_entries: 1_000_000,
            zipf_universe: 1_000_000,
            zipf_requests: 5_000_000,
            zipf_warmup: 1_000_000,
            trace_limit: usize::MAX,
            trace_capacities: vec![8_192, 32_768, 131_072],
            trace_sizes: usize::MAX,
            weighted_keys: 100_000,
            weighted_requests: 1_000_000,
            weighted_warmup: 200_000,
            weighted_capacity: 64 << 20,
            weighted_rounds: 3,
        }
    }

    /// Tiny sizes for checking that everything runs.
    ///
    /// ```
    /// use readthrough_benches::sizes::Sizes;
    /// assert!(Sizes::quick().hit_lookups < Sizes::full().hit_lookups);
    /// ```
    pub fn quick() -> Self {
        Self {
            rounds: 3,
            hit_keys: 10_000,
            hit_lookups: 100_000,
            miss_capacity: 10_000,
            miss_lookups: 50_000,
            storm_tasks: 50,
            storm_rounds: 1,
            allocation_lookups: 10_000,
            footprint_entries: 50_000,
            zipf_universe: 50_000,
            zipf_requests: 200_000,
            zipf_warmup: 50_000,
            trace_limit: 300_000,
            trace_capacities: vec![1_024, 8_192],
            trace_sizes: 2,
            weighted_keys: 10_000,
            weighted_requests: 50_000,
            weighted_warmup: 10_000,
            weighted_capacity: 8 << 20,
            weighted_rounds: 1,
        }
    }

    /// [`quick`](Self::quick) when the environment variable `BENCH_QUICK` is `1`, else
    /// [`full`](Self::full).
    ///
    /// ```
    /// use readthrough_benches::sizes::Sizes;
    /// let sizes = Sizes::from_env();
    /// assert!(sizes == Sizes::full() || sizes == Sizes::quick());
    /// ```
    pub fn from_env() -> Self {
        match std::env::var("BENCH_QUICK") {
            Ok(value) if value == "1" => Self::quick(),
            _ => Self::full(),
        }
    }
}
