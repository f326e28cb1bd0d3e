//! A drop-in `libmvnc.so`: the NCSDK v1 C ABI (`vendor/mvnc.h`, 13 functions) over ncs's
//! native NCS1 driver — or over software sticks when `NCS_EMULATE=N` is set — so unchanged
//! NCSDK v1 programs (C, or Python's `mvnc.mvncapi` through ctypes) run without the NCSDK.
//!
//! One file (~410 lines) on purpose: the exported functions are the ABI table, checked against
//! `vendor/mvnc.h` in one place; option numbers (`options.rs`), handles (`registry.rs`) and
//! the firmware lookup (`location.rs`) are modules.
//!
//! Behaviour follows NCSDK v1: blocking `LoadTensor`/`GetResult` unless `MVNC_DONT_BLOCK`,
//! options by number ([`options`]), pointers for TIME_TAKEN / DEBUG_INFO / THERMAL_STATS /
//! OPTIMISATION_LIST that stay valid (buffers are overwritten in place). Misuse — NULL
//! pointers, unknown handles or options, wrong lengths — returns `MVNC_INVALID_PARAMETERS`.
//! Every entry point catches panics, so none unwinds into C. Thread-safe.
//!
//! Status and option numbers come from the header through bindgen ([`ncs::sdk::ffi`],
//! [`ncs::sdk::Status`]); [`matches_header!`] checks at compile time that each exported
//! function has the header's signature.

#![allow(unsafe_code)] // This crate is an FFI layer.
#![warn(clippy::undocumented_unsafe_blocks)]

mod location;
pub mod options;
mod registry;

use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use ncs::device::{DeviceError, UsbError};
use ncs::sdk::ffi::{mvncStatus, MVNC_MAX_NAME_SIZE};
use ncs::sdk::Status;
use options::{
    mvncGetDeviceOption, mvncGetGlobalOption, mvncGetGraphOption, mvncSetDeviceOption, mvncSetGlobalOption,
    mvncSetGraphOption, DeviceReadings, GraphReadings,
};
use registry::{Entry, GraphBuffers, Library, Slot};

#[doc(hidden)]
pub use ncs::sdk::ffi as __ffi;

/// Fails to compile unless each named function has exactly the type bindgen derived for it
/// from `vendor/mvnc.h` — the field of that name in [`ncs::sdk::ffi::Mvnc`]: the same parameter
/// and return types and the C ABI. (That no header function is missing is checked when the
/// `sdk` backend loads this library: bindgen's loader requires all 13 symbols.)
///
/// ```
/// use std::ffi::{c_char, c_void};
/// unsafe extern "C" fn mvncOpenDevice(name: *const c_char, handle: *mut *mut c_void) -> i32 {
///     0
/// }
/// mvnc::matches_header!(mvncOpenDevice);
/// ```
///
/// The same function with `char *name` where the header says `const char *name` does not
/// compile (mismatched types):
///
/// ```compile_fail,E0308
/// use std::ffi::{c_char, c_void};
/// unsafe extern "C" fn mvncOpenDevice(name: *mut c_char, handle: *mut *mut c_void) -> i32 {
///     0
/// }
/// mvnc::matches_header!(mvncOpenDevice);
/// ```
#[macro_export]
macro_rules! matches_header {
    ($($function:ident),+ $(,)?) => {
        const _: () = {
            // Never called: type-checking the assignments is the check.
            #[allow(dead_code)]
            fn signatures_match_the_header(api: &mut $crate::__ffi::Mvnc) {
                $(api.$function = $function;)+
            }
        };
    };
}

matches_header!(
    mvncGetDeviceName,
    mvncOpenDevice,
    mvncCloseDevice,
    mvncAllocateGraph,
    mvncDeallocateGraph,
    mvncSetGlobalOption,
    mvncGetGlobalOption,
    mvncSetGraphOption,
    mvncGetGraphOption,
    mvncSetDeviceOption,
    mvncGetDeviceOption,
    mvncLoadTensor,
    mvncGetResult,
);

const MAX_NAME_SIZE: usize = MVNC_MAX_NAME_SIZE as usize;

/// ncs's extension, not in NCSDK's header: 1 when this library drives software sticks
/// (`NCS_EMULATE=N` was set when it started), else 0 — so a host (ncs's `sdk` backend,
/// `ncs::sdk::Mvnc::simulated`) can label their temperatures and throttling as simulated.
#[no_mangle]
pub extern "C" fn ncsSoftwareSticks() -> c_int {
    catch_unwind(|| c_int::from(Library::get().emulated)).unwrap_or(0)
}

