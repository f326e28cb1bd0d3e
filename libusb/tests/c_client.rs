//! The drop-in `libusb-1.0.so.0` against C programs that know nothing of ncs: our own NCS1 host
//! written against libusb's API alone (`clients/ncs_over_libusb.c`, compiled with the system
//! `cc` against libusb's own `libusb.h`), and — with `NCSDK_SRC=<ncsdk checkout>` — Intel's
//! NCSDK v1.12 libmvnc built from its sources, running a hello-world flow. Outputs must equal
//! the CPU reference's byte for byte.

#[path = "../../tests/common/cdylib.rs"]
mod cdylib;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ncs::graph::samples::Weights;
use ncs::reference::{Executor, Precision};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The drop-in, built once per run.
fn library() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| cdylib::build("ncs-libusb", "libusb-1.0.so.0")).clone()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ncs-libusb-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A folder with `libusb-1.0.so` → the drop-in, for linking with `-lusb-1.0`.
fn link_dir() -> PathBuf {
    let dir = scratch("link");
    let dev_link = dir.join("libusb-1.0.so");
    if std::fs::read_link(&dev_link).ok() != Some(library()) {
        let _ = std::fs::remove_file(&dev_link);
        std::os::unix::fs::symlink(library(), &dev_link).unwrap();
    }
    dir
}

/// Runs the system `cc` with libusb's header and the drop-in on its paths, then `args`.
fn cc(args: &[&OsStr]) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-I", env!("NCS_LIBUSB_INCLUDE"), "-L"])
        .arg(link_dir())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cc}: {e} (a C compiler is required)"));
    assert!(out.status.success(), "{cc} {args:?}: {}", text(&out.stderr));
}

/// Compiles one of our C clients against libusb.
fn compile_client(source: &str, exe: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(source);
    let flags = ["-std=c99", "-Wall", "-Werror", "-O1", "-o"];
    let mut args: Vec<&OsStr> = flags.iter().map(OsStr::new).collect();
    args.extend([exe.as_os_str(), source.as_os_str(), OsStr::new("-lusb-1.0")]);
    cc(&args);
}

/// `cases` seeded inputs for a graph and the CPU reference's outputs, as fp16 files.
fn fixture(graph: &Path, cases: usize, dir: &Path) -> (PathBuf, PathBuf) {
    let blob = ncs::blob::Blob::read(graph).unwrap();
    let mut exec = Executor::new(&blob, Precision::Fp16).unwrap();
    let len = exec.input_shape().iter().product::<u32>() as usize;
    let mut weights = Weights::new(11);
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for _ in 0..cases {
        let mut input = weights.uniform(len, 1.0);
        ncs::fp16::round(&mut input);
        outputs.extend(ncs::fp16::encode(&exec.run(&input).unwrap().output));
        inputs.extend(ncs::fp16::encode(&input));
    }
    let (i, o) = (dir.join("inputs.f16"), dir.join("expected.f16"));
    std::fs::write(&i, inputs).unwrap();
    std::fs::write(&o, outputs).unwrap();
    (i, o)
}

