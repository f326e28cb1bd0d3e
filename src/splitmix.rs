//! SplitMix64, the crate's one seeded random generator (Steele, Lea & Flood, "Fast splittable
//! pseudorandom number generators", 2014; constants as in Vigna's reference `splitmix64.c`).
//!
//! Two streams are built on it: [`Weights`](crate::graph::samples::Weights), the test data of
//! every generated network, test and benchmark, and the training-scheme augmentation
//! [`Rng`](crate::preprocess::rng::Rng). Committed files (sample graphs, TensorFlow fixtures
//! made by `tests/data/gen_tf_reference.py`) depend on these exact bits: the TensorFlow scripts
//! reimplement it in Python, so any change here must change them too.

/// The generator state; each draw advances it by the golden-ratio increment and mixes it.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator whose first draw mixes `state + 0x9E3779B97F4A7C15`.
    pub const fn new(state: u64) -> Self {
        SplitMix64(state)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 24 bits of a draw over 2²⁴, exact in f32.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_stream() {
        // The published first outputs for seed 1234567 (Rosetta Code, "Pseudo-random numbers/Splitmix64").
        let mut g = SplitMix64::new(1234567);
        assert_eq!(g.next_u64(), 6457827717110365317);
        assert_eq!(g.next_u64(), 3203168211198807973);
        assert_eq!(g.next_u64(), 9817491932198370423);
    }
}
