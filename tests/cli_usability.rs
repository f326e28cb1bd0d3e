//! Issue 13, item by item: no silent wrong answers, one set of flags. Each test fails on the
//! binary before the issue was fixed.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{ncs, ncs_command, stderr, temp_dir};
use serde_json::Value;

fn graph(name: &str) -> String {
    common::shared_graphs().join(name).to_str().unwrap().to_owned()
}

fn photo() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/photos/coffee.jpg").to_str().unwrap().to_owned()
}

/// A digit (a `7`, 28×28) as an 8-bit PNG.
fn digit_png(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits/w2.6_s0.00_7.npy");
    let values = ncs::npy::read(&src).unwrap().values;
    let pixels: Vec<u8> = values.iter().map(|v| (v * 255.0).round() as u8).collect();
    let path = dir.join("seven.png");
    image::GrayImage::from_raw(28, 28, pixels).unwrap().save(&path).unwrap();
    path
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn refused(args: &[&str], says: &str) {
    let out = ncs(args);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be refused: {}", stderr(&out));
    assert!(stderr(&out).contains(says), "{args:?}: expected `{says}` in: {}", stderr(&out));
}

/// Item 2: the preprocessing is said (stderr and --json) and chosen from the network input.
#[test]
fn preprocessing_is_said_and_fits_the_network() {
    let dir = temp_dir("said");
    let seven = digit_png(&dir);
    let (g, i) = (graph("hsinm_mnist.graph"), seven.to_str().unwrap().to_owned());
    let out = ncs(&["run", &g, "--input", &i, "--top", "1", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["preprocess"]["scheme"], "plain", "a one-channel 28×28 input is not slim-eval's business");
    assert_eq!(v["preprocess"]["chosen"], "default");
    assert_eq!(v["preprocess"]["size"], serde_json::json!([28, 28]));
    assert_eq!(v["preprocess"]["value_range"], serde_json::json!([0.0, 1.0]));
    assert_eq!(v["top"][0]["index"], 7, "the digit is read as a 7");
    let note = stderr(&out);
    assert!(note.contains("preprocessing: plain to 28×28, values in [0, 1]") && note.contains("chosen"), "{note}");
    // Named by the user: said, not "chosen"; -q silences the note.
    let out = ncs(&["run", &g, "--input", &i, "--preprocess", "slim-eval"]);
    assert!(stderr(&out).contains("preprocessing: slim-eval") && !stderr(&out).contains("chosen"), "{}", stderr(&out));
    let out = ncs(&["-q", "run", &g, "--input", &i]);
    assert!(out.status.success() && stderr(&out).is_empty(), "{}", stderr(&out));
    // classify agrees with run, and says it once.
    let labels = dir.join("labels.txt");
    std::fs::write(&labels, "classes\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n").unwrap();
    let out = ncs(&["classify", &g, &i, "--labels", labels.to_str().unwrap(), "--json"]);
    let v = json_of(&out);
    assert_eq!(v["preprocess"]["scheme"], "plain");
    assert_eq!(v["images"][0]["top"][0]["index"], 7);
    assert_eq!(stderr(&out).matches("preprocessing:").count(), 1, "{}", stderr(&out));
}

/// Item 3: a non-square network takes an image at its own H×W, transposed as the TF toolkit
/// stored it; a contradicting --size is refused.
#[test]
fn non_square_networks_take_images_at_their_own_size() {
    let dir = temp_dir("nonsquare");
    let (g, p) = (graph("deeppicar.graph"), photo());
    let v = json_of(&ncs(&["run", &g, "--input", &p, "--json"]));
    assert_eq!(v["input_shape"], serde_json::json!([200, 66, 3]));
    assert_eq!(v["preprocess"]["size"], serde_json::json!([66, 200]), "H×W of the image");
    assert_eq!(v["preprocess"]["transposed"], true);
    // The tensor is the 66×200 image with rows and columns swapped (blob_format.md §8 quirk 1).
    let (net, plain) = (dir.join("net.npy"), dir.join("plain.npy"));
    let out = ncs(&["preprocess", &p, "--graph", &g, "--output", net.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out =
        ncs(&["preprocess", &p, "--size", "66,200", "--preprocess", "plain", "--output", plain.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (net, plain) = (ncs::npy::read(&net).unwrap(), ncs::npy::read(&plain).unwrap());
    assert_eq!(net.shape, vec![200, 66, 3]);
    assert_eq!(plain.shape, vec![66, 200, 3]);
    for (y, x, c) in [(0, 0, 0), (5, 17, 1), (65, 199, 2), (40, 3, 0)] {
        assert_eq!(net.values[(x * 66 + y) * 3 + c], plain.values[(y * 200 + x) * 3 + c], "pixel ({y}, {x}, {c})");
    }
    // The same numbers reach the network either way.
    let via_npy = json_of(&ncs(&["run", &g, "--input", dir.join("net.npy").to_str().unwrap(), "--json"]));
    assert_eq!(via_npy["output"], v["output"]);
    refused(&["run", &g, "--input", &p, "--size", "200,66"], "the network takes 66×200 images");
    refused(&["run", &g, "--input", &p, "--size", "64"], "66×200");
}

/// Item 4: a closed stdout ends the output quietly.
#[test]
fn a_closed_pipe_is_not_a_panic() {
    let g = common::own_graphs().join("tiny_cnn.graph");
    let i = common::own_graphs().join("tiny_cnn.input.npy");
    for args in [
        vec!["run", g.to_str().unwrap(), "--input", i.to_str().unwrap(), "--json"],
        vec!["info", g.to_str().unwrap()],
        vec!["completions", "bash"],
    ] {
        let mut child = ncs_command(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start ncs");
        drop(child.stdout.take());
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// Item 5: a large output says how many values it has and how to see them.
#[test]
fn large_outputs_point_to_top_and_output() {
    let dir = temp_dir("large");
    let input = dir.join("in.npy");
    ncs::npy::write_f32(&input, &[128, 128, 3], &vec![0.25; 128 * 128 * 3]).unwrap();
    let out = ncs(&["run", &graph("conv_deconv.graph"), "--input", input.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("274,625 values not shown") && text.contains("--top") && text.contains("--output"), "{text}");
}

/// Item 6: --emulate on every backend command; alone it means the emulator, with another
/// backend or 0 it is refused.
#[test]
fn emulate_is_one_flag_everywhere() {
    let g = common::own_graphs().join("tiny_cnn.graph");
    let i = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i) = (g.to_str().unwrap(), i.to_str().unwrap());
    let v = json_of(&ncs(&["run", g, "--input", i, "--backend", "emulator", "--emulate", "2", "--json"]));
    assert_eq!(v["backend"], "emulator");
    let v = json_of(&ncs(&["run", g, "--input", i, "--emulate", "2", "--json"]));
    assert_eq!(v["backend"], "emulator");
    assert_eq!(v["simulated"], true, "software-stick temperatures are labelled simulated");
    let v = json_of(&ncs(&["bench", g, "-n", "3", "--warmup", "0", "--emulate", "2", "--json"]));
    assert_eq!(v["backend"], "emulator");
    let v = json_of(&ncs(&["verify", g, "--input", i, "--emulate", "1", "--json"]));
    assert_eq!(v["backend"], "emulator");
    for command in [vec!["run", g, "--input", i], vec!["bench", g, "-n", "1"], vec!["profile", g, "-n", "1"]] {
        let mut with_cpu = command.clone();
        with_cpu.extend(["--backend", "cpu", "--emulate", "2"]);
        refused(&with_cpu, "--backend cpu does not use them");
        let mut zero = command.clone();
        zero.extend(["--emulate", "0"]);
        refused(&zero, "--emulate 0");
    }
    refused(&["devices", "--emulate", "0"], "--emulate 0");
}

/// Item 9: options that make no sense together are refused with a reason; --output is checked
/// before the inference.
#[test]
fn nonsense_combinations_are_refused() {
    let g = common::own_graphs().join("tiny_cnn.graph");
    let i = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i, p) = (g.to_str().unwrap(), i.to_str().unwrap(), photo());
    refused(
        &["run", g, "--input", &p, "--preprocess", "plain", "--fast-mode"],
        "--fast-mode applies to --preprocess slim-train",
    );
    refused(&["run", g, "--input", &p, "--seed", "3"], "--seed applies to --preprocess slim-train");
    refused(&["run", g, "--input", i, "--preprocess", "plain"], "--preprocess applies to image inputs");
    refused(&["run", g, "--input", i, "--size", "64"], "--size applies to image inputs");
    refused(&["run", g, "--input", i, "--labels", i, "--output", "/tmp/x.npy"], "--labels names the --top K");
    refused(&["run", g, "--input", i, "--emulate", "0"], "--emulate 0");
    let out = ncs(&["run", g, "--input", i, "--output", "/nonexistent-dir/out.npy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent-dir/out.npy") && out.stdout.is_empty(), "{}", stderr(&out));
    let dir = temp_dir("refused");
    refused(&["run", g, "--input", i, "--output", dir.to_str().unwrap()], "is a folder");
    refused(&["preprocess", &p, "--size", "8", "--fast-mode", "--output", "/tmp/x.npy"], "--fast-mode applies");
    // --top K takes 1 or more, the same way wherever it is taken (clap refuses it before any work).
    refused(
        &["run", g, "--input", i, "--top", "0"],
        "invalid value '0' for '--top <K>': expected a whole number of 1 or more",
    );
    refused(
        &["classify", g, &p, "--labels", i, "--top", "0"],
        "invalid value '0' for '--top <K>': expected a whole number of 1 or more",
    );
}

/// Item 8: the input's type by its content; raw tensors; [H,W] for one channel; NCHW named.
#[test]
fn inputs_are_read_by_content() {
    let dir = temp_dir("content");
    let g = graph("hsinm_mnist.graph");
    let digit = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits/w2.6_s0.00_7.npy");
    let reference = json_of(&ncs(&["run", &g, "--input", digit.to_str().unwrap(), "--json"]));
    let values = ncs::npy::read(&digit).unwrap().values;
    // A .npy named x.bin.
    let bin = dir.join("x.bin");
    std::fs::copy(&digit, &bin).unwrap();
    let v = json_of(&ncs(&["run", &g, "--input", bin.to_str().unwrap(), "--json"]));
    assert_eq!(v["output"], reference["output"]);
    // Raw f32 and f16 values, shaped by the graph.
    let raw32 = dir.join("x.f32");
    std::fs::write(&raw32, values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let v = json_of(&ncs(&["run", &g, "--input", raw32.to_str().unwrap(), "--input-format", "f32", "--json"]));
    assert_eq!(v["output"], reference["output"]);
    let raw16 = dir.join("x.f16");
    std::fs::write(&raw16, ncs::fp16::encode(&values)).unwrap();
    let v = json_of(&ncs(&["run", &g, "--input", raw16.to_str().unwrap(), "--input-format", "f16", "--json"]));
    assert_eq!(v["output"], reference["output"], "fp16 inputs are what the fp16 reference rounds to anyway");
    refused(&["run", &g, "--input", raw16.to_str().unwrap(), "--input-format", "f32"], "1568 bytes");
    // Neither image nor .npy: both are named, and the raw option.
    refused(&["run", &g, "--input", raw16.to_str().unwrap()], "neither an image");
    refused(&["run", &g, "--input", raw16.to_str().unwrap()], "--input-format");
    // [H, W] for a one-channel network.
    let hw = dir.join("hw.npy");
    ncs::npy::write_f32(&hw, &[28, 28], &values).unwrap();
    let v = json_of(&ncs(&["run", &g, "--input", hw.to_str().unwrap(), "--json"]));
    assert_eq!(v["output"], reference["output"]);
    // NCHW is named as such.
    let nchw = dir.join("nchw.npy");
    ncs::npy::write_f32(&nchw, &[1, 3, 64, 64], &vec![0.0; 3 * 64 * 64]).unwrap();
    refused(&["run", &graph("conv8.graph"), "--input", nchw.to_str().unwrap()], "NCHW");
}

/// Item 7: one spelling and one default per option across commands.
#[test]
fn flags_are_consistent_across_commands() {
    let dir = temp_dir("flags");
    let g = common::own_graphs().join("tiny_cnn.graph");
    let i = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i, p) = (g.to_str().unwrap(), i.to_str().unwrap(), photo());
    let out_path = dir.join("p.npy");
    let o = out_path.to_str().unwrap();
    // preprocess: --preprocess (with --scheme kept), --size H,W, --json, --graph for the network's defaults.
    let v = json_of(&ncs(&["preprocess", &p, "--preprocess", "ncsdk", "--size", "20,30", "--output", o, "--json"]));
    assert_eq!(v["shape"], serde_json::json!([20, 30, 3]));
    assert_eq!(v["preprocess"]["scheme"], "ncsdk");
    let v = json_of(&ncs(&["preprocess", &p, "--scheme", "plain", "--size", "8", "--output", o, "--json"]));
    assert_eq!(v["preprocess"]["scheme"], "plain");
    let v = json_of(&ncs(&["preprocess", &p, "--graph", g, "--output", o, "--json"]));
    assert_eq!(v["shape"], serde_json::json!([16, 16, 3]));
    refused(&["preprocess", &p, "--output", o], "--size");
    // verify defaults to the CPU like every other command; --precision where the CPU runs.
    let v = json_of(&ncs(&["verify", g, "--input", i, "--json"]));
    assert_eq!(v["backend"], "cpu");
    let labels = dir.join("labels.txt");
    std::fs::write(&labels, (0..10).map(|d| format!("class {d}\n")).collect::<String>()).unwrap();
    json_of(&ncs(&["classify", g, &p, "--labels", labels.to_str().unwrap(), "--precision", "fp32", "--json"]));
    json_of(&ncs(&["profile", g, "-n", "1", "--precision", "fp32", "--json"]));
    // --json on boot; --trace-usb only where USB can happen.
    let v = json_of(&ncs(&["boot", "--emulate", "2", "--json"]));
    assert!(v["booted"].is_array());
    let out = ncs(&["info", g, "--trace-usb", o]);
    assert_eq!(out.status.code(), Some(2), "info moves no USB transfers: {}", stderr(&out));
}

/// Item 10: the same keys for the same things.
#[test]
fn json_keys_are_consistent() {
    let g = common::own_graphs().join("tiny_cnn.graph");
    let i = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i) = (g.to_str().unwrap(), i.to_str().unwrap());
    let v = json_of(&ncs(&["run", g, "--input", i, "--top", "2", "--json"]));
    let top = &v["top"][0];
    assert!(top["score"].is_f64() && top["index"].is_u64(), "{top}");
    assert_eq!(v["stages"][0]["name"], "conv1/Relu");
    let v = json_of(&ncs(&["info", g, "--json"]));
    assert_eq!(v["graph"], g);
}

/// Also: logging that shows, --version with features, completions.
#[test]
fn logging_version_and_completions() {
    let out = ncs(&["-v", "boot", "--emulate", "1"]);
    assert!(out.status.success() && stderr(&out).contains("INFO"), "{}", stderr(&out));
    let out = ncs_command(&["boot", "--emulate", "1"]).env("RUST_LOG", "info").output().unwrap();
    assert!(stderr(&out).contains("INFO"), "RUST_LOG is honoured: {}", stderr(&out));
    let out = ncs(&["boot", "--emulate", "1"]);
    assert!(!stderr(&out).contains("INFO"), "quiet by default: {}", stderr(&out));
    let out = ncs(&["--version"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("ncs {}", env!("CARGO_PKG_VERSION"))), "{text}");
    // Exactly the features this build has (`default` is a set, not a feature).
    let features = if cfg!(feature = "serve") { "cli, serve" } else { "cli" };
    assert!(text.contains(&format!("(features: {features};")), "{text}");
    let out = ncs(&["completions", "bash"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("_ncs") && text.contains("--preprocess"), "{text}");
}

/// Item 12: no library found — one message, each place once, pointing at our drop-in and at
/// software sticks.
#[test]
fn a_missing_libmvnc_says_where_it_looked_and_what_to_do() {
    let g = common::own_graphs().join("tiny_cnn.graph");
    let i = common::own_graphs().join("tiny_cnn.input.npy");
    let lib = "/nonexistent-ncs-dir/libmvnc.so";
    let out = ncs_command(&[
        "run",
        g.to_str().unwrap(),
        "--input",
        i.to_str().unwrap(),
        "--backend",
        "sdk",
        "--mvnc-lib",
        lib,
    ])
    .env_remove("NCS_MVNC_LIB")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.matches(lib).count(), 1, "each place once: {err}");
    assert!(err.contains("target/release/libmvnc.so") && err.contains("NCS_EMULATE"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
