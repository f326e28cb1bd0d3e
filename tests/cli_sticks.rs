//! `ncs devices`, `ncs boot` and `ncs run --backend emulator|usb` from the command line.

mod common;

use common::ncs;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn devices_lists_software_sticks_and_handles_a_machine_without_usb() {
    let out = ncs(&["devices", "--emulate", "2", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sticks = v["sticks"].as_array().unwrap();
    assert_eq!(sticks.len(), 2);
    assert_eq!(sticks[1]["name"], "1-2");
    assert_eq!(sticks[1]["state"], "rom (needs firmware)");
    assert_eq!(sticks[1]["product_id"], "2150");

    // On the real bus: either sticks, or "no USB subsystem available" (CI) — exit 0 both ways.
    let out = ncs(&["devices"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    if std::path::Path::new("/dev/bus/usb").exists() {
        assert!(listing.contains("name") || listing.contains("no sticks found"), "{listing}");
    } else {
        assert!(listing.contains("no USB subsystem available"), "{listing}");
    }
    assert_eq!(ncs(&["devices", "--emulate", "1000"]).status.code(), Some(2));
}

#[test]
fn boot_and_run_on_the_software_stick_match_the_cpu() {
    let out = ncs(&["boot", "--emulate", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().filter(|l| l.contains("booted")).count(), 2);

    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    let dir = std::env::temp_dir().join(format!("ncs-cli-sticks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.jsonl");
    let run = |backend: &str, extra: &[&str]| {
        let mut args =
            vec!["run", graph.to_str().unwrap(), "--input", input.to_str().unwrap(), "--json", "--backend", backend];
        args.extend_from_slice(extra);
        let out = ncs(&args);
        assert!(out.status.success(), "{backend}: {}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let cpu = run("cpu", &[]);
    let stick = run("emulator", &["--trace-usb", trace.to_str().unwrap()]);
    assert_eq!(stick["backend"], "emulator");
    assert_eq!(cpu["output"], stick["output"], "the software stick computes what the CPU reference does");
    assert_eq!(stick["thermal_c"].as_array().unwrap().len(), 25);
    assert_eq!(stick["stages"].as_array().unwrap().len(), 6);
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    assert!(trace_text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    assert!(trace_text.contains("\"name\":\"blobFile\""));
}

#[test]
fn stick_backends_refuse_what_they_cannot_do() {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i) = (graph.to_str().unwrap(), input.to_str().unwrap());
    let out = ncs(&["run", g, "--input", i, "--backend", "emulator", "--precision", "fp32"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("fp16"));
    let out = ncs(&["run", g, "--input", i, "--backend", "emulator", "--dump-stages", "/tmp/x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ncs(&["boot", "--emulate", "1", "--firmware", "/nonexistent/MvNCAPI.mvcmd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/MvNCAPI.mvcmd"));
    let not_firmware = std::env::temp_dir().join(format!("ncs-not-fw-{}", std::process::id()));
    std::fs::write(&not_firmware, b"ELF not firmware").unwrap();
    let out = ncs(&["boot", "--emulate", "1", "--firmware", not_firmware.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("MA2x"), "{}", text(&out.stderr));
    if !std::path::Path::new("/dev/bus/usb").exists() {
        let out = ncs(&["run", g, "--input", i, "--backend", "usb"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("no USB subsystem available"));
    }
}
