//! Depthwise convolution (op 8): each input channel c feeds outputs c·M … c·M+M−1 through its
//! own kernel; weights are `[kh][kw][C·M]`.

use super::rows::{for_rows, Finish};
use super::Shape;
use crate::window::Window;

/// Channels summed together with the partial sums in registers (a whole number of vectors on
/// every target).
const BLOCK: usize = 32;

/// `out[.., c·M + m] = Σ_{i,j} x[.., c] · W[i][j][c·M + m]`, with M = K / C: runs of output
/// rows in parallel, each finished (bias, activation, fp16 rounding) as it is done. Each output
/// pixel accumulates its taps in the definition's order (row by row, from 0), channels in the
/// innermost loop, so the sums are those of the plain loop and the loop vectorises.
pub fn depthwise_conv2d(
    input: &[f32],
    in_shape: Shape,
    weights: &[f32],
    window: &Window,
    out_shape: Shape,
    out: &mut [f32],
    finish: &Finish,
) {
    let (c, k) = (in_shape.channels, out_shape.channels);
    // The planner refuses K not a multiple of C; at least 1 keeps the chunking defined.
    let multiplier = (k / c.max(1)).max(1);
    let [kh, kw] = window.kernel;
    let row_len = out_shape.cols * k;
    for_rows(out, row_len, row_len * kh * kw, k, finish, |rows, values| {
        for (oy, row) in rows.zip(values.chunks_exact_mut(row_len)) {
            for (ox, acc) in row.chunks_exact_mut(k).enumerate() {
                let at = (oy, ox);
                if multiplier == 1 {
                    // Blocks of channels with their sums in registers, then the remainder.
                    let whole = k - k % BLOCK;
                    for (b, acc) in acc[..whole].chunks_exact_mut(BLOCK).enumerate() {
                        let mut sums = [0.0f32; BLOCK];
                        for_taps(input, in_shape, window, at, k, |x, w| {
                            let (x, w) = (&x[b * BLOCK..][..BLOCK], &weights[w + b * BLOCK..][..BLOCK]);
                            sums.iter_mut().zip(x).zip(w).for_each(|((a, &xv), &wv)| *a += xv * wv);
                        });
                        acc.copy_from_slice(&sums);
                    }
                    let rest = &mut acc[whole..];
                    rest.fill(0.0);
                    for_taps(input, in_shape, window, at, k, |x, w| {
                        let (x, w) = (&x[whole..], &weights[w + whole..w + k]);
                        rest.iter_mut().zip(x).zip(w).for_each(|((a, &xv), &wv)| *a += xv * wv);
                    });
                } else {
                    acc.fill(0.0);
                    for_taps(input, in_shape, window, at, k, |x, w| {
                        let groups = acc.chunks_exact_mut(multiplier).zip(weights[w..w + k].chunks_exact(multiplier));
                        for ((a, w), &xv) in groups.zip(x) {
                            a.iter_mut().zip(w).for_each(|(a, &wv)| *a += xv * wv);
                        }
                    });
                }
            }
        }
    });
}

/// Calls `f(x, w)` for every tap of output pixel `(oy, ox)`'s window inside the input, row by
/// row: `x` the input pixel it reads, `w` the offset of its `k` weights. Inlined into each
/// caller so that a caller's block of sums stays in registers.
#[inline(always)]
fn for_taps(
    input: &[f32],
    s: Shape,
    window: &Window,
    (oy, ox): (usize, usize),
    k: usize,
    mut f: impl FnMut(&[f32], usize),
) {
    let (c, d, kw) = (s.channels, window.dilation, window.kernel[1]);
    let line_len = s.cols * c;
    let taps_x = window.taps_inside(1, ox, s.cols);
    for i in window.taps_inside(0, oy, s.rows) {
        // Inside taps read at position·stride + tap·dilation ≥ pad, so the subtractions hold.
        let line = &input[(oy * window.stride[0] + i * d - window.pad[0]) * line_len..][..line_len];
        for j in taps_x.clone() {
            f(&line[(ox * window.stride[1] + j * d - window.pad[1]) * c..][..c], (i * kw + j) * k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    #[test]
    fn matches_naive_with_multipliers() {
        for (seed, (multiplier, stride, pad)) in [(1, 1, 1), (2, 2, 0), (3, 1, 2)].into_iter().enumerate() {
            let s = Shape::new(7, 6, 3);
            let k = 3 * multiplier;
            let win = Window { kernel: [3, 3], stride: [stride, stride], pad: [pad, pad], dilation: 1 };
            let o = Shape::new((7 + 2 * pad - 3) / stride + 1, (6 + 2 * pad - 3) / stride + 1, k);
            let x = random(s.len(), seed as u64);
            let w = random(9 * k, 50 + seed as u64);
            let mut out = vec![0.0; o.len()];
            depthwise_conv2d(&x, s, &w, &win, o, &mut out, &Finish::NONE);
            let mut naive = vec![0.0; o.len()];
            for oy in 0..o.rows {
                for ox in 0..o.cols {
                    for c in 0..3 {
                        for m in 0..multiplier {
                            let mut acc = 0.0;
                            for i in 0..3 {
                                for j in 0..3 {
                                    let iy = (oy * stride + i) as isize - pad as isize;
                                    let ix = (ox * stride + j) as isize - pad as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < 7 && (ix as usize) < 6 {
                                        acc += x[(iy as usize * 6 + ix as usize) * 3 + c]
                                            * w[(i * 3 + j) * k + c * multiplier + m];
                                    }
                                }
                            }
                            naive[(oy * o.cols + ox) * k + c * multiplier + m] = acc;
                        }
                    }
                }
            }
            assert_close(&out, &naive, 1e-5, "depthwise");
        }
    }
}
