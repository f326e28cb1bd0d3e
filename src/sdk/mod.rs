//! Intel's NCSDK v1 C library (`libmvnc.so`) — or ncs's own drop-in — driven through bindgen's
//! bindings, loaded at run time. Status codes are mapped once ([`check`], naming them from the
//! [`Status`] table); pointers the library returns (TIME_TAKEN, THERMAL_STATS) are copied out
//! before the next call can move them.

#![allow(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]
// bindgen keeps the C names of the status and option constants.
#![allow(non_upper_case_globals)]

pub mod ffi;
mod status;

pub use status::Status;

use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int, c_uint};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::backend::{Backend, Outcome};
use crate::blob::GraphFile;
use crate::device::wire::aux;
use crate::device::Telemetry;
use crate::error::{Error, Result};

use ffi::*;

/// Where NCSDK 1.x installs its library.
const SEARCH: [&str; 4] = ["libmvnc.so", "libmvnc.so.0", "/usr/local/lib/libmvnc.so", "/usr/local/lib/libmvnc.so.0"];

/// The extension ncs's drop-in exports beside NCSDK's 13 functions: `int ncsSoftwareSticks(void)`,
/// 1 when its sticks are software sticks (`NCS_EMULATE` set), else 0. Intel's library lacks it.
const SOFTWARE_STICKS_SYMBOL: &[u8] = b"ncsSoftwareSticks\0";

/// A loaded mvnc library.
pub struct Mvnc {
    api: ffi::Mvnc,
    /// Where it was loaded from.
    pub path: String,
    /// Whether the library says its sticks are software sticks (see [`Mvnc::simulated`]).
    simulated: bool,
}

impl std::fmt::Debug for Mvnc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mvnc").field("path", &self.path).finish()
    }
}

/// Maps an `mvncStatus` to a result, naming the call and the status.
pub fn check(call: &str, status: mvncStatus) -> Result<()> {
    match Status::from_code(status) {
        Some(Status::Ok) => Ok(()),
        _ => Err(Error::Mvnc { call: call.to_owned(), status, name: status_name(status) }),
    }
}

/// The header's name of an `mvncStatus`, or "an unknown status".
pub fn status_name(status: mvncStatus) -> &'static str {
    Status::from_code(status).map_or("an unknown status", Status::name)
}

impl Mvnc {
    /// Loads `explicit`, else `$NCS_MVNC_LIB`, else the usual NCSDK locations.
    pub fn load(explicit: Option<&Path>) -> Result<Arc<Mvnc>> {
        let candidates: Vec<PathBuf> =
            match explicit.map(Path::to_path_buf).or_else(|| std::env::var_os("NCS_MVNC_LIB").map(PathBuf::from)) {
                Some(path) => vec![path],
                None => SEARCH.iter().map(PathBuf::from).collect(),
            };
        let mut tried = Vec::new();
        for path in candidates {
            // SAFETY: loading a library runs its initialisers; the user chose this library as
            // an implementation of the mvnc API, whose initialisers are benign.
            match unsafe { ffi::Mvnc::new(&path) } {
                Ok(api) => {
                    let simulated = asks_software_sticks(&path);
                    return Ok(Arc::new(Mvnc { api, path: path.display().to_string(), simulated }));
                }
                Err(e) => tried.push((path, e.to_string())),
            }
        }
        Err(Error::MvncNotFound { tried })
    }

    /// True when the library drives software sticks: ncs's drop-in run with `NCS_EMULATE=N`, as
    /// it answers through its `ncsSoftwareSticks` extension. A library without the extension
    /// (Intel's) drives real sticks only, so it is false there — whatever the environment says.
    pub fn simulated(&self) -> bool {
        self.simulated
    }

