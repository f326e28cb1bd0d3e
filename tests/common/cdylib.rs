//! The workspace's drop-in libraries for tests. `cargo test` builds only what a test binary
//! links, so a test that loads `libmvnc.so` or `libusb-1.0.so.0` builds it here, with the same
//! profile into the same target directory. Shared by `tests/` and the drop-in crates' tests
//! (included with `#[path]`).

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>`, where the running test binary's `deps/` folder is.
pub fn profile_dir() -> PathBuf {
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds workspace `package` and returns the path of its library `file` (e.g. `libmvnc.so`).
pub fn build(package: &str, file: &str) -> PathBuf {
    let profile = profile_dir();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "-p", package, "--target-dir"])
        .arg(profile.parent().unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let out = build.output().expect("run cargo");
    assert!(out.status.success(), "building {package} failed: {}", String::from_utf8_lossy(&out.stderr));
    let lib = profile.join(file);
    assert!(lib.exists(), "{} was not built", lib.display());
    lib
}