/// Runs an entry point's body, returning its status as C sees it, and a panic as MVNC_ERROR.
fn guard(f: impl FnOnce() -> Status) -> mvncStatus {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Status::Error).code()
}

fn map_error(e: &DeviceError) -> Status {
    Library::get().log(&e.to_string());
    match e {
        DeviceError::Usb { source: UsbError::Timeout, .. } => Status::Timeout,
        DeviceError::Firmware { .. } => Status::MyriadError,
        DeviceError::Usage(_) => Status::InvalidParameters,
        DeviceError::Busy => Status::Busy,
        DeviceError::NoData => Status::NoData,
        _ => Status::Error,
    }
}

/// Writes the name of the `index`th stick (as NCSDK: the list is taken at index 0) into `name`;
/// `MVNC_DEVICE_NOT_FOUND` past the last one.
///
/// # Safety
/// `name` must be NULL or writable for `name_size` bytes (at most `MVNC_MAX_NAME_SIZE` are
/// written; a smaller `name_size` is refused).
#[no_mangle]
pub unsafe extern "C" fn mvncGetDeviceName(index: c_int, name: *mut c_char, name_size: c_uint) -> mvncStatus {
    guard(|| {
        if index < 0 || name.is_null() || (name_size as usize) < MAX_NAME_SIZE {
            return Status::InvalidParameters;
        }
        let lib = Library::get();
        let mut handles = lib.handles();
        if index == 0 || handles.names.is_empty() {
            // As NCSDK: the list is taken at index 0 and reused for later indices.
            handles.names = match &lib.bus {
                Some(bus) => bus.sticks().map(|s| s.iter().map(|id| id.name()).collect()).unwrap_or_default(),
                None => Vec::new(),
            };
        }
        let Some(found) = handles.names.get(index as usize) else {
            if handles.names.is_empty() {
                let place = lib.bus.as_ref().map_or_else(|| "no USB subsystem".to_owned(), |b| b.describe());
                lib.log(&format!("no stick found ({place}); set NCS_EMULATE=N for N software sticks"));
            }
            return Status::DeviceNotFound;
        };
        let bytes = found.as_bytes();
        let len = bytes.len().min(MAX_NAME_SIZE - 1);
        // SAFETY: checked non-null and `name_size` ≥ MAX_NAME_SIZE, so the caller's contract makes
        // that many bytes writable; we write len + 1 ≤ MAX_NAME_SIZE.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), name.cast::<u8>(), len);
            *name.add(len) = 0;
        }
        Status::Ok
    })
}

/// Boots and opens the stick called `name` and stores its handle in `*device_handle`.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `device_handle` NULL or writable for one
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn mvncOpenDevice(name: *const c_char, device_handle: *mut *mut c_void) -> mvncStatus {
    guard(|| {
        if name.is_null() || device_handle.is_null() {
            return Status::InvalidParameters;
        }
        // SAFETY: checked non-null; the caller's contract makes it NUL-terminated.
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
        let lib = Library::get();
        // As NCSDK (strtok_r on ':'): a name of nothing but ':' is a bad parameter
        // (docs/usb_protocol.md §16). Unlike strtok, a leading ':' is not skipped here: ":1-1"
        // names no stick and answers MVNC_ERROR.
        if name.split(':').all(str::is_empty) {
            lib.log(&format!("mvncOpenDevice: no device name in {name:?}"));
            return Status::InvalidParameters;
        }
        // As NCSDK, the firmware is loaded before the stick is looked for.
        let Some(firmware) = lib.firmware() else { return Status::MvcmdNotFound };
        let Some(bus) = &lib.bus else {
            lib.log("no USB subsystem available");
            return Status::Error;
        };
        if lib.handles().devices.values().any(|(open, _)| *open == name) {
            lib.log(&format!("{name} is already open"));
            return Status::Error;
        }
        let options = ncs::device::OpenOptions {
            tracer: std::env::var_os("NCS_TRACE_USB")
                .and_then(|p| ncs::device::trace::Tracer::to_file(p.as_ref()).ok()),
            ..Default::default()
        };
        let device = match ncs::device::Device::open(bus.as_ref(), &name, &firmware, &options) {
            Ok(d) => d,
            // A name no stick can have: as NCSDK, where it matches no stick, MVNC_ERROR.
            Err(DeviceError::Usage(why)) => {
                lib.log(&format!("mvncOpenDevice: no stick is called {name:?}: {why}"));
                return Status::Error;
            }
            Err(e) => return map_error(&e),
        };
        let entry = Entry { device, graph: None, readings: DeviceReadings::new() };
        let slot = Arc::new(Slot { entry: std::sync::Mutex::new(Some(entry)), changed: std::sync::Condvar::new() });
        let mut handles = lib.handles();
        let handle = handles.new_handle();
        handles.devices.insert(handle, (name, slot));
        // SAFETY: checked non-null; the caller's contract makes it writable for one pointer.
        unsafe { *device_handle = handle as *mut c_void };
        Status::Ok
    })
}

