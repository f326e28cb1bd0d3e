//! The six option calls — global, graph and device, get and set — and the buffers behind the
//! pointer-valued options. Option numbers are the header's (bindgen constants); a negative or
//! unknown number is `MVNC_INVALID_PARAMETERS`.
//!
//! As NCSDK v1: a set takes exactly 4 bytes; a get writes 4 bytes (int and float options) or
//! one pointer (TIME_TAKEN, DEBUG_INFO, THERMAL_STATS, OPTIMISATION_LIST) and the length, and
//! never reads `*length` first.

use std::ffi::c_void;
use std::os::raw::{c_int, c_uint};
use std::sync::atomic::Ordering;

use ncs::device::wire::{aux, OPTIMIZATION_ENTRY_LEN, OPTIMIZATION_LIST_LEN};
use ncs::device::Telemetry;
use ncs::sdk::ffi::{
    mvncDeviceOptions_MVNC_BACKOFF_TIME_CRITICAL as BACKOFF_TIME_CRITICAL,
    mvncDeviceOptions_MVNC_BACKOFF_TIME_HIGH as BACKOFF_TIME_HIGH,
    mvncDeviceOptions_MVNC_BACKOFF_TIME_NORMAL as BACKOFF_TIME_NORMAL,
    mvncDeviceOptions_MVNC_OPTIMISATION_LIST as OPTIMISATION_LIST,
    mvncDeviceOptions_MVNC_TEMPERATURE_DEBUG as TEMPERATURE_DEBUG,
    mvncDeviceOptions_MVNC_TEMP_LIM_HIGHER as TEMP_LIM_HIGHER, mvncDeviceOptions_MVNC_TEMP_LIM_LOWER as TEMP_LIM_LOWER,
    mvncDeviceOptions_MVNC_THERMAL_STATS as THERMAL_STATS,
    mvncDeviceOptions_MVNC_THERMAL_THROTTLING_LEVEL as THERMAL_THROTTLING_LEVEL,
    mvncGlobalOptions_MVNC_LOG_LEVEL as LOG_LEVEL, mvncGraphOptions_MVNC_DEBUG_INFO as DEBUG_INFO,
    mvncGraphOptions_MVNC_DONT_BLOCK as DONT_BLOCK, mvncGraphOptions_MVNC_ITERATIONS as ITERATIONS,
    mvncGraphOptions_MVNC_NETWORK_THROTTLE as NETWORK_THROTTLE, mvncGraphOptions_MVNC_TIME_TAKEN as TIME_TAKEN,
    mvncStatus,
};
use ncs::sdk::Status;

use crate::registry::Library;
use crate::{guard, map_error};

/// Bytes of DEBUG_INFO's string, NUL included: the aux buffer's debug field.
const DEBUG_LEN: usize = aux::DEBUG.end - aux::DEBUG.start;

/// What a graph's pointer-valued options point at: TIME_TAKEN's per-stage times and DEBUG_INFO's
/// string, refreshed by each `mvncGetResult`.
pub(crate) struct GraphReadings {
    times: Box<[f32]>,
    debug: Box<[u8; DEBUG_LEN]>,
}

impl GraphReadings {
    /// Zeroed buffers for a graph of `stages` stages.
    pub(crate) fn new(stages: usize) -> Self {
        GraphReadings { times: vec![0.0; stages].into_boxed_slice(), debug: Box::new([0; DEBUG_LEN]) }
    }

    /// Copies the last inference's stage times and debug string in.
    pub(crate) fn update(&mut self, telemetry: &Telemetry) {
        for (dst, src) in self.times.iter_mut().zip(&telemetry.stage_ms) {
            *dst = *src;
        }
        self.debug.fill(0);
        let debug = telemetry.debug.as_bytes();
        let n = debug.len().min(DEBUG_LEN - 1);
        self.debug[..n].copy_from_slice(&debug[..n]);
    }
}

/// What a device's pointer-valued options point at: THERMAL_STATS' temperatures (refreshed by
/// each `mvncGetResult`) and OPTIMISATION_LIST's entries.
pub(crate) struct DeviceReadings {
    thermal: Box<[f32; aux::THERMAL_COUNT]>,
    optimisation: Box<[u8; OPTIMIZATION_LIST_LEN]>,
}

impl DeviceReadings {
    /// Zeroed buffers.
    pub(crate) fn new() -> Self {
        DeviceReadings {
            thermal: Box::new([0.0; aux::THERMAL_COUNT]),
            optimisation: Box::new([0; OPTIMIZATION_LIST_LEN]),
        }
    }

