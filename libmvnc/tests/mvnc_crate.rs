//! Issue 11: the `mvnc` crate 0.3.0 (crates.io) — a Rust wrapper written for Intel's NCSDK v1
//! library — runs its own `examples/mnist.rs` and `examples/mnist.graph`, unchanged, against the
//! drop-in `libmvnc.so` on software sticks, to its "Finished" line.
//!
//! The crate is fetched by cargo like any dependency (from the local registry cache when it is
//! there, else from crates.io) and built in its own target directory with our library on the
//! link path. The example sends 768 values to the 784-input graph, which Intel's library
//! accepts (docs/usb_protocol.md §10); it prints an error and carries on when a call fails, so
//! the test also checks that every inference printed a digit and no error did.

#[path = "../../tests/common/cdylib.rs"]
mod cdylib;

use std::path::{Path, PathBuf};
use std::process::Command;

const CRATE: &str = "mvnc-0.3.0";

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME or CARGO_HOME")).join(".cargo"))
}

/// `mvnc-0.3.0.crate` in cargo's download cache, if it is there.
fn cached_archive() -> Option<PathBuf> {
    let cache = cargo_home().join("registry/cache");
    std::fs::read_dir(cache)
        .ok()?
        .flatten()
        .map(|index| index.path().join(format!("{CRATE}.crate")))
        .find(|p| p.is_file())
}

fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// The crate's archive: from the cache, else fetched by `cargo fetch` of a manifest that
/// depends on it and on its example's dependencies.
fn archive(work: &Path) -> PathBuf {
    if let Some(found) = cached_archive() {
        return found;
    }
    let probe = work.join("fetch");
    std::fs::create_dir_all(probe.join("src")).unwrap();
    std::fs::write(
        probe.join("Cargo.toml"),
        "[package]\nname = \"fetch-mvnc\"\nversion = \"0.0.0\"\nedition = \"2015\"\npublish = false\n\n\
         [dependencies]\nmvnc = \"=0.3.0\"\nhalf = \"1\"\nrand = \"0.4\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(probe.join("src/main.rs"), "fn main() {}\n").unwrap();
    run(Command::new(env!("CARGO")).arg("fetch").current_dir(&probe), "cargo fetch (mvnc 0.3.0 from crates.io)");
    cached_archive().expect("cargo fetch left mvnc-0.3.0.crate in its cache")
}

#[test]
fn the_mvnc_crates_mnist_example_runs_unchanged_to_finished() {
    let lib = cdylib::build("ncs-libmvnc", "libmvnc.so");
    let work = std::env::temp_dir().join(format!("ncs-mvnc-crate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let archive = archive(&work);
    run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&work), "unpacking the crate");
    let source = work.join(CRATE);

    // Its own target directory under ours, kept between runs; our library on the link path.
    let target = cdylib::profile_dir().parent().unwrap().join("mvnc-crate");
    let rustflags = format!("-L native={}", lib.parent().unwrap().display());
    let build = |offline: bool| {
        let mut command = Command::new(env!("CARGO"));
        command.args(["build", "--quiet", "--example", "mnist", "--target-dir"]).arg(&target);
        if offline {
            command.arg("--offline");
        }
        command.current_dir(&source).env("RUSTFLAGS", &rustflags).env_remove("CARGO_TARGET_DIR");
        command.output().unwrap()
    };
    // Offline when the example's dependencies are cached, else resolving them on crates.io.
    let built = build(true);
    if !built.status.success() {
        let again = build(false);
        assert!(
            again.status.success(),
            "building {CRATE}'s mnist example failed:\n{}\n{}",
            String::from_utf8_lossy(&built.stderr),
            String::from_utf8_lossy(&again.stderr)
        );
    }

    let sticks = 2;
    let out = Command::new(target.join("debug/examples/mnist"))
        .current_dir(&source) // it reads ./examples/mnist.graph
        .env("LD_LIBRARY_PATH", lib.parent().unwrap())
        .env("NCS_EMULATE", sticks.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(stdout.lines().last() == Some(&format!("Finished; # devices = {sticks}")), "{all}");
    // Per stick: 10 blocking inferences, then 10 rounds of filling both slots and collecting
    // them; an error would be printed as the Debug of the example's Error enum and end that
    // stick's run early.
    let digits = stdout.lines().filter(|l| l.contains("most probable digit = ")).count();
    assert_eq!(digits, sticks * (10 + 10 * 2), "{all}");
    assert!(!stdout.contains("Error("), "{all}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("Thermal throttling level = ")).count(), sticks, "{all}");
    let _ = std::fs::remove_dir_all(&work);
}
