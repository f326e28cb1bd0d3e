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

use super::elementwise::{Activation, Binary, Unary};
use super::rows::Finish;
use super::testing::{assert_close, random};
use super::{conv, deconv, depthwise, layout, lrn, pool, softmax, winograd, Shape};
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
    case_with(max_dilation, 1usize..=4)
}

/// Few channels (1 to 4) or many (past the kernels' 32-channel blocks, with a remainder).
fn channels() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..=4, 30usize..=70]
}

fn case_with(max_dilation: u32, channels: impl Strategy<Value = usize>) -> impl Strategy<Value = Case> {
    (1usize..=9, 1usize..=9, channels, [1u32..=5, 1u32..=5], [1u32..=3, 1u32..=3], 1..=max_dilation).prop_flat_map(
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn convolution_matches_its_definition(c in case(3), k in 1usize..=4, seed in 0u64..1000) {
        let Some(([rows, cols], win)) = c.window(WindowOp::Convolution) else { return Ok(()) };
        let (s, o) = (c.input, Shape::new(rows, cols, k));
        let x = random(s.len(), seed);
        let w = random(win.kernel[0] * win.kernel[1] * s.channels * k, seed + 1);
        let naive = conv::tests::naive_conv(&x, s, &w, &win, o);
        let plain = Epilogue { activation: Activation::None, round_fp16: false };
        let direct = conv::ConvWeights::direct(&w, &win, s.channels, k, None);
        // Winograd too wherever the window has an algorithm, whatever the layer's size.
        let winograd = winograd::WinogradWeights::axes_for(&win)
            .map(|axes| conv::ConvWeights::Winograd(winograd::WinogradWeights::new(axes, &w, s.channels, k, None)));
        for prepared in std::iter::once(direct).chain(winograd) {
            let mut out = vec![0.0; o.len()];
            conv::conv2d(&x, s, &prepared, &win, o, &mut out, plain);
            // Winograd's transforms add rounding: seen up to 1.96e-5 over 6000 such cases, so
            // 10× that; the direct product keeps 1e-5.
            let (way, tolerance) = match prepared {
                conv::ConvWeights::Direct(_) => ("direct", 1e-5),
                conv::ConvWeights::Winograd(_) => ("winograd", 2e-4),
            };
            assert_close(&out, &naive, tolerance, &format!("{way} {c:?} K={k}"));
        }
    }

    #[test]
    fn depthwise_convolution_matches_its_definition(c in case_with(3, channels()), multiplier in 1usize..=3, seed in 0u64..1000) {
        let Some(([rows, cols], win)) = c.window(WindowOp::Convolution) else { return Ok(()) };
        let (s, o) = (c.input, Shape::new(rows, cols, c.input.channels * multiplier));
        let x = random(s.len(), seed);
        let w = random(win.kernel[0] * win.kernel[1] * o.channels, seed + 1);
        let mut out = vec![0.0; o.len()];
        depthwise::depthwise_conv2d(&x, s, &w, &win, o, &mut out, &Finish::NONE);
        assert_close(&out, &naive_depthwise(&x, s, &w, &win, o), 1e-5, &format!("{c:?} M={multiplier}"));
    }

    #[test]
    fn pooling_matches_its_definition(c in case_with(1, channels()), seed in 0u64..1000) {
        let Some(([rows, cols], win)) = c.window(WindowOp::Pooling) else { return Ok(()) };
        let (s, o) = (c.input, Shape::new(rows, cols, c.input.channels));
        let x = random(s.len(), seed);
        let caffe = matches!(c.padding, Padding::Explicit(_));
        let divisor = if caffe { pool::AvgDivisor::PaddedWindow } else { pool::AvgDivisor::ValidCells };
        for (kind, average) in [(pool::PoolKind::Max, None), (pool::PoolKind::Average(divisor), Some(caffe))] {
            let mut out = vec![0.0; o.len()];
            pool::pool2d(&x, s, &win, kind, o, &mut out, &Finish::NONE);
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
        deconv::deconv2d(&x, input, &taps, &win, o, &mut out, &Finish::NONE);
        let what = format!("{input:?} kernel {kernel:?} stride {stride:?} pad {pad:?} K={k}");
        assert_close(&out, &deconv::tests::naive_transposed(&x, input, &w_fw, &win, o), 1e-5, &what);
    }
}

/// Across-channel LRN by its definition in f64: `x / (k + α′/n · Σ x²)^β` over the window
/// `[c − ⌊(n−1)/2⌋, c + ⌈(n−1)/2⌉]` clipped to the channels.
fn naive_lrn(x: &[f32], c: usize, n: usize, [k, alpha, beta]: [f32; 3]) -> Vec<f32> {
    let (before, after) = ((n - 1) / 2, n - 1 - (n - 1) / 2);
    let mut out = Vec::with_capacity(x.len());
    for p in x.chunks(c) {
        for ch in 0..c {
            let window = ch.saturating_sub(before)..=(ch + after).min(c - 1);
            let sum: f64 = window.map(|d| f64::from(p[d]).powi(2)).sum();
            let denominator = (f64::from(k) + f64::from(alpha) / n as f64 * sum).powf(f64::from(beta));
            out.push((f64::from(p[ch]) / denominator) as f32);
        }
    }
    out
}

/// Softmax of each pixel by its definition in f64.
fn naive_softmax(x: &[f32], c: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for p in x.chunks(c) {
        let sum: f64 = p.iter().map(|&v| f64::from(v).exp()).sum();
        out.extend(p.iter().map(|&v| (f64::from(v).exp() / sum) as f32));
    }
    out
}

/// Runs `f` on a pool of `threads` threads: the kernels split their work by the pool's size.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool").install(f)
}

/// Output shapes big enough for the kernels to split them over three threads.
fn large() -> impl Strategy<Value = (Shape, usize)> {
    (12usize..=40, 12usize..=40, channels(), 1usize..=3).prop_map(|(r, c, ch, m)| (Shape::new(r, c, ch), m))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn lrn_matches_its_definition(pixels in 1usize..=6, c in channels(), n in 1usize..=7, seed in 0u64..1000) {
        let x = random(pixels * c, seed);
        let params = [1.0 + (seed % 3) as f32, 0.5 + (seed % 5) as f32 * 0.3, 0.75];
        let mut y = vec![0.0; x.len()];
        lrn::lrn(&x, &mut y, c, n, params[0], params[1], params[2]);
        // f32 arithmetic against f64: the tolerance of the operator tests in this module.
        assert_close(&y, &naive_lrn(&x, c, n, params), 1e-5, &format!("C={c} n={n}"));
    }

    #[test]
    fn softmax_matches_its_definition(pixels in 1usize..=6, c in prop_oneof![1usize..=4, 30usize..=70, 1001usize..=1001], seed in 0u64..1000) {
        let x: Vec<f32> = random(pixels * c, seed).iter().map(|v| v * 20.0).collect();
        let mut y = x.clone();
        softmax::softmax_channels(&mut y, c);
        assert_close(&y, &naive_softmax(&x, c), 1e-5, &format!("C={c}"));
    }

    #[test]
    fn elementwise_ops_compute_each_value_by_its_formula(len in 1usize..=200, seed in 0u64..1000) {
        let (a, b) = (random(len, seed), random(len, seed + 1));
        let unary: [(Unary, UnaryFormula); 5] = [
            (Unary::Sigmoid, |x| 1.0 / (1.0 + (-x).exp())),
            (Unary::Tanh, f32::tanh),
            (Unary::Square, |x| x * x),
            (Unary::Rsqrt, |x| 1.0 / x.sqrt()),
            (Unary::Identity, |x| x),
        ];
        for (op, f) in unary {
            let mut y = a.clone();
            op.apply(&mut y);
            let want: Vec<f32> = a.iter().map(|&x| f(x)).collect();
            // Same formula, so the same bits (NaN for the rsqrt of a negative, compared as bits).
            prop_assert_eq!(bits(&y), bits(&want), "{:?}", op);
        }
        let binary: [(Binary, BinaryFormula); 3] = [(Binary::Sum, |x, y| x + y), (Binary::Prod, |x, y| x * y), (Binary::Max, f32::max)];
        for (op, f) in binary {
            let mut y = a.clone();
            op.apply(&mut y, &b);
            let want: Vec<f32> = a.iter().zip(&b).map(|(&x, &y)| f(x, y)).collect();
            prop_assert_eq!(bits(&y), bits(&want), "{:?}", op);
        }
    }

    #[test]
    fn layout_ops_move_each_value_where_the_formulas_say(rows in 1usize..=9, cols in 1usize..=9, c in channels(), seed in 0u64..1000) {
        let s = Shape::new(rows, cols, c);
        let x = random(s.len(), seed);
        let mut planes = vec![0.0; s.len()];
        layout::to_plane_major(&x, s, &mut planes, &Finish::NONE);
        let mut sums = vec![0.0; s.pixels()];
        layout::sum_channels(&x, c, &mut sums, &Finish::NONE);
        for y in 0..rows {
            for xx in 0..cols {
                let p = y * cols + xx;
                for ch in 0..c {
                    prop_assert_eq!(planes[ch * rows * cols + p], x[p * c + ch]);
                }
                let sum: f32 = x[p * c..(p + 1) * c].iter().sum();
                prop_assert_eq!(sums[p], sum);
            }
        }
    }
}

type UnaryFormula = fn(f32) -> f32;
type BinaryFormula = fn(f32, f32) -> f32;

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    /// Splitting a stage over threads changes no value: three threads against one, with bias,
    /// activation and fp16 rounding finishing each part.
    #[test]
    fn windowed_kernels_give_the_same_bits_on_any_number_of_threads((s, multiplier) in large(), seed in 0u64..1000) {
        let win = Window { kernel: [3, 3], stride: [1 + (seed % 2) as usize; 2], pad: [1, 1], dilation: 1 };
        let o = |channels| Shape::new((s.rows - 1) / win.stride[0] + 1, (s.cols - 1) / win.stride[1] + 1, channels);
        let x = random(s.len(), seed);
        let k = s.channels * multiplier;
        let (w, bias) = (random(9 * k, seed + 1), random(k, seed + 2));
        let finish = Finish { bias: Some(&bias), activation: Activation::Relu, round_fp16: true };
        let plain = Finish { bias: None, ..finish };
        let run = |threads| on_threads(threads, || {
            let mut pooled = vec![0.0; o(s.channels).len()];
            pool::pool2d(&x, s, &win, pool::PoolKind::Max, o(s.channels), &mut pooled, &plain);
            let mut averaged = vec![0.0; o(s.channels).len()];
            let average = pool::PoolKind::Average(pool::AvgDivisor::PaddedWindow);
            pool::pool2d(&x, s, &win, average, o(s.channels), &mut averaged, &plain);
            let mut depthwise = vec![0.0; o(k).len()];
            depthwise::depthwise_conv2d(&x, s, &w, &win, o(k), &mut depthwise, &finish);
            [pooled, averaged, depthwise].map(|v| bits(&v))
        });
        prop_assert_eq!(run(3), run(1));
    }
}
