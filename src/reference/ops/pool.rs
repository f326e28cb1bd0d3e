//! Max and average pooling (ops 1, 2).

use super::rows::{for_rows, Finish};
use super::Shape;
use crate::window::Window;

/// What an average divides by when the window overlaps padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvgDivisor {
    /// TensorFlow: only the cells inside the input count (tfsame, tfvalid).
    ValidCells,
    /// Caffe: the window clipped to the padded input [−pad, len + pad) counts, padding included.
    PaddedWindow,
}

/// The pooling function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum over the cells inside the input (padding never wins).
    Max,
    /// Mean with the given divisor convention.
    Average(AvgDivisor),
}

/// Pools each channel independently, runs of output rows in parallel, each run finished
/// (activation, fp16 rounding) as it is done. Each value is accumulated in the same order as
/// the definition's loop — taps row by row, from 0 (average) or −∞ (max) — so the result does
/// not depend on the split.
pub fn pool2d(
    input: &[f32],
    in_shape: Shape,
    window: &Window,
    kind: PoolKind,
    out_shape: Shape,
    out: &mut [f32],
    finish: &Finish,
) {
    let c = in_shape.channels;
    let row_len = out_shape.cols * c;
    let work = row_len * window.kernel[0] * window.kernel[1];
    for_rows(out, row_len, work, c, finish, |rows, values| {
        for (oy, row) in rows.zip(values.chunks_exact_mut(row_len)) {
            match kind {
                PoolKind::Max => max_row(input, in_shape, window, oy, row),
                PoolKind::Average(divisor) => average_row(input, in_shape, window, divisor, oy, row),
            }
        }
    });
}

/// Channels pooled together with the partial results in registers (a whole number of vectors
/// on every target; the remainder takes a loop over slices).
const BLOCK: usize = 32;

/// Folds the values of channels `[first, first + acc.len())` of every input cell output pixel
/// `(oy, ox)`'s window covers into `acc` with `f`, cells row by row, padding skipped: the tap
/// ranges come from [`Window::taps_inside`], so no tap is tested against the border. Inlined
/// into each caller so that, with `acc` a fixed-size block, the sums stay in registers.
#[inline(always)]
fn fold_cells(
    input: &[f32],
    s: Shape,
    window: &Window,
    (oy, ox): (usize, usize),
    first: usize,
    acc: &mut [f32],
    f: impl Fn(&mut f32, f32),
) {
    let (c, d, width) = (s.channels, window.dilation, acc.len());
    let line_len = s.cols * c;
    for i in window.taps_inside(0, oy, s.rows) {
        // Inside taps read at position·stride + tap·dilation ≥ pad, so the subtractions hold.
        let line = &input[(oy * window.stride[0] + i * d - window.pad[0]) * line_len..][..line_len];
        for j in window.taps_inside(1, ox, s.cols) {
            let x = &line[(ox * window.stride[1] + j * d - window.pad[1]) * c + first..][..width];
            acc.iter_mut().zip(x).for_each(|(a, &v)| f(a, v));
        }
    }
}

/// One output row of max pooling: the maximum over the cells inside the input (padding never
/// wins), starting from −∞; a window wholly in padding gives 0.
fn max_row(input: &[f32], s: Shape, window: &Window, oy: usize, row: &mut [f32]) {
    let c = s.channels;
    let whole = c - c % BLOCK;
    let empty = window.taps_inside(0, oy, s.rows).is_empty();
    let max = |a: &mut f32, v: f32| *a = a.max(v);
    for (ox, dst) in row.chunks_exact_mut(c).enumerate() {
        if empty || window.taps_inside(1, ox, s.cols).is_empty() {
            dst.fill(0.0);
            continue;
        }
        for (b, dst) in dst[..whole].chunks_exact_mut(BLOCK).enumerate() {
            let mut acc = [f32::NEG_INFINITY; BLOCK];
            fold_cells(input, s, window, (oy, ox), b * BLOCK, &mut acc, max);
            dst.copy_from_slice(&acc);
        }
        let rest = &mut dst[whole..];
        rest.fill(f32::NEG_INFINITY);
        fold_cells(input, s, window, (oy, ox), whole, rest, max);
    }
}

