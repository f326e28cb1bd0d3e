//! The matrix-vector product of a fully-connected layer, `out = x · W` with W (k × n) read
//! row-major where it lies: every weight is used once per inference, so packing would buy
//! nothing and cost a second copy of the layer (padded to the tile width: 32× for one output).
//! Safe code compiled once per instruction set (`target_feature` wrappers of one body), so the
//! compiler vectorises it with that set's widest vectors and fused multiply-adds.

use rayon::prelude::*;

use super::Isa;

/// Output columns one pass keeps in registers (four AVX-512 vectors, eight AVX2 ones).
const COLUMNS: usize = 64;
/// Rows summed into a fresh partial before it is added to the column totals: shorter f32
/// sums, so the error grows with √(k/ROWS) blocks rather than over all of k.
const ROWS: usize = 128;
/// Below this many multiply-adds the product runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 16;

/// `out[j] = Σ_i x[i] · w[i·n + j]` for the `out.len()` ≤ COLUMNS columns from `first`.
#[inline(always)]
fn columns(x: &[f32], w: &[f32], n: usize, first: usize, out: &mut [f32], fused: bool) {
    let width = out.len();
    out.fill(0.0);
    for block in x.chunks(ROWS).enumerate() {
        let (b, xs) = block;
        let mut acc = [0.0f32; COLUMNS];
        for (i, &a) in xs.iter().enumerate() {
            let row = &w[(b * ROWS + i) * n + first..][..width];
            for (c, &v) in acc.iter_mut().zip(row) {
                *c = if fused { a.mul_add(v, *c) } else { a * v + *c };
            }
        }
        out.iter_mut().zip(&acc).for_each(|(o, a)| *o += a);
    }
}

/// [`columns`] with AVX-512F vectors.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(all(target_arch = "x86_64", ncs_avx512))]
#[target_feature(enable = "avx512f,fma")]
unsafe fn columns_avx512(x: &[f32], w: &[f32], n: usize, first: usize, out: &mut [f32]) {
    columns(x, w, n, first, out, true);
}

/// [`columns`] with AVX2 vectors and FMA.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn columns_avx2(x: &[f32], w: &[f32], n: usize, first: usize, out: &mut [f32]) {
    columns(x, w, n, first, out, true);
}

/// [`columns`] for `isa`.
fn columns_for(isa: Isa, x: &[f32], w: &[f32], n: usize, first: usize, out: &mut [f32]) {
    match isa {
        // SAFETY: `gemv` only passes a family `Isa::is_supported` found on this CPU.
        #[cfg(all(target_arch = "x86_64", ncs_avx512))]
        Isa::Avx512 => unsafe { columns_avx512(x, w, n, first, out) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { columns_avx2(x, w, n, first, out) },
        // aarch64 always has FMA; elsewhere `mul_add` without it is a slow library call.
        _ => columns(x, w, n, first, out, cfg!(any(target_arch = "aarch64", target_feature = "fma"))),
    }
}

/// `out = x · w` for a row-major k × n `w` (k = `x.len()`, n = `out.len()`), with `isa`'s
/// vectors, over both cores when it is large enough.
///
/// # Panics
/// If `w` holds fewer than k·n values or `isa` is not supported here (planner bugs).
pub fn gemv(isa: Isa, x: &[f32], w: &[f32], out: &mut [f32]) {
    let (k, n) = (x.len(), out.len());
    assert!(isa.is_supported(), "gemv: this CPU cannot run {isa} kernels");
    assert!(w.len() >= k * n, "gemv: {} weights for a {k}×{n} matrix", w.len());
    let run = |(chunk, dst): (usize, &mut [f32])| columns_for(isa, x, w, n, chunk * COLUMNS, dst);
    if k * n < PARALLEL_MACS {
        out.chunks_mut(COLUMNS).enumerate().for_each(run);
    } else {
        out.par_chunks_mut(COLUMNS).enumerate().for_each(run);
    }
}
