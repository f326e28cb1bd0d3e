//! A drop-in `libmvnc.so`: the NCSDK v1 C ABI (`vendor/mvnc.h`, 13 functions) over ncs's
//! native NCS1 driver — or over software sticks when `NCS_EMULATE=N` is set — so unchanged
//! NCSDK v1 programs (C, or Python's `mvnc.mvncapi` through ctypes) run without the NCSDK.
//!
//! Behaviour follows NCSDK v1: blocking `LoadTensor`/`GetResult` unless `MVNC_DONT_BLOCK`,
//! options by number, pointers for TIME_TAKEN / DEBUG_INFO / THERMAL_STATS /
//! OPTIMISATION_LIST that stay valid (buffers are overwritten in place). Misuse — NULL
//! pointers, unknown handles or options, wrong lengths — returns `MVNC_INVALID_PARAMETERS`.
//! Every entry point catches panics, so none unwinds into C. Thread-safe.

#![allow(unsafe_code)] // This crate is an FFI layer.
#![allow(clippy::missing_safety_doc)] // The C contract is NCSDK's, documented in vendor/mvnc.h.

mod registry;

use std::ffi::{c_void, CStr};
use std::os::raw::{c_char, c_int, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ncs::device::{DeviceError, GraphOptions, UsbError};
use registry::{Entry, GraphBuffers, Library, Slot, DEBUG_LEN, OPTIMISATION_LEN, THERMAL_COUNT};

/// mvncStatus values.
pub(crate) mod status {
    pub const OK: i32 = 0;
    pub const BUSY: i32 = -1;
    pub const ERROR: i32 = -2;
    pub const DEVICE_NOT_FOUND: i32 = -4;
    pub const INVALID_PARAMETERS: i32 = -5;
    pub const TIMEOUT: i32 = -6;
    pub const MVCMD_NOT_FOUND: i32 = -7;
    pub const NO_DATA: i32 = -8;
    pub const GONE: i32 = -9;
    pub const UNSUPPORTED_GRAPH_FILE: i32 = -10;
    pub const MYRIAD_ERROR: i32 = -11;
}

const MAX_NAME_SIZE: usize = 28;

/// Runs an entry point, turning a panic into MVNC_ERROR.
fn guard(f: impl FnOnce() -> i32) -> i32 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(status::ERROR)
}

fn map_error(e: &DeviceError) -> i32 {
    Library::get().log(&e.to_string());
    match e {
        DeviceError::Usb { source: UsbError::Timeout, .. } => status::TIMEOUT,
        DeviceError::Firmware { .. } => status::MYRIAD_ERROR,
        DeviceError::Usage(_) => status::INVALID_PARAMETERS,
        DeviceError::Busy => status::BUSY,
        DeviceError::NoData => status::NO_DATA,
        _ => status::ERROR,
    }
}

