//! Belady's optimal hit ratio: the reference no online policy can beat.

use std::collections::{BinaryHeap, HashMap};

/// The hit ratio of Belady's MIN policy on `requests` with room for `capacity` keys, counting
/// requests after the first `warmup`. On a miss with a full cache, the key needed furthest
/// ahead leaves: a cached one, or the requested one (which is then not stored).
///
/// ```
/// use readthrough_benches::belady::belady_hit_ratio;
/// // With room for 2: a b c a b -> keeps a and b when c comes (c is never asked again).
/// let ratio = belady_hit_ratio(&[1, 2, 3, 1, 2], 2, 0);
/// assert_eq!(ratio, 2.0 / 5.0);
/// ```
pub fn belady_hit_ratio(requests: &[u64], capacity: usize, warmup: usize) -> f64 {
    let mut next_use = vec![usize::MAX; requests.len()];
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (index, &key) in requests.iter().enumerate().rev() {
        if let Some(next) = seen.insert(key, index) {
            next_use[index] = next;
        }
    }
    drop(seen);
    // Each cached key's next use; the heap holds (next use, key) with stale rows skipped.
    let mut cached: HashMap<u64, usize> = HashMap::with_capacity(capacity * 2);
    let mut furthest: BinaryHeap<(usize, u64)> = BinaryHeap::new();
    let mut hits = 0u64;
    for (index, &key) in requests.iter().enumerate() {
        let next = next_use[index];
        if cached.contains_key(&key) {
            hits += u64::from(index >= warmup);
        } else if cached.len() >= capacity {
            while let Some(&(when, victim)) = furthest.peek() {
                if cached.get(&victim) == Some(&when) {
                    break;
                }
                furthest.pop();
            }
            match furthest.peek() {
                Some(&(when, victim)) if when > next => {
                    furthest.pop();
                    cached.remove(&victim);
                }
                _ => continue,
            }
        }
        cached.insert(key, next);
        furthest.push((next, key));
    }
    hits as f64 / (requests.len().saturating_sub(warmup)).max(1) as f64
}