    /// Device names, in the library's order.
    pub fn device_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for index in 0..64 {
            let mut buf = [0 as c_char; MVNC_MAX_NAME_SIZE as usize];
            // SAFETY: `buf` is valid for MVNC_MAX_NAME_SIZE bytes, the size passed.
            let status = unsafe { (self.api.mvncGetDeviceName)(index, buf.as_mut_ptr(), buf.len() as c_uint) };
            if status == mvncStatus_MVNC_DEVICE_NOT_FOUND {
                break;
            }
            check("mvncGetDeviceName", status)?;
            // SAFETY: on success the library wrote a NUL-terminated name into `buf`.
            names.push(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned());
        }
        Ok(names)
    }
}

/// Asks the library at `path` (already loaded, so this finds the same copy) whether it drives
/// software sticks; false when it does not export [`SOFTWARE_STICKS_SYMBOL`].
fn asks_software_sticks(path: &Path) -> bool {
    // SAFETY: the library is already loaded (by the caller, just now): loading it again only
    // takes another reference to the same copy and runs no initialiser.
    let Ok(library) = (unsafe { libloading::Library::new(path) }) else {
        return false;
    };
    // SAFETY: ncs's drop-in defines the symbol as `extern "C" fn() -> c_int` (libmvnc/src/lib.rs);
    // a library that does not define it is not asked.
    let Ok(software_sticks) = (unsafe { library.get::<unsafe extern "C" fn() -> c_int>(SOFTWARE_STICKS_SYMBOL) })
    else {
        return false;
    };
    // SAFETY: the function takes no arguments and only reads the library's own state.
    unsafe { software_sticks() == 1 }
}

/// An open device with one graph allocated, through the mvnc API.
#[derive(Debug)]
pub struct SdkStick {
    lib: Arc<Mvnc>,
    device: *mut c_void,
    graph: *mut c_void,
    stages: usize,
    input_shape: [u32; 3],
    output_shape: [u32; 3],
}

// SAFETY: the mvnc API is documented thread-safe; the handles are only used through `&mut self`.
unsafe impl Send for SdkStick {}

impl SdkStick {
    /// Opens the first device the library lists and allocates `graph` (its file's exact bytes).
    pub fn open(lib: Arc<Mvnc>, graph: &GraphFile) -> Result<Self> {
        let parsed = graph.blob();
        let name = lib.device_names()?.into_iter().next().ok_or_else(|| Error::NoStick { bus: lib.path.clone() })?;
        // Names come out of a C string (CStr), so they hold no NUL.
        let cname = CString::new(name).expect("a name read from a C string");
        let mut device = std::ptr::null_mut();
        // SAFETY: `cname` is NUL-terminated; `device` is a valid out-pointer.
        check("mvncOpenDevice", unsafe { (lib.api.mvncOpenDevice)(cname.as_ptr(), &mut device) })?;
        let mut handle = std::ptr::null_mut();
        let bytes = graph.to_bytes();
        // A graph file is at most 512 MiB (checked when it was parsed).
        let len = bytes.len() as c_uint;
        // SAFETY: `device` came from mvncOpenDevice; `bytes` is valid for `len` bytes.
        let status = unsafe { (lib.api.mvncAllocateGraph)(device, &mut handle, bytes.as_ptr().cast(), len) };
        if let Err(e) = check("mvncAllocateGraph", status) {
            // SAFETY: `device` is open and not used again.
            unsafe { (lib.api.mvncCloseDevice)(device) };
            return Err(e);
        }
        Ok(SdkStick {
            lib,
            device,
            graph: handle,
            stages: parsed.stages.len(),
            input_shape: parsed.input_shape(),
            output_shape: parsed.output_shape(),
        })
    }

    /// Per-stage times of the last inference (MVNC_TIME_TAKEN), copied out.
    fn time_taken(&self) -> Result<Vec<f32>> {
        let get = self.lib.api.mvncGetGraphOption;
        self.float_option(
            get,
            self.graph,
            mvncGraphOptions_MVNC_TIME_TAKEN,
            "mvncGetGraphOption(TIME_TAKEN)",
            self.stages,
        )
    }

