//! Property tests of the sliding-window kernels against their definitions, written out here as
//! plain loops over the padded input: random input sizes, channel counts, kernels (odd and
//! even, non-square), strides, dilations and every padding style (TF SAME, TF VALID, Caffe
//! explicit pads). Padding amounts come from [`Window::resolve`], which `src/window/tests.rs`
//! checks on its own.
//!
//! Channel offsets (slices and concatenation through shared buffers) are the executor's
//! gathering, not the kernels'; `tests/graph_reference.rs` and `tests/tf_reference.rs` cover them
//! through whole graphs.

use proptest::prelude::*;

use super::elementwise::Activation;
use super::testing::{assert_close, random};
use super::{conv, deconv, depthwise, pool, Shape};
use crate::reference::kernels::Epilogue;
use crate::window::{Axis, Padding, Window, WindowOp};

/// A padding style with Caffe pads below the kernel (Caffe refuses pad ≥ kernel).
fn padding(kernel: [u32; 2]) -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Same),
        Just(Padding::Valid),
        (0..kernel[0], 0..kernel[1]).prop_map(|(r, c)| Padding::Explicit([r as u8, c as u8])),
    ]
}

/// A window case: input `[rows, cols, channels]`, kernel, stride, dilation, padding.
#[derive(Debug, Clone)]
struct Case {
    input: Shape,
    kernel: [u32; 2],
    stride: [u32; 2],
    dilation: u32,
    padding: Padding,
}

fn case(max_dilation: u32) -> impl Strategy<Value = Case> {
    (1usize..=9, 1usize..=9, 1usize..=4, [1u32..=5, 1u32..=5], [1u32..=3, 1u32..=3], 1..=max_dilation).prop_flat_map(
        |(rows, cols, channels, kernel, stride, dilation)| {
            padding(kernel).prop_map(move |padding| Case {
                input: Shape::new(rows, cols, channels),
                kernel,
                stride,
                dilation,
                padding,
            })
        },
    )
}

impl Case {
    /// Output rows and columns for `op`, and the resolved window; `None` when no window fits.
    fn window(&self, op: WindowOp) -> Option<([usize; 2], Window)> {
        let len = [self.input.rows as u32, self.input.cols as u32];
        let out = [0, 1].map(|a| {
            Axis::new(self.kernel[a], self.stride[a], self.dilation).output_len(len[a], self.padding.axis(a), op) as u32
        });
        if out.contains(&0) {
            return None;
        }
        let window = Window::resolve(self.kernel, self.stride, self.dilation, self.padding, len, out);
        Some((out.map(|o| o as usize), window))
    }
}

/// Input cell `(row, col)` that tap `(i, j)` of output `(oy, ox)` reads, by the definition:
/// output position · stride + tap · dilation − leading pad, if inside the input.
fn tap(w: &Window, s: Shape, (oy, ox): (usize, usize), (i, j): (usize, usize)) -> Option<(usize, usize)> {
    let y = (oy * w.stride[0] + i * w.dilation) as isize - w.pad[0] as isize;
    let x = (ox * w.stride[1] + j * w.dilation) as isize - w.pad[1] as isize;
    (y >= 0 && x >= 0 && (y as usize) < s.rows && (x as usize) < s.cols).then_some((y as usize, x as usize))
}

fn naive_depthwise(x: &[f32], s: Shape, w: &[f32], win: &Window, o: Shape) -> Vec<f32> {
    let multiplier = o.channels / s.channels;
    let mut out = vec![0.0; o.len()];
    for oy in 0..o.rows {
        for ox in 0..o.cols {
            for k in 0..o.channels {
                let c = k / multiplier;
                let mut acc = 0.0f64;
                for i in 0..win.kernel[0] {
                    for j in 0..win.kernel[1] {
                        let Some((y, xx)) = tap(win, s, (oy, ox), (i, j)) else { continue };
                        let weight = w[(i * win.kernel[1] + j) * o.channels + k];
                        acc += f64::from(x[(y * s.cols + xx) * s.channels + c]) * f64::from(weight);
                    }
                }
                out[(oy * o.cols + ox) * o.channels + k] = acc as f32;
            }
        }
    }
    out
}

