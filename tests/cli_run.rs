//! `ncs run` as docs/cli.md specifies it, on bundled and real graphs.

mod common;

use std::path::Path;

use common::{ncs, stderr, temp_dir};

fn save(path: &Path, shape: &[usize], values: &[f32]) -> String {
    ncs::npy::write_f32(path, shape, values).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn runs_the_bundled_example_and_saves_the_output() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    let dir = temp_dir("bundled");
    let out_path = dir.join("out.npy");
    let out = ncs(&[
        "run",
        graph.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_path.to_str().unwrap(),
        "--top",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("output [1, 1, 10]") && text.contains("#1"), "{text}");
    let saved = ncs::npy::read(&out_path).unwrap();
    assert_eq!(saved.shape, vec![1, 1, 10]);
    let sum: f32 = saved.values.iter().sum();
    assert!((sum - 1.0).abs() < 1e-2, "softmax sums to {sum}");
    // The same values the library computes.
    let blob = ncs::blob::Blob::read(&graph).unwrap();
    let mut exec = ncs::reference::Executor::new(&blob, ncs::reference::Precision::Fp16).unwrap();
    let lib = exec.run(&ncs::npy::read(&input).unwrap().values).unwrap().output;
    assert_eq!(saved.values, lib);
}

#[test]
fn json_top_k_labels_and_stage_dumps() {
    let graph = common::shared_graphs().join("hsinm_mnist.graph");
    let dir = temp_dir("json");
    let digit = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits/w2.6_s0.00_7.npy");
    let labels = dir.join("labels.txt");
    std::fs::write(&labels, (0..10).map(|d| format!("digit {d}\n")).collect::<String>()).unwrap();
    let dumps = dir.join("stages");
    let out = ncs(&[
        "run",
        graph.to_str().unwrap(),
        "--input",
        digit.to_str().unwrap(),
        "--top",
        "2",
        "--labels",
        labels.to_str().unwrap(),
        "--json",
        "--dump-stages",
        dumps.to_str().unwrap(),
        "--precision",
        "fp32",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["output_shape"], serde_json::json!([1, 1, 10]));
    assert_eq!(v["top"][0]["index"], 7);
    assert_eq!(v["top"][0]["label"], "digit 7");
    assert_eq!(v["precision"], "fp32");
    assert_eq!(v["stages"].as_array().unwrap().len(), 9);
    let mut files: Vec<_> =
        std::fs::read_dir(&dumps).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files.len(), 9);
    assert_eq!(files[0], "000_conv2d_1_Relu.npy");
    assert_eq!(ncs::npy::read(&dumps.join(&files[0])).unwrap().shape, vec![26, 26, 16]);
    let last = ncs::npy::read(&dumps.join(&files[8])).unwrap();
    let output: Vec<f32> = v["output"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    assert_eq!(last.values, output, "the last dump is the network output");
}

#[test]
fn bad_inputs_exit_2_with_the_expected_shape() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let g = graph.to_str().unwrap();
    let dir = temp_dir("bad");
    let wrong = save(&dir.join("wrong.npy"), &[16, 15, 3], &[0.0; 16 * 15 * 3]);
    let out = ncs(&["run", g, "--input", &wrong]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("wrong.npy") && err.contains("[16, 15, 3]") && err.contains("[16, 16, 3]"), "{err}");

    // Accepted forms: [1,H,W,C] and flat.
    for (name, shape) in [("batched.npy", vec![1, 16, 16, 3]), ("flat.npy", vec![768])] {
        let p = save(&dir.join(name), &shape, &[0.5; 768]);
        assert!(ncs(&["run", g, "--input", &p]).status.success(), "{name}");
    }
    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, b"not numpy").unwrap();
    let out = ncs(&["run", g, "--input", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // Told apart by content: neither an image nor a .npy, whatever its name says.
    assert!(stderr(&out).contains("nor a .npy tensor"), "{}", stderr(&out));
    let image = dir.join("photo.jpg");
    std::fs::write(&image, b"\xff\xd8").unwrap();
    assert_eq!(ncs(&["run", g, "--input", image.to_str().unwrap()]).status.code(), Some(2));
    // A bad flag with an input that is itself fine, so only the flag's own check can fail it.
    let good = save(&dir.join("good.npy"), &[16, 16, 3], &[0.5; 768]);
    assert!(ncs(&["run", g, "--input", &good]).status.success());
    for (flag, value) in [("--backend", "tpu"), ("--precision", "int8")] {
        let out = ncs(&["run", g, "--input", &good, flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = stderr(&out);
        assert!(err.contains(flag) && err.contains(value), "{flag} {value}: {err}");
    }
    assert_eq!(ncs(&["run", g]).status.code(), Some(2));
}

#[test]
fn a_stage_the_reference_cannot_run_is_named() {
    // conv8's sigmoid turned into detection_output (41).
    let mut bytes = common::shared_graph("conv8.graph");
    bytes[264 + 2 * 227 + 100] = 41;
    let dir = temp_dir("unsupported");
    let graph = dir.join("detection.graph");
    std::fs::write(&graph, &bytes).unwrap();
    let input = save(&dir.join("in.npy"), &[64, 64, 3], &vec![0.0; 64 * 64 * 3]);
    let out = ncs(&["run", graph.to_str().unwrap(), "--input", &input]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("detection.graph: stage 2 'output'")
            && err.contains("detection_output")
            && err.contains("not supported"),
        "{err}"
    );
}

#[test]
fn precision_flag_selects_rounded_or_unrounded_storage() {
    let graph = common::own_graphs().join("op_zoo.graph");
    let dir = temp_dir("precision");
    let input = save(&dir.join("in.npy"), &[6, 6, 4], &ncs::graph::samples::Weights::new(4).uniform(144, 1.0));
    let mut outputs = Vec::new();
    for precision in ["fp16", "fp32"] {
        let path = dir.join(format!("{precision}.npy"));
        let out = ncs(&[
            "run",
            graph.to_str().unwrap(),
            "--input",
            &input,
            "--precision",
            precision,
            "--output",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        outputs.push(ncs::npy::read(&path).unwrap().values);
    }
    let fp16_exact = |v: &[f32]| v.iter().all(|&x| ncs::fp16::round_one(x) == x);
    assert!(fp16_exact(&outputs[0]), "--precision fp16 wrote values fp16 cannot hold");
    assert!(!fp16_exact(&outputs[1]), "--precision fp32 wrote only fp16 values: it rounded");
}

#[test]
fn labels_a_classes_heading_is_skipped_and_the_count_must_match() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i) = (graph.to_str().unwrap(), input.to_str().unwrap());
    let dir = temp_dir("labels");
    let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    // As NCSDK apps wrote label files: a `classes` heading, then one name per class.
    let headed = dir.join("headed.txt");
    std::fs::write(&headed, format!("classes\n{}\n", names.join("\n"))).unwrap();
    let out = ncs(&["run", g, "--input", i, "--top", "3", "--labels", headed.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for entry in v["top"].as_array().unwrap() {
        assert_eq!(entry["label"], names[entry["index"].as_u64().unwrap() as usize], "{entry}");
    }
    let out = ncs(&["run", g, "--input", i, "--top", "1", "--labels", headed.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let best = v["top"][0]["index"].as_u64().unwrap() as usize;
    let line = text.lines().find(|l| l.trim_start().starts_with("#1")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(&format!("class {best:>5}")) && line.ends_with(names[best]), "{line}");
    // Two names for ten classes, or a blank line shifting the rest: refused, naming the file.
    let short = dir.join("short.txt");
    std::fs::write(&short, "classes\nzero\none\n").unwrap();
    let out = ncs(&["run", g, "--input", i, "--top", "1", "--labels", short.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("short.txt: 2 labels after the `classes` heading for a network with 10 classes"), "{err}");
    let gap = dir.join("gap.txt");
    std::fs::write(&gap, format!("zero\n\n{}\n", names[1..].join("\n"))).unwrap();
    let out = ncs(&["run", g, "--input", i, "--top", "1", "--labels", gap.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gap.txt: line 2 is blank"), "{}", stderr(&out));
}
