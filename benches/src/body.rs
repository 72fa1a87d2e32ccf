//! The values of the weighted workload: byte bodies of varying size whose clone is one atomic
//! increment, and which count themselves, so that a run can tell how many value bytes are alive
//! (held by the cache, since the workload drops every answer) at any moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::rng::SplitMix64;

static LIVE_BODIES: AtomicI64 = AtomicI64::new(0);
static LIVE_BODY_BYTES: AtomicI64 = AtomicI64::new(0);

/// Smallest body of the weighted workload.
pub const MIN_BODY: usize = 16;
/// Largest body of the weighted workload (64 KiB).
pub const MAX_BODY: usize = 64 << 10;

struct Payload {
    bytes: Box<[u8]>,
}

impl Drop for Payload {
    fn drop(&mut self) {
        LIVE_BODIES.fetch_sub(1, Ordering::Relaxed);
        LIVE_BODY_BYTES.fetch_sub(self.bytes.len() as i64, Ordering::Relaxed);
    }
}

/// A shared, immutable byte body (`Arc` of a boxed slice).
#[derive(Clone)]
pub struct Body(Arc<Payload>);

impl Body {
    /// A zeroed body of `len` bytes.
    ///
    /// ```
    /// use readthrough_benches::body::Body;
    /// let body = Body::new(100);
    /// assert_eq!(body.len(), 100);
    /// assert_eq!(body.clone().len(), 100);
    /// ```
    pub fn new(len: usize) -> Self {
        LIVE_BODIES.fetch_add(1, Ordering::Relaxed);
        LIVE_BODY_BYTES.fetch_add(len as i64, Ordering::Relaxed);
        Self(Arc::new(Payload {
            bytes: vec![0; len].into_boxed_slice(),
        }))
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.bytes.len()
    }

    /// True for a body of 0 bytes.
    pub fn is_empty(&self) -> bool {
        self.0.bytes.is_empty()
    }

    /// Heap bytes one body of `len > 0` bytes takes: the `Arc` allocation (two counts and the
    /// slice pointer) plus the bytes.
    ///
    /// ```
    /// use readthrough_benches::body::Body;
    /// assert_eq!(Body::heap_bytes(100), 132);
    /// ```
    pub fn heap_bytes(len: usize) -> usize {
        2 * size_of::<usize>() + size_of::<Payload>() + len
    }
}

impl core::fmt::Debug for Body {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Body({} bytes)", self.len())
    }
}

/// Bodies alive now in this process, and the sum of their lengths.
///
/// ```
/// use readthrough_benches::body::{live_bodies, Body};
/// let body = Body::new(10);
/// let (count, bytes) = live_bodies();
/// assert!(count >= 1 && bytes >= 10);
/// ```
pub fn live_bodies() -> (u64, u64) {
    (
        LIVE_BODIES.load(Ordering::Relaxed).max(0) as u64,
        LIVE_BODY_BYTES.load(Ordering::Relaxed).max(0) as u64,
    )
}

/// The body size of each key `0..keys`: log-uniform between [`MIN_BODY`] and [`MAX_BODY`],
/// fixed per key, drawn from `seed`.
///
/// ```
/// use readthrough_benches::body::{body_sizes, MAX_BODY, MIN_BODY};
/// let sizes = body_sizes(10_000, 4);
/// assert_eq!(sizes, body_sizes(10_000, 4));
/// assert!(sizes.iter().all(|&s| (MIN_BODY..=MAX_BODY).contains(&(s as usize))));
/// // Log-uniform: as many bodies under 1 KiB (16..1024, 6 of 12 doublings) as above.
/// let small = sizes.iter().filter(|&&s| s < 1024).count();
/// assert!((4_500..5_500).contains(&small));
/// ```
pub fn body_sizes(keys: usize, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix64::new(seed);
    let span = (MAX_BODY as f64 / MIN_BODY as f64).ln();
    (0..keys)
        .map(|_| {
            let size = MIN_BODY as f64 * (rng.next_f64() * span).exp();
            (size as usize).clamp(MIN_BODY, MAX_BODY) as u32
        })
        .collect()
}
