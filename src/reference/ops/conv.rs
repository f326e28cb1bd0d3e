//! Convolution (op 0) as im2col + GEMM over HWC data with HWCK weights.
//!
//! Weights `[kh][kw][C][K]` are already the row-major (kh·kw·C)×K right-hand matrix, and a
//! row of im2col in (tap row, tap column, channel) order is the matching left-hand row, so the
//! product lands directly in HWC output. A 1×1, stride-1, unpadded convolution multiplies the
//! input itself, without the copy.

use super::gemm::matmul;
use super::Shape;
use crate::window::Window;

/// Largest im2col block, in f32 elements (4 MiB), unless one output pixel's taps alone are
/// more: bounds memory; blocks of ≥ ~1000 pixels keep the GEMM as fast as one big product.
const IM2COL_BLOCK: usize = 1 << 20;

/// `out = conv(input, weights)`; `out` has `out_shape`, with `out_shape.channels` = K.
pub fn conv2d(
    input: &[f32],
    in_shape: Shape,
    weights: &[f32],
    window: &Window,
    out_shape: Shape,
    out: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let k = out_shape.channels;
    let taps = window.kernel[0] * window.kernel[1] * in_shape.channels;
    if is_pointwise(in_shape, window, out_shape) {
        matmul(out_shape.pixels(), taps, k, input, weights, out);
        return;
    }
    // Blocks of whole pixels, not rows: a single output row may be wider than any sane block.
    let block = block_pixels(taps);
    for first in (0..out_shape.pixels()).step_by(block) {
        let pixels = block.min(out_shape.pixels() - first);
        scratch.clear();
        scratch.reserve_exact(pixels * taps);
        scratch.resize(pixels * taps, 0.0);
        im2col(input, in_shape, window, first, pixels, out_shape.cols, scratch);
        matmul(pixels, taps, k, scratch, weights, &mut out[first * k..(first + pixels) * k]);
    }
}

/// A 1×1, stride-1, unpadded convolution: the input itself is the left-hand matrix.
fn is_pointwise(in_shape: Shape, window: &Window, out_shape: Shape) -> bool {
    window.kernel == [1, 1]
        && window.stride == [1, 1]
        && window.pad == [0, 0]
        && (in_shape.rows, in_shape.cols) == (out_shape.rows, out_shape.cols)
}

/// Output pixels per im2col block when each has `taps` values.
fn block_pixels(taps: usize) -> usize {
    (IM2COL_BLOCK / taps.max(1)).max(1)
}

/// The most values [`conv2d`] holds in its scratch buffer for these shapes: one im2col block,
/// at most 4 MiB or one pixel's taps (none for a pointwise convolution).
pub fn scratch_len(in_shape: Shape, window: &Window, out_shape: Shape) -> usize {
    if is_pointwise(in_shape, window, out_shape) {
        return 0;
    }
    let taps = window.kernel[0] * window.kernel[1] * in_shape.channels;
    block_pixels(taps).min(out_shape.pixels()) * taps
}

/// Fills `columns` (pixels × taps, zero-initialised) for output pixels `[first, first + pixels)`
/// in row-major order over an output `cols` wide.
fn im2col(
    input: &[f32],
    in_shape: Shape,
    window: &Window,
    first: usize,
    pixels: usize,
    cols: usize,
    columns: &mut [f32],
) {
    let c = in_shape.channels;
    let [kh, kw] = window.kernel;
    let taps = kh * kw * c;
    for p in 0..pixels {
        let (oy, ox) = ((first + p) / cols, (first + p) % cols);
        let row = &mut columns[p * taps..][..taps];
        for i in 0..kh {
            let Some(iy) = window.source(0, oy, i, in_shape.rows) else { continue };
            for j in 0..kw {
                let Some(ix) = window.source(1, ox, j, in_shape.cols) else { continue };
                let src = (iy * in_shape.cols + ix) * c;
                row[(i * kw + j) * c..][..c].copy_from_slice(&input[src..src + c]);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    /// The definition, seven loops deep.
    pub fn naive_conv(input: &[f32], s: Shape, w: &[f32], win: &Window, o: Shape) -> Vec<f32> {
        let mut out = vec![0.0; o.len()];
        for oy in 0..o.rows {
            for ox in 0..o.cols {
                for k in 0..o.channels {
                    let mut acc = 0.0f64;
                    for i in 0..win.kernel[0] {
                        for j in 0..win.kernel[1] {
                            let iy = (oy * win.stride[0] + i * win.dilation) as isize - win.pad[0] as isize;
                            let ix = (ox * win.stride[1] + j * win.dilation) as isize - win.pad[1] as isize;
                            if iy < 0 || ix < 0 || iy >= s.rows as isize || ix >= s.cols as isize {
                                continue;
                            }
                            for c in 0..s.channels {
                                let x = input[(iy as usize * s.cols + ix as usize) * s.channels + c];
                                let wt = w[((i * win.kernel[1] + j) * s.channels + c) * o.channels + k];
                                acc += f64::from(x) * f64::from(wt);
                            }
                        }
                    }
                    out[(oy * o.cols + ox) * o.channels + k] = acc as f32;
                }
            }
        }
        out
    }

    #[test]
    fn matches_naive_over_strides_pads_and_dilations() {
        let cases = [
            // (in rows, cols, C), kernel, stride, pad, dilation, K
            ((7, 9, 3), [3, 3], [1, 1], [1, 1], 1, 4),
            ((8, 8, 2), [3, 3], [2, 2], [0, 0], 1, 5),
            ((9, 6, 4), [1, 7], [1, 1], [0, 3], 1, 3),
            ((6, 6, 1), [5, 5], [1, 2], [2, 2], 1, 2),
            ((10, 10, 3), [3, 3], [1, 1], [2, 2], 2, 3),
            ((5, 5, 6), [1, 1], [1, 1], [0, 0], 1, 7),
            ((5, 5, 6), [1, 1], [2, 2], [0, 0], 1, 2),
        ];
        for (seed, ((h, w, c), kernel, stride, pad, dilation, k)) in cases.into_iter().enumerate() {
            let s = Shape::new(h, w, c);
            let win = Window { kernel, stride, pad, dilation };
            let eff = |a: usize| dilation * (kernel[a] - 1) + 1;
            let o = Shape::new((h + 2 * pad[0] - eff(0)) / stride[0] + 1, (w + 2 * pad[1] - eff(1)) / stride[1] + 1, k);
            let x = random(s.len(), seed as u64);
            let wt = random(kernel[0] * kernel[1] * c * k, 100 + seed as u64);
            let mut out = vec![0.0; o.len()];
            conv2d(&x, s, &wt, &win, o, &mut out, &mut Vec::new());
            assert_close(&out, &naive_conv(&x, s, &wt, &win, o), 1e-5, &format!("case {seed}"));
        }
    }
}
