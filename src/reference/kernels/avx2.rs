//! x86-64 AVX2 + FMA micro-kernels: 6×16 tiles (12 accumulators, two B vectors and one
//! broadcast: 15 of the 16 ymm registers), F16C for the fp16 rounding of stored values.

use std::arch::x86_64::*;

use super::job::{by_shape, finish_rows, Clamp, TileJob};

/// Tile rows.
const MR: usize = 6;

/// Adds the partial sum, applies the epilogue and stores half `h` of tile row `r` (a macro:
/// it must be inlined into the `target_feature` function).
macro_rules! finish_one {
    ($job:expr, $acc:expr, $r:expr, $h:expr, $zero:expr) => {{
        let job: &TileJob = $job;
        let zero: __m256 = $zero;
        let mut v: __m256 = $acc;
        // SAFETY: c[r] has 8·(h + 1) writable (and, when accumulating, readable) values; the
        // bias, when not null, has 16 readable values (TileJob contract).
        unsafe {
            let dst = job.c[$r].add(8 * $h);
            if job.accumulate {
                v = _mm256_add_ps(v, _mm256_loadu_ps(dst));
            }
            if let Some(finish) = job.finish {
                if !finish.bias.is_null() {
                    v = _mm256_add_ps(v, _mm256_loadu_ps(finish.bias.add(8 * $h)));
                }
                v = match finish.clamp {
                    Clamp::None => v,
                    // max_ps returns its second operand for NaN, as f32::max(NaN, 0) gives 0.
                    Clamp::Relu => _mm256_max_ps(v, zero),
                    Clamp::ReluX(cap) => _mm256_min_ps(_mm256_max_ps(v, zero), _mm256_set1_ps(cap)),
                    Clamp::Leaky(slope) => {
                        let negative = _mm256_cmp_ps::<_CMP_LT_OQ>(v, zero);
                        _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(slope)), negative)
                    }
                };
                if finish.round {
                    v = _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v));
                }
            }
            _mm256_storeu_ps(dst, v);
        }
    }};
}

/// Computes the first `rows` rows (1..=6) of a 6×16 tile, or of its left 8 columns when
/// `cols` ≤ 8 (see [`TileJob`] for the pointer contract): an edge tile (289 = 48·6 + 1) then
/// costs what it computes, not a full tile.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C, `job` satisfies the [`TileJob`] contract with mr = 6,
/// nr = 16 for its first `rows` rows, and `rows` is in 1..=6.
pub(crate) unsafe fn tile(job: &TileJob, rows: usize, cols: usize) {
    // SAFETY: forwarded; each arm computes `rows` rows and `cols` ≤ 8 only reads and writes
    // the first 8 columns.
    unsafe { by_shape!(kernel(job), rows, cols > 8, [6, 5, 4, 3, 2, 1]) }
}

/// `R` rows × `H` 8-column halves of a tile.
///
/// # Safety
/// As [`tile`], with `R` ≤ 6 rows and `H` ≤ 2 halves written.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn kernel<const R: usize, const H: usize>(job: &TileJob) {
    let mut acc = [_mm256_setzero_ps(); 2 * MR];
    let mut b = job.b;
    let (mut ahead, end) = (job.prefetch.as_ptr(), job.prefetch.as_ptr_range().end);
    for seg in job.segments {
        let rows = seg.rows;
        for k in 0..seg.len {
            // SAFETY: k < seg.len and every row pointer has seg.len readable values; b has 16
            // per reduction step for Σ len steps (TileJob contract). A prefetch reads nothing
            // (it is a hint, and `ahead` stays inside job.prefetch).
            unsafe {
                let b0 = _mm256_loadu_ps(b);
                let b1 = if H > 1 { _mm256_loadu_ps(b.add(8)) } else { b0 };
                b = b.add(16);
                if ahead < end {
                    _mm_prefetch::<_MM_HINT_T1>(ahead.cast());
                    ahead = ahead.wrapping_add(16);
                }
                for r in 0..R {
                    let a = _mm256_broadcast_ss(&*rows[r].add(k));
                    acc[2 * r] = _mm256_fmadd_ps(a, b0, acc[2 * r]);
                    if H > 1 {
                        acc[2 * r + 1] = _mm256_fmadd_ps(a, b1, acc[2 * r + 1]);
                    }
                }
            }
        }
    }
    let zero = _mm256_setzero_ps();
    finish_rows!(finish_one(job, acc, zero), R, H, [0, 1, 2, 3, 4, 5]);
}
