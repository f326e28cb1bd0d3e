//! ncs's CPU reference against TensorFlow's own ops.
//!
//! `tests/data/gen_tf_reference.py` builds each network below in TensorFlow from the same
//! SplitMix64 stream (case i uses seed 1000 + i; draws in the same order: input first, then each
//! layer's weights and bias) and commits the outputs. Weights are fp16 in both. In fp32 mode ncs
//! must agree to float rounding; in fp16 mode (as on the stick) within mvNCCheck's criteria.

use ncs::blob::{Blob, StageType};
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

fn check(name: &str, (blob, input): (Blob, Vec<f32>)) {
    let want = expected(name);
    let fp32 = relative_error(&run(&blob, &input, Precision::Fp32), &want);
    assert!(fp32 <= 1e-5, "{name}: fp32 relative error {fp32}");
    let fp16 = relative_error(&run(&blob, &input, Precision::Fp16), &want);
    assert!(fp16 <= 0.02, "{name}: fp16 relative error {fp16} beyond mvNCCheck's 2%");
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
    // research/inception_and_peers.md §2.5, counted layer by layer from TF-Slim's definition
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
        let limit = if precision == Precision::Fp32 { 1e-3 } else { 0.02 };
        assert!(err <= limit, "{precision:?}: logits relative error {err}");
        assert_eq!(top5(&logits), top5(&want), "{precision:?}: top-5 differs");
        let sum: f32 = result.output.iter().sum();
        assert!((sum - 1.0).abs() < 0.01, "softmax output sums to {sum}");
        eprintln!("{precision:?}: logits max relative error {err:.2e}");
    }
}