    /// Copies the last inference's temperatures in.
    pub(crate) fn update(&mut self, telemetry: &Telemetry) {
        for (dst, src) in self.thermal.iter_mut().zip(&telemetry.thermal) {
            *dst = *src;
        }
    }

    /// Lays `list` out as NCSDK does: NUL-padded entries of `OPTIMIZATION_ENTRY_LEN` bytes.
    fn set_optimisation_list(&mut self, list: &[String]) {
        self.optimisation.fill(0);
        for (slot, name) in self.optimisation.chunks_mut(OPTIMIZATION_ENTRY_LEN).zip(list) {
            let n = name.len().min(OPTIMIZATION_ENTRY_LEN - 1);
            slot[..n].copy_from_slice(&name.as_bytes()[..n]);
        }
    }
}

/// The option number as the header's (unsigned) enumerators, `None` when negative.
fn number(option: c_int) -> Option<c_uint> {
    c_uint::try_from(option).ok()
}

/// A set call's 4-byte value, `None` for NULL `data` or any other length.
///
/// # Safety
/// `data` must be NULL or readable for `length` bytes.
unsafe fn read_value(data: *const c_void, length: c_uint) -> Option<i32> {
    // SAFETY: non-null and, by the caller's contract, readable for `length` = 4 bytes.
    (length == 4 && !data.is_null()).then(|| unsafe { data.cast::<i32>().read_unaligned() })
}

/// Where a get call writes: the caller's `data` and `*length`, both non-null.
struct Destination {
    data: *mut c_void,
    length: *mut c_uint,
}

impl Destination {
    /// `None` when either pointer is NULL.
    ///
    /// # Safety
    /// Non-null `data` must be writable for the requested option's value (4 bytes, or one
    /// pointer for a pointer-valued option) and non-null `length` for one `c_uint`.
    unsafe fn new(data: *mut c_void, length: *mut c_uint) -> Option<Self> {
        (!data.is_null() && !length.is_null()).then_some(Destination { data, length })
    }

    /// Writes a 4-byte value (an int, or a float's bits).
    fn value(self, value: i32) -> Status {
        // SAFETY: `new`'s contract: `data` is writable for 4 bytes, `length` for one c_uint.
        unsafe {
            self.data.cast::<i32>().write_unaligned(value);
            *self.length = 4;
        }
        Status::Ok
    }

    /// Writes a pointer to `bytes` bytes the library keeps alive, and that byte count.
    fn pointer<T>(self, ptr: *const T, bytes: usize) -> Status {
        // SAFETY: `new`'s contract: for a pointer-valued option `data` is writable for one
        // pointer, and `length` for one c_uint.
        unsafe {
            self.data.cast::<*const T>().write_unaligned(ptr);
            *self.length = bytes as c_uint;
        }
        Status::Ok
    }
}

/// Sets a global option: NCSDK v1 has one, MVNC_LOG_LEVEL (an int).
///
/// # Safety
/// `data` must be NULL or readable for `length` bytes.
#[no_mangle]
pub unsafe extern "C" fn mvncSetGlobalOption(option: c_int, data: *const c_void, length: c_uint) -> mvncStatus {
    // SAFETY: the caller's contract, passed on.
    guard(|| set_global(option, unsafe { read_value(data, length) }))
}

fn set_global(option: c_int, value: Option<i32>) -> Status {
    match (number(option), value) {
        (Some(LOG_LEVEL), Some(level)) => {
            Library::get().log_level.store(level, Ordering::Relaxed);
            Status::Ok
        }
        _ => Status::InvalidParameters,
    }
}

/// Reads a global option (MVNC_LOG_LEVEL).
///
/// # Safety
/// `data` must be NULL or writable for 4 bytes; `length` NULL or writable for one `c_uint`.
#[no_mangle]
pub unsafe extern "C" fn mvncGetGlobalOption(option: c_int, data: *mut c_void, length: *mut c_uint) -> mvncStatus {
    guard(|| {
        // SAFETY: the caller's contract, passed on.
        let Some(out) = (unsafe { Destination::new(data, length) }) else { return Status::InvalidParameters };
        get_global(option, out)
    })
}

fn get_global(option: c_int, out: Destination) -> Status {
    match number(option) {
        Some(LOG_LEVEL) => out.value(Library::get().log_level.load(Ordering::Relaxed)),
        _ => Status::InvalidParameters,
    }
}

