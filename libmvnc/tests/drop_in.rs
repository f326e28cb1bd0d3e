//! The drop-in libmvnc against unchanged-style NCSDK v1 clients, on software sticks:
//! ncs's own bindgen bindings (the `sdk` backend), a C program built with the system `cc`,
//! and a Python ctypes script. Outputs must equal the CPU reference's, byte for byte.

#[path = "../../tests/common/cdylib.rs"]
mod cdylib;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ncs::backend::Backend;
use ncs::reference::{Executor, Precision};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The drop-in library, built once per test run.
fn library() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| cdylib::build("ncs-libmvnc", "libmvnc.so")).clone()
}

/// Graph path, fp16 input bytes and the CPU reference's fp16 output bytes, as files.
fn fixture(name: &str) -> (PathBuf, PathBuf, PathBuf, Vec<f32>) {
    let graph = root().join("graphs/tiny_cnn.graph");
    let input = ncs::npy::read(&root().join("graphs/tiny_cnn.input.npy")).unwrap().values;
    let mut as_f32 = input;
    ncs::fp16::round(&mut as_f32);
    let blob = ncs::blob::Blob::read(&graph).unwrap();
    let want = Executor::new(&blob, Precision::Fp16).unwrap().run(&as_f32).unwrap().output;
    let dir = std::env::temp_dir().join(format!("ncs-dropin-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input_path = dir.join("input.f16");
    let expected_path = dir.join("expected.f16");
    std::fs::write(&input_path, ncs::fp16::encode(&as_f32)).unwrap();
    std::fs::write(&expected_path, ncs::fp16::encode(&want)).unwrap();
    (graph, input_path, expected_path, want)
}

#[test]
fn the_sdk_backend_drives_the_drop_in_library() {
    let (graph, _, _, want) = fixture("sdk");
    // The library reads NCS_EMULATE once, at first use; this is the only in-process user.
    std::env::set_var("NCS_EMULATE", "1");
    let lib = ncs::sdk::Mvnc::load(Some(&library())).unwrap();
    // The drop-in says its sticks are software sticks: their thermals get labelled simulated.
    assert!(lib.simulated(), "the drop-in with NCS_EMULATE set drives software sticks");
    assert_eq!(lib.device_names().unwrap(), ["1-1"]);
    let mut stick = ncs::sdk::SdkStick::open(lib, &ncs::blob::GraphFile::read(&graph).unwrap()).unwrap();
    assert!(stick.simulated());
    let input = ncs::npy::read(&root().join("graphs/tiny_cnn.input.npy")).unwrap().values;
    for _ in 0..10 {
        let out = stick.infer(&input).unwrap();
        assert_eq!(out.output, want);
        assert_eq!(out.stage_ms.len(), 6);
        assert_eq!(out.telemetry.unwrap().thermal.len(), 25);
    }
}

/// Compiles a C client with the system `cc` against vendor/mvnc.h and the drop-in library.
fn build_c_client(source: &str) -> PathBuf {
    let exe = std::env::temp_dir().join(format!("ncs-{}-{}", source.trim_end_matches(".c"), std::process::id()));
    let lib = library();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(source))
        .arg("-I")
        .arg(root().join("vendor"))
        .arg("-L")
        .arg(lib.parent().unwrap())
        .arg("-lmvnc")
        .output()
        .unwrap_or_else(|e| panic!("{cc}: {e} (a C compiler is required)"));
    assert!(build.status.success(), "cc failed: {}", String::from_utf8_lossy(&build.stderr));
    exe
}

/// Runs a C client to "PASS"; returns its stderr.
fn run_c_client(exe: &Path, args: &[&Path], extra: &[&str], sticks: &str) -> String {
    let run = Command::new(exe)
        .args(args)
        .args(extra)
        .env("LD_LIBRARY_PATH", library().parent().unwrap())
        .env("NCS_EMULATE", sticks)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success() && stdout.ends_with("PASS\n"), "{stdout}\n{stderr}");
    stderr
}

#[test]
fn a_c_program_runs_unchanged_on_two_software_sticks() {
    let (graph, input, expected, _) = fixture("c");
    let stderr = run_c_client(&build_c_client("multistick.c"), &[&graph, &input, &expected], &["25"], "2");
    assert!(stderr.contains("mvncLoadTensor: 3 bytes; the graph takes"), "no warning of the odd length: {stderr}");
}

#[test]
fn blocking_calls_work_across_threads() {
    let (graph, input, expected, _) = fixture("threads");
    run_c_client(&build_c_client("threads.c"), &[&graph, &input, &expected], &[], "1");
}

