//! Every real graph runs on the CPU reference; the two trained MNIST graphs read digits.

mod common;

use ncs::blob::Blob;
use ncs::reference::{Executor, Precision};

#[test]
fn every_real_graph_runs_in_both_precisions() {
    for g in common::REAL_GRAPHS {
        let blob = Blob::read(&common::shared_graphs().join(g.file)).unwrap();
        for precision in [Precision::Fp16, Precision::Fp32] {
            let mut exec = Executor::new(&blob, precision).unwrap_or_else(|e| panic!("{}: {e}", g.file));
            let len: u32 = exec.input_shape().iter().product();
            let input = ncs::graph::samples::Weights::new(5).uniform(len as usize, 1.0);
            let out = exec.run(&input).unwrap_or_else(|e| panic!("{}: {e}", g.file));
            let expected: u32 = g.output.iter().product();
            assert_eq!(out.output.len(), expected as usize, "{}", g.file);
            assert!(out.output.iter().all(|v| v.is_finite()), "{}: non-finite output", g.file);
        }
    }
}

/// (file, correct) over the 60 committed pen-stroke digits.
fn read_digits(graph: &str) -> (usize, usize, Vec<String>) {
    let blob = Blob::read(&common::shared_graphs().join(graph)).unwrap();
    let mut exec = Executor::new(&blob, Precision::Fp16).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut correct, mut misses) = (0, Vec::new());
    for path in &files {
        let digit: usize = path.file_stem().unwrap().to_str().unwrap().rsplit('_').next().unwrap().parse().unwrap();
        let out = exec.run(&ncs::npy::read(path).unwrap().values).unwrap().output;
        let best = (0..10).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
        if best == digit {
            correct += 1;
        } else {
            misses.push(format!("{} read as {best}", path.file_name().unwrap().to_string_lossy()));
        }
    }
    (correct, files.len(), misses)
}

#[test]
fn trained_mnist_graphs_read_pen_stroke_digits() {
    let (correct, total, misses) = read_digits("hsinm_mnist.graph");
    assert_eq!(total, 60);
    assert_eq!(correct, total, "hsinm_mnist.graph misread: {misses:?}");
    // mnist.graph is weaker on these (a slanted 6 is its usual miss); TensorFlow running the
    // blob's own weights gives the same answers (checked when the digits were made).
    let (correct, total, misses) = read_digits("mnist.graph");
    assert!(correct * 10 >= total * 9, "mnist.graph read {correct}/{total}: {misses:?}");
    eprintln!("mnist.graph: {correct}/{total}; misses {misses:?}");
}

/// True when `v` is exactly an fp16 value.
fn is_fp16(v: f32) -> bool {
    ncs::fp16::round_one(v) == v
}

#[test]
fn fp16_mode_rounds_every_stored_stage_output_and_fp32_mode_does_not() {
    for file in ["conv_deconv.graph", "ncs_test.graph", "deeppicar.graph"] {
        let blob = Blob::read(&common::shared_graphs().join(file)).unwrap();
        let mut outputs = Vec::new();
        for precision in [Precision::Fp16, Precision::Fp32] {
            let mut exec = Executor::new(&blob, precision).unwrap();
            assert_eq!(exec.precision(), precision);
            let len: u32 = exec.input_shape().iter().product();
            let input = ncs::graph::samples::Weights::new(9).uniform(len as usize, 1.0);
            let mut unrounded_stages = 0;
            let out = exec
                .run_observed(&input, &mut |s| {
                    let exact = s.values.iter().all(|&v| is_fp16(v));
                    if precision == Precision::Fp16 {
                        assert!(exact, "{file}: stage {} '{}' stored a value that is not fp16", s.index, s.name);
                    }
                    unrounded_stages += usize::from(!exact);
                })
                .unwrap();
            if precision == Precision::Fp32 {
                // Every stage of these graphs has some value that fp16 cannot hold exactly.
                assert_eq!(unrounded_stages, blob.stages.len(), "{file}: fp32 mode stored fp16-exact values");
            }
            outputs.push(out.output);
        }
        assert_ne!(outputs[0], outputs[1], "{file}: fp16 and fp32 modes gave identical outputs");
    }
}
