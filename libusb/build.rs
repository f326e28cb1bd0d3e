//! Gives the library libusb's SONAME, puts `libusb-1.0.so.0` beside it, and tells the tests
//! where libusb's own header is (vendored by libusb1-sys).

use std::path::{Path, PathBuf};

/// The file cargo writes, and the name programs linked against libusb 1.0 look for.
const BUILT: &str = "libncs_libusb.so";
const SONAME: &str = "libusb-1.0.so.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    // libusb1-sys (`links = "usb-1.0"`) exports its include directory as DEP_USB_1.0_INCLUDE.
    if let Some((_, dir)) = std::env::vars().find(|(k, _)| k.starts_with("DEP_USB_1") && k.ends_with("_INCLUDE")) {
        println!("cargo:rustc-env=NCS_LIBUSB_INCLUDE={dir}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out; the library lands in <profile>.
    if let Some(profile_dir) = out.ancestors().nth(3) {
        link_soname(profile_dir);
    }
}

#[cfg(unix)]
fn link_soname(dir: &Path) {
    let link = dir.join(SONAME);
    if std::fs::read_link(&link).is_ok_and(|to| to == Path::new(BUILT)) {
        return;
    }
    let _ = std::fs::remove_file(&link);
    if let Err(e) = std::os::unix::fs::symlink(BUILT, &link) {
        println!("cargo:warning=could not create {}: {e}", link.display());
    }
}

#[cfg(not(unix))]
fn link_soname(_dir: &Path) {}
