//! A drop-in `libusb-1.0.so.0` whose bus holds software NCS1 sticks: the libusb 1.0 functions
//! NCS hosts call, with libusb's ABI, so an unmodified program linked against libusb — Intel's
//! NCSDK v1 `libmvnc` built from its sources, or any NCS1 test rig's host code — runs against
//! `NCS_EMULATE=N` software sticks (default 1) behaving as `NCS_EMULATE_PROFILE` says
//! (`usb2` by default, `usb3`, `ideal`; see `ncs::device::emulator::Profile`).
//! `NCS_TRACE_USB=FILE` records every bulk transfer in ncs's trace format.
//!
//! Misuse — NULL pointers, unknown or stale contexts, devices, handles, lists and descriptors,
//! endpoints the interface does not have — returns a LIBUSB_ERROR code (or is ignored by the
//! functions that return nothing); no pointer from the caller is dereferenced unless it is an
//! out-parameter or a data buffer the caller vouches for. Every entry point catches panics.
//! Thread-safe: transfers on different handles run concurrently.

#![allow(unsafe_code)] // This crate is a C ABI.
#![warn(clippy::undocumented_unsafe_blocks)]

mod descriptors;
mod errors;
mod handle;
mod registry;
mod trace;

use std::os::raw::{c_int, c_uchar, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};

use libusb1_sys as ffi;
use libusb1_sys::constants::*;

use handle::Data;
use registry::{Library, Outcome};

// Device lists are arrays of keys handed out as arrays of pointers.
const _: () = assert!(std::mem::size_of::<usize>() == std::mem::size_of::<*mut ffi::libusb_device>());

/// Runs an entry point, turning a panic into LIBUSB_ERROR_OTHER.
fn guard(f: impl FnOnce() -> Outcome<c_int>) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(LIBUSB_ERROR_OTHER)).unwrap_or_else(|code| code)
}

/// Runs an entry point that answers a byte: an error (an unknown device) or a panic answers 0,
/// libusb's "no such bus or address".
fn guard_byte(f: impl FnOnce() -> Outcome<u8>) -> u8 {
    catch_unwind(AssertUnwindSafe(f)).ok().and_then(Result::ok).unwrap_or(0)
}

/// Runs an entry point that returns nothing; a panic is swallowed.
fn quietly(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Initialises a context (`*context`), or the default one when `context` is NULL.
///
/// # Safety
/// `context` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn libusb_init(context: *mut *mut ffi::libusb_context) -> c_int {
    guard(|| {
        let lib = Library::get()?;
        if context.is_null() {
            lib.init(false);
            return Ok(LIBUSB_SUCCESS);
        }
        let key = lib.init(true);
        // SAFETY: `context` is non-NULL and the caller provides room for one pointer.
        unsafe { context.write(key as *mut ffi::libusb_context) };
        Ok(LIBUSB_SUCCESS)
    })
}

/// Ends a context (NULL: one user of the default context).
///
/// # Safety
/// None: `context` is only compared with the contexts this library made.
#[no_mangle]
pub unsafe extern "C" fn libusb_exit(context: *mut ffi::libusb_context) {
    quietly(|| {
        if let Ok(lib) = Library::get() {
            lib.exit(context as usize);
        }
    })
}

/// Lists the sticks on the bus: `*list` gets a NULL-terminated array of devices (each
/// referenced once); returns how many, or a LIBUSB_ERROR code.
///
/// # Safety
/// `list` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn libusb_get_device_list(
    context: *mut ffi::libusb_context,
    list: *mut *const *mut ffi::libusb_device,
) -> isize {
    let code = guard(|| {
        let lib = Library::get()?;
        lib.check_context(context as usize)?;
        if list.is_null() {
            return Err(LIBUSB_ERROR_INVALID_PARAM);
        }
        let (address, count) = lib.device_list();
        // SAFETY: `list` is non-NULL and the caller provides room for one pointer. The array is
        // of usize keys, which have the size and alignment of pointers (asserted above).
        unsafe { list.write(address.cast::<*mut ffi::libusb_device>()) };
        Ok(c_int::try_from(count).unwrap_or(c_int::MAX))
    });
    code as isize
}

/// Frees a list from [`libusb_get_device_list`], unreferencing its devices when `unref` is set.
///
/// # Safety
/// None: `list` is only compared with the lists this library made and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn libusb_free_device_list(list: *const *mut ffi::libusb_device, unref: c_int) {
    quietly(|| {
        if let Ok(lib) = Library::get() {
            lib.free_device_list(list as usize, unref != 0);
        }
    })
}