/// One output row of average pooling: the sum over the cells inside the input, from 0, times
/// 1/n with n by the divisor convention (0 when n is 0).
fn average_row(input: &[f32], s: Shape, window: &Window, divisor: AvgDivisor, oy: usize, row: &mut [f32]) {
    let c = s.channels;
    let whole = c - c % BLOCK;
    let rows_inside = window.taps_inside(0, oy, s.rows).len();
    let add = |a: &mut f32, v: f32| *a += v;
    for (ox, dst) in row.chunks_exact_mut(c).enumerate() {
        let n = match divisor {
            AvgDivisor::ValidCells => rows_inside * window.taps_inside(1, ox, s.cols).len(),
            AvgDivisor::PaddedWindow => window.padded_extent(0, oy, s.rows) * window.padded_extent(1, ox, s.cols),
        };
        let scale = if n == 0 { 0.0 } else { 1.0 / n as f32 };
        for (b, dst) in dst[..whole].chunks_exact_mut(BLOCK).enumerate() {
            let mut acc = [0.0f32; BLOCK];
            fold_cells(input, s, window, (oy, ox), b * BLOCK, &mut acc, add);
            dst.iter_mut().zip(&acc).for_each(|(d, &a)| *d = a * scale);
        }
        let rest = &mut dst[whole..];
        rest.fill(0.0);
        fold_cells(input, s, window, (oy, ox), whole, rest, add);
        rest.iter_mut().for_each(|a| *a *= scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    fn naive(x: &[f32], s: Shape, win: &Window, kind: PoolKind, o: Shape) -> Vec<f32> {
        let mut out = vec![0.0; o.len()];
        for oy in 0..o.rows {
            for ox in 0..o.cols {
                for ch in 0..s.channels {
                    let (mut best, mut sum, mut n) = (f32::NEG_INFINITY, 0.0, 0);
                    let y0 = (oy * win.stride[0]) as isize - win.pad[0] as isize;
                    let x0 = (ox * win.stride[1]) as isize - win.pad[1] as isize;
                    for iy in y0..y0 + win.kernel[0] as isize {
                        for ix in x0..x0 + win.kernel[1] as isize {
                            if iy >= 0 && ix >= 0 && (iy as usize) < s.rows && (ix as usize) < s.cols {
                                let v = x[(iy as usize * s.cols + ix as usize) * s.channels + ch];
                                best = best.max(v);
                                sum += v;
                                n += 1;
                            }
                        }
                    }
                    let caffe = {
                        let ye = (y0 + win.kernel[0] as isize).min((s.rows + win.pad[0]) as isize);
                        let xe = (x0 + win.kernel[1] as isize).min((s.cols + win.pad[1]) as isize);
                        ((ye - y0) * (xe - x0)) as f32
                    };
                    out[(oy * o.cols + ox) * s.channels + ch] = match kind {
                        PoolKind::Max => best,
                        PoolKind::Average(AvgDivisor::ValidCells) => sum / n as f32,
                        PoolKind::Average(AvgDivisor::PaddedWindow) => sum / caffe,
                    };
                }
            }
        }
        out
    }

    #[test]
    fn matches_naive_for_every_kind_and_padding() {
        let s = Shape::new(7, 8, 3);
        let x = random(s.len(), 9);
        let kinds =
            [PoolKind::Max, PoolKind::Average(AvgDivisor::ValidCells), PoolKind::Average(AvgDivisor::PaddedWindow)];
        for kind in kinds {
            for (kernel, stride, pad) in [(3, 1, 1), (2, 2, 0), (3, 2, 1), (3, 3, 0)] {
                let win = Window { kernel: [kernel, kernel], stride: [stride, stride], pad: [pad, pad], dilation: 1 };
                let o = Shape::new(
                    (7 + 2 * pad - kernel).div_ceil(stride) + 1,
                    (8 + 2 * pad - kernel).div_ceil(stride) + 1,
                    3,
                );
                let o = Shape::new(o.rows.min((7 + pad).div_ceil(stride)), o.cols.min((8 + pad).div_ceil(stride)), 3);
                let mut out = vec![0.0; o.len()];
                pool2d(&x, s, &win, kind, o, &mut out, &Finish::NONE);
                assert_close(&out, &naive(&x, s, &win, kind, o), 1e-6, &format!("{kind:?} k{kernel} s{stride} p{pad}"));
            }
        }
    }

    #[test]
    fn tf_and_caffe_averages_differ_at_the_border() {
        // 2x2 input of ones, 3x3 window, pad 1, stride 1: the corner window has 4 valid cells.
        let s = Shape::new(2, 2, 1);
        let win = Window { kernel: [3, 3], stride: [1, 1], pad: [1, 1], dilation: 1 };
        let mut tf = vec![0.0; 4];
        let mut caffe = vec![0.0; 4];
        pool2d(&[1.0; 4], s, &win, PoolKind::Average(AvgDivisor::ValidCells), s, &mut tf, &Finish::NONE);
        pool2d(&[1.0; 4], s, &win, PoolKind::Average(AvgDivisor::PaddedWindow), s, &mut caffe, &Finish::NONE);
        assert_eq!(tf, vec![1.0; 4]);
        assert_eq!(caffe, vec![4.0 / 9.0; 4]);
    }
}
