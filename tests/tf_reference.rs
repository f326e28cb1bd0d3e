//! ncs's CPU reference against TensorFlow's own ops.
//!
//! `tests/data/gen_tf_reference.py` builds each network below in TensorFlow from the same
//! SplitMix64 stream (case i uses seed 1000 + i; draws in the same order: input first, then each
//! layer's weights and bias) and commits the outputs. Weights are fp16 in both. In fp32 mode ncs
//! must agree to float rounding; fp16 mode (as on the stick) differs by the rounding of stored
//! stage outputs. Each tolerance is ≈ 10× the measured error (`TOLERANCES`).

use ncs::blob::{Blob, BufferRef, Dims, Location, StageType};
use ncs::graph::networks::inception_v3::{inception_v3, inception_v3_input, CLASSES};
use ncs::graph::samples::Weights;
use ncs::graph::{Activation, ConvSpec, GraphBuilder, Padding, TensorId};
use ncs::reference::{Executor, Precision};

fn expected(name: &str) -> Vec<f32> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf").join(format!("{name}.npy"));
    ncs::npy::read(&path).unwrap_or_else(|e| panic!("{e}")).values
}

struct Case {
    w: Weights,
    g: GraphBuilder,
    input: Vec<f32>,
}

impl Case {
    fn new(seed: u64, shape: [u32; 3]) -> Self {
        let mut w = Weights::new(seed);
        let input = w.uniform((shape[0] * shape[1] * shape[2]) as usize, 1.0);
        Case { w, g: GraphBuilder::new("tf_case", shape), input }
    }

    fn conv(
        &mut self,
        x: TensorId,
        k: [u32; 2],
        cout: u32,
        stride: [u32; 2],
        padding: Padding,
        act: Activation,
    ) -> TensorId {
        let cin = self.g.shape(x)[2];
        let weights = self.w.uniform((k[0] * k[1] * cin * cout) as usize, 0.5);
        let bias = self.w.uniform(cout as usize, 0.1);
        let spec = ConvSpec::new(k, &weights).stride(stride).padding(padding);
        self.g.conv("conv", x, spec.bias(&bias).activation(act)).unwrap()
    }

    fn finish(self, out: TensorId) -> (Blob, Vec<f32>) {
        (self.g.finish(out).unwrap(), self.input)
    }
}

fn run(blob: &Blob, input: &[f32], precision: Precision) -> Vec<f32> {
    Executor::new(blob, precision).unwrap().run(input).unwrap().output
}

/// max |a − b| / max |b|.
fn relative_error(actual: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(actual.len(), reference.len());
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    actual.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max) / scale
}

/// (case, fp32 tolerance, fp16 tolerance) on [`relative_error`]: ≈ 10× the error measured
/// against TensorFlow 2.21 (2026-11-30), given beside each as fp32 / fp16. Where fp32 mode was
/// bit-identical (0), the tolerance is 1e-6, a few ulps of f32 accumulation, so that a different
/// summation order (another GEMM kernel) does not fail the test.
const TOLERANCES: &[(&str, f32, f32)] = &[
    ("conv_same_s1", 1e-6, 2.7e-3),          // 0 / 2.70e-4
    ("conv_same_s2_even", 1e-6, 4.6e-3),     // 0 / 4.61e-4
    ("conv_same_even_kernel", 1e-6, 3.2e-3), // 0 / 3.24e-4
    ("conv_valid_s2", 1e-6, 2.0e-3),         // 0 / 2.04e-4
    ("conv_1x7_then_7x1", 1e-6, 3.4e-3),     // 0 / 3.41e-4
    ("depthwise_same_s2", 1e-6, 2.2e-3),     // 3.95e-8 / 2.17e-4
    ("pools", 1e-6, 3.7e-3),                 // 6.77e-8 / 3.65e-4
    ("deconv_valid_s2", 1.2e-6, 2.7e-3),     // 1.15e-7 / 2.74e-4
    ("fc_softmax", 1e-6, 2.8e-3),            // 7.58e-8 / 2.83e-4
    ("lrn", 1.3e-6, 4.8e-3),                 // 1.31e-7 / 4.75e-4
    ("elementwise", 1e-6, 3.1e-3),           // 4.27e-8 / 3.09e-4
    ("conv_caffe_pad_s2", 1.2e-6, 2.7e-3),   // 1.15e-7 / 2.66e-4
    ("conv_dilated_caffe", 1.4e-6, 3.0e-3),  // 1.43e-7 / 2.96e-4
];

