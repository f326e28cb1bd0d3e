//! The matrix-vector product of a fully-connected layer, `out = x · W` with W (k × n) read
//! row-major where it lies: every weight is used once per inference, so packing would buy
//! nothing and cost a second copy of the layer, and the product runs at the speed memory
//! delivers the weights (Inception V3's logits: 8 MB, evicted from the caches by the rest of
//! the network).
//!
//! So the weights are read as they lie, row after row: fixed blocks of [`ROWS`] whole rows,
//! each a contiguous stream the hardware prefetchers run ahead of, spread over the cores. Each
//! block sums its rows into its own partial vector (in row order, from 0), and the partials
//! are added in block order: the result does not depend on the number of threads. Safe code
//! compiled for the CPU's vectors and fused multiply-adds ([`vectorised`]).

use std::cell::RefCell;

use rayon::prelude::*;

use super::{vectorised, Isa};

/// Rows summed into a fresh partial before it is added to the totals: shorter f32 sums, so the
/// error grows with √(k/ROWS) blocks rather than over all of k; and the unit of work a core
/// takes (128 rows of Inception's 1001 outputs: 0.5 MB of weights).
const ROWS: usize = 128;
/// Below this many multiply-adds the product runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 16;

thread_local! {
    /// Each calling thread's block partials, kept between calls (no allocation per inference
    /// once grown).
    static PARTIALS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `partial[j] = Σ_i x[i] · w[i·n + j]` over the block's rows in order, from 0 (n =
/// `partial.len()`). Four rows per pass over the partial: one load and store of each partial
/// value per four multiply-adds, which stay in row order.
#[inline(always)]
fn block(x: &[f32], w: &[f32], partial: &mut [f32], fused: bool) {
    let n = partial.len();
    let madd = |a: f32, v: f32, p: f32| if fused { a.mul_add(v, p) } else { a * v + p };
    partial.fill(0.0);
    let mut rows = w.chunks_exact(n);
    let mut xs = x.chunks_exact(4);
    for a in &mut xs {
        let (r0, r1, r2, r3) = (rows.next(), rows.next(), rows.next(), rows.next());
        let (Some(r0), Some(r1), Some(r2), Some(r3)) = (r0, r1, r2, r3) else { unreachable!("4 rows per 4 inputs") };
        for ((((p, &v0), &v1), &v2), &v3) in partial.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *p = madd(a[3], v3, madd(a[2], v2, madd(a[1], v1, madd(a[0], v0, *p))));
        }
    }
    for (&a, row) in xs.remainder().iter().zip(rows) {
        partial.iter_mut().zip(row).for_each(|(p, &v)| *p = madd(a, v, *p));
    }
}

/// [`block`] compiled for `isa`, with fused multiply-adds where it has them (every vector
/// family; the portable build only when compiled for FMA, since `mul_add` without it is a
/// slow library call).
fn block_for(isa: Isa, x: &[f32], w: &[f32], partial: &mut [f32]) {
    let fused = isa != Isa::Portable || cfg!(any(target_arch = "aarch64", target_feature = "fma"));
    vectorised(
        isa,
        #[inline(always)]
        || block(x, w, partial, fused),
    );
}

/// Heap bytes the partial sums of a k × n product keep between calls (on the calling thread).
pub fn gemv_scratch_bytes(k: usize, n: usize) -> usize {
    k.div_ceil(ROWS) * n * std::mem::size_of::<f32>()
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
    out.fill(0.0);
    if n == 0 {
        return;
    }
    let mut run = |partials: &mut [f32]| {
        let compute = |(b, partial): (usize, &mut [f32])| {
            let rows = b * ROWS..((b + 1) * ROWS).min(k);
            block_for(isa, &x[rows.clone()], &w[rows.start * n..rows.end * n], partial);
        };
        if k * n < PARALLEL_MACS {
            partials.chunks_mut(n).enumerate().for_each(compute);
        } else {
            partials.par_chunks_mut(n).enumerate().for_each(compute);
        }
        for partial in partials.chunks_exact(n) {
            out.iter_mut().zip(partial).for_each(|(o, &p)| *o += p);
        }
    };
    let len = k.div_ceil(ROWS) * n;
    PARTIALS.with(|kept| match kept.try_borrow_mut() {
        Ok(mut partials) => {
            let kept_len = partials.len();
            partials.resize(len.max(kept_len), 0.0);
            run(&mut partials[..len]);
        }
        // This thread is already inside a product (it took another inference's task while
        // waiting for its own): a buffer of its own for this one.
        Err(_) => run(&mut vec![0.0; len]),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The products as the previous kernel computed them: for each column, blocks of ROWS
    /// rows summed from 0 in row order with fused multiply-adds, the blocks' sums added in
    /// order. The split over cores must give these exact values.
    fn blocked(x: &[f32], w: &[f32], n: usize, fused: bool) -> Vec<f32> {
        (0..n)
            .map(|j| {
                x.chunks(ROWS).enumerate().fold(0.0f32, |total, (b, xs)| {
                    let partial = xs.iter().enumerate().fold(0.0f32, |p, (i, &a)| {
                        let v = w[(b * ROWS + i) * n + j];
                        if fused {
                            a.mul_add(v, p)
                        } else {
                            a * v + p
                        }
                    });
                    total + partial
                })
            })
            .collect()
    }

    #[test]
    fn every_family_sums_in_the_blocked_row_order_whatever_the_split() {
        let mut rng = crate::splitmix::SplitMix64::new(4);
        let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
        // Inception's logits, then shapes around the block size, the four-row step and the
        // parallel threshold.
        let mut shapes = vec![(2048, 1001), (0, 5), (1, 1), (3, 70), (127, 9), (129, 513), (600, 200)];
        shapes.extend((0..20).map(|_| (pick(700), 1 + pick(300))));
        for (case, (k, n)) in shapes.into_iter().enumerate() {
            let x = crate::reference::ops::testing::random(k, 2 * case as u64);
            let w = crate::reference::ops::testing::random(k * n, 2 * case as u64 + 1);
            for isa in Isa::available() {
                let fused = isa != Isa::Portable || cfg!(any(target_arch = "aarch64", target_feature = "fma"));
                let want: Vec<u32> = blocked(&x, &w, n, fused).iter().map(|v| v.to_bits()).collect();
                for threads in [1, 2, 3] {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool");
                    let mut out = vec![f32::NAN; n];
                    pool.install(|| gemv(isa, &x, &w, &mut out));
                    let got: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
                    assert_eq!(got, want, "{isa}, {k}×{n}, {threads} threads");
                }
            }
        }
    }
}
