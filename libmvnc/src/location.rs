//! Where this library was loaded from: Intel's libmvnc looks for its firmware beside itself
//! (`docs/usb_protocol.md` §4), and so does the drop-in.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The directory holding the shared object this code was loaded from, as the dynamic loader
/// reports it; `None` if it cannot say.
pub fn library_dir() -> Option<PathBuf> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // Any function of this library locates it; this one is as good as any.
    let inside = library_dir as *const libc::c_void;
    // SAFETY: `inside` is an address in this object and `info` is a writable Dl_info; dladdr
    // only writes `info`, and returns 0 when it cannot map the address.
    let found = unsafe { libc::dladdr(inside, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr returned non-zero, so it filled `info` (it was zeroed before in any case).
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: non-null `dli_fname` is a NUL-terminated path owned by the loader, valid while the
    // object stays loaded — we copy it out at once.
    let file = unsafe { CStr::from_ptr(info.dli_fname) };
    let file = PathBuf::from(OsStr::from_bytes(file.to_bytes()));
    file.parent().map(PathBuf::from)
}
