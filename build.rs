//! Generates Rust bindings for the NCSDK v1 API declared in `vendor/mvnc.h`, as a dynamically
//! loaded library (bindgen's `dynamic_library_name` + libloading), so `ncs` starts and works
//! where no libmvnc is installed.
//!
//! bindgen needs libclang at build time. Where it is missing, the build uses the committed
//! copy `vendor/mvnc_bindings.rs` of the same output and says so in a cargo warning;
//! `src/sdk/bindings.rs` has a test that the two agree wherever both exist.

use std::path::PathBuf;

fn main() {
    avx512_cfg();
    // `ncs --version` names the enabled cargo features (cargo sets CARGO_FEATURE_<NAME>);
    // `default` is only the name of a set of them.
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(|f| f.to_lowercase().replace('_', "-")))
        .filter(|f| f != "default")
        .collect();
    features.sort();
    let features = if features.is_empty() { "none".to_owned() } else { features.join(", ") };
    println!("cargo:rustc-env=NCS_FEATURES={features}");
    println!("cargo:rerun-if-changed=vendor/mvnc.h");
    println!("cargo:rerun-if-changed=vendor/mvnc_bindings.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("mvnc_bindings.rs");
    match generate() {
        Some(text) => {
            std::fs::write(&out, text).expect("write bindings");
            println!("cargo:rustc-env=NCS_BINDINGS_SOURCE=bindgen");
        }
        None => {
            std::fs::copy("vendor/mvnc_bindings.rs", &out).expect("copy the committed bindings");
            println!("cargo:rustc-env=NCS_BINDINGS_SOURCE=committed");
            println!(
                "cargo:warning=libclang not found: using the committed bindings vendor/mvnc_bindings.rs \
                 (install libclang-dev to generate them from vendor/mvnc.h)"
            );
        }
    }
}

/// Sets `ncs_avx512` when the compiler has the AVX-512 intrinsics (stable since Rust 1.89), so
/// the crate keeps building on its older minimum version without the AVX-512 kernels.
fn avx512_cfg() {
    println!("cargo::rustc-check-cfg=cfg(ncs_avx512)");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let version = std::process::Command::new(rustc).arg("--version").output().ok();
    let minor = version
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).and_then(|n| n.split('.').nth(1)?.parse::<u32>().ok()));
    if minor.is_some_and(|minor| minor >= 89) {
        println!("cargo:rustc-cfg=ncs_avx512");
    }
}

/// bindgen's output, or `None` when libclang cannot be loaded. (bindgen panics rather than
/// returning an error in that case, so the attempt runs under `catch_unwind` with the panic
/// message silenced.)
fn generate() -> Option<String> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| {
        bindgen::Builder::default()
            .header("vendor/mvnc.h")
            .dynamic_library_name("Mvnc")
            .dynamic_link_require_all(true)
            .formatter(bindgen::Formatter::Prettyplease)
            .generate()
            .ok()
            .map(|b| b.to_string())
    });
    std::panic::set_hook(quiet);
    result.ok().flatten()
}