#[test]
fn misuse_is_refused_and_leaves_the_stick_usable() {
    let (graph, input, _, _) = fixture("misuse");
    run_c_client(&build_c_client("misuse.c"), &[&graph, &input], &[], "1");
}

/// NCSDK v1.12's statuses for names it cannot open (docs/usb_protocol.md §16): an unknown name
/// MVNC_ERROR, an empty one (or colons only) MVNC_INVALID_PARAMETERS.
#[test]
fn opening_unknown_or_empty_names_gives_ncsdk_statuses() {
    let (graph, input, _, _) = fixture("names");
    run_c_client(&build_c_client("misuse.c"), &[&graph, &input], &["names"], "1");
}

#[test]
fn a_failing_thread_ends_the_run_instead_of_leaving_its_peer_blocked() {
    let (graph, input, expected, _) = fixture("threads-fail");
    let mut child = Command::new(build_c_client("threads.c"))
        .args([&graph, &input, &expected])
        .arg("57") // the producer's 58th LoadTensor gets a 1-byte input
        .env("LD_LIBRARY_PATH", library().parent().unwrap())
        .env("NCS_EMULATE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Well under the client's own 60 s watchdog: the failure must end the run promptly.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("threads.c with a failing producer still runs after 20 s: its consumer is blocked");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("FAIL: LoadTensor 57: status -5"), "{stderr}");
}

#[test]
fn a_python_ctypes_client_runs_unchanged() {
    let (graph, input, expected, _) = fixture("py");
    let run = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ncsdk_ctypes.py"))
        .arg(library())
        .args([&graph, &input, &expected])
        .env("NCS_EMULATE", "1")
        .output()
        .expect("python3 is required");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success() && stdout.ends_with("PASS\n"), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
}

/// Issue 13 item 11: installed as NCSDK 1.x's `make install` laid Intel's library out, with the
/// SONAME libmvnc.so.0, an unmodified C program builds against the installed header and library
/// and runs on software sticks.
#[test]
fn installs_like_intels_library_with_its_soname() {
    let lib = library();
    let dynamic = |file: &Path| {
        let out = Command::new("readelf").arg("-d").arg(file).output().expect("readelf (binutils) is required");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(dynamic(&lib).contains("Library soname: [libmvnc.so.0]"), "{}", dynamic(&lib));
    assert!(lib.with_file_name("libmvnc.so.0").exists(), "a libmvnc.so.0 link beside {}", lib.display());
    let prefix = std::env::temp_dir().join(format!("ncs-install-{}", std::process::id()));
    let install = Command::new("sh")
        .arg(root().join("scripts/install-libmvnc.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .arg("--lib")
        .arg(&lib)
        .env_remove("NCS_FIRMWARE")
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
    for file in ["lib/libmvnc.so.0", "lib/libmvnc.so", "include/mvnc.h"] {
        assert!(prefix.join(file).exists(), "{file} installed");
    }
    assert!(prefix.join("lib/mvnc").is_dir(), "the firmware folder exists");
    let exe = prefix.join("multistick");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/multistick.c"))
        .arg(format!("-I{}", prefix.join("include").display()))
        .arg(format!("-L{}", prefix.join("lib").display()))
        .arg("-lmvnc")
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    assert!(dynamic(&exe).contains("Shared library: [libmvnc.so.0]"), "{}", dynamic(&exe));
    let (graph, input, expected, _) = fixture("install");
    let run = Command::new(&exe)
        .args([&graph, &input, &expected])
        .arg("25")
        .env("LD_LIBRARY_PATH", prefix.join("lib"))
        .env("NCS_EMULATE", "2")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).ends_with("PASS\n"), "{}", String::from_utf8_lossy(&run.stderr));
    // ~100 MB of debug library per run; kept only when an assertion above failed, to look at.
    std::fs::remove_dir_all(&prefix).unwrap();
}

/// Issue 13 item 11: with MVNC_LOG_LEVEL set in the environment, an unmodified program learns
/// why a call failed — here, that no stick was found and how to get software sticks.
#[test]
fn mvnc_log_level_explains_failures_to_unmodified_programs() {
    let script = "import ctypes, sys\n\
                  lib = ctypes.CDLL(sys.argv[1])\n\
                  name = ctypes.create_string_buffer(100)\n\
                  print(lib.mvncGetDeviceName(0, name, 100))\n";
    let run = |level: &str| {
        Command::new("python3")
            .args(["-c", script])
            .arg(library())
            .env_remove("NCS_EMULATE")
            .env("MVNC_LOG_LEVEL", level)
            .output()
            .expect("python3 is required")
    };
    let (quiet, told) = (run("0"), run("1"));
    let statuses = String::from_utf8_lossy(&told.stdout).into_owned();
    let err = String::from_utf8_lossy(&told.stderr);
    assert!(quiet.stderr.is_empty(), "level 0 says nothing: {}", String::from_utf8_lossy(&quiet.stderr));
    // A machine with a real stick attached finds it (status 0) and has nothing to explain.
    if statuses.lines().next() == Some("-4") {
        assert!(err.contains("no stick found") && err.contains("NCS_EMULATE=N"), "{err}");
    }
}

/// Opens stick `1-1` through ctypes with `MVNC_LOG_LEVEL=1` and `library` loaded from where it
/// lies; returns mvncOpenDevice's status and the library's stderr.
fn open_logged(library: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let script = "import ctypes, sys\n\
                  lib = ctypes.CDLL(sys.argv[1])\n\
                  dev = ctypes.c_void_p()\n\
                  status = lib.mvncOpenDevice(b'1-1', ctypes.byref(dev))\n\
                  print(status)\n\
                  if status == 0: lib.mvncCloseDevice(dev)\n";
    let mut command = Command::new("python3");
    command.args(["-c", script]).arg(library).env("MVNC_LOG_LEVEL", "1").env_remove("NCS_FIRMWARE");
    command.env_remove("NCS_EMULATE").env("NCS_EMULATE_PROFILE", "ideal");
    for (key, value) in env {
        command.env(key, value);
    }
    let run = command.output().expect("python3 is required");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let status = stdout.trim().parse().unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&run.stderr)));
    (status, String::from_utf8_lossy(&run.stderr).into_owned())
}