/// Sets ITERATIONS, NETWORK_THROTTLE or DONT_BLOCK (ints) on a graph.
///
/// # Safety
/// `data` must be NULL or readable for `length` bytes. The handle is looked up, never
/// dereferenced.
#[no_mangle]
pub unsafe extern "C" fn mvncSetGraphOption(
    graph_handle: *mut c_void,
    option: c_int,
    data: *const c_void,
    length: c_uint,
) -> mvncStatus {
    guard(|| {
        // SAFETY: the caller's contract, passed on.
        let Some(value) = (unsafe { read_value(data, length) }) else { return Status::InvalidParameters };
        let Some(slot) = Library::get().graph(graph_handle as usize) else { return Status::InvalidParameters };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return Status::Gone };
        let mut options = entry.device.graph_options().unwrap_or_default();
        match number(option) {
            Some(ITERATIONS) => options.iterations = value,
            Some(NETWORK_THROTTLE) => options.network_throttle = value,
            Some(DONT_BLOCK) => options.dont_block = value != 0,
            _ => return Status::InvalidParameters,
        }
        match entry.device.set_graph_options(options) {
            Ok(()) => Status::Ok,
            Err(e) => map_error(&e),
        }
    })
}

/// Reads a graph option: the three ints, or a pointer for TIME_TAKEN (per-stage ms, valid
/// until the graph is deallocated) and DEBUG_INFO (the device's 120-byte string).
///
/// # Safety
/// `data` must be NULL or writable for the option's value (4 bytes, or one pointer for
/// TIME_TAKEN and DEBUG_INFO); `length` NULL or writable for one `c_uint`. The handle is looked
/// up, never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn mvncGetGraphOption(
    graph_handle: *mut c_void,
    option: c_int,
    data: *mut c_void,
    length: *mut c_uint,
) -> mvncStatus {
    guard(|| {
        // SAFETY: the caller's contract, passed on.
        let Some(out) = (unsafe { Destination::new(data, length) }) else { return Status::InvalidParameters };
        let Some(slot) = Library::get().graph(graph_handle as usize) else { return Status::InvalidParameters };
        let guard = slot.lock();
        let Some(entry) = guard.as_ref() else { return Status::Gone };
        let Some(graph) = entry.graph.as_ref() else { return Status::Gone };
        let options = entry.device.graph_options().unwrap_or_default();
        let readings = &graph.readings;
        match number(option) {
            Some(ITERATIONS) => out.value(options.iterations),
            Some(NETWORK_THROTTLE) => out.value(options.network_throttle),
            Some(DONT_BLOCK) => out.value(i32::from(options.dont_block)),
            Some(TIME_TAKEN) => out.pointer(readings.times.as_ptr(), std::mem::size_of_val(&*readings.times)),
            Some(DEBUG_INFO) => out.pointer(readings.debug.as_ptr(), DEBUG_LEN),
            _ => Status::InvalidParameters,
        }
    })
}

/// Sets a thermal option (TEMP_LIM_* as floats, the rest as ints) on a device; on a NULL
/// device, MVNC_LOG_LEVEL goes to the global option, as NCSDK forwards it.
///
/// # Safety
/// `data` must be NULL or readable for `length` bytes. The handle is looked up, never
/// dereferenced.
#[no_mangle]
pub unsafe extern "C" fn mvncSetDeviceOption(
    device_handle: *mut c_void,
    option: c_int,
    data: *const c_void,
    length: c_uint,
) -> mvncStatus {
    guard(|| {
        // SAFETY: the caller's contract, passed on.
        let value = unsafe { read_value(data, length) };
        if device_handle.is_null() && number(option) == Some(LOG_LEVEL) {
            return set_global(option, value);
        }
        let Some(bits) = value else { return Status::InvalidParameters };
        let Some(slot) = Library::get().device(device_handle as usize) else { return Status::InvalidParameters };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return Status::Gone };
        let mut thermal = entry.device.thermal_options();
        match number(option) {
            Some(TEMP_LIM_LOWER) => thermal.temp_lim_lower = f32::from_bits(bits as u32),
            Some(TEMP_LIM_HIGHER) => thermal.temp_lim_higher = f32::from_bits(bits as u32),
            Some(BACKOFF_TIME_NORMAL) => thermal.backoff_normal = bits,
            Some(BACKOFF_TIME_HIGH) => thermal.backoff_high = bits,
            Some(BACKOFF_TIME_CRITICAL) => thermal.backoff_critical = bits,
            Some(TEMPERATURE_DEBUG) => thermal.temperature_debug = bits,
            _ => return Status::InvalidParameters,
        }
        entry.device.set_thermal_options(thermal);
        Status::Ok
    })
}