/// Adds a reference to a device; returns it.
///
/// # Safety
/// None: `device` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_ref_device(device: *mut ffi::libusb_device) -> *mut ffi::libusb_device {
    quietly(|| {
        if let Ok(lib) = Library::get() {
            lib.ref_device(device as usize);
        }
    });
    device
}

/// Drops a reference to a device.
///
/// # Safety
/// None: `device` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_unref_device(device: *mut ffi::libusb_device) {
    quietly(|| {
        if let Ok(lib) = Library::get() {
            lib.unref_device(device as usize);
        }
    })
}

/// Fills `*descriptor` with the device descriptor.
///
/// # Safety
/// `descriptor` is NULL or valid for writing one `libusb_device_descriptor`.
#[no_mangle]
pub unsafe extern "C" fn libusb_get_device_descriptor(
    device: *mut ffi::libusb_device,
    descriptor: *mut ffi::libusb_device_descriptor,
) -> c_int {
    guard(|| {
        let found = Library::get()?.device(device as usize)?;
        if descriptor.is_null() {
            return Err(LIBUSB_ERROR_INVALID_PARAM);
        }
        // SAFETY: non-NULL, and the caller provides room for one descriptor.
        unsafe { descriptor.write(descriptors::device_descriptor(&found)) };
        Ok(LIBUSB_SUCCESS)
    })
}

/// Sets `*config` to configuration `index` (only 0 exists), to be freed with
/// [`libusb_free_config_descriptor`].
///
/// # Safety
/// `config` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn libusb_get_config_descriptor(
    device: *mut ffi::libusb_device,
    index: u8,
    config: *mut *const ffi::libusb_config_descriptor,
) -> c_int {
    guard(|| {
        if config.is_null() {
            return Err(LIBUSB_ERROR_INVALID_PARAM);
        }
        let address = Library::get()?.config_descriptor(device as usize, index)?;
        // SAFETY: non-NULL, and the caller provides room for one pointer; the descriptor it
        // points to lives until libusb_free_config_descriptor is given this address.
        unsafe { config.write(address as *const ffi::libusb_config_descriptor) };
        Ok(LIBUSB_SUCCESS)
    })
}

/// Frees a descriptor from [`libusb_get_config_descriptor`].
///
/// # Safety
/// None: `config` is only compared with the descriptors this library made and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn libusb_free_config_descriptor(config: *const ffi::libusb_config_descriptor) {
    quietly(|| {
        if let Ok(lib) = Library::get() {
            lib.free_config_descriptor(config as usize);
        }
    })
}

/// The device's bus number (0 for a device this library does not know).
///
/// # Safety
/// None: `device` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_get_bus_number(device: *mut ffi::libusb_device) -> u8 {
    guard_byte(|| Ok(Library::get()?.device(device as usize)?.id.bus))
}

/// The device's address on its bus (0 for a device this library does not know).
///
/// # Safety
/// None: `device` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_get_device_address(device: *mut ffi::libusb_device) -> u8 {
    guard_byte(|| Ok(Library::get()?.device(device as usize)?.address))
}

/// Writes the port path from the root hub into `ports` (room for `len`); returns its length.
///
/// # Safety
/// `ports` is NULL or valid for writing `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn libusb_get_port_numbers(device: *mut ffi::libusb_device, ports: *mut u8, len: c_int) -> c_int {
    guard(|| {
        let found = Library::get()?.device(device as usize)?;
        let room = usize::try_from(len).map_err(|_| LIBUSB_ERROR_INVALID_PARAM)?;
        if ports.is_null() || room == 0 {
            return Err(LIBUSB_ERROR_INVALID_PARAM);
        }
        if found.id.ports.len() > room {
            return Err(LIBUSB_ERROR_OVERFLOW);
        }
        // SAFETY: `ports` is non-NULL with room for `len` ≥ ports.len() bytes.
        unsafe { std::ptr::copy_nonoverlapping(found.id.ports.as_ptr(), ports, found.id.ports.len()) };
        Ok(found.id.ports.len() as c_int)
    })
}

/// Opens a device: `*handle` gets the handle. LIBUSB_ERROR_NO_DEVICE once the stick has left
/// the bus since it was listed.
///
/// # Safety
/// `handle` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn libusb_open(
    device: *mut ffi::libusb_device,
    handle: *mut *mut ffi::libusb_device_handle,
) -> c_int {
    guard(|| {
        if handle.is_null() {
            return Err(LIBUSB_ERROR_INVALID_PARAM);
        }
        let key = Library::get()?.open(device as usize)?;
        // SAFETY: non-NULL, and the caller provides room for one pointer.
        unsafe { handle.write(key as *mut ffi::libusb_device_handle) };
        Ok(LIBUSB_SUCCESS)
    })
}

