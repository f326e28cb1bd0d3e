//! Defects a new user met walking through README in order (issue 13): options a backend would
//! ignore are refused, software sticks refuse what the CPU refuses, `ncs boot` names sticks
//! where they are now, label headings in any spelling, the install script's usage errors, the
//! precision spelled as its flag, and unwritable paths named by the flag they came from.

#[path = "common/cdylib.rs"]
mod cdylib;
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{ncs, stderr, temp_dir};

fn tiny() -> (String, String) {
    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    (graph.to_str().unwrap().to_owned(), input.to_str().unwrap().to_owned())
}

/// Runs `ncs run` on the bundled graph with `extra` options; (exit code, stdout, stderr).
fn run(extra: &[&str]) -> (Option<i32>, String, String) {
    let (g, i) = tiny();
    let mut args = vec!["run", g.as_str(), "--input", i.as_str(), "--top", "1"];
    args.extend_from_slice(extra);
    let out = ncs(&args);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), stderr(&out))
}

#[test]
fn stick_options_on_the_cpu_are_refused_with_a_reason() {
    let dir = temp_dir("walk-stick-options");
    let trace = dir.join("t.jsonl");
    let t = trace.to_str().unwrap();
    let (code, _, err) = run(&["--trace-usb", t]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--trace-usb") && err.contains("--backend cpu") && err.contains("no USB happens"), "{err}");
    assert!(!trace.exists(), "a refused run must not leave an empty trace file");

    let (code, _, err) = run(&["--firmware", "/nonexist"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--firmware /nonexist: --backend cpu does not use it"), "{err}");
    let (code, _, err) = run(&["--mvnc-lib", "/nonexist"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--mvnc-lib /nonexist: --backend cpu does not load an NCSDK library"), "{err}");
    let (code, _, err) = run(&["--backend", "emulator", "--mvnc-lib", "/nonexist"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--backend emulator does not load an NCSDK library"), "{err}");
    let (code, _, err) = run(&["--backend", "sdk", "--firmware", "/nonexist"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--backend sdk does not use it"), "{err}");

    // Where they apply they are taken: the emulator records its transfers.
    let (code, _, err) = run(&["--emulate", "1", "--trace-usb", t]);
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::read_to_string(&trace).unwrap().lines().count() > 10, "the trace has the boot and inference");
    // $NCS_TRACE_USB set for the whole shell is not a request of a CPU run: no error, no file.
    let ambient = dir.join("ambient.jsonl");
    let (g, i) = tiny();
    let out = Command::new(env!("CARGO_BIN_EXE_ncs"))
        .args(["run", &g, "--input", &i, "--top", "1", "--backend", "cpu"])
        .env("NCS_TRACE_USB", &ambient)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!ambient.exists(), "an ambient NCS_TRACE_USB made an empty file on the CPU");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_software_stick_refuses_what_the_cpu_refuses_under_max_macs() {
    let (code, _, cpu) = run(&["--max-macs", "10"]);
    assert_eq!(code, Some(2), "{cpu}");
    assert!(cpu.contains("past the limit of 10 per inference"), "{cpu}");
    let (code, out, stick) = run(&["--max-macs", "10", "--emulate", "1"]);
    assert_ne!(code, Some(0), "the software stick ran a graph the CPU refuses: {out}");
    assert!(stick.contains("firmware error") && stick.contains("multiply-adds: 55296 here"), "{stick}");
    // Under a limit it fits, it runs as before.
    let (code, _, err) = run(&["--max-macs", "1000000", "--emulate", "1"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn boot_names_the_stick_where_it_came_back() {
    let out = ncs(&["boot", "--emulate", "1", "--emulate-profile", "usb3", "-v"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    // Where the firmware re-enumerated, as the log says, is the name printed.
    let at = err
        .split("re-enumerated at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no re-enumeration logged: {err}"));
    assert_ne!(at, "1-1", "a usb3 stick comes back on another bus");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("{at}: booted with ")) && text.contains("(was 1-1 in its ROM)"), "{text}");

    let out = ncs(&["boot", "--emulate", "2", "--emulate-profile", "usb3", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let booted = v["booted"].as_array().unwrap();
    assert_eq!(booted.len(), 2);
    for (stick, was) in booted.iter().zip(["1-1", "1-2"]) {
        assert_eq!(stick["was"], was, "{stick}");
        assert!(stick["name"].as_str().unwrap().starts_with("2-"), "booted on the USB 3 bus: {stick}");
    }
    // On a USB 2 port the stick comes back where it was; the line says nothing more.
    let out = ncs(&["boot", "--emulate", "1", "--emulate-profile", "usb2", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["booted"][0]["name"], v["booted"][0]["was"], "{v}");
}

#[test]
fn label_headings_in_any_case_and_after_a_byte_order_mark() {
    let dir = temp_dir("walk-labels");
    let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    let (code, best, err) = run(&["--json"]);
    assert_eq!(code, Some(0), "{err}");
    let best = serde_json::from_str::<serde_json::Value>(&best).unwrap()["top"][0]["index"].as_u64().unwrap();
    for (file, heading) in [("upper.txt", "Classes\n"), ("bom.txt", "\u{feff}classes\r\n")] {
        let path = dir.join(file);
        std::fs::write(&path, format!("{heading}{}\n", names.join("\n"))).unwrap();
        let (code, out, err) = run(&["--labels", path.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{file}: {err}");
        let line = out.lines().find(|l| l.trim_start().starts_with("#1")).unwrap_or_else(|| panic!("{out}"));
        assert!(line.ends_with(names[best as usize]), "{file}: labels shifted: {line}");
    }
    let extra = dir.join("extra.txt");
    std::fs::write(&extra, format!("Labels:\n{}\n", names.join("\n"))).unwrap();
    let (code, _, err) = run(&["--labels", extra.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("11 labels for a network with 10 classes; one too many"), "{err}");
    assert!(err.contains("first line `Labels:`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn install_script_usage_errors() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/install-libmvnc.sh");
    let cases: [&[&str]; 5] =
        [&["--prefix"], &["--firmware"], &["--lib"], &["--prefix", ""], &["--lib", "x.so", "--bogus"]];
    for args in cases {
        let out = Command::new("sh").arg(&script).args(args).output().expect("run sh");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let why = if args.contains(&"--bogus") {
            "unknown option --bogus".to_owned()
        } else {
            format!("{} needs a value", args[0])
        };
        assert!(err.contains(&format!("install-libmvnc: {why}")), "{args:?}: {err}");
        assert!(err.contains("usage: scripts/install-libmvnc.sh [--prefix DIR]"), "{args:?}: {err}");
        assert!(!err.contains("parameter not set"), "{args:?}: {err}");
    }
}

#[test]
fn software_stick_figures_through_the_sdk_backend_are_labelled_simulated() {
    let lib = cdylib::build("ncs-libmvnc", "libmvnc.so");
    let (g, i) = tiny();
    let sdk = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend_from_slice(&["--backend", "sdk", "--mvnc-lib", lib.to_str().unwrap()]);
        let out = common::ncs_command(&args).env("NCS_EMULATE", "2").output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let v: serde_json::Value = serde_json::from_str(&sdk(&["run", &g, "--input", &i, "--json"])).unwrap();
    assert_eq!(v["simulated"], true, "{v}");
    let text = sdk(&["run", &g, "--input", &i]);
    assert!(text.contains("(simulated: software stick)"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&sdk(&["bench", &g, "-n", "3", "--warmup", "1", "--json"])).unwrap();
    assert_eq!(v["thermal_simulated"], true, "{v}");
}

#[test]
fn run_text_spells_the_precision_as_the_flag_does() {
    for precision in ["fp16", "fp32"] {
        let (code, out, err) = run(&["--precision", precision]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.contains(&format!("on cpu ({precision})")), "{out}");
    }
}

#[test]
fn an_unwritable_path_names_the_flag_it_came_from() {
    let dir = temp_dir("walk-writable");
    let folder = dir.to_str().unwrap();
    let (g, _) = tiny();
    let out = ncs(&["profile", &g, "-n", "1", "--html", folder]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("--html {folder}: is a folder")), "{}", stderr(&out));
    let (code, _, err) = run(&["--output", folder]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("--output {folder}: is a folder")), "{err}");
}
