//! x86-64 AVX-512F micro-kernels: 8×32 tiles (16 accumulators, two B vectors, one broadcast),
//! fp16 rounding with AVX-512F's own conversions. Built only by compilers that have these
//! intrinsics (Rust ≥ 1.89, the `ncs_avx512` cfg set by build.rs), hence the lint allowance.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use super::job::{by_shape, finish_rows, Clamp, TileJob};

/// Tile rows.
const MR: usize = 8;

/// Adds the partial sum, applies the epilogue and stores half `h` of tile row `r` (a macro:
/// it must be inlined into the `target_feature` function).
macro_rules! finish_one {
    ($job:expr, $acc:expr, $r:expr, $h:expr, $zero:expr) => {{
        let job: &TileJob = $job;
        let zero: __m512 = $zero;
        let mut v: __m512 = $acc;
        // SAFETY: c[r] has 16·(h + 1) writable (and, when accumulating, readable) values; the
        // bias, when not null, has 32 readable values (TileJob contract).
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

/// Computes the first `rows` rows (1..=8) of an 8×32 tile, or of its left 16 columns when
/// `cols` ≤ 16 (see [`TileJob`] for the pointer contract): an edge tile (Inception's odd
/// squares leave one row over, 289 = 36·8 + 1) then costs what it computes, not a full tile.
///
/// # Safety
/// The CPU has AVX-512F, `job` satisfies the [`TileJob`] contract with mr = 8, nr = 32 for its
/// first `rows` rows, and `rows` is in 1..=8.
pub(crate) unsafe fn tile(job: &TileJob, rows: usize, cols: usize) {
    // SAFETY: forwarded; each arm computes `rows` rows and `cols` ≤ 16 only reads and
    // writes the first 16 columns.
    unsafe { by_shape!(kernel(job), rows, cols > 16, [8, 7, 6, 5, 4, 3, 2, 1]) }
}

/// `R` rows × `H` 16-column halves of a tile.
///
/// # Safety
/// As [`tile`], with `R` ≤ 8 rows and `H` ≤ 2 halves written.
#[target_feature(enable = "avx512f")]
unsafe fn kernel<const R: usize, const H: usize>(job: &TileJob) {
    let mut acc = [_mm512_setzero_ps(); 2 * MR];
    let mut b = job.b;
    let (mut ahead, end) = (job.prefetch.as_ptr(), job.prefetch.as_ptr_range().end);
    for seg in job.segments {
        let rows = seg.rows;
        for k in 0..seg.len {
            // SAFETY: k < seg.len and every row pointer has seg.len readable values; b has 32
            // per reduction step for Σ len steps (TileJob contract). A prefetch reads nothing
            // (it is a hint, and `ahead` stays inside job.prefetch).
            unsafe {
                let b0 = _mm512_loadu_ps(b);
                let b1 = if H > 1 { _mm512_loadu_ps(b.add(16)) } else { b0 };
                b = b.add(32);
                if ahead < end {
                    _mm_prefetch::<_MM_HINT_T1>(ahead.cast());
                    ahead = ahead.wrapping_add(16);
                }
                for r in 0..R {
                    let a = _mm512_set1_ps(*rows[r].add(k));
                    acc[2 * r] = _mm512_fmadd_ps(a, b0, acc[2 * r]);
                    if H > 1 {
                        acc[2 * r + 1] = _mm512_fmadd_ps(a, b1, acc[2 * r + 1]);
                    }
                }
            }
        }
    }
    let zero = _mm512_setzero_ps();
    finish_rows!(finish_one(job, acc, zero), R, H, [0, 1, 2, 3, 4, 5, 6, 7]);
}
