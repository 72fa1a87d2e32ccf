//! Zipf-distributed keys: rank `r` (1-based) is drawn with probability proportional to `1 / r^s`.

use crate::rng::SplitMix64;

/// Why a Zipf distribution could not be built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZipfError {
    /// The key universe was empty.
    EmptyUniverse,
    /// The exponent was negative or not a finite number.
    BadExponent(f64),
}

impl core::fmt::Display for ZipfError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::EmptyUniverse => f.write_str("a Zipf distribution needs at least one key"),
            Self::BadExponent(s) => write!(f, "Zipf exponent {s} is not a finite number >= 0"),
        }
    }
}

impl std::error::Error for ZipfError {}

/// A Zipf(s) distribution over the keys `0..universe` (key 0 is the most popular), sampled by
/// inverting its cumulative distribution with a binary search.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// The distribution over `universe` keys with exponent `exponent`.
    ///
    /// ```
    /// use readthrough_benches::zipf::Zipf;
    /// assert!(Zipf::new(1000, 0.99).is_ok());
    /// assert!(Zipf::new(0, 0.99).is_err());
    /// assert!(Zipf::new(10, f64::NAN).is_err());
    /// ```
    pub fn new(universe: usize, exponent: f64) -> Result<Self, ZipfError> {
        if universe == 0 {
            return Err(ZipfError::EmptyUniverse);
        }
        if !exponent.is_finite() || exponent < 0.0 {
            return Err(ZipfError::BadExponent(exponent));
        }
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = (1..=universe)
            .map(|rank| {
                total += (rank as f64).powf(-exponent);
                total
            })
            .collect();
        for weight in &mut cumulative {
            *weight /= total;
        }
        Ok(Self { cumulative })
    }

    /// One key drawn from the distribution.
    ///
    /// ```
    /// use readthrough_benches::{rng::SplitMix64, zipf::Zipf};
    /// let zipf = Zipf::new(100, 0.99).unwrap();
    /// let mut rng = SplitMix64::new(1);
    /// assert!(zipf.sample(&mut rng) < 100);
    /// ```
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        let u = rng.next_f64();
        let index = self.cumulative.partition_point(|&c| c <= u);
        index.min(self.cumulative.len() - 1) as u64
    }

    /// `count` keys drawn from the distribution with a generator seeded by `seed`.
    ///
    /// ```
    /// use readthrough_benches::zipf::Zipf;
    /// let keys = Zipf::new(1000, 0.99).unwrap().keys(10_000, 42);
    /// assert_eq!(keys.len(), 10_000);
    /// let hottest = keys.iter().filter(|&&k| k == 0).count();
    /// let coldest = keys.iter().filter(|&&k| k == 999).count();
    /// assert!(hottest > 50 * coldest.max(1));
    /// ```
    pub fn keys(&self, count: usize, seed: u64) -> Vec<u64> {
        let mut rng = SplitMix64::new(seed);
        (0..count).map(|_| self.sample(&mut rng)).collect()
    }
}