fn check(name: &str, (blob, input): (Blob, Vec<f32>)) {
    let want = expected(name);
    let &(_, fp32_limit, fp16_limit) =
        TOLERANCES.iter().find(|t| t.0 == name).unwrap_or_else(|| panic!("{name}: no tolerance stated"));
    let fp32 = relative_error(&run(&blob, &input, Precision::Fp32), &want);
    let fp16 = relative_error(&run(&blob, &input, Precision::Fp16), &want);
    eprintln!(
        "{name}: relative error fp32 {fp32:.2e} (tolerance {fp32_limit:.1e}), fp16 {fp16:.2e} ({fp16_limit:.1e})"
    );
    assert!(fp32 <= fp32_limit, "{name}: fp32 relative error {fp32:.2e} > {fp32_limit:.1e}");
    assert!(fp16 <= fp16_limit, "{name}: fp16 relative error {fp16:.2e} > {fp16_limit:.1e}");
}

/// Gives stage `index` (a convolution with Caffe padding) a dilation: the opParams i32 the
/// Caffe parser writes, and the output size Caffe computes, ⌊(in + 2p − d(k−1) − 1)/s⌋ + 1.
/// The builder has no dilation, so the record is patched and re-parsed.
fn dilate(mut blob: Blob, index: usize, dilation: u32) -> Blob {
    assert_eq!(blob.data.len() % 64, 0);
    let pointer = blob.data.len() as u32;
    blob.data.extend_from_slice(&(dilation as i32).to_le_bytes());
    blob.data.resize(blob.data.len() + 60, 0);
    let s = &mut blob.stages[index];
    s.op_params = BufferRef { location: Location::Blob, pointer };
    let out = |input: u32, k: i8, pad: u8, stride: u8| {
        (input + 2 * u32::from(pad) - dilation * (k as u32 - 1) - 1) / u32::from(stride) + 1
    };
    let x = out(s.input.dims.x, s.kernel_x, s.pad_x, s.stride_x);
    let y = out(s.input.dims.y, s.kernel_y, s.pad_y, s.stride_y);
    s.output.dims = Dims::new(x, y, s.output.dims.z);
    s.output.strides = s.output.dims.hwc_strides();
    ncs::blob::parse(&ncs::blob::write(&blob).unwrap()).unwrap()
}

#[test]
fn convolutions_match_tensorflow_for_every_padding_and_stride() {
    let mut c = Case::new(1000, [7, 9, 3]);
    let y = c.conv(c.g.input(), [3, 3], 4, [1, 1], Padding::Same, Activation::Relu);
    check("conv_same_s1", c.finish(y));

    let mut c = Case::new(1001, [8, 8, 3]);
    let y = c.conv(c.g.input(), [3, 3], 5, [2, 2], Padding::Same, Activation::Relu);
    check("conv_same_s2_even", c.finish(y));

    let mut c = Case::new(1002, [9, 7, 2]);
    let y = c.conv(c.g.input(), [2, 4], 3, [2, 1], Padding::Same, Activation::Relu);
    check("conv_same_even_kernel", c.finish(y));

    let mut c = Case::new(1003, [9, 10, 3]);
    let y = c.conv(c.g.input(), [5, 5], 4, [2, 2], Padding::Valid, Activation::Relu);
    check("conv_valid_s2", c.finish(y));

    let mut c = Case::new(1004, [6, 11, 4]);
    let a = c.conv(c.g.input(), [1, 7], 5, [1, 1], Padding::Same, Activation::Relu);
    let y = c.conv(a, [7, 1], 3, [1, 1], Padding::Same, Activation::None);
    check("conv_1x7_then_7x1", c.finish(y));

    // Caffe padding: explicit and symmetric, output ⌊(in + 2p − k)/s⌋ + 1.
    let mut c = Case::new(1012, [9, 10, 3]);
    let y = c.conv(c.g.input(), [3, 3], 4, [2, 2], Padding::Explicit([1, 1]), Activation::Relu);
    check("conv_caffe_pad_s2", c.finish(y));

    // Dilation 2 with Caffe padding of 1 row and 2 columns (TF: dilations=2, explicit padding).
    let mut c = Case::new(1013, [11, 12, 3]);
    let y = c.conv(c.g.input(), [3, 3], 4, [1, 1], Padding::Explicit([1, 2]), Activation::Relu);
    let (blob, input) = c.finish(y);
    check("conv_dilated_caffe", (dilate(blob, 0, 2), input));
}