/// Closes a device (and deallocates its graph), resetting the stick.
///
/// # Safety
/// None beyond the C ABI: a handle is looked up, never dereferenced, so any value is safe.
#[no_mangle]
pub unsafe extern "C" fn mvncCloseDevice(device_handle: *mut c_void) -> mvncStatus {
    guard(|| {
        let lib = Library::get();
        let removed = {
            let mut handles = lib.handles();
            let removed = handles.devices.remove(&(device_handle as usize));
            handles.graphs.retain(|_, device| *device != device_handle as usize);
            removed
        };
        let Some((_, slot)) = removed else { return Status::InvalidParameters };
        let entry = slot.lock().take();
        slot.changed.notify_all();
        if let Some(entry) = entry {
            // A stick that cannot take the reset is already gone; closing still succeeds.
            let _ = entry.device.close();
        }
        Status::Ok
    })
}

/// Sends a graph file to an open device (one graph per device) and stores the graph's handle
/// in `*graph_handle`.
///
/// # Safety
/// `graph_file` must be NULL or readable for `graph_file_length` bytes; `graph_handle` NULL or
/// writable for one pointer.
#[no_mangle]
pub unsafe extern "C" fn mvncAllocateGraph(
    device_handle: *mut c_void,
    graph_handle: *mut *mut c_void,
    graph_file: *const c_void,
    graph_file_length: c_uint,
) -> mvncStatus {
    guard(|| {
        if graph_handle.is_null() || graph_file.is_null() {
            return Status::InvalidParameters;
        }
        let lib = Library::get();
        let Some(slot) = lib.device(device_handle as usize) else { return Status::InvalidParameters };
        if graph_file_length as usize > ncs::blob::layout::MAX_FILE_LEN {
            lib.log(&format!(
                "graph rejected: {graph_file_length} bytes is over the {} byte limit",
                ncs::blob::layout::MAX_FILE_LEN
            ));
            return Status::UnsupportedGraphFile;
        }
        // SAFETY: checked non-null; the caller's contract makes it readable for that many bytes.
        let bytes = unsafe { std::slice::from_raw_parts(graph_file.cast::<u8>(), graph_file_length as usize) };
        let graph = match ncs::blob::GraphFile::parse(bytes.to_vec()) {
            Ok(graph) => graph,
            Err(e) => {
                lib.log(&format!("graph rejected: {e}"));
                return Status::UnsupportedGraphFile;
            }
        };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return Status::InvalidParameters };
        if entry.graph.is_some() {
            return Status::Busy;
        }
        if let Err(e) = entry.device.allocate_graph(&graph) {
            return match e {
                DeviceError::Usage(_) => Status::UnsupportedGraphFile,
                other => map_error(&other),
            };
        }
        let (_, output_len) = entry.device.graph_io().unwrap_or((0, 0));
        let handle = lib.handles().new_handle();
        entry.graph = Some(GraphBuffers {
            handle,
            output: vec![0u8; output_len * 2].into_boxed_slice(),
            readings: GraphReadings::new(graph.blob().stages.len()),
        });
        lib.handles().graphs.insert(handle, device_handle as usize);
        // SAFETY: checked non-null; the caller's contract makes it writable for one pointer.
        unsafe { *graph_handle = handle as *mut c_void };
        Status::Ok
    })
}

/// Releases a graph; calls blocked on it return `MVNC_GONE`.
///
/// # Safety
/// None beyond the C ABI: a handle is looked up, never dereferenced, so any value is safe.
#[no_mangle]
pub unsafe extern "C" fn mvncDeallocateGraph(graph_handle: *mut c_void) -> mvncStatus {
    guard(|| {
        let lib = Library::get();
        let Some(slot) = lib.graph(graph_handle as usize) else { return Status::InvalidParameters };
        lib.handles().graphs.remove(&(graph_handle as usize));
        if let Some(entry) = slot.lock().as_mut() {
            entry.device.deallocate_graph();
            entry.graph = None;
        }
        slot.changed.notify_all();
        Status::Ok
    })
}

