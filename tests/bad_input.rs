//! Unusual and hostile input through the CLI as a user would give it: every case either works
//! (and gives the same answer as its plain form) or is exit 2 with a message naming the file and
//! what is wrong — never a panic, a hang or exit 0 on nonsense.
//!
//! Cases that fail today are `#[ignore]`d with the reason, for the owners of the code to fix.
//! Fixture images: `tests/data/gen_bad_input.py`.

mod common;

use common::{ncs, stderr, temp_dir};

use std::path::{Path, PathBuf};
use std::process::Output;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad_input").join(name)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts exit 2, no panic, and a message containing each of `needles`.
fn assert_refused(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(out.status.code(), Some(2), "expected exit 2; stderr: {err}");
    for needle in needles {
        assert!(err.contains(needle), "message lacks {needle:?}: {err}");
    }
}

/// A `.npy` file with a hand-written header (`version` 1, 2 or 3) and raw data bytes.
fn npy(path: &Path, version: u8, descr: &str, fortran: bool, shape: &[usize], raw: &[u8]) {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape_text}, }}",
        if fortran { "True" } else { "False" }
    );
    let prefix = if version == 1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.extend([version, 0]);
    if version == 1 {
        bytes.extend((header.len() as u16).to_le_bytes());
    } else {
        bytes.extend((header.len() as u32).to_le_bytes());
    }
    bytes.extend(header.as_bytes());
    bytes.extend(raw);
    std::fs::write(path, bytes).unwrap();
}

const TINY: &str = "tiny_cnn.graph";
const TINY_SHAPE: [usize; 3] = [16, 16, 3];

fn tiny_graph() -> String {
    path(&common::own_graphs().join(TINY)).to_owned()
}

/// Values exactly representable in fp16, so every encoding carries them unchanged.
fn tiny_values() -> Vec<f32> {
    let mut v = ncs::graph::samples::Weights::new(12).uniform(768, 1.0);
    ncs::fp16::round(&mut v);
    v
}

