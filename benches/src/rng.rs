//! A small deterministic pseudo-random generator, so every run draws the same keys.

/// SplitMix64 (Steele, Lea and Flood): fast, 64-bit state, good enough to drive key sampling.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that starts from `seed`.
    ///
    /// ```
    /// use readthrough_benches::rng::SplitMix64;
    /// let mut a = SplitMix64::new(7);
    /// let mut b = SplitMix64::new(7);
    /// assert_eq!(a.next_u64(), b.next_u64());
    /// ```
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// use readthrough_benches::rng::SplitMix64;
    /// let mut rng = SplitMix64::new(1);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    ///
    /// ```
    /// use readthrough_benches::rng::SplitMix64;
    /// let mut rng = SplitMix64::new(3);
    /// let x = rng.next_f64();
    /// assert!((0.0..1.0).contains(&x));
    /// ```
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits fill the mantissa exactly.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}
