//! aarch64 Advanced SIMD micro-kernels (Raspberry Pi 3/4/5 and other 64-bit ARM boards): 8×8
//! tiles (16 accumulators, two B vectors, one broadcast of 32 registers). Rounding to fp16 is
//! left to the driver (Rust's fp16 vector types are not stable).

use std::arch::aarch64::*;

use super::job::{by_shape, Clamp, TileJob};

/// Tile rows.
const MR: usize = 8;

/// Computes the first `rows` rows (1..=8) of an 8×8 tile, or of its left 4 columns when
/// `cols` ≤ 4 (see [`TileJob`] for the pointer contract): an edge tile costs what it computes.
///
/// # Safety
/// `job` satisfies the [`TileJob`] contract with mr = 8, nr = 8 for its first `rows` rows, and
/// `rows` is in 1..=8 (NEON is always present on aarch64).
pub(crate) unsafe fn tile(job: &TileJob, rows: usize, cols: usize) {
    // SAFETY: forwarded; each arm computes `rows` rows and `cols` ≤ 4 only reads and writes
    // the first 4 columns.
    unsafe { by_shape!(kernel(job), rows, cols > 4, [8, 7, 6, 5, 4, 3, 2, 1]) }
}

/// `R` rows × `H` 4-column halves of a tile.
///
/// # Safety
/// As [`tile`], with `R` ≤ 8 rows and `H` ≤ 2 halves written.
#[target_feature(enable = "neon")]
unsafe fn kernel<const R: usize, const H: usize>(job: &TileJob) {
    let mut acc = [vdupq_n_f32(0.0); 2 * MR];
    let mut b = job.b;
    for seg in job.segments {
        let rows = seg.rows;
        for k in 0..seg.len {
            // SAFETY: k < seg.len and every row pointer has seg.len readable values; b has 8
            // per reduction step (TileJob contract).
            unsafe {
                let b0 = vld1q_f32(b);
                let b1 = if H > 1 { vld1q_f32(b.add(4)) } else { b0 };
                b = b.add(8);
                for r in 0..R {
                    let a = vld1q_dup_f32(rows[r].add(k));
                    acc[2 * r] = vfmaq_f32(acc[2 * r], a, b0);
                    if H > 1 {
                        acc[2 * r + 1] = vfmaq_f32(acc[2 * r + 1], a, b1);
                    }
                }
            }
        }
    }
    let zero = vdupq_n_f32(0.0);
    for r in 0..R {
        for h in 0..H {
            // SAFETY: c[r] has 4·H writable (and, when accumulating, readable) values; the bias,
            // when not null, has 8 readable values (TileJob contract).
            unsafe {
                let dst = job.c[r].add(4 * h);
                let mut v = acc[2 * r + h];
                if job.accumulate {
                    v = vaddq_f32(v, vld1q_f32(dst));
                }
                if let Some(finish) = job.finish {
                    if !finish.bias.is_null() {
                        v = vaddq_f32(v, vld1q_f32(finish.bias.add(4 * h)));
                    }
                    v = match finish.clamp {
                        Clamp::None => v,
                        // FMAXNM: the number when one operand is NaN, as f32::max.
                        Clamp::Relu => vmaxnmq_f32(v, zero),
                        Clamp::ReluX(cap) => vminnmq_f32(vmaxnmq_f32(v, zero), vdupq_n_f32(cap)),
                        Clamp::Leaky(slope) => {
                            let negative = vcltq_f32(v, zero);
                            vbslq_f32(negative, vmulq_f32(v, vdupq_n_f32(slope)), v)
                        }
                    };
                }
                vst1q_f32(dst, v);
            }
        }
    }
}
