//! Max and average pooling (ops 1, 2).

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

/// Pools each channel independently.
pub fn pool2d(input: &[f32], in_shape: Shape, window: &Window, kind: PoolKind, out_shape: Shape, out: &mut [f32]) {
    let c = in_shape.channels;
    let [kh, kw] = window.kernel;
    let mut acc = vec![0.0f32; c];
    for oy in 0..out_shape.rows {
        for ox in 0..out_shape.cols {
            acc.fill(if kind == PoolKind::Max { f32::NEG_INFINITY } else { 0.0 });
            let mut cells = 0usize;
            for i in 0..kh {
                let Some(iy) = window.source(0, oy, i, in_shape.rows) else { continue };
                for j in 0..kw {
                    let Some(ix) = window.source(1, ox, j, in_shape.cols) else { continue };
                    cells += 1;
                    let x = &input[(iy * in_shape.cols + ix) * c..][..c];
                    match kind {
                        PoolKind::Max => acc.iter_mut().zip(x).for_each(|(a, &v)| *a = a.max(v)),
                        PoolKind::Average(_) => acc.iter_mut().zip(x).for_each(|(a, &v)| *a += v),
                    }
                }
            }
            let dst = &mut out[(oy * out_shape.cols + ox) * c..][..c];
            match kind {
                // A window entirely in padding has no input cell; emit 0 rather than −∞.
                PoolKind::Max if cells == 0 => dst.fill(0.0),
                PoolKind::Max => dst.copy_from_slice(&acc),
                PoolKind::Average(divisor) => {
                    let n = match divisor {
                        AvgDivisor::ValidCells => cells,
                        AvgDivisor::PaddedWindow => {
                            window.padded_extent(0, oy, in_shape.rows) * window.padded_extent(1, ox, in_shape.cols)
                        }
                    };
                    let scale = if n == 0 { 0.0 } else { 1.0 / n as f32 };
                    dst.iter_mut().zip(&acc).for_each(|(d, &a)| *d = a * scale);
                }
            }
        }
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
                pool2d(&x, s, &win, kind, o, &mut out);
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
        pool2d(&[1.0; 4], s, &win, PoolKind::Average(AvgDivisor::ValidCells), s, &mut tf);
        pool2d(&[1.0; 4], s, &win, PoolKind::Average(AvgDivisor::PaddedWindow), s, &mut caffe);
        assert_eq!(tf, vec![1.0; 4]);
        assert_eq!(caffe, vec![4.0 / 9.0; 4]);
    }
}