/// Queues one inference on `length` bytes of fp16 input, tagged with `user`; blocks while two
/// are queued unless the graph has `MVNC_DONT_BLOCK` (then `MVNC_BUSY`). Any length of at least
/// 2 bytes is sent as given, as NCSDK's library does; one other than the graph's input is
/// reported under `MVNC_LOG_LEVEL` (the stick computes on what it received).
///
/// # Safety
/// `input` must be NULL or readable for `length` bytes. `user` is never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn mvncLoadTensor(
    graph_handle: *mut c_void,
    input: *const c_void,
    length: c_uint,
    user: *mut c_void,
) -> mvncStatus {
    guard(|| {
        // As NCSDK (`mvnc_api.c` 873): any length of 2 bytes or more is sent as given.
        if input.is_null() || length < 2 {
            return Status::InvalidParameters;
        }
        let lib = Library::get();
        let Some(slot) = lib.graph(graph_handle as usize) else { return Status::InvalidParameters };
        // SAFETY: checked non-null; the caller's contract makes it readable for `length` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), length as usize) };
        // Wait for a free slot (or give up at once in non-blocking mode).
        let mut guard = match slot.wait_until(graph_handle as usize, |in_flight| in_flight < 2, Status::Busy) {
            Ok(guard) => guard,
            Err(code) => return code,
        };
        let entry = guard.as_mut().expect("wait_until returned a live graph");
        if let Some((values, _)) = entry.device.graph_io().filter(|&(values, _)| 2 * values != bytes.len()) {
            lib.log(&format!(
                "mvncLoadTensor: {length} bytes; the graph takes {} ({values} fp16 values): sent as given, as NCSDK does",
                2 * values
            ));
        }
        let result = entry.device.load_tensor_bytes(bytes, user as u64);
        slot.changed.notify_all();
        match result {
            Ok(()) => Status::Ok,
            Err(e) => map_error(&e),
        }
    })
}

/// Waits for the oldest queued inference (unless `MVNC_DONT_BLOCK`: then `MVNC_NO_DATA`) and
/// points `*output` at its fp16 result, which stays valid until the next `GetResult` on the
/// graph or its deallocation.
///
/// # Safety
/// `output`, `output_length` and `user` must each be NULL or writable for one value of their
/// pointee type.
#[no_mangle]
pub unsafe extern "C" fn mvncGetResult(
    graph_handle: *mut c_void,
    output: *mut *mut c_void,
    output_length: *mut c_uint,
    user: *mut *mut c_void,
) -> mvncStatus {
    guard(|| {
        if output.is_null() || output_length.is_null() || user.is_null() {
            return Status::InvalidParameters;
        }
        let lib = Library::get();
        let Some(slot) = lib.graph(graph_handle as usize) else { return Status::InvalidParameters };
        // Wait for a queued inference (or give up at once in non-blocking mode).
        let mut guard = match slot.wait_until(graph_handle as usize, |in_flight| in_flight > 0, Status::NoData) {
            Ok(guard) => guard,
            Err(code) => return code,
        };
        let entry = guard.as_mut().expect("wait_until returned a live graph");
        let result = entry.device.get_result();
        slot.changed.notify_all();
        let telemetry = entry.device.telemetry();
        entry.readings.update(telemetry);
        let graph = entry.graph.as_mut().expect("wait_until returned a live graph");
        graph.readings.update(telemetry);
        let code = match result {
            Ok((values, tag)) => {
                let bytes = ncs::fp16::halves_to_bytes(&values);
                let n = bytes.len().min(graph.output.len());
                graph.output[..n].copy_from_slice(&bytes[..n]);
                // SAFETY: checked non-null above; the caller's contract makes it writable.
                unsafe { *user = tag as *mut c_void };
                Status::Ok
            }
            Err(e) => map_error(&e),
        };
        // SAFETY: both checked non-null above; the caller's contract makes them writable. The
        // buffer pointed to lives until the graph is deallocated.
        unsafe {
            *output = graph.output.as_mut_ptr().cast();
            *output_length = graph.output.len() as c_uint;
        }
        code
    })
}
