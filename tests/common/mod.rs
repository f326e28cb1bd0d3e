//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `ncs` binary, without the caller's `NCS_TRACE_USB` (a test must not write a trace file).
pub fn ncs_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ncs"));
    command.args(args).env_remove("NCS_TRACE_USB");
    command
}

/// Runs `ncs` with `args` to completion.
pub fn ncs(args: &[&str]) -> Output {
    ncs_command(args).output().expect("run ncs")
}

/// A command's standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh folder for one test's files (unique per process and `name`).
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ncs-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The real mvNCCompile graphs: `$NCS_SHARED_GRAPHS`, else `../shared/graphs` beside the crate.
/// Panics with instructions when they are missing: these tests must never pass vacuously.
pub fn shared_graphs() -> PathBuf {
    let dir = std::env::var_os("NCS_SHARED_GRAPHS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/graphs"));
    assert!(
        dir.join("README.md").is_file(),
        "the real test graphs are missing: expected {} (set NCS_SHARED_GRAPHS to their folder)",
        dir.display()
    );
    dir
}

/// One real graph's bytes.
pub fn shared_graph(name: &str) -> Vec<u8> {
    let path = shared_graphs().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The crate's own `graphs/` folder.
pub fn own_graphs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs")
}

/// Golden facts of one real graph, from `../shared/graphs/README.md`.
pub struct RealGraph {
    pub file: &'static str,
    pub bytes: usize,
    pub input: [u32; 3],
    pub output: [u32; 3],
    pub stages: usize,
}

const fn real(file: &'static str, bytes: usize, input: [u32; 3], output: [u32; 3], stages: usize) -> RealGraph {
    RealGraph { file, bytes, input, output, stages }
}

/// Every real graph with its golden facts.
pub const REAL_GRAPHS: [RealGraph; 9] = [
    real("mnist.graph", 6_551_232, [28, 28, 1], [1, 1, 10], 7),
    real("conv8.graph", 17_912, [64, 64, 3], [1, 1, 1], 3),
    real("conv6.graph", 13_752, [64, 64, 3], [1, 1, 1], 3),
    real("conv_deconv.graph", 4_768, [128, 128, 3], [65, 65, 65], 6),
    real("conv_regression.graph", 1_612_664, [384, 512, 3], [1, 1, 1], 3),
    real("kwierman_fc.graph", 21_816, [1, 1, 100], [1, 1, 2], 3),
    real("hsinm_mnist.graph", 87_496, [28, 28, 1], [1, 1, 10], 9),
    real("ncs_test.graph", 97_872, [108, 108, 1], [1, 1, 10], 11),
    real("deeppicar.graph", 507_496, [200, 66, 3], [1, 1, 1], 10),
];