fn run(exe: &Path, args: &[&Path], extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(exe);
    cmd.args(args).args(extra).env("LD_LIBRARY_PATH", library().parent().unwrap()).env_remove("NCS_TRACE_USB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn assert_pass(what: &str, out: &Output) -> String {
    let stdout = text(&out.stdout);
    assert!(out.status.success() && stdout.ends_with("PASS\n"), "{what}:\n{stdout}\n{}", text(&out.stderr));
    stdout
}

#[test]
fn the_library_is_libusb_1_0_by_soname_and_exports_what_ncs_hosts_call() {
    let lib = std::fs::canonicalize(library()).unwrap();
    let dynamic = Command::new("readelf").arg("-d").arg(&lib).output().expect("readelf (binutils) is required");
    assert!(text(&dynamic.stdout).contains("Library soname: [libusb-1.0.so.0]"), "{}", text(&dynamic.stdout));
    let symbols = text(&Command::new("nm").args(["-D", "--defined-only"]).arg(&lib).output().unwrap().stdout);
    let exported: Vec<&str> =
        symbols.lines().filter(|l| l.contains(" T ")).filter_map(|l| l.split(' ').nth(2)).collect();
    let want = [
        "init",
        "exit",
        "get_device_list",
        "free_device_list",
        "ref_device",
        "unref_device",
        "get_device_descriptor",
        "get_config_descriptor",
        "free_config_descriptor",
        "get_bus_number",
        "get_port_numbers",
        "get_device_address",
        "open",
        "close",
        "set_configuration",
        "claim_interface",
        "release_interface",
        "bulk_transfer",
        "reset_device",
        "error_name",
        "strerror",
    ];
    for name in want {
        assert!(exported.contains(&format!("libusb_{name}").as_str()), "libusb_{name} is not exported");
    }
    assert_eq!(exported.len(), want.len(), "exactly libusb's functions are exported: {exported:?}");
}

#[test]
fn a_c_host_boots_allocates_and_runs_every_real_graph_through_libusb_alone() {
    let dir = scratch("client");
    let exe = dir.join("ncs_over_libusb");
    compile_client("ncs_over_libusb.c", &exe);
    let firmware = dir.join("MvNCAPI.mvcmd");
    std::fs::write(&firmware, ncs::device::emulator::SOFT_FIRMWARE).unwrap();
    let graphs = root().join("../shared/graphs");
    assert!(graphs.join("README.md").is_file(), "the real graphs are missing: {}", graphs.display());
    let mut names: Vec<String> = std::fs::read_dir(&graphs)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".graph"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let graph = graphs.join(name);
        let case_dir = scratch(name);
        let (inputs, expected) = fixture(&graph, 4, &case_dir);
        // 100 inferences each, but the two heaviest graphs cost 40–190 ms per inference in
        // the test build's CPU reference (measured): fewer of those keeps this test ≈ 15 s.
        let count = match name.as_str() {
            "conv_regression.graph" => "10",
            "ncs_test.graph" => "25",
            _ => "100",
        };
        // usb2 with its other knobs as real sticks (1.18 ms per stage, results refused until
        // then); only the re-enumeration absence is shortened, to 100 ms, to keep this quick.
        let env = [("NCS_EMULATE", "1"), ("NCS_EMULATE_PROFILE", "usb2,absence=100ms")];
        let out = run(&exe, &[&firmware, &graph, &inputs, &expected], &["4", count], &env);
        let stdout = assert_pass(name, &out);
        assert!(stdout.contains("booted at 1-1") && stdout.contains("512-byte packets"), "{name}: {stdout}");
    }
}

#[test]
fn usb3_sticks_come_back_elsewhere_and_the_trace_follows_the_protocol() {
    let dir = scratch("usb3");
    let exe = dir.join("ncs_over_libusb");
    compile_client("ncs_over_libusb.c", &exe);
    let firmware = dir.join("MvNCAPI.mvcmd");
    std::fs::write(&firmware, ncs::device::emulator::SOFT_FIRMWARE).unwrap();
    let graph = root().join("graphs/tiny_cnn.graph");
    let (inputs, expected) = fixture(&graph, 2, &dir);
    let trace = dir.join("trace.jsonl");
    let env = [
        ("NCS_EMULATE", "2"),
        ("NCS_EMULATE_PROFILE", "usb3,absence=100ms"),
        ("NCS_TRACE_USB", trace.to_str().unwrap()),
    ];
    let out = run(&exe, &[&firmware, &graph, &inputs, &expected], &["2", "10"], &env);
    let stdout = assert_pass("usb3", &out);
    assert!(stdout.contains("booted at 2-17") && stdout.contains("1024-byte packets"), "{stdout}");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&trace).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds = |kind: &str| lines.iter().filter(|l| l["kind"] == kind).count();
    assert_eq!(kinds("boot_chunk"), 1, "the software firmware fits one 512-byte chunk");
    assert!(lines.iter().any(|l| l["kind"] == "header" && l["name"] == "blobFile" && l["stick"] == "2-17"));
    assert!(kinds("permit") >= 30 && kinds("status") >= 2, "{} permits", kinds("permit"));
    assert!(lines.iter().filter(|l| l["kind"] == "payload").all(|l| l["sha256"].is_string()));
}

