//! The seeded random stream of the training scheme. It cannot equal TensorFlow's Philox stream;
//! what matters is that every draw follows TensorFlow's rules (uniform ranges, choices).

use crate::splitmix::SplitMix64;

/// [`SplitMix64`] started at `seed ^ 0x5851F42D4C957F2D` (the stream the preprocessing tests
/// were written against), mapped to the draws augmentation needs.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A stream from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed ^ 0x5851_F42D_4C95_7F2D))
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        self.0.unit()
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in [0, n) (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            // Lemire's multiply-shift: unbiased enough for image augmentation.
            ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }
}
