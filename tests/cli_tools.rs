//! `ncs classify` and `ncs bench` on the CPU and the software stick.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::ncs;

/// The 60 pen-stroke digits as 8-bit PNGs in folders named by digit, and a labels file.
fn digit_folder() -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("ncs-classify-{}", std::process::id()));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/digits");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let digit = stem.rsplit('_').next().unwrap().to_owned();
        let values = ncs::npy::read(&path).unwrap().values;
        let pixels: Vec<u8> = values.iter().map(|v| (v * 255.0).round() as u8).collect();
        let dir = root.join("digits").join(&digit);
        std::fs::create_dir_all(&dir).unwrap();
        image::GrayImage::from_raw(28, 28, pixels).unwrap().save(dir.join(format!("{stem}.png"))).unwrap();
    }
    // With NCSDK's `classes` heading: read as a class, it would make 11 labels for 10 classes.
    let labels = root.join("labels.txt");
    std::fs::write(&labels, "classes\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n").unwrap();
    (root.join("digits"), labels)
}

#[test]
fn classify_reads_a_folder_of_digits_with_accuracy_from_folder_names() {
    let (folder, labels) = digit_folder();
    let graph = common::shared_graphs().join("hsinm_mnist.graph");
    for backend in ["cpu", "emulator"] {
        let out = ncs(&[
            "classify",
            graph.to_str().unwrap(),
            folder.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
            "--preprocess",
            "plain",
            "--backend",
            backend,
            "--json",
        ]);
        assert!(out.status.success(), "{backend}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let summary = &v["summary"];
        assert_eq!(summary["count"], 60);
        assert_eq!(summary["evaluated"], 60);
        let accuracy = summary["accuracy"].as_f64().unwrap();
        assert!(accuracy >= 0.95, "{backend}: accuracy {accuracy}");
        assert_eq!(v["images"][0]["top"].as_array().unwrap().len(), 3);
    }
    // A CSV truth file instead of folder names; plain text output.
    let one = folder.join("7").read_dir().unwrap().next().unwrap().unwrap().path();
    let csv = folder.parent().unwrap().join("truth.csv");
    std::fs::write(&csv, format!("{},7\n", one.display())).unwrap();
    let out = ncs(&[
        "classify",
        graph.to_str().unwrap(),
        one.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--preprocess",
        "plain",
        "--truth",
        csv.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("accuracy 100.00 % (1/1"), "{text}");
    // Wrong label count (with or without the `classes` heading), missing images: exit 2.
    let short = folder.parent().unwrap().join("short.txt");
    for (text, count) in [("a\nb\n", "2 labels for"), ("classes\na\nb\n", "2 labels after the `classes` heading for")] {
        std::fs::write(&short, text).unwrap();
        let out =
            ncs(&["classify", graph.to_str().unwrap(), one.to_str().unwrap(), "--labels", short.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("short.txt: {count} a network with 10 classes")), "{err}");
    }
    assert_eq!(
        ncs(&["classify", graph.to_str().unwrap(), "/nonexistent", "--labels", labels.to_str().unwrap()]).status.code(),
        Some(2)
    );
}

#[test]
fn bench_reports_the_contract_fields() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    for backend in ["cpu", "emulator"] {
        let out = ncs(&["bench", graph.to_str().unwrap(), "--backend", backend, "-n", "50", "--warmup", "2", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let l = &v["latency_ms"];
        let get = |k: &str| l[k].as_f64().unwrap();
        assert!(
            get("min") <= get("median")
                && get("median") <= get("p90")
                && get("p90") <= get("p99")
                && get("p99") <= get("max")
        );
        assert!(v["throughput_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(v["iterations"], 50);
        assert_eq!(v["backend"], backend);
        let stages = v["stages"].as_array().unwrap();
        assert_eq!(stages.len(), 6);
        assert_eq!(stages[0]["name"], "conv1/Relu");
        assert!(stages.iter().all(|s| s["ms"].as_f64().unwrap() >= 0.0 && s["index"].is_u64()));
    }
    let out = ncs(&[
        "bench",
        graph.to_str().unwrap(),
        "--backend",
        "emulator",
        "-n",
        "20",
        "--devices",
        "all",
        "--emulate",
        "3",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sticks"]["count"], 3);
    assert_eq!(ncs(&["bench", graph.to_str().unwrap(), "-n", "0"]).status.code(), Some(2));
    assert_eq!(ncs(&["bench", graph.to_str().unwrap(), "--devices", "all"]).status.code(), Some(2));
}

#[test]
fn profile_prints_a_table_and_writes_a_self_contained_report() {
    let graph = common::own_graphs().join("inception_block.graph");
    let html = std::env::temp_dir().join(format!("ncs-profile-{}.html", std::process::id()));
    let out = ncs(&[
        "profile",
        graph.to_str().unwrap(),
        "--backend",
        "emulator",
        "-n",
        "3",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Branch_2/Conv2d_0b_5x5/Relu") && text.contains("GFLOP/s"), "{text}");
    let report = std::fs::read_to_string(&html).unwrap();
    assert!(
        report.starts_with("<!DOCTYPE html>") && report.contains("<svg") && report.contains("Mixed/Conv2d_1x1/Relu")
    );
    // Self-contained: no scripts, stylesheets, images or links to fetch.
    for forbidden in ["<script", "<link", "<img", "src=", "href=", "url("] {
        assert!(!report.contains(forbidden), "report contains {forbidden}");
    }
    let json = ncs(&["profile", graph.to_str().unwrap(), "-n", "2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 8);
    let share: f64 = stages.iter().map(|s| s["share_pct"].as_f64().unwrap()).sum();
    assert!((share - 100.0).abs() < 1e-6, "shares add up to {share}");
    assert_eq!(stages[4]["macs"], 9 * 9 * 4 * 25 * 2);
    assert_eq!(ncs(&["profile", graph.to_str().unwrap(), "-n", "0"]).status.code(), Some(2));
}

/// The documented browser check: the report renders in headless Chromium.
#[test]
#[ignore = "needs chromium (apt-get install chromium): cargo test --test cli_tools -- --ignored"]
fn profile_report_renders_in_headless_chromium() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let dir = std::env::temp_dir().join(format!("ncs-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (html, png) = (dir.join("report.html"), dir.join("report.png"));
    assert!(ncs(&["profile", graph.to_str().unwrap(), "--html", html.to_str().unwrap()]).status.success());
    let shot = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1000,700",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium is installed");
    assert!(shot.status.success(), "{}", String::from_utf8_lossy(&shot.stderr));
    let decoded = image::open(&png).expect("a PNG screenshot").to_rgb8();
    assert_eq!((decoded.width(), decoded.height()), (1000, 700));
    // Something was drawn: the bars' blue appears.
    assert!(decoded.pixels().any(|p| p[2] > 150 && p[0] < 120), "no bars rendered");
}