/// `ncs run --json` on the tiny graph: its output values.
fn run_output(input: &Path) -> Result<Vec<f64>, Output> {
    let out = ncs(&["run", &tiny_graph(), "--input", path(input), "--json"]);
    if !out.status.success() {
        return Err(out);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(v["output"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
}

#[test]
fn npy_float16_float64_and_v2_v3_headers_give_the_float32_answer() {
    let dir = temp_dir("npy-ok");
    let values = tiny_values();
    let plain = dir.join("f4.npy");
    npy(&plain, 1, "<f4", false, &TINY_SHAPE, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
    let want = run_output(&plain).unwrap_or_else(|o| panic!("{}", stderr(&o)));
    let f2: Vec<u8> = ncs::fp16::encode(&values);
    let f8: Vec<u8> = values.iter().flat_map(|&v| f64::from(v).to_le_bytes()).collect();
    let f4: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    for (name, version, descr, raw) in
        [("f2", 1, "<f2", &f2), ("f8", 1, "<f8", &f8), ("v2", 2, "<f4", &f4), ("v3", 3, "<f4", &f4)]
    {
        let file = dir.join(format!("{name}.npy"));
        npy(&file, version, descr, false, &TINY_SHAPE, raw);
        let got = run_output(&file).unwrap_or_else(|o| panic!("{name}: {}", stderr(&o)));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn npy_fortran_order_is_refused_or_transposed() {
    let dir = temp_dir("npy-fortran");
    let values = tiny_values();
    // The same array stored column-major: element [i][j][k] at k·(16·16) + j·16 + i.
    let mut fortran = Vec::new();
    for k in 0..3 {
        for j in 0..16 {
            for i in 0..16 {
                fortran.extend(values[(i * 16 + j) * 3 + k].to_le_bytes());
            }
        }
    }
    let file = dir.join("fortran.npy");
    npy(&file, 1, "<f4", true, &TINY_SHAPE, &fortran);
    match run_output(&file) {
        Ok(got) => {
            let plain = dir.join("c.npy");
            npy(&plain, 1, "<f4", false, &TINY_SHAPE, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
            assert_eq!(got, run_output(&plain).unwrap(), "a Fortran-order array was read in the wrong order");
        }
        Err(out) => assert_refused(&out, &["fortran.npy", "fortran"]),
    }
}

#[test]
fn npy_big_endian_is_refused_or_byte_swapped() {
    let dir = temp_dir("npy-be");
    let values = tiny_values();
    let file = dir.join("big.npy");
    npy(&file, 1, ">f4", false, &TINY_SHAPE, &values.iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<_>>());
    match run_output(&file) {
        Ok(got) => {
            let plain = dir.join("little.npy");
            npy(&plain, 1, "<f4", false, &TINY_SHAPE, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
            assert_eq!(got, run_output(&plain).unwrap(), "big-endian values were read as little-endian");
        }
        Err(out) => assert_refused(&out, &["big.npy", ">f4"]),
    }
}

/// Before: exit 0, with ReLU and max pooling absorbing the NaN on tiny_cnn so the output looked
/// normal, and 1e6 turned into Inf by the fp16 store.
#[test]
fn npy_nan_and_inf_values_are_refused() {
    let dir = temp_dir("npy-nan");
    for (name, bad) in [("nan", f32::NAN), ("inf", f32::INFINITY), ("big", 1e6)] {
        let mut values = tiny_values();
        values[100] = bad;
        let file = dir.join(format!("{name}.npy"));
        npy(&file, 1, "<f4", false, &TINY_SHAPE, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
        // 1e6 is finite in f32 but Inf once stored as fp16 on the stick.
        for backend in ["cpu", "emulator"] {
            let out = ncs(&["run", &tiny_graph(), "--input", path(&file), "--backend", backend]);
            assert_refused(&out, &[&format!("{name}.npy"), "index 100", "fp16"]);
        }
    }
}

#[test]
fn a_jpeg_header_claiming_60000x60000_is_refused_before_decoding() {
    let out = ncs(&["preprocess", path(&data("huge_header.jpg")), "--size", "8", "--output", "/dev/null"]);
    assert_refused(&out, &["huge_header.jpg", "60000x60000"]);
}

#[test]
fn one_and_two_pixel_images_go_through_every_crop() {
    let dir = temp_dir("tiny-images");
    for side in [1u32, 2] {
        let image = dir.join(format!("{side}.png"));
        image::RgbImage::from_fn(side, side, |x, y| image::Rgb([(x * 200) as u8, (y * 100) as u8, 77]))
            .save(&image)
            .unwrap();
        for scheme in ["slim-eval", "slim-train", "ncsdk", "plain"] {
            let output = dir.join(format!("{side}-{scheme}.npy"));
            let out = ncs(&["preprocess", path(&image), "--size", "5", "--scheme", scheme, "--output", path(&output)]);
            assert!(out.status.success(), "{side}x{side} {scheme}: {}", stderr(&out));
            let array = ncs::npy::read(&output).unwrap();
            assert_eq!(array.shape, vec![5, 5, 3], "{side}x{side} {scheme}");
            assert!(array.values.iter().all(|v| v.is_finite()), "{side}x{side} {scheme}: non-finite");
        }
    }
}

fn preprocess_plain(image: &Path, size: &str, output: &Path) -> Vec<f32> {
    let out = ncs(&["preprocess", path(image), "--size", size, "--scheme", "plain", "--output", path(output)]);
    assert!(out.status.success(), "{}: {}", image.display(), stderr(&out));
    ncs::npy::read(output).unwrap().values
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn exif_orientations_2_to_8_come_out_upright() {
    let dir = temp_dir("exif");
    // PNG (eXIf chunk): lossless, so exactly the upright picture.
    let upright = preprocess_plain(&data("upright.png"), "4", &dir.join("upright.npy"));
    for n in 1..=8 {
        let got = preprocess_plain(&data(&format!("orient_{n}.png")), "4", &dir.join(format!("png{n}.npy")));
        assert_eq!(got, upright, "PNG orientation {n}");
    }
    // JPEG (APP1 Exif), against orientation 1's file: each was compressed from its own stored
    // pixels; measured identical after orientation (0), a wrong one moves blocks (≥ 0.31).
    let reference = preprocess_plain(&data("orient_1.jpg"), "8", &dir.join("jpg1.npy"));
    for n in 2..=8 {
        let got = preprocess_plain(&data(&format!("orient_{n}.jpg")), "8", &dir.join(format!("jpg{n}.npy")));
        let err = max_difference(&got, &reference);
        assert!(err <= 0.02, "JPEG orientation {n}: max difference {err} from orientation 1");
    }
}

#[test]
fn cmyk_jpegs_decode_to_their_rgb_colours_or_are_refused() {
    let dir = temp_dir("cmyk");
    let out = ncs(&[
        "preprocess",
        path(&data("cmyk.jpg")),
        "--size",
        "8",
        "--scheme",
        "plain",
        "--output",
        path(&dir.join("cmyk.npy")),
    ]);
    if !out.status.success() {
        return assert_refused(&out, &["cmyk.jpg", "CMYK"]);
    }
    let got = ncs::npy::read(&dir.join("cmyk.npy")).unwrap().values;
    let want = preprocess_plain(&data("cmyk_rgb.png"), "8", &dir.join("rgb.npy"));
    let err = max_difference(&got, &want);
    assert!(err < 0.05, "CMYK JPEG decoded to other colours: max difference {err} on [0, 1]");
}

/// `ncs classify` of one black 28×28 image with `--truth` holding `text`.
fn classify_with_truth(name: &str, text: &str) -> Output {
    let dir = temp_dir(&format!("truth-{name}"));
    let graph = common::shared_graphs().join("hsinm_mnist.graph");
    let image = dir.join("digit.png");
    image::GrayImage::from_pixel(28, 28, image::Luma([0])).save(&image).unwrap();
    let labels = dir.join("labels.txt");
    std::fs::write(&labels, (0..10).map(|d| format!("{d}\n")).collect::<String>()).unwrap();
    let truth = dir.join(name);
    std::fs::write(&truth, text).unwrap();
    ncs(&[
        "classify",
        path(&graph),
        "--labels",
        path(&labels),
        "--preprocess",
        "plain",
        "--truth",
        path(&truth),
        path(&image),
    ])
}

#[test]
fn malformed_truth_csv_lines_are_refused_naming_the_file_and_line() {
    for (name, text) in [("no_comma.csv", "digit.png 7\n"), ("binary.csv", "\u{0}\u{1}\u{2}\n")] {
        assert_refused(&classify_with_truth(name, text), &[&format!("{name}: line 1")]);
    }
}

/// Before: exit 0 with no accuracy, the unknown label and the unlisted image silently ignored.
#[test]
fn truth_csv_with_unknown_labels_or_unlisted_images_is_refused() {
    let out = classify_with_truth("unknown_label.csv", "digit.png,seven-and-a-half\n");
    assert_refused(&out, &["unknown_label.csv: line 1", "seven-and-a-half"]);
    let out = classify_with_truth("unlisted_image.csv", "other.png,7\n");
    assert_refused(&out, &["unlisted_image.csv", "digit.png"]);
}

#[test]
fn unwritable_output_paths_are_refused_naming_the_path() {
    let graph = tiny_graph();
    let input = path(&common::own_graphs().join("tiny_cnn.input.npy")).to_owned();
    let nowhere = "/nonexistent-dir/x";
    let out = ncs(&["run", &graph, "--input", &input, "--output", nowhere]);
    assert_refused(&out, &[nowhere]);
    let out = ncs(&["profile", &graph, "-n", "1", "--html", nowhere]);
    assert_refused(&out, &[nowhere]);
    let out = ncs(&["run", &graph, "--input", &input, "--backend", "emulator", "--trace-usb", nowhere]);
    assert_refused(&out, &[nowhere]);
}

#[test]
fn top_zero_is_refused() {
    let input = path(&common::own_graphs().join("tiny_cnn.input.npy")).to_owned();
    let out = ncs(&["run", &tiny_graph(), "--input", &input, "--top", "0"]);
    assert_refused(&out, &["--top"]);
}

#[test]
fn mvnc_lib_that_is_not_a_library_or_lacks_symbols_is_refused() {
    let dir = temp_dir("mvnc-lib");
    let input = path(&common::own_graphs().join("tiny_cnn.input.npy")).to_owned();
    let text = dir.join("libmvnc.so");
    std::fs::write(&text, "not a shared library\n").unwrap();
    let out = ncs(&["run", &tiny_graph(), "--input", &input, "--backend", "sdk", "--mvnc-lib", path(&text)]);
    assert_refused(&out, &[path(&text)]);
    // A real shared library without the NCSDK symbols: the C library's maths library.
    let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("libm.so.6 not found");
    let out = ncs(&["run", &tiny_graph(), "--input", &input, "--backend", "sdk", "--mvnc-lib", libm]);
    assert_refused(&out, &[libm, "mvnc"]);
}
