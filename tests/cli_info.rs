//! `ncs info` as users and scripts call it (docs/cli.md): tables, JSON, and exit code 2 with a
//! message naming file, offset and stage on bad input.

mod common;

use std::path::Path;

use common::{ncs, stderr};

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = common::temp_dir("cli-info").join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn info_prints_every_real_and_bundled_graph() {
    let shared = common::shared_graphs();
    let own = common::own_graphs();
    let mut paths: Vec<_> = common::REAL_GRAPHS.iter().map(|g| shared.join(g.file)).collect();
    paths.extend(ncs::graph::samples::SAMPLES.iter().map(|s| own.join(s.file)));
    for path in paths {
        let out = ncs(&["info", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        let blob = ncs::blob::Blob::read(&path).unwrap();
        for stage in &blob.stages {
            assert!(text.contains(stage.name.text().as_ref()), "{}: missing stage {}", path.display(), stage.name);
        }
        assert!(text.contains("totals"), "{}", path.display());
    }
}

#[test]
fn info_json_carries_the_contract_fields() {
    let path = common::shared_graphs().join("mnist.graph");
    let out = ncs(&["info", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "TensorFlow Network");
    assert_eq!(v["version"], 2);
    assert_eq!(v["stage_count"], 7);
    assert_eq!(v["input_shape"], serde_json::json!([28, 28, 1]));
    assert_eq!(v["output_shape"], serde_json::json!([1, 1, 10]));
    // conv1 5x5x1x32 on 28x28, conv2 5x5x32x64 on 14x14, fc 3136x1024, fc 1024x10.
    let macs = 28 * 28 * 32 * 25 + 14 * 14 * 64 * 25 * 32 + 3136 * 1024 + 1024 * 10;
    assert_eq!(v["macs"], macs);
    let params = 25 * 32 + 32 + 25 * 32 * 64 + 64 + 3136 * 1024 + 1024 + 1024 * 10 + 10;
    assert_eq!(v["parameters"], params);
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 7);
    assert_eq!(stages[0]["op"], "convolution");
    assert_eq!(stages[0]["pad_style"], "tfsame");
    assert_eq!(stages[6]["output"]["location"], "output");
}

#[test]
fn malformed_graphs_exit_2_naming_file_offset_and_stage() {
    let good = common::shared_graph("conv8.graph");

    let truncated = temp_file("truncated.graph", &good[..5000]);
    let out = ncs(&["info", truncated.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("truncated.graph") && err.contains("byte 32") && err.contains("size field"), "{err}");

    // Stage 1's op byte: 264 + 227 + 100 = 591.
    let mut bad_op = good.clone();
    bad_op[591] = 200;
    let path = temp_file("bad_op.graph", &bad_op);
    let err = stderr(&ncs(&["info", path.to_str().unwrap()]));
    assert!(
        err.contains("byte 591") && err.contains("stage 1 'fully_connected/BiasAdd'") && err.contains("unknown op"),
        "{err}"
    );

    // Stage 0's taps pointer far past the data section.
    let mut bad_ptr = good.clone();
    bad_ptr[264 + 193..264 + 197].copy_from_slice(&100_000u32.to_le_bytes());
    let path = temp_file("bad_ptr.graph", &bad_ptr);
    let out = ncs(&["info", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("stage 0 'e1/Relu'") && err.contains("tapsPointer") && err.contains("blob data"), "{err}");

    let mut v2 = vec![0u8; 600];
    v2[..8].copy_from_slice(&[0, 0, 1, 0, 2, 0, 1, 0]);
    let path = temp_file("v2.graph", &v2);
    let err = stderr(&ncs(&["info", path.to_str().unwrap()]));
    assert!(
        err.contains("an NCSDK 2.x graph (blob format 3); ncs runs NCSDK 1.x graphs (blob format 2): recompile with `ncs compile` or NCSDK 1.x mvNCCompile"),
        "{err}"
    );
}

#[test]
fn missing_files_and_bad_usage_exit_2() {
    let out = ncs(&["info", "/nonexistent/graph"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/graph"));
    assert_eq!(ncs(&[]).status.code(), Some(2));
    assert_eq!(ncs(&["info"]).status.code(), Some(2));
    // An unknown flag beside a graph that is itself fine: only the flag can fail it.
    let graph = common::own_graphs().join("tiny_cnn.graph");
    assert!(ncs(&["info", graph.to_str().unwrap()]).status.success());
    let out = ncs(&["info", graph.to_str().unwrap(), "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--bogus"), "{}", stderr(&out));
    assert!(Path::new(env!("CARGO_BIN_EXE_ncs")).exists());
}
