//! Every op the compiler lowers, as a small frozen TensorFlow graph (`tests/data/gen_compile.py
//! ops`), compiled by ncs and run on the CPU reference against TensorFlow's own output.
//!
//! The graphs' weights are fp16-representable and folded scales are powers of two, so fp32 mode
//! differs from TensorFlow only by float rounding; fp16 mode stores every stage output in fp16
//! as the stick does.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use ncs::compile::{compile, CompileOptions};
use ncs::graph::samples::Weights;
use ncs::reference::{Executor, Precision};

/// Worst fp32-mode error seen over all cases: 2.7e-7 relative to the largest output (10× that).
const FP32_TOLERANCE: f32 = 3e-6;
/// Worst fp16-mode error seen: 6.5e-4 (storage rounding through up to nine stages; 10× that,
/// below mvNCCheck's own 2e-2).
const FP16_TOLERANCE: f32 = 6.5e-3;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compile/ops")
}

/// (case, seed, input shape) as in gen_compile.py's CASES, in order (seed = 2000 + index).
const CASES: &[(&str, [usize; 3])] = &[
    ("conv_bias_relu", [8, 8, 3]),
    ("conv_bn_v3_relu6", [9, 9, 3]),
    ("conv_bn_v1_elu", [8, 8, 3]),
    ("conv_bn_v2_leaky_op", [6, 6, 4]),
    ("conv_leaky_pattern", [8, 8, 3]),
    ("depthwise_bn_relu", [8, 8, 4]),
    ("deconv_bias", [5, 5, 3]),
    ("pad_conv", [7, 7, 3]),
    ("pools", [9, 9, 3]),
    ("lrn", [5, 5, 3]),
    ("flatten_fc_softmax", [8, 8, 3]),
    ("mean_squeeze_fc_sigmoid", [6, 6, 3]),
    ("fc_tanh", [4, 4, 3]),
    ("eltwise_ops", [6, 6, 3]),
    ("mul_div_constants", [8, 8, 3]),
    ("max_with_const", [6, 6, 3]),
    ("concat_branches", [7, 7, 4]),
    ("slice_channels", [6, 6, 3]),
    ("batch_norm_pattern", [6, 6, 3]),
];

fn relative_error(actual: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(actual.len(), reference.len());
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    actual.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max) / scale
}

#[test]
fn every_lowered_op_matches_tensorflow() {
    let mut worst = (0.0f32, 0.0f32);
    for (i, (name, shape)) in CASES.iter().enumerate() {
        let pb = std::fs::read(dir().join(format!("{name}.pb"))).unwrap();
        let want = ncs::npy::read(&dir().join(format!("{name}.npy"))).unwrap().values;
        let options = CompileOptions { input: "input".into(), output: "output".into(), ..Default::default() };
        let compiled = compile(Bytes::from(pb), &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(compiled.warnings.is_empty(), "{name}: {:?}", compiled.warnings);
        let input = Weights::new(2000 + i as u64).uniform(shape.iter().product(), 1.0);
        let mut errors = [0.0f32; 2];
        for (e, precision) in errors.iter_mut().zip([Precision::Fp32, Precision::Fp16]) {
            let out = Executor::new(&compiled.blob, precision).unwrap().run(&input).unwrap().output;
            *e = relative_error(&out, &want);
        }
        eprintln!("{name:26} fp32 {:.2e}  fp16 {:.2e}  ({} stages)", errors[0], errors[1], compiled.blob.stages.len());
        assert!(errors[0] <= FP32_TOLERANCE, "{name}: fp32 relative error {}", errors[0]);
        assert!(errors[1] <= FP16_TOLERANCE, "{name}: fp16 relative error {}", errors[1]);
        worst = (worst.0.max(errors[0]), worst.1.max(errors[1]));
    }
    eprintln!("worst: fp32 {:.2e}, fp16 {:.2e}", worst.0, worst.1);
}