/// Max over the cells inside the input; average over them (TF) or over the window clipped to
/// the padded input, padding counted (Caffe).
fn naive_pool(x: &[f32], s: Shape, win: &Window, caffe_average: Option<bool>, o: Shape) -> Vec<f32> {
    let mut out = vec![0.0; o.len()];
    for oy in 0..o.rows {
        for ox in 0..o.cols {
            for c in 0..s.channels {
                let cells: Vec<f32> = (0..win.kernel[0])
                    .flat_map(|i| (0..win.kernel[1]).map(move |j| (i, j)))
                    .filter_map(|t| tap(win, s, (oy, ox), t))
                    .map(|(y, xx)| x[(y * s.cols + xx) * s.channels + c])
                    .collect();
                // A window wholly in padding (Caffe's round-up can make one) has no definition;
                // the kernel emits 0 there (`pool2d`), and so does this.
                if cells.is_empty() {
                    continue;
                }
                let v = match caffe_average {
                    None => cells.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                    Some(false) => cells.iter().sum::<f32>() / cells.len() as f32,
                    Some(true) => {
                        // Window [o·s − p, o·s − p + k) clipped to [−p, len + p).
                        let span = |a: usize, o: usize, len: usize| {
                            let start = (o * win.stride[a]) as isize - win.pad[a] as isize;
                            let end = (start + win.kernel[a] as isize).min((len + win.pad[a]) as isize);
                            (end - start) as f32
                        };
                        cells.iter().sum::<f32>() / (span(0, oy, s.rows) * span(1, ox, s.cols))
                    }
                };
                out[(oy * o.cols + ox) * s.channels + c] = v;
            }
        }
    }
    out
}