    /// The temperatures (MVNC_THERMAL_STATS), copied out.
    fn thermal(&self) -> Result<Vec<f32>> {
        let get = self.lib.api.mvncGetDeviceOption;
        self.float_option(
            get,
            self.device,
            mvncDeviceOptions_MVNC_THERMAL_STATS,
            "mvncGetDeviceOption(THERMAL_STATS)",
            aux::THERMAL_COUNT,
        )
    }

    /// Reads an option whose value is a pointer to floats and copies at most `max` of them out
    /// before another call can move or overwrite them.
    fn float_option(
        &self,
        get: GetOption,
        handle: *mut c_void,
        option: u32,
        call: &str,
        max: usize,
    ) -> Result<Vec<f32>> {
        let mut ptr: *const f32 = std::ptr::null();
        let mut len: c_uint = std::mem::size_of::<*const f32>() as c_uint;
        // SAFETY: `handle` came from the library; pointer-valued options write one pointer into
        // `ptr` and the byte count it points to into `len`.
        let status = unsafe { get(handle, option as c_int, (&mut ptr as *mut *const f32).cast(), &mut len) };
        check(call, status)?;
        if ptr.is_null() {
            return Ok(Vec::new());
        }
        // SAFETY: the library guarantees `len` bytes of floats at `ptr` until its next call.
        Ok(unsafe { std::slice::from_raw_parts(ptr, (len as usize / 4).min(max)) }.to_vec())
    }
}

/// The shape of mvncGetGraphOption and mvncGetDeviceOption.
type GetOption = unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, *mut c_uint) -> mvncStatus;

impl Backend for SdkStick {
    fn name(&self) -> &'static str {
        "sdk"
    }

    fn input_shape(&self) -> [u32; 3] {
        self.input_shape
    }

    fn output_shape(&self) -> [u32; 3] {
        self.output_shape
    }

    /// What the library says of its sticks ([`Mvnc::simulated`]).
    fn simulated(&self) -> bool {
        self.lib.simulated()
    }

    fn infer(&mut self, input: &[f32]) -> Result<Outcome> {
        let started = Instant::now();
        let bytes = crate::fp16::encode(input);
        let len = c_uint::try_from(bytes.len())
            .map_err(|_| Error::Input { path: None, message: "input larger than 4 GiB".into() })?;
        // SAFETY: `bytes` is valid for `len` bytes; the user parameter is an opaque value.
        check("mvncLoadTensor", unsafe {
            (self.lib.api.mvncLoadTensor)(self.graph, bytes.as_ptr().cast(), len, std::ptr::null_mut())
        })?;
        let (mut out, mut out_len, mut user) = (std::ptr::null_mut(), 0 as c_uint, std::ptr::null_mut());
        // SAFETY: all three are valid out-pointers.
        check("mvncGetResult", unsafe { (self.lib.api.mvncGetResult)(self.graph, &mut out, &mut out_len, &mut user) })?;
        if out.is_null() {
            return Err(Error::BackendFault {
                backend: self.lib.path.clone(),
                message: "mvncGetResult succeeded but returned no output".into(),
            });
        }
        // SAFETY: the library owns `out_len` bytes of fp16 at `out` until the next GetResult;
        // they are copied out at once.
        let raw = unsafe { std::slice::from_raw_parts(out.cast::<u8>(), out_len as usize) };
        let output = crate::fp16::decode(raw);
        let stage_ms = self.time_taken()?;
        let telemetry =
            Telemetry { stage_ms: stage_ms.clone(), thermal: self.thermal()?, throttling: 0, debug: String::new() };
        Ok(Outcome {
            output,
            stage_ms: stage_ms.iter().map(|&v| f64::from(v)).collect(),
            wall: started.elapsed(),
            telemetry: Some(telemetry),
        })
    }
}

impl Drop for SdkStick {
    fn drop(&mut self) {
        // SAFETY: both handles came from the library and are released exactly once.
        unsafe {
            (self.lib.api.mvncDeallocateGraph)(self.graph);
            (self.lib.api.mvncCloseDevice)(self.device);
        }
    }
}
