//! x86-64 AVX-512F micro-kernels: 8×32 tiles (16 accumulators, two B vectors, one broadcast),
//! fp16 rounding with AVX-512F's own conversions. Built only by compilers that have these
//! intrinsics (Rust ≥ 1.89, the `ncs_avx512` cfg set by build.rs), hence the lint allowance.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use super::job::{Clamp, TileJob};

/// Tile rows.
const MR: usize = 8;

/// Adds the partial sum, applies the epilogue and stores half `h` of tile row `r` (a macro:
/// it must be inlined into the `target_feature` function).
macro_rules! finish_one {
    ($job:expr, $acc:expr, $r:expr, $h:expr, $zero:expr) => {{
        let job: &TileJob = $job;
        let zero: __m512 = $zero;
        let mut v: __m512 = $acc;
        // SAFETY: c[r] has 32 writable (and, when accumulating, readable) values; the bias,
        // when not null, has 32 readable values (TileJob contract).
        unsafe {
            let dst = job.c[$r].add(16 * $h);
            if job.accumulate {
                v = _mm512_add_ps(v, _mm512_loadu_ps(dst));
            }
            if let Some(finish) = job.finish {
                if !finish.bias.is_null() {
                    v = _mm512_add_ps(v, _mm512_loadu_ps(finish.bias.add(16 * $h)));
                }
                v = match finish.clamp {
                    Clamp::None => v,
                    Clamp::Relu => _mm512_max_ps(v, zero),
                    Clamp::ReluX(cap) => _mm512_min_ps(_mm512_max_ps(v, zero), _mm512_set1_ps(cap)),
                    Clamp::Leaky(slope) => {
                        let negative = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(v, zero);
                        _mm512_mask_mul_ps(v, negative, v, _mm512_set1_ps(slope))
                    }
                };
                if finish.round {
                    let halves = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
                    v = _mm512_cvtph_ps(halves);
                }
            }
            _mm512_storeu_ps(dst, v);
        }
    }};
}

/// Computes one full 8×32 tile (see [`TileJob`] for the pointer contract).
///
/// # Safety
/// The CPU has AVX-512F, and `job` satisfies the [`TileJob`] contract with mr = 8, nr = 32.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn tile(job: &TileJob) {
    let mut acc = [_mm512_setzero_ps(); 2 * MR];
    let mut b = job.b;
    for seg in job.segments {
        let rows = seg.rows;
        for k in 0..seg.len {
            // SAFETY: k < seg.len and every row pointer has seg.len readable values; b has 32
            // per reduction step for Σ len steps (TileJob contract).
            unsafe {
                let b0 = _mm512_loadu_ps(b);
                let b1 = _mm512_loadu_ps(b.add(16));
                b = b.add(32);
                for r in 0..MR {
                    let a = _mm512_set1_ps(*rows[r].add(k));
                    acc[2 * r] = _mm512_fmadd_ps(a, b0, acc[2 * r]);
                    acc[2 * r + 1] = _mm512_fmadd_ps(a, b1, acc[2 * r + 1]);
                }
            }
        }
    }
    // Every accumulator by constant index, so they stay in registers through the loop above
    // (a loop here would make the compiler keep them in memory, stored on every step).
    let zero = _mm512_setzero_ps();
    finish_one!(job, acc[0], 0, 0, zero);
    finish_one!(job, acc[1], 0, 1, zero);
    finish_one!(job, acc[2], 1, 0, zero);
    finish_one!(job, acc[3], 1, 1, zero);
    finish_one!(job, acc[4], 2, 0, zero);
    finish_one!(job, acc[5], 2, 1, zero);
    finish_one!(job, acc[6], 3, 0, zero);
    finish_one!(job, acc[7], 3, 1, zero);
    finish_one!(job, acc[8], 4, 0, zero);
    finish_one!(job, acc[9], 4, 1, zero);
    finish_one!(job, acc[10], 5, 0, zero);
    finish_one!(job, acc[11], 5, 1, zero);
    finish_one!(job, acc[12], 6, 0, zero);
    finish_one!(job, acc[13], 6, 1, zero);
    finish_one!(job, acc[14], 7, 0, zero);
    finish_one!(job, acc[15], 7, 1, zero);
}