/// Transposed convolution by scattering: input pixel `(iy, ix)` adds `x · W_fw[a][b]` to output
/// `(iy·s + a − p, ix·s + b − p)`, with forward weights `W_fw[kh][kw][K][C]`.
fn naive_transposed(x: &[f32], s: Shape, w_fw: &[f32], win: &Window, o: Shape) -> Vec<f32> {
    let [kh, kw] = win.kernel;
    let k = o.channels;
    let mut out = vec![0.0; o.len()];
    for iy in 0..s.rows {
        for ix in 0..s.cols {
            for a in 0..kh {
                for b in 0..kw {
                    let oy = (iy * win.stride[0] + a) as isize - win.pad[0] as isize;
                    let ox = (ix * win.stride[1] + b) as isize - win.pad[1] as isize;
                    if oy < 0 || ox < 0 || oy as usize >= o.rows || ox as usize >= o.cols {
                        continue;
                    }
                    for kk in 0..k {
                        for c in 0..s.channels {
                            out[(oy as usize * o.cols + ox as usize) * k + kk] +=
                                x[(iy * s.cols + ix) * s.channels + c] * w_fw[((a * kw + b) * k + kk) * s.channels + c];
                        }
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn convolution_matches_its_definition(c in case(3), k in 1usize..=4, seed in 0u64..1000) {
        let Some(([rows, cols], win)) = c.window(WindowOp::Convolution) else { return Ok(()) };
        let (s, o) = (c.input, Shape::new(rows, cols, k));
        let x = random(s.len(), seed);
        let w = random(win.kernel[0] * win.kernel[1] * s.channels * k, seed + 1);
        let mut out = vec![0.0; o.len()];
        let packed = conv::pack(&w, win.kernel[0] * win.kernel[1] * s.channels, k, None);
        let plain = Epilogue { activation: Activation::None, round_fp16: false };
        conv::conv2d(&x, s, &packed, &win, o, &mut out, plain);
        assert_close(&out, &conv::tests::naive_conv(&x, s, &w, &win, o), 1e-5, &format!("{c:?} K={k}"));
    }

    #[test]
    fn depthwise_convolution_matches_its_definition(c in case(3), multiplier in 1usize..=3, seed in 0u64..1000) {
        let Some(([rows, cols], win)) = c.window(WindowOp::Convolution) else { return Ok(()) };
        let (s, o) = (c.input, Shape::new(rows, cols, c.input.channels * multiplier));
        let x = random(s.len(), seed);
        let w = random(win.kernel[0] * win.kernel[1] * o.channels, seed + 1);
        let mut out = vec![0.0; o.len()];
        depthwise::depthwise_conv2d(&x, s, &w, &win, o, &mut out);
        assert_close(&out, &naive_depthwise(&x, s, &w, &win, o), 1e-5, &format!("{c:?} M={multiplier}"));
    }

    #[test]
    fn pooling_matches_its_definition(c in case(1), seed in 0u64..1000) {
        let Some(([rows, cols], win)) = c.window(WindowOp::Pooling) else { return Ok(()) };
        let (s, o) = (c.input, Shape::new(rows, cols, c.input.channels));
        let x = random(s.len(), seed);
        let caffe = matches!(c.padding, Padding::Explicit(_));
        let divisor = if caffe { pool::AvgDivisor::PaddedWindow } else { pool::AvgDivisor::ValidCells };
        for (kind, average) in [(pool::PoolKind::Max, None), (pool::PoolKind::Average(divisor), Some(caffe))] {
            let mut out = vec![0.0; o.len()];
            pool::pool2d(&x, s, &win, kind, o, &mut out);
            assert_close(&out, &naive_pool(&x, s, &win, average, o), 1e-5, &format!("{c:?} {kind:?}"));
        }
    }

    #[test]
    fn deconvolution_matches_the_scatter_definition(
        (input, kernel, stride, pad) in (1usize..=6, 1usize..=6, 1usize..=3, [1usize..=5, 1usize..=5], [1usize..=3, 1usize..=3])
            .prop_flat_map(|(rows, cols, channels, kernel, stride)| {
                (Just(Shape::new(rows, cols, channels)), Just(kernel), Just(stride), [0..kernel[0], 0..kernel[1]])
            }),
        k in 1usize..=3,
        seed in 0u64..1000,
    ) {
        // Output (in − 1)·s + k − 2p per axis, as Caffe's deconvolution sizes it.
        let len = |a: usize, n: usize| ((n - 1) * stride[a] + kernel[a]).saturating_sub(2 * pad[a]);
        let o = Shape::new(len(0, input.rows), len(1, input.cols), k);
        if o.is_empty() {
            return Ok(());
        }
        let win = Window { kernel, stride, pad, dilation: 1 };
        let x = random(input.len(), seed);
        let w_fw = random(kernel[0] * kernel[1] * k * input.channels, seed + 1);
        // Stored taps T[i][j][c][k] = W_fw[kh−1−i][kw−1−j][k][c].
        let mut taps = vec![0.0; w_fw.len()];
        for i in 0..kernel[0] {
            for j in 0..kernel[1] {
                for c in 0..input.channels {
                    for kk in 0..k {
                        let forward = (((kernel[0] - 1 - i) * kernel[1] + kernel[1] - 1 - j) * k + kk) * input.channels + c;
                        taps[((i * kernel[1] + j) * input.channels + c) * k + kk] = w_fw[forward];
                    }
                }
            }
        }
        let mut out = vec![0.0; o.len()];
        deconv::deconv2d(&x, input, &taps, &win, o, &mut out);
        let what = format!("{input:?} kernel {kernel:?} stride {stride:?} pad {pad:?} K={k}");
        assert_close(&out, &naive_transposed(&x, input, &w_fw, &win, o), 1e-5, &what);
    }
}