/// Issue 11 item 7: as Intel's library, the drop-in boots with `<its directory>/mvnc/MvNCAPI.mvcmd`
/// when that file is there, before any other place, and under MVNC_LOG_LEVEL says which places
/// it looked at and why each was not used (docs/usb_protocol.md §4).
#[test]
fn firmware_is_looked_for_beside_the_library_first() {
    let dir = std::env::temp_dir().join(format!("ncs-beside-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lib/mvnc")).unwrap();
    let copy = dir.join("lib/libmvnc.so");
    std::fs::copy(library(), &copy).unwrap();
    let beside = dir.join("lib/mvnc/MvNCAPI.mvcmd");
    let beside_shown = beside.display().to_string();

    // Nothing there: software sticks fall back to their built-in image, saying why.
    let (status, log) = open_logged(&copy, &[("NCS_EMULATE", "1")]);
    assert_eq!(status, 0, "{log}");
    assert!(log.contains(&format!("firmware not used: {beside_shown}: No such file")), "{log}");
    assert!(log.contains("the software sticks' built-in image"), "{log}");

    // A file there that is no firmware image is passed over, with the reason.
    std::fs::write(&beside, b"not firmware").unwrap();
    let (status, log) = open_logged(&copy, &[("NCS_EMULATE", "1")]);
    assert_eq!(status, 0, "{log}");
    assert!(log.contains(&format!("firmware not used: {beside_shown}: not a Myriad firmware image")), "{log}");

    // A firmware image there is the one used (software sticks boot from any MA2x image).
    let image = b"MA2x an image beside the library";
    std::fs::write(&beside, image).unwrap();
    let (status, log) = open_logged(&copy, &[("NCS_EMULATE", "1")]);
    assert_eq!(status, 0, "{log}");
    assert!(log.contains(&format!("firmware: {beside_shown} ({} bytes)", image.len())), "{log}");
    assert!(!log.contains("firmware not used") && !log.contains("built-in"), "{log}");

    // Real sticks: beside the library, then NCS_FIRMWARE, then NCSDK's path; none there is
    // MVNC_MVCMD_NOT_FOUND, before any stick is looked for (as NCSDK).
    std::fs::remove_file(&beside).unwrap();
    let missing = dir.join("no-such.mvcmd");
    let (status, log) = open_logged(&copy, &[("NCS_FIRMWARE", missing.to_str().unwrap())]);
    if !Path::new(ncs::device::boot::NCSDK_FIRMWARE_PATH).exists() {
        assert_eq!(status, -7, "{log}");
        let order: Vec<usize> =
            [beside_shown.as_str(), missing.to_str().unwrap(), ncs::device::boot::NCSDK_FIRMWARE_PATH]
                .iter()
                .map(|place| {
                    log.find(&format!("firmware not used: {place}")).unwrap_or_else(|| panic!("{place}: {log}"))
                })
                .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "looked in the wrong order: {log}");
        assert!(log.contains("MVNC_MVCMD_NOT_FOUND"), "{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