#[no_mangle]
pub unsafe extern "C" fn mvncGetDeviceName(index: c_int, name: *mut c_char, name_size: c_uint) -> i32 {
    guard(|| {
        if index < 0 || name.is_null() || (name_size as usize) < MAX_NAME_SIZE {
            return status::INVALID_PARAMETERS;
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
        let Some(found) = handles.names.get(index as usize) else { return status::DEVICE_NOT_FOUND };
        let bytes = found.as_bytes();
        let len = bytes.len().min(MAX_NAME_SIZE - 1);
        // SAFETY: the caller provides `name_size` ≥ 28 writable bytes; we write len + 1 ≤ 28.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), name.cast::<u8>(), len);
            *name.add(len) = 0;
        }
        status::OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncOpenDevice(name: *const c_char, device_handle: *mut *mut c_void) -> i32 {
    guard(|| {
        if name.is_null() || device_handle.is_null() {
            return status::INVALID_PARAMETERS;
        }
        // SAFETY: the caller passes a NUL-terminated name.
        let name = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
        let lib = Library::get();
        let Some(bus) = &lib.bus else {
            lib.log("no USB subsystem available");
            return status::ERROR;
        };
        if lib.handles().devices.values().any(|(open, _)| *open == name) {
            lib.log(&format!("{name} is already open"));
            return status::ERROR;
        }
        let Some(firmware) = lib.firmware() else { return status::MVCMD_NOT_FOUND };
        let options = ncs::device::OpenOptions {
            tracer: std::env::var_os("NCS_TRACE_USB")
                .and_then(|p| ncs::device::trace::Tracer::to_file(p.as_ref()).ok()),
            ..Default::default()
        };
        let device = match ncs::device::Device::open(bus.as_ref(), &name, &firmware, &options) {
            Ok(d) => d,
            Err(e) => return map_error(&e),
        };
        let entry = Entry {
            device,
            graph: None,
            thermal: Box::new([0.0; THERMAL_COUNT]),
            optimisation: Box::new([0; OPTIMISATION_LEN]),
        };
        let slot = Arc::new(Slot { entry: std::sync::Mutex::new(Some(entry)), changed: std::sync::Condvar::new() });
        let mut handles = lib.handles();
        let handle = handles.new_handle();
        handles.devices.insert(handle, (name, slot));
        // SAFETY: checked non-null; the caller provides a writable pointer slot.
        unsafe { *device_handle = handle as *mut c_void };
        status::OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncCloseDevice(device_handle: *mut c_void) -> i32 {
    guard(|| {
        let lib = Library::get();
        let removed = {
            let mut handles = lib.handles();
            let removed = handles.devices.remove(&(device_handle as usize));
            handles.graphs.retain(|_, device| *device != device_handle as usize);
            removed
        };
        let Some((_, slot)) = removed else { return status::INVALID_PARAMETERS };
        let entry = slot.lock().take();
        slot.changed.notify_all();
        if let Some(entry) = entry {
            // A stick that cannot take the reset is already gone; closing still succeeds.
            let _ = entry.device.close();
        }
        status::OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncAllocateGraph(
    device_handle: *mut c_void,
    graph_handle: *mut *mut c_void,
    graph_file: *const c_void,
    graph_file_length: c_uint,
) -> i32 {
    guard(|| {
        if graph_handle.is_null() || graph_file.is_null() {
            return status::INVALID_PARAMETERS;
        }
        let lib = Library::get();
        let Some(slot) = lib.device(device_handle as usize) else { return status::INVALID_PARAMETERS };
        // SAFETY: the caller provides `graph_file_length` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(graph_file.cast::<u8>(), graph_file_length as usize) };
        let Ok(parsed) = ncs::blob::parse(bytes) else { return status::UNSUPPORTED_GRAPH_FILE };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return status::INVALID_PARAMETERS };
        if entry.graph.is_some() {
            return status::BUSY;
        }
        if let Err(e) = entry.device.allocate_graph(bytes) {
            return match e {
                DeviceError::Usage(_) => status::UNSUPPORTED_GRAPH_FILE,
                other => map_error(&other),
            };
        }
        let (_, output_len) = entry.device.graph_io().unwrap_or((0, 0));
        let handle = lib.handles().new_handle();
        entry.graph = Some(GraphBuffers {
            handle,
            output: vec![0u8; output_len * 2].into_boxed_slice(),
            times: vec![0.0f32; parsed.stages.len()].into_boxed_slice(),
            debug: Box::new([0; DEBUG_LEN]),
        });
        lib.handles().graphs.insert(handle, device_handle as usize);
        // SAFETY: checked non-null.
        unsafe { *graph_handle = handle as *mut c_void };
        status::OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncDeallocateGraph(graph_handle: *mut c_void) -> i32 {
    guard(|| {
        let lib = Library::get();
        let Some(slot) = lib.graph(graph_handle as usize) else { return status::INVALID_PARAMETERS };
        lib.handles().graphs.remove(&(graph_handle as usize));
        if let Some(entry) = slot.lock().as_mut() {
            entry.device.deallocate_graph();
            entry.graph = None;
        }
        slot.changed.notify_all();
        status::OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncLoadTensor(
    graph_handle: *mut c_void,
    input: *const c_void,
    length: c_uint,
    user: *mut c_void,
) -> i32 {
    guard(|| {
        if input.is_null() || length < 2 || !length.is_multiple_of(2) {
            return status::INVALID_PARAMETERS;
        }
        let lib = Library::get();
        let Some(slot) = lib.graph(graph_handle as usize) else { return status::INVALID_PARAMETERS };
        // SAFETY: the caller provides `length` readable bytes of fp16.
        let bytes = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), length as usize) };
        let halves = ncs::fp16::halves_from_bytes(bytes);
        // Wait for a free slot (or give up at once in non-blocking mode).
        let mut guard = match slot.wait_until(graph_handle as usize, |in_flight| in_flight < 2, status::BUSY) {
            Ok(guard) => guard,
            Err(code) => return code,
        };
        let entry = guard.as_mut().expect("wait_until returned a live graph");
        let result = entry.device.load_tensor(&halves, user as u64);
        slot.changed.notify_all();
        match result {
            Ok(()) => status::OK,
            Err(e) => map_error(&e),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncGetResult(
    graph_handle: *mut c_void,
    output: *mut *mut c_void,
    output_length: *mut c_uint,
    user: *mut *mut c_void,
) -> i32 {
    guard(|| {
        if output.is_null() || output_length.is_null() || user.is_null() {
            return status::INVALID_PARAMETERS;
        }
        let lib = Library::get();
        let Some(slot) = lib.graph(graph_handle as usize) else { return status::INVALID_PARAMETERS };
        // Wait for a queued inference (or give up at once in non-blocking mode).
        let mut guard = match slot.wait_until(graph_handle as usize, |in_flight| in_flight > 0, status::NO_DATA) {
            Ok(guard) => guard,
            Err(code) => return code,
        };
        let entry = guard.as_mut().expect("wait_until returned a live graph");
        let result = entry.device.get_result();
        slot.changed.notify_all();
        let telemetry = entry.device.telemetry().clone();
        let graph = entry.graph.as_mut().expect("wait_until returned a live graph");
        for (dst, src) in graph.times.iter_mut().zip(&telemetry.stage_ms) {
            *dst = *src;
        }
        for (dst, src) in entry.thermal.iter_mut().zip(&telemetry.thermal) {
            *dst = *src;
        }
        graph.debug.fill(0);
        let debug = telemetry.debug.as_bytes();
        let n = debug.len().min(DEBUG_LEN - 1);
        graph.debug[..n].copy_from_slice(&debug[..n]);
        let code = match result {
            Ok((values, tag)) => {
                for (dst, v) in graph.output.chunks_exact_mut(2).zip(&values) {
                    dst.copy_from_slice(&v.to_le_bytes());
                }
                // SAFETY: checked non-null above.
                unsafe { *user = tag as *mut c_void };
                status::OK
            }
            Err(e) => map_error(&e),
        };
        // SAFETY: checked non-null; the buffer lives until the graph is deallocated.
        unsafe {
            *output = graph.output.as_mut_ptr().cast();
            *output_length = graph.output.len() as c_uint;
        }
        code
    })
}

/// Reads a 4-byte option value.
unsafe fn read_i32(data: *const c_void, length: c_uint) -> Option<i32> {
    // SAFETY: the caller promises `length` readable bytes; we read 4 only when length == 4.
    (length == 4 && !data.is_null()).then(|| unsafe { data.cast::<i32>().read_unaligned() })
}

/// Writes a 4-byte value and its length.
unsafe fn write_i32(data: *mut c_void, length: *mut c_uint, value: i32) -> i32 {
    // SAFETY: callers checked both pointers are non-null; NCSDK's contract gives 4 bytes.
    unsafe {
        data.cast::<i32>().write_unaligned(value);
        *length = 4;
    }
    status::OK
}

/// Writes a pointer (for the pointer-valued options) and the byte length it points to.
unsafe fn write_ptr<T>(data: *mut c_void, length: *mut c_uint, ptr: *const T, bytes: usize) -> i32 {
    // SAFETY: callers checked both pointers; NCSDK's contract gives room for one pointer.
    unsafe {
        data.cast::<*const T>().write_unaligned(ptr);
        *length = bytes as c_uint;
    }
    status::OK
}

#[no_mangle]
pub unsafe extern "C" fn mvncSetGlobalOption(option: c_int, data: *const c_void, length: c_uint) -> i32 {
    guard(|| match (option, unsafe { read_i32(data, length) }) {
        (0, Some(level)) => {
            Library::get().log_level.store(level, Ordering::Relaxed);
            status::OK
        }
        _ => status::INVALID_PARAMETERS,
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncGetGlobalOption(option: c_int, data: *mut c_void, length: *mut c_uint) -> i32 {
    guard(|| {
        if data.is_null() || length.is_null() || option != 0 {
            return status::INVALID_PARAMETERS;
        }
        unsafe { write_i32(data, length, Library::get().log_level.load(Ordering::Relaxed)) }
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncSetGraphOption(
    graph_handle: *mut c_void,
    option: c_int,
    data: *const c_void,
    length: c_uint,
) -> i32 {
    guard(|| {
        let Some(value) = (unsafe { read_i32(data, length) }) else { return status::INVALID_PARAMETERS };
        let Some(slot) = Library::get().graph(graph_handle as usize) else { return status::INVALID_PARAMETERS };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return status::GONE };
        let mut options = entry.device.graph_options().unwrap_or_default();
        match option {
            0 => options.iterations = value,
            1 => options.network_throttle = value,
            2 => options.dont_block = value != 0,
            _ => return status::INVALID_PARAMETERS,
        }
        match entry.device.set_graph_options(options) {
            Ok(()) => status::OK,
            Err(e) => map_error(&e),
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncGetGraphOption(
    graph_handle: *mut c_void,
    option: c_int,
    data: *mut c_void,
    length: *mut c_uint,
) -> i32 {
    guard(|| {
        if data.is_null() || length.is_null() {
            return status::INVALID_PARAMETERS;
        }
        let Some(slot) = Library::get().graph(graph_handle as usize) else { return status::INVALID_PARAMETERS };
        let guard = slot.lock();
        let Some(entry) = guard.as_ref() else { return status::GONE };
        let Some(graph) = entry.graph.as_ref() else { return status::GONE };
        let options: GraphOptions = entry.device.graph_options().unwrap_or_default();
        unsafe {
            match option {
                0 => write_i32(data, length, options.iterations),
                1 => write_i32(data, length, options.network_throttle),
                2 => write_i32(data, length, i32::from(options.dont_block)),
                1000 => write_ptr(data, length, graph.times.as_ptr(), graph.times.len() * 4),
                1001 => write_ptr(data, length, graph.debug.as_ptr(), DEBUG_LEN),
                _ => status::INVALID_PARAMETERS,
            }
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncSetDeviceOption(
    device_handle: *mut c_void,
    option: c_int,
    data: *const c_void,
    length: c_uint,
) -> i32 {
    guard(|| {
        if device_handle.is_null() && option == 0 {
            // NCSDK forwards the log level set on no device to the global option.
            return unsafe { mvncSetGlobalOption(0, data, length) };
        }
        let Some(bits) = (unsafe { read_i32(data, length) }) else { return status::INVALID_PARAMETERS };
        let Some(slot) = Library::get().device(device_handle as usize) else { return status::INVALID_PARAMETERS };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return status::GONE };
        let mut thermal = entry.device.thermal_options();
        match option {
            1 => thermal.temp_lim_lower = f32::from_bits(bits as u32),
            2 => thermal.temp_lim_higher = f32::from_bits(bits as u32),
            3 => thermal.backoff_normal = bits,
            4 => thermal.backoff_high = bits,
            5 => thermal.backoff_critical = bits,
            6 => thermal.temperature_debug = bits,
            _ => return status::INVALID_PARAMETERS,
        }
        entry.device.set_thermal_options(thermal);
        status::OK
    })
}

#[no_mangle]
pub unsafe extern "C" fn mvncGetDeviceOption(
    device_handle: *mut c_void,
    option: c_int,
    data: *mut c_void,
    length: *mut c_uint,
) -> i32 {
    guard(|| {
        if data.is_null() || length.is_null() {
            return status::INVALID_PARAMETERS;
        }
        if device_handle.is_null() && option == 0 {
            return unsafe { mvncGetGlobalOption(0, data, length) };
        }
        let Some(slot) = Library::get().device(device_handle as usize) else { return status::INVALID_PARAMETERS };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return status::GONE };
        let thermal = entry.device.thermal_options();
        unsafe {
            match option {
                1 => write_i32(data, length, thermal.temp_lim_lower.to_bits() as i32),
                2 => write_i32(data, length, thermal.temp_lim_higher.to_bits() as i32),
                3 => write_i32(data, length, thermal.backoff_normal),
                4 => write_i32(data, length, thermal.backoff_high),
                5 => write_i32(data, length, thermal.backoff_critical),
                6 => write_i32(data, length, thermal.temperature_debug),
                1000 if entry.graph.is_none() => status::NO_DATA,
                1000 => write_ptr(data, length, entry.thermal.as_ptr(), THERMAL_COUNT * 4),
                1001 => match entry.device.optimisation_list() {
                    Ok(list) => {
                        entry.optimisation.fill(0);
                        for (slot, name) in entry.optimisation.chunks_mut(50).zip(&list) {
                            let n = name.len().min(49);
                            slot[..n].copy_from_slice(&name.as_bytes()[..n]);
                        }
                        write_ptr(data, length, entry.optimisation.as_ptr(), OPTIMISATION_LEN)
                    }
                    Err(e) => map_error(&e),
                },
                1002 => write_i32(data, length, entry.device.telemetry().throttling),
                _ => status::INVALID_PARAMETERS,
            }
        }
    })
}
