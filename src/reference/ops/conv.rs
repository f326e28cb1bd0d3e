//! Convolution (op 0) over HWC data with HWCK weights: one product on the packed-panel kernels
//! of [`crate::reference::kernels`], or Winograd ([`super::winograd`]) for 3×3, 5×5, 1×3, 3×1,
//! 1×7 and 7×1 stride-1 windows where it pays.
//!
//! Weights `[kh][kw][C][K]` are already the row-major (kh·kw·C)×K right-hand matrix, and a
//! row of im2col in (tap row, tap column, channel) order is the matching left-hand row, so the
//! product lands directly in HWC output. The im2col matrix is never built: the kernels read
//! each tap's channels from the input in place (zeros on the padding), and a 1×1, stride-1,
//! unpadded convolution multiplies the input's pixel rows directly. Bias, activation and fp16
//! rounding happen as each tile is stored.

use super::winograd::{self, WinogradWeights};
use super::Shape;
use crate::reference::kernels::{gemm, ConvGeometry, Epilogue, Isa, Lhs, Output, PackedB, WinogradAxis};
use crate::window::Window;

/// Whether Winograd beats the direct product for a layer, as measured on Inception V3's layers
/// (one layer at a time, fp16 + ReLU, AVX-512, min of 40 runs, 2026-12-01; Winograd time over
/// direct): F(4×4, 3×3) needs ≥ 256 output pixels — 73²: 0.47, 35²: 0.46–0.60, but 8²: 0.82 on
/// one thread and 1.4–1.6 on two (a 3×3 layer's transformed weights are 4× its own and 8×8
/// gives the pool 4 tiles) — and ≥ 1024 channel pairs C·K (149²×32→32: 0.77 on one thread,
/// 0.84 on two; smaller layers give the per-tile transforms more weight). One-axis forms
/// (1×3, 3×1, 1×7, 7×1; weights 2× and 9/7×) pay from 64 pixels: 8²×384→384 1×3 0.56–0.59,
/// 17²×128..192 1×7/7×1 with F(3, 7) 0.54–0.59 on one thread. F(2×2, 5×5) follows the 3×3 rule: 35²×48→64 0.62 on one
/// thread, 0.64 on two.
fn winograd_pays(axes: [&WinogradAxis; 2], in_shape: Shape, out_shape: Shape) -> bool {
    let two_axes = axes[0].m > 1 && axes[1].m > 1;
    let min_pixels = if two_axes { 256 } else { 64 };
    out_shape.pixels() >= min_pixels && in_shape.channels * out_shape.channels >= 1024
}

/// A convolution's weights (and bias), prepared once when the executor is built.
#[derive(Debug, Clone)]
pub enum ConvWeights {
    /// Packed for the direct product.
    Direct(PackedB),
    /// Transformed for Winograd.
    Winograd(WinogradWeights),
}

impl ConvWeights {
    /// Packs `[kh][kw][C][K]` weights and an optional bias of K values for the direct product.
    pub fn direct(weights: &[f32], window: &Window, channels: usize, outputs: usize, bias: Option<&[f32]>) -> Self {
        let taps = window.kernel[0] * window.kernel[1] * channels;
        ConvWeights::Direct(PackedB::new(Isa::best(), taps, outputs, weights, bias))
    }

    /// Prepares weights for the faster of the two ways for this layer: Winograd where the window
    /// has an algorithm and the layer is large enough for it to pay (unless `NCS_WINOGRAD=off`),
    /// else the direct product.
    pub fn new(weights: &[f32], window: &Window, in_shape: Shape, out_shape: Shape, bias: Option<&[f32]>) -> Self {
        let (channels, outputs) = (in_shape.channels, out_shape.channels);
        match WinogradWeights::axes_for(window) {
            Some(axes) if winograd_enabled() && winograd_pays(axes, in_shape, out_shape) => {
                ConvWeights::Winograd(WinogradWeights::new(axes, weights, channels, outputs, bias))
            }
            _ => Self::direct(weights, window, channels, outputs, bias),
        }
    }

    /// Heap bytes held (what preparing costs in memory).
    pub fn heap_bytes(&self) -> usize {
        match self {
            ConvWeights::Direct(packed) => packed.heap_bytes(),
            ConvWeights::Winograd(weights) => weights.heap_bytes(),
        }
    }

    /// Most scratch bytes a thread keeps for this layer between inferences.
    pub fn scratch_bytes(&self) -> usize {
        match self {
            ConvWeights::Direct(_) => 0,
            ConvWeights::Winograd(weights) => weights.scratch_bytes(),
        }
    }
}

/// False when `NCS_WINOGRAD` is `off`, `0` or `false` (any case): direct products only, to
/// measure one against the other.
fn winograd_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        let value = std::env::var("NCS_WINOGRAD").unwrap_or_default().to_ascii_lowercase();
        !matches!(value.as_str(), "off" | "0" | "false")
    })
}

/// `out = act(conv(input, weights) + bias)` with `epilogue`'s activation and rounding; `out` is
/// dense HWC of `out_shape`, with `out_shape.channels` = K.
pub fn conv2d(
    input: &[f32],
    in_shape: Shape,
    weights: &ConvWeights,
    window: &Window,
    out_shape: Shape,
    out: &mut [f32],
    epilogue: Epilogue,
) {
    let k = out_shape.channels;
    let target =
        Output { data: out, offset: 0, cols: out_shape.cols.max(1), pixel_stride: k, row_stride: out_shape.cols * k };
    conv2d_into(input, in_shape, weights, window, out_shape, target, epilogue);
}

/// As [`conv2d`], storing output pixel (y, x) at `target`'s position for it, with
/// `target.cols` = the output's columns: a dense buffer, or the output view of the stage in
/// its arena (a channel slice of a concatenation) directly.
pub fn conv2d_into(
    input: &[f32],
    in_shape: Shape,
    weights: &ConvWeights,
    window: &Window,
    out_shape: Shape,
    target: Output<'_>,
    epilogue: Epilogue,
) {
    let packed = match weights {
        ConvWeights::Direct(packed) => packed,
        ConvWeights::Winograd(weights) => {
            winograd::conv2d_into(input, in_shape, weights, window, out_shape, target, epilogue);
            return;
        }
    };
    let pixels = out_shape.pixels();
    let pointwise = window.kernel == [1, 1]
        && window.stride == [1, 1]
        && window.pad == [0, 0]
        && (in_shape.rows, in_shape.cols) == (out_shape.rows, out_shape.cols);
    let lhs = if pointwise {
        Lhs::Rows { data: input, rows: pixels, stride: in_shape.channels }
    } else {
        let geometry = ConvGeometry {
            input: in_shape.to_array(),
            output: [out_shape.rows, out_shape.cols],
            kernel: window.kernel,
            stride: window.stride,
            pad: window.pad,
            dilation: window.dilation,
        };
        Lhs::Conv { input, geometry }
    };
    gemm(&lhs, packed, target, epilogue);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reference::ops::elementwise::Activation;
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
            let packed = ConvWeights::direct(&wt, &win, c, k, None);
            conv2d(&x, s, &packed, &win, o, &mut out, Epilogue { activation: Activation::None, round_fp16: false });
            assert_close(&out, &naive_conv(&x, s, &wt, &win, o), 1e-5, &format!("case {seed}"));
        }
    }
}
