//! aarch64 Advanced SIMD micro-kernels (Raspberry Pi 3/4/5 and other 64-bit ARM boards): 8×8
//! tiles (16 accumulators, two B vectors, one broadcast of 32 registers). Rounding to fp16 is
//! left to the driver (Rust's fp16 vector types are not stable).

use std::arch::aarch64::*;

use super::job::{Clamp, TileJob};

/// Tile rows.
const MR: usize = 8;

/// Computes one full 8×8 tile (see [`TileJob`] for the pointer contract).
///
/// # Safety
/// `job` satisfies the [`TileJob`] contract with mr = 8, nr = 8 (NEON is always present on
/// aarch64).
#[target_feature(enable = "neon")]
pub(crate) unsafe fn tile(job: &TileJob) {
    let mut acc = [vdupq_n_f32(0.0); 2 * MR];
    let mut b = job.b;
    for seg in job.segments {
        let rows = seg.rows;
        for k in 0..seg.len {
            // SAFETY: k < seg.len and every row pointer has seg.len readable values; b has 8
            // per reduction step (TileJob contract).
            unsafe {
                let b0 = vld1q_f32(b);
                let b1 = vld1q_f32(b.add(4));
                b = b.add(8);
                for r in 0..MR {
                    let a = vld1q_dup_f32(rows[r].add(k));
                    acc[2 * r] = vfmaq_f32(acc[2 * r], a, b0);
                    acc[2 * r + 1] = vfmaq_f32(acc[2 * r + 1], a, b1);
                }
            }
        }
    }
    let zero = vdupq_n_f32(0.0);
    for r in 0..MR {
        for h in 0..2 {
            // SAFETY: c[r] has 8 writable (and, when accumulating, readable) values; the bias,
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