#[test]
fn misuse_before_any_stick_is_an_error_code() {
    // A bad profile: every call fails with LIBUSB_ERROR_OTHER, and stderr says why.
    let dir = scratch("misuse");
    let exe = dir.join("ncs_over_libusb");
    compile_client("ncs_over_libusb.c", &exe);
    let x = dir.join("x");
    std::fs::write(&x, b"x").unwrap();
    let out = run(&exe, &[&x, &x, &x, &x], &["1", "1"], &[("NCS_EMULATE_PROFILE", "usb9")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unknown software-stick profile 'usb9'") && stderr.contains("LIBUSB_ERROR_OTHER"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs NCSDK_SRC=<checkout of movidius/ncsdk v1.12.01.01>: builds Intel's libmvnc against the drop-in"]
fn intel_libmvnc_built_from_its_sources_runs_hello_world_on_software_sticks() {
    let src = PathBuf::from(std::env::var_os("NCSDK_SRC").expect("set NCSDK_SRC to an NCSDK v1.12 checkout"));
    let api = src.join("api/src");
    assert!(api.join("mvnc_api.c").is_file(), "{} has no api/src/mvnc_api.c", src.display());
    let dir = scratch("intel");
    // Intel's library, built as its Makefile does (-O2 -Wall -pthread -fPIC, -lusb-1.0 -ldl),
    // linked against the drop-in.
    let libmvnc = dir.join("libmvnc.so.0");
    let (include, src_dir) = (src.join("api/include"), api.clone());
    let sources: Vec<PathBuf> = ["usb_boot.c", "usb_link_vsc.c", "mvnc_api.c"].iter().map(|f| api.join(f)).collect();
    let mut args: Vec<&OsStr> = ["-O2", "-Wall", "-pthread", "-fPIC", "-shared", "-I"].iter().map(OsStr::new).collect();
    args.extend([src_dir.as_os_str(), OsStr::new("-I"), include.as_os_str(), OsStr::new("-o"), libmvnc.as_os_str()]);
    args.extend(sources.iter().map(|p| p.as_os_str()));
    args.extend([OsStr::new("-lusb-1.0"), OsStr::new("-ldl")]);
    cc(&args);
    let _ = std::fs::remove_file(dir.join("libmvnc.so"));
    std::os::unix::fs::symlink("libmvnc.so.0", dir.join("libmvnc.so")).unwrap();
    // Intel's library boots the image at <its directory>/mvnc/MvNCAPI.mvcmd (mvnc_api.c 148–155).
    std::fs::create_dir_all(dir.join("mvnc")).unwrap();
    std::fs::write(dir.join("mvnc/MvNCAPI.mvcmd"), ncs::device::emulator::SOFT_FIRMWARE).unwrap();
    // Our hello-world client, against our own declaration of the NCSDK v1 API.
    let hello = dir.join("mvnc_hello");
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/mvnc_hello.c");
    let vendor = root().join("vendor");
    let mut args: Vec<&OsStr> = ["-std=c99", "-Wall", "-Werror", "-o"].iter().map(OsStr::new).collect();
    args.extend([hello.as_os_str(), client.as_os_str(), OsStr::new("-I"), vendor.as_os_str(), OsStr::new("-L")]);
    args.extend([dir.as_os_str(), OsStr::new("-lmvnc")]);
    cc(&args);
    let graph = root().join("graphs/tiny_cnn.graph");
    let (inputs, expected) = fixture(&graph, 1, &dir);
    // Only Intel's libmvnc and the drop-in libusb are on the library path (ours, which also
    // answers NCS_EMULATE, lives in target/ and must not be the one loaded).
    let _ = std::fs::remove_file(dir.join("libusb-1.0.so.0"));
    std::os::unix::fs::symlink(library(), dir.join("libusb-1.0.so.0")).unwrap();
    let ldd = text(&Command::new("ldd").arg(&hello).env("LD_LIBRARY_PATH", &dir).output().unwrap().stdout);
    let resolved = |lib: &str| ldd.lines().find(|l| l.contains(lib)).map(str::to_owned).unwrap_or_default();
    assert!(resolved("libmvnc.so").contains(dir.to_str().unwrap()), "{ldd}");
    assert!(text(&Command::new("ldd").arg(&libmvnc).env("LD_LIBRARY_PATH", &dir).output().unwrap().stdout)
        .contains("libusb-1.0.so.0 => "));
    for profile in ["usb2", "usb3"] {
        let trace = dir.join(format!("{profile}.jsonl"));
        let out = Command::new(&hello)
            .args([&graph, &inputs, &expected])
            .arg("25")
            .env("LD_LIBRARY_PATH", &dir)
            .env("NCS_EMULATE", "1")
            .env("NCS_EMULATE_PROFILE", profile)
            .env("NCS_TRACE_USB", &trace)
            .output()
            .unwrap();
        let stdout = assert_pass(&format!("Intel's libmvnc on {profile}"), &out);
        // Intel names sticks by port path alone (usb_boot.c 77–95); ncs's names carry the bus.
        assert!(stdout.starts_with("stick 1\n"), "{stdout}");
        let lines = std::fs::read_to_string(&trace).unwrap();
        assert_eq!(lines.matches("\"kind\":\"boot_chunk\"").count(), 2, "two sessions, one chunk each");
    }
}