/// Closes a handle (releasing its interface).
///
/// # Safety
/// None: `handle` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_close(handle: *mut ffi::libusb_device_handle) {
    quietly(|| {
        if let Ok(lib) = Library::get() {
            lib.close(handle as usize);
        }
    })
}

/// Selects configuration 1 (or -1: unconfigured).
///
/// # Safety
/// None: `handle` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_set_configuration(
    handle: *mut ffi::libusb_device_handle,
    configuration: c_int,
) -> c_int {
    guard(|| {
        let lib = Library::get()?;
        let handle = lib.handle(handle as usize)?;
        let mut handle = handle.lock().unwrap_or_else(|p| p.into_inner());
        handle.set_configuration(&lib.bus, configuration).map(|()| LIBUSB_SUCCESS)
    })
}

/// Claims interface 0; LIBUSB_ERROR_BUSY while another handle has the stick.
///
/// # Safety
/// None: `handle` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_claim_interface(handle: *mut ffi::libusb_device_handle, interface: c_int) -> c_int {
    guard(|| {
        let lib = Library::get()?;
        let handle = lib.handle(handle as usize)?;
        let mut handle = handle.lock().unwrap_or_else(|p| p.into_inner());
        handle.claim(&lib.bus, interface).map(|()| LIBUSB_SUCCESS)
    })
}

/// Releases interface 0.
///
/// # Safety
/// None: `handle` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_release_interface(handle: *mut ffi::libusb_device_handle, interface: c_int) -> c_int {
    guard(|| {
        let lib = Library::get()?;
        let handle = lib.handle(handle as usize)?;
        let mut handle = handle.lock().unwrap_or_else(|p| p.into_inner());
        handle.release(interface).map(|()| LIBUSB_SUCCESS)
    })
}

/// One synchronous bulk transfer of up to `length` bytes on `endpoint` (0x01 OUT, 0x81 IN);
/// `*transferred` (if not NULL) gets the bytes moved. `timeout` 0 means no timeout.
///
/// # Safety
/// `data` is valid for `length` bytes — readable for OUT, writable for IN — or NULL with
/// `length` 0; `transferred` is NULL or valid for writing one int.
#[no_mangle]
pub unsafe extern "C" fn libusb_bulk_transfer(
    handle: *mut ffi::libusb_device_handle,
    endpoint: c_uchar,
    data: *mut c_uchar,
    length: c_int,
    transferred: *mut c_int,
    timeout: c_uint,
) -> c_int {
    guard(|| {
        let lib = Library::get()?;
        let handle = lib.handle(handle as usize)?;
        let len = usize::try_from(length).map_err(|_| LIBUSB_ERROR_INVALID_PARAM)?;
        if data.is_null() && len > 0 {
            return Err(LIBUSB_ERROR_INVALID_PARAM);
        }
        let is_in = endpoint & LIBUSB_ENDPOINT_DIR_MASK == LIBUSB_ENDPOINT_IN;
        let mut empty = [0u8; 0];
        let bytes = match (len, is_in) {
            (0, true) => Data::In(&mut empty[..]),
            (0, false) => Data::Out(&[]),
            // SAFETY: non-NULL; the caller vouches for `length` writable bytes, not aliased
            // during the call.
            (_, true) => Data::In(unsafe { std::slice::from_raw_parts_mut(data, len) }),
            // SAFETY: non-NULL; the caller vouches for `length` readable bytes.
            (_, false) => Data::Out(unsafe { std::slice::from_raw_parts(data, len) }),
        };
        let mut handle = handle.lock().unwrap_or_else(|p| p.into_inner());
        let result = handle.bulk(&lib.bus, lib.tracer.as_ref(), endpoint, bytes, timeout);
        if !transferred.is_null() {
            let moved = result.as_ref().map_or(0, |&n| c_int::try_from(n).unwrap_or(c_int::MAX));
            // SAFETY: non-NULL, and the caller provides room for one int.
            unsafe { transferred.write(moved) };
        }
        result.map(|_| LIBUSB_SUCCESS)
    })
}

/// Resets the port: the software stick reboots into its ROM (new descriptors), so this
/// returns LIBUSB_ERROR_NOT_FOUND and the handle is no longer usable, as libusb does.
///
/// # Safety
/// None: `handle` is only looked up.
#[no_mangle]
pub unsafe extern "C" fn libusb_reset_device(handle: *mut ffi::libusb_device_handle) -> c_int {
    guard(|| {
        let lib = Library::get()?;
        let handle = lib.handle(handle as usize)?;
        let mut handle = handle.lock().unwrap_or_else(|p| p.into_inner());
        handle.reset(&lib.bus, lib.tracer.as_ref()).map(|()| LIBUSB_SUCCESS)
    })
}
