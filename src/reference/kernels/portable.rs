//! Plain-Rust micro-kernels for CPUs without one of our SIMD families: 4×8 tiles over fixed-size
//! arrays, which compilers vectorise with whatever the target has. Rounding to fp16 is left to
//! the driver.

use super::job::{Clamp, TileJob};

/// Tile rows.
const MR: usize = 4;
/// Tile columns.
const NR: usize = 8;

/// `a·b + c`: one fused instruction where the target has FMA (always on aarch64), else a
/// multiply and an add — `f32::mul_add` without hardware FMA is a slow library call.
#[inline(always)]
fn madd(a: f32, b: f32, c: f32) -> f32 {
    if cfg!(target_feature = "fma") || cfg!(target_arch = "aarch64") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Computes the first `rows` rows (1..=4) of a 4×8 tile (see [`TileJob`] for the pointer
/// contract; the column step is the whole tile, 8).
///
/// # Safety
/// `job` satisfies the [`TileJob`] contract with mr = 4, nr = 8 for its first `rows` rows.
pub(crate) unsafe fn tile(job: &TileJob, rows: usize) {
    let rows = rows.min(MR);
    let mut acc = [[0.0f32; NR]; MR];
    let mut b = job.b;
    for seg in job.segments {
        for k in 0..seg.len {
            // SAFETY: k < seg.len and every row pointer has seg.len readable values; b has 8
            // per reduction step (TileJob contract).
            let bk: [f32; NR] = unsafe { *(b as *const [f32; NR]) };
            b = b.wrapping_add(NR);
            for (row, &start) in acc.iter_mut().zip(&seg.rows[..rows]) {
                // SAFETY: as above.
                let a = unsafe { *start.add(k) };
                row.iter_mut().zip(&bk).for_each(|(c, &b)| *c = madd(a, b, *c));
            }
        }
    }
    for (r, row) in acc.iter_mut().enumerate().take(rows) {
        // SAFETY: c[r] has 8 writable (and, when accumulating, readable) values, rows disjoint;
        // the bias, when not null, has 8 readable values (TileJob contract).
        let dst = unsafe { &mut *(job.c[r] as *mut [f32; NR]) };
        if job.accumulate {
            row.iter_mut().zip(dst.iter()).for_each(|(v, d)| *v += d);
        }
        if let Some(finish) = job.finish {
            debug_assert!(!finish.round, "portable kernels leave fp16 rounding to the driver (Isa::rounds_in_kernel)");
            if !finish.bias.is_null() {
                // SAFETY: as above.
                let bias = unsafe { &*(finish.bias as *const [f32; NR]) };
                row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
            }
            row.iter_mut().for_each(|v| *v = finish.clamp.apply(*v));
        }
        *dst = *row;
    }
}

impl Clamp {
    /// The activation on one value, as the vector kernels compute it.
    pub(crate) fn apply(self, v: f32) -> f32 {
        match self {
            Clamp::None => v,
            Clamp::Relu => v.max(0.0),
            Clamp::ReluX(cap) => v.max(0.0).min(cap),
            Clamp::Leaky(slope) if v < 0.0 => v * slope,
            Clamp::Leaky(_) => v,
        }
    }
}
