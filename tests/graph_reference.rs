//! Real mvNCCompile graphs and `graphs/op_zoo.graph` against TensorFlow running the weights
//! stored in each blob, stage by stage.
//!
//! `tests/data/gen_graph_reference.py` reads each blob with its own parser, writes the network
//! out as TensorFlow ops (the toolkit's quirks as the records state them; see its docstring) and
//! commits every stage's output, sampled, to `tests/data/graph_ref/GRAPH.npy`. Inputs are the
//! SplitMix64 stream (`Weights`, seed per graph), so only outputs are committed.
//! Error = max |ncs − TF| / max |TF| over a stage's sampled values; each graph's tolerance is
//! ≈ 10× the largest stage error measured when the expectations were generated (stated beside it).

mod common;

use std::path::PathBuf;

use ncs::blob::Blob;
use ncs::graph::samples::Weights;
use ncs::reference::{Executor, Precision};

/// Largest number of values committed per stage (`SAMPLE` in the script).
const SAMPLE: usize = 4096;

struct Case {
    file: &'static str,
    /// Seed of the input stream (`GRAPHS` in the script).
    seed: u64,
    /// Tolerance on the relative error of every stage, fp32 mode.
    fp32: f32,
    /// Tolerance on the relative error of every stage, fp16 mode.
    fp16: f32,
}

// Tolerances ≈ 10× the largest stage error measured (TensorFlow 2.21 CPU, 2026-11-30), which
// is given beside each as fp32 / fp16 mode.
const CASES: [Case; 8] = [
    Case { file: "conv8.graph", seed: 2000, fp32: 3.3e-6, fp16: 3.7e-3 }, // 3.27e-7 / 3.71e-4
    Case { file: "conv6.graph", seed: 2001, fp32: 1.9e-5, fp16: 1.3e-2 }, // 1.89e-6 / 1.31e-3
    Case { file: "conv_deconv.graph", seed: 2002, fp32: 3.7e-6, fp16: 8.0e-3 }, // 3.74e-7 / 7.96e-4
    Case { file: "conv_regression.graph", seed: 2003, fp32: 1.2e-4, fp16: 4.4e-3 }, // 1.24e-5 / 4.43e-4
    Case { file: "kwierman_fc.graph", seed: 2004, fp32: 7.6e-6, fp16: 2.7e-2 }, // 7.55e-7 / 2.73e-3
    Case { file: "ncs_test.graph", seed: 2005, fp32: 6.0e-6, fp16: 8.6e-3 }, // 6.00e-7 / 8.63e-4
    Case { file: "deeppicar.graph", seed: 2006, fp32: 6.4e-6, fp16: 1.2e-2 }, // 6.36e-7 / 1.21e-3
    Case { file: "op_zoo.graph", seed: 2007, fp32: 6.3e-6, fp16: 1.2e-2 }, // 6.29e-7 / 1.19e-3
];

fn graph_path(file: &str) -> PathBuf {
    match file {
        "op_zoo.graph" => common::own_graphs().join(file),
        _ => common::shared_graphs().join(file),
    }
}

/// Every step-th value, step coprime with the channel count (`sample` in the script).
fn sample(values: &[f32], channels: usize) -> Vec<f32> {
    if values.len() <= SAMPLE {
        return values.to_vec();
    }
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let mut step = values.len() / SAMPLE + 1;
    while gcd(step, channels) != 1 {
        step += 1;
    }
    values.iter().step_by(step).copied().collect()
}

/// (stage name, relative error) for every stage of one graph in one precision.
fn stage_errors(case: &Case, precision: Precision) -> Vec<(String, f32)> {
    let blob = Blob::read(&graph_path(case.file)).unwrap();
    let mut exec = Executor::new(&blob, precision).unwrap();
    let len: u32 = exec.input_shape().iter().product();
    let input = Weights::new(case.seed).uniform(len as usize, 1.0);
    let mut stages = Vec::new();
    exec.run_observed(&input, &mut |s| stages.push((s.name.to_owned(), sample(s.values, s.shape[2]))))
        .unwrap_or_else(|e| panic!("{}: {e}", case.file));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/graph_ref")
        .join(case.file.replace(".graph", ".npy"));
    let want = ncs::npy::read(&path).unwrap_or_else(|e| panic!("{e}")).values;
    let total: usize = stages.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(total, want.len(), "{}: sampled values vs {}", case.file, path.display());
    let mut at = 0;
    stages
        .into_iter()
        .map(|(name, got)| {
            let reference = &want[at..at + got.len()];
            at += got.len();
            let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = got.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(scale > 0.0, "{}: stage '{name}' is all zeros in TensorFlow", case.file);
            (name, diff / scale)
        })
        .collect()
}

#[test]
fn real_graphs_and_op_zoo_match_tensorflow_stage_by_stage() {
    let mut failures = Vec::new();
    for case in &CASES {
        for (precision, limit) in [(Precision::Fp32, case.fp32), (Precision::Fp16, case.fp16)] {
            let errors = stage_errors(case, precision);
            let (worst, err) = errors.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
            eprintln!(
                "{:22} {precision:?}: largest stage error {err:.2e} ('{worst}'), tolerance {limit:.1e}",
                case.file
            );
            if *err > limit {
                failures.push(format!("{} {precision:?}: stage '{worst}' error {err:.2e} > {limit:.1e}", case.file));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