/// Reads a device option: the thermal settings, THERMAL_THROTTLING_LEVEL, or a pointer for
/// THERMAL_STATS (25 temperatures; `MVNC_NO_DATA` before a graph is allocated) and
/// OPTIMISATION_LIST (2000 bytes; asks the stick the first time). On a NULL device,
/// MVNC_LOG_LEVEL reads the global option.
///
/// # Safety
/// `data` must be NULL or writable for the option's value (4 bytes, or one pointer for
/// THERMAL_STATS and OPTIMISATION_LIST); `length` NULL or writable for one `c_uint`. The
/// handle is looked up, never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn mvncGetDeviceOption(
    device_handle: *mut c_void,
    option: c_int,
    data: *mut c_void,
    length: *mut c_uint,
) -> mvncStatus {
    guard(|| {
        // SAFETY: the caller's contract, passed on.
        let Some(out) = (unsafe { Destination::new(data, length) }) else { return Status::InvalidParameters };
        if device_handle.is_null() && number(option) == Some(LOG_LEVEL) {
            return get_global(option, out);
        }
        let Some(slot) = Library::get().device(device_handle as usize) else { return Status::InvalidParameters };
        let mut guard = slot.lock();
        let Some(entry) = guard.as_mut() else { return Status::Gone };
        let thermal = entry.device.thermal_options();
        match number(option) {
            Some(TEMP_LIM_LOWER) => out.value(thermal.temp_lim_lower.to_bits() as i32),
            Some(TEMP_LIM_HIGHER) => out.value(thermal.temp_lim_higher.to_bits() as i32),
            Some(BACKOFF_TIME_NORMAL) => out.value(thermal.backoff_normal),
            Some(BACKOFF_TIME_HIGH) => out.value(thermal.backoff_high),
            Some(BACKOFF_TIME_CRITICAL) => out.value(thermal.backoff_critical),
            Some(TEMPERATURE_DEBUG) => out.value(thermal.temperature_debug),
            Some(THERMAL_STATS) if entry.graph.is_none() => Status::NoData,
            Some(THERMAL_STATS) => {
                out.pointer(entry.readings.thermal.as_ptr(), std::mem::size_of_val(&*entry.readings.thermal))
            }
            Some(OPTIMISATION_LIST) => match entry.device.optimisation_list() {
                Ok(list) => {
                    entry.readings.set_optimisation_list(&list);
                    out.pointer(entry.readings.optimisation.as_ptr(), OPTIMIZATION_LIST_LEN)
                }
                Err(e) => map_error(&e),
            },
            Some(THERMAL_THROTTLING_LEVEL) => out.value(entry.device.telemetry().throttling),
            _ => Status::InvalidParameters,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_global(option: c_int, value: i32, length: c_uint) -> Status {
        // SAFETY: `value` is readable for 4 bytes; `length` is 4 or the call refuses it unread.
        code(unsafe { mvncSetGlobalOption(option, (&value as *const i32).cast(), length) })
    }

    fn get_global_through_null_device(option: c_int) -> (Status, i32, c_uint) {
        let (mut value, mut length) = (-1i32, 0 as c_uint);
        // SAFETY: both out-pointers are valid for one value of their type.
        let status =
            unsafe { mvncGetDeviceOption(std::ptr::null_mut(), option, (&mut value as *mut i32).cast(), &mut length) };
        (code(status), value, length)
    }

    fn code(status: mvncStatus) -> Status {
        Status::from_code(status).expect("a header status")
    }

    /// The log level is the only option that needs no device. One test, as it is global state.
    #[test]
    fn the_log_level_round_trips_and_bad_numbers_or_lengths_are_refused() {
        let level = LOG_LEVEL as c_int;
        assert_eq!(set_global(level, 2, 4), Status::Ok);
        assert_eq!(get_global_through_null_device(level), (Status::Ok, 2, 4));
        assert_eq!(set_global(level, 0, 4), Status::Ok);
        assert_eq!(get_global_through_null_device(level), (Status::Ok, 0, 4));
        assert_eq!(set_global(level, 1, 8), Status::InvalidParameters, "a set takes exactly 4 bytes");
        assert_eq!(set_global(-1, 1, 4), Status::InvalidParameters, "negative option numbers are refused");
        assert_eq!(set_global(1, 1, 4), Status::InvalidParameters, "the only global option is 0");
        // On a NULL device only LOG_LEVEL forwards; anything else is an unknown handle.
        assert_eq!(get_global_through_null_device(TEMP_LIM_LOWER as c_int).0, Status::InvalidParameters);
        // SAFETY: NULL pointers are refused before any access.
        let null = unsafe { mvncGetGlobalOption(level, std::ptr::null_mut(), std::ptr::null_mut()) };
        assert_eq!(code(null), Status::InvalidParameters);
    }
}