#[test]
fn depthwise_pooling_and_deconvolution_match_tensorflow() {
    let mut c = Case::new(1005, [8, 8, 3]);
    let k = c.w.uniform(3 * 3 * 3 * 2, 0.5);
    let b = c.w.uniform(6, 0.1);
    let x = c.g.input();
    let spec = ConvSpec::new([3, 3], &k).stride([2, 2]).padding(Padding::Same);
    let y = c.g.depthwise_conv("dw", x, spec.bias(&b).activation(Activation::Relu)).unwrap();
    check("depthwise_same_s2", c.finish(y));

    let mut c = Case::new(1006, [8, 9, 3]);
    let x = c.g.input();
    let a = c.g.max_pool("a", x, [3, 3], [2, 2], Padding::Same).unwrap();
    let b = c.g.avg_pool("b", a, [3, 3], [1, 1], Padding::Same).unwrap();
    let d = c.g.avg_pool("c", b, [3, 3], [2, 2], Padding::Same).unwrap();
    let y = c.g.max_pool("d", d, [2, 2], [1, 1], Padding::Valid).unwrap();
    check("pools", c.finish(y));

    // conv2d_transpose VALID: the toolkit stores the filter flipped with in/out swapped.
    let mut c = Case::new(1007, [5, 5, 3]);
    let filter = c.w.uniform(3 * 3 * 2 * 3, 0.5); // TF layout [kh][kw][out][in]
    let b = c.w.uniform(2, 0.1);
    let mut taps = vec![0.0; filter.len()];
    for i in 0..3 {
        for j in 0..3 {
            for ch in 0..3 {
                for k in 0..2 {
                    taps[((i * 3 + j) * 3 + ch) * 2 + k] = filter[(((2 - i) * 3 + (2 - j)) * 2 + k) * 3 + ch];
                }
            }
        }
    }
    let x = c.g.input();
    let spec = ConvSpec::new([3, 3], &taps).stride([2, 2]).padding(Padding::Explicit([0, 0]));
    let y = c.g.deconv("deconv", x, spec.bias(&b)).unwrap();
    check("deconv_valid_s2", c.finish(y));
}

#[test]
fn dense_normalisation_and_elementwise_match_tensorflow() {
    let mut c = Case::new(1008, [1, 1, 20]);
    let k = c.w.uniform(200, 0.5);
    let b = c.w.uniform(10, 0.1);
    let x = c.g.input();
    let fc = c.g.fully_connected("fc", x, &k, Some(&b), Activation::None).unwrap();
    let y = c.g.softmax("softmax", fc).unwrap();
    check("fc_softmax", c.finish(y));

    let mut c = Case::new(1009, [5, 5, 8]);
    let x = c.g.input();
    let y = c.g.lrn("lrn", x, 2, 1.0, 0.1, 0.75).unwrap();
    check("lrn", c.finish(y));

    let mut c = Case::new(1010, [4, 5, 3]);
    let a = c.conv(c.g.input(), [1, 1], 3, [1, 1], Padding::Valid, Activation::None);
    let s = c.g.unary("sigmoid", StageType::Sigmoid, a).unwrap();
    let t = c.g.unary("tanh", StageType::Tanh, a).unwrap();
    let p = c.g.eltwise("mul", StageType::EltwiseProd, s, t).unwrap();
    let m = c.g.eltwise("maximum", StageType::EltwiseMax, p, a).unwrap();
    let y = c.g.eltwise("add", StageType::EltwiseSum, m, a).unwrap();
    check("elementwise", c.finish(y));
}

#[test]
fn inception_v3_matches_tensorflow_logits() {
    let blob = inception_v3(1011).unwrap();
    // docs/numerics.md §8, counted layer by layer from TF-Slim's definition
    // (and matching Keras' parameter count for 1000 classes).
    let stats = ncs::graph::GraphStats::of(&blob);
    assert_eq!(stats.macs, 5_713_218_144);
    assert_eq!(stats.parameters, 23_819_401);
    let input = inception_v3_input(1011);
    let want = expected("inception_v3");
    assert_eq!(want.len(), CLASSES as usize);
    let logits_stage = blob.stages.len() - 2;
    let top5 = |v: &[f32]| ncs::verify::top_k(v, 5).into_iter().map(|(i, _)| i).collect::<Vec<_>>();
    for precision in [Precision::Fp32, Precision::Fp16] {
        let mut executor = Executor::new(&blob, precision).unwrap();
        let mut logits = Vec::new();
        let result = executor
            .run_observed(&input, &mut |s| {
                if s.index == logits_stage {
                    logits = s.values.to_vec();
                }
            })
            .unwrap();
        let err = relative_error(&logits, &want);
        // ≈ 10× measured: 1.60e-6 (fp32) and 3.39e-4 (fp16) on 2026-12-01.
        let limit = if precision == Precision::Fp32 { 1.6e-5 } else { 3.3e-3 };
        assert!(err <= limit, "{precision:?}: logits relative error {err}");
        assert_eq!(top5(&logits), top5(&want), "{precision:?}: top-5 differs");
        let sum: f32 = result.output.iter().sum();
        assert!((sum - 1.0).abs() < 0.01, "softmax output sums to {sum}");
        eprintln!("{precision:?}: logits max relative error {err:.2e}");
    }
}
