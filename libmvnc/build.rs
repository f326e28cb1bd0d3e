//! Gives the drop-in the shared-object name programs expect and a `libmvnc.so.0` beside it.
//!
//! Intel's NCSDK 1.x `api/src` Makefile built `libmvnc.so.0` and installed it in
//! `/usr/local/lib` with a `libmvnc.so -> libmvnc.so.0` link, and no SONAME
//! (`docs/usb_protocol.md` §16). Programs built against that link ask for `libmvnc.so`; with the
//! SONAME `libmvnc.so.0` set here, programs built against ours ask for `libmvnc.so.0`. The
//! install script provides both names.

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmvnc.so.0");
    // target/<profile>/build/ncs-libmvnc-<hash>/out → target/<profile>: where cargo puts the
    // cdylib. The link may dangle until the library itself is linked.
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else { return };
    if let Some(profile_dir) = out.ancestors().nth(3) {
        let link = profile_dir.join("libmvnc.so.0");
        if std::fs::symlink_metadata(&link).is_err() {
            #[cfg(unix)]
            if let Err(e) = std::os::unix::fs::symlink("libmvnc.so", &link) {
                println!("cargo:warning=could not create {}: {e}", link.display());
            }
        }
    }
}
