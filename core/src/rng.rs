//! A small deterministic random number generator for backoff jitter.
//!
//! The core never draws its own entropy: the driver seeds it (from
//! `crypto.getRandomValues` in the browser, a fixed seed in tests), which
//! keeps every test run reproducible.

/// SplitMix64: tiny, fast, and good enough to spread reconnects.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniformly distributed number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // 53 random bits make every representable value in [0, 1) reachable
        // at the same spacing.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
