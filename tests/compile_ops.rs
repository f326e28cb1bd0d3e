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

/// `Mul` by a constant after a ReLU stays a scale stage: folding it into the convolution's
/// weights would compute relu(a·x), which is not relu(x)·a for a < 0.
#[test]
fn a_scale_after_an_activation_is_not_folded_into_the_convolution() {
    use ncs::compile::proto::{attr_value::Value, dtype, AttrValue, GraphDef, NodeDef, TensorProto};
    use prost::Message;

    let pb = std::fs::read(dir().join("conv_bias_relu.pb")).unwrap();
    let options = CompileOptions { input: "input".into(), output: "output".into(), ..Default::default() };
    let input = Weights::new(2000).uniform(8 * 8 * 3, 1.0);
    let run = |pb: Vec<u8>| {
        let compiled = compile(Bytes::from(pb), &options).unwrap();
        Executor::new(&compiled.blob, Precision::Fp32).unwrap().run(&input).unwrap().output
    };
    let relu = run(pb.clone());
    assert!(relu.iter().any(|&v| v > 0.0), "the ReLU passes something");

    let mut g = GraphDef::decode(&pb[..]).unwrap();
    let tensor = TensorProto { dtype: dtype::FLOAT, float_val: vec![-2.0], ..Default::default() };
    let mut factor = NodeDef { name: "factor".into(), op: "Const".into(), ..Default::default() };
    factor.attr.insert("value".into(), AttrValue { value: Some(Value::Tensor(tensor)) });
    g.node.push(factor);
    let input_names = vec!["Relu".to_string(), "factor".to_string()];
    g.node.push(NodeDef { name: "scaled".into(), op: "Mul".into(), input: input_names, ..Default::default() });
    g.node.iter_mut().find(|n| n.name == "output").unwrap().input[0] = "scaled".into();
    let scaled = run(g.encode_to_vec());
    let want: Vec<f32> = relu.iter().map(|&v| v * -2.0).collect();
    assert!(relative_error(&scaled, &want) <= FP32_TOLERANCE, "{scaled:?} vs {want:?}");
}

/// `gen_compile.py` parses, and answers `--help` and a `freeze` with missing arguments before it
/// imports TensorFlow (which tests and CI do not have): the freeze step README documents is at
/// least invocable as written there.
#[test]
fn gen_compile_answers_help_and_bad_freeze_arguments_without_tensorflow() {
    use std::process::Command;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gen_compile.py");
    let python = |args: &[&str]| Command::new("python3").args(args).output().expect("python3 runs (CI installs it)");
    // Syntax of the whole script, without writing a __pycache__ into the tree.
    let parsed = python(&["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())", script.to_str().unwrap()]);
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    let help = python(&[script.to_str().unwrap(), "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{}", String::from_utf8_lossy(&help.stderr));
    assert!(text.contains("freeze META CKPT OUTPUT OUT.pb"), "{text}");
    let bad = python(&[script.to_str().unwrap(), "freeze", "model.ckpt.meta"]);
    assert_eq!(bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&bad.stderr);
    assert!(text.contains("usage: gen_compile.py freeze") && !text.contains("Traceback"), "{text}");
}
