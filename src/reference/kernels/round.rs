//! fp16 rounding of stored values with the CPU's vector conversions (F16C, AVX-512F): the fast
//! path of [`crate::fp16::round`], which every stage's fp16 storage goes through. `half`'s
//! slice conversion makes one out-of-line call per eight values behind a feature check; this
//! converts 8 or 16 values per instruction pair, in place. Both round to nearest even in
//! hardware (F16C), so the values are the same.
#![allow(clippy::incompatible_msrv)]

use super::Isa;

/// Rounds the longest prefix of `values` that fills whole vectors of the CPU's best family to
/// fp16 and back, and returns the rest (all of `values` where no vector conversion exists) for
/// the caller to round another way.
pub fn round_fp16_prefix(values: &mut [f32]) -> &mut [f32] {
    round_prefix_with(Isa::best(), values)
}

/// [`round_fp16_prefix`] with `isa`'s conversions (tests compare the families).
pub(crate) fn round_prefix_with(isa: Isa, values: &mut [f32]) -> &mut [f32] {
    assert!(isa.is_supported(), "round_fp16: this CPU cannot run {isa} code");
    match isa {
        #[cfg(all(target_arch = "x86_64", ncs_avx512))]
        Isa::Avx512 => {
            let whole = values.len() - values.len() % 16;
            let (done, rest) = values.split_at_mut(whole);
            // SAFETY: `Isa::is_supported` found AVX-512F on this CPU (asserted above).
            unsafe { round_avx512(done) };
            rest
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            let whole = values.len() - values.len() % 8;
            let (done, rest) = values.split_at_mut(whole);
            // SAFETY: `Isa::is_supported` found AVX2, FMA and F16C on this CPU (asserted above).
            unsafe { round_f16c(done) };
            rest
        }
        _ => values,
    }
}

/// Rounds `values` (a multiple of 16 long) through AVX-512F's conversions.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(all(target_arch = "x86_64", ncs_avx512))]
#[target_feature(enable = "avx512f")]
unsafe fn round_avx512(values: &mut [f32]) {
    use std::arch::x86_64::*;
    for chunk in values.chunks_exact_mut(16) {
        // SAFETY: the chunk holds 16 readable and writable values.
        unsafe {
            let v = _mm512_loadu_ps(chunk.as_ptr());
            let halves = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
            _mm512_storeu_ps(chunk.as_mut_ptr(), _mm512_cvtph_ps(halves));
        }
    }
}

/// Rounds `values` (a multiple of 8 long) through F16C's conversions.
///
/// # Safety
/// The CPU has AVX2 and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,f16c")]
unsafe fn round_f16c(values: &mut [f32]) {
    use std::arch::x86_64::*;
    for chunk in values.chunks_exact_mut(8) {
        // SAFETY: the chunk holds 8 readable and writable values.
        unsafe {
            let v = _mm256_loadu_ps(chunk.as_ptr());
            let halves = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm256_storeu_ps(chunk.as_mut_ptr(), _mm256_cvtph_ps(halves));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values where rounding is delicate: ties, the subnormal range, overflow to infinity,
    /// signed zeros, infinities, NaN; then a sweep of bit patterns over the whole f32 range.
    fn awkward_values() -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.0 + 2f32.powi(-11),       // halfway between two halves: ties to even (down)
            1.0 + 3.0 * 2f32.powi(-11), // halfway: ties to even (up)
            65504.0,
            65519.99,
            65520.0, // rounds to infinity
            -65520.0,
            2f32.powi(-24), // smallest subnormal half
            2f32.powi(-25), // halfway to zero: ties to even (zero)
            1.5 * 2f32.powi(-25),
            2f32.powi(-14) * 0.75,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        // Every 65 537th bit pattern: all exponents, many mantissas, both signs.
        v.extend((0..=u32::MAX / 65_537).map(|i| f32::from_bits(i.wrapping_mul(65_537))));
        v
    }

    #[test]
    fn every_family_rounds_as_the_scalar_codec() {
        let values = awkward_values();
        let want: Vec<f32> = values.iter().map(|&v| crate::fp16::round_one(v)).collect();
        for isa in Isa::available() {
            // Odd lengths leave a tail the caller rounds; it must come back untouched.
            for len in [values.len(), values.len() - 5, 7] {
                let mut got = values[..len].to_vec();
                let rest = round_prefix_with(isa, &mut got).len();
                let vector_width = if isa.rounds_in_kernel() { 16 } else { len + 1 };
                assert!(rest < vector_width, "{isa}: {rest} values left for the caller");
                for (i, (g, w)) in got[..len - rest].iter().zip(&want).enumerate() {
                    let same = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan());
                    assert!(same, "{isa}: value {i} ({:e}) rounded to {g:e}, the codec gives {w:e}", values[i]);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got[len - rest..]), bits(&values[len - rest..len]), "{isa}: the tail was changed");
            }
        }
    }
}
