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

/// Runs `ncs` with extra environment; returns (exit code, stdout, stderr).
fn ncs_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = common::ncs_command(args);
    command.env_remove("NCS_EMULATE_PROFILE").env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Issue 11: `--emulate N` gives the strict usb2 stick unless `--emulate-profile` (which wins)
/// or NCS_EMULATE_PROFILE says otherwise; the profile shows in the log with -v.
#[test]
fn software_sticks_default_to_usb2_and_the_profile_flag_wins() {
    let (code, stdout, stderr) = ncs_env(&["boot", "--emulate", "1", "-v"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("1 software stick(s), profile usb2"), "{stderr}");
    // usb2's booted firmware is away ≈ 1 s before it re-enumerates (docs/usb_protocol.md §19).
    let ms: f64 = stdout.split(" in ").nth(1).and_then(|t| t.trim().strip_suffix(" ms")).unwrap().parse().unwrap();
    assert!(ms >= 900.0, "booted in {ms} ms: not the usb2 stick? {stdout}");

    let (code, _, stderr) = ncs_env(&["devices", "--emulate", "1", "-v"], &[("NCS_EMULATE_PROFILE", "ideal")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("profile ideal"), "{stderr}");
    let args = ["boot", "--emulate", "1", "--emulate-profile", "usb3,absence=50ms", "-v"];
    let (code, _, stderr) = ncs_env(&args, &[("NCS_EMULATE_PROFILE", "ideal")]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("profile usb3,absence=50ms"), "the flag wins: {stderr}");
    assert!(stderr.contains("re-enumerated at 2-17 (bus 2, port path 17"), "a usb3 stick moves: {stderr}");

    let graph = common::own_graphs().join("tiny_cnn.graph");
    let input = common::own_graphs().join("tiny_cnn.input.npy");
    let (g, i) = (graph.to_str().unwrap(), input.to_str().unwrap());
    let (code, stdout, stderr) = ncs_env(&["run", g, "--input", i, "--emulate-profile", "ideal", "--json"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["backend"], "emulator");
    let cpu = ncs_env(&["run", g, "--input", i, "--json"], &[]).1;
    let cpu: serde_json::Value = serde_json::from_str(&cpu).unwrap();
    for profile in ["usb2,absence=50ms", "usb3,absence=50ms"] {
        let (code, stdout, stderr) =
            ncs_env(&["run", g, "--input", i, "--emulate", "1", "--emulate-profile", profile, "--json"], &[]);
        assert_eq!(code, Some(0), "{profile}: {stderr}");
        let stick: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(stick["output"], cpu["output"], "{profile}");
    }
    let (code, _, stderr) = ncs_env(&["run", g, "--input", i, "--backend", "cpu", "--emulate-profile", "usb2"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--emulate-profile usb2") && stderr.contains("--backend cpu"), "{stderr}");
    let (code, _, stderr) = ncs_env(&["run", g, "--input", i, "--emulate", "1", "--emulate-profile", "usb9"], &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown software-stick profile 'usb9'"), "{stderr}");
    let (code, _, stderr) = ncs_env(&["devices", "--emulate-profile", "usb3"], &[]);
    assert_eq!(code, Some(2), "needs --emulate: {stderr}");
}

/// Issue 11: `ncs boot` says it leaves sticks booted and that the next open recovers them.
#[test]
fn boot_help_says_sticks_stay_booted_until_the_next_open_recovers_them() {
    let (code, stdout, _) = ncs_env(&["boot", "--help"], &[]);
    assert_eq!(code, Some(0));
    let help = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("Sticks stay booted when ncs boot ends"), "{stdout}");
    assert!(help.contains("resets it to its boot ROM and boots it again (device::recover)"), "{stdout}");
}

/// Issue 13 "Also": with -v a stick's boot says which firmware (and its size) and where the
/// booted stick came back.
#[test]
fn verbose_boot_logs_the_firmware_and_where_the_stick_came_back() {
    let (code, _, stderr) = ncs_env(&["boot", "--emulate", "2", "--emulate-profile", "usb2,absence=50ms", "-v"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    for stick in ["1-1", "1-2"] {
        assert!(stderr.contains(&format!("{stick}: booting with software stick firmware (")), "{stderr}");
        assert!(stderr.contains(&format!("{stick}: booted firmware re-enumerated at {stick} (bus 1")), "{stderr}");
    }
    let (_, _, quiet) = ncs_env(&["boot", "--emulate", "1", "--emulate-profile", "ideal"], &[]);
    assert!(!quiet.contains("booting with"), "info lines need -v: {quiet}");
}
