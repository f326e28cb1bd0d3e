//! `libusb_error_name` and `libusb_strerror`: static strings for libusb's error codes.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use libusb1_sys::constants::*;

/// The constant's name for a libusb error code, e.g. "LIBUSB_ERROR_TIMEOUT".
///
/// # Safety
/// None: returns a pointer to a static NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn libusb_error_name(code: c_int) -> *const c_char {
    describe(code).0.as_ptr()
}

/// A short English description of a libusb error code.
///
/// # Safety
/// None: returns a pointer to a static NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn libusb_strerror(code: c_int) -> *const c_char {
    describe(code).1.as_ptr()
}

fn describe(code: c_int) -> (&'static CStr, &'static CStr) {
    match code {
        LIBUSB_SUCCESS => (c"LIBUSB_SUCCESS", c"Success"),
        LIBUSB_ERROR_IO => (c"LIBUSB_ERROR_IO", c"Input/output error"),
        LIBUSB_ERROR_INVALID_PARAM => (c"LIBUSB_ERROR_INVALID_PARAM", c"Invalid parameter"),
        LIBUSB_ERROR_ACCESS => (c"LIBUSB_ERROR_ACCESS", c"Access denied"),
        LIBUSB_ERROR_NO_DEVICE => (c"LIBUSB_ERROR_NO_DEVICE", c"No such device (it may have left the bus)"),
        LIBUSB_ERROR_NOT_FOUND => (c"LIBUSB_ERROR_NOT_FOUND", c"Not found"),
        LIBUSB_ERROR_BUSY => (c"LIBUSB_ERROR_BUSY", c"Resource busy"),
        LIBUSB_ERROR_TIMEOUT => (c"LIBUSB_ERROR_TIMEOUT", c"Timed out"),
        LIBUSB_ERROR_OVERFLOW => (c"LIBUSB_ERROR_OVERFLOW", c"Overflow"),
        LIBUSB_ERROR_PIPE => (c"LIBUSB_ERROR_PIPE", c"Pipe error (endpoint stalled)"),
        LIBUSB_ERROR_INTERRUPTED => (c"LIBUSB_ERROR_INTERRUPTED", c"Interrupted"),
        LIBUSB_ERROR_NO_MEM => (c"LIBUSB_ERROR_NO_MEM", c"Out of memory"),
        LIBUSB_ERROR_NOT_SUPPORTED => (c"LIBUSB_ERROR_NOT_SUPPORTED", c"Not supported"),
        LIBUSB_ERROR_OTHER => (c"LIBUSB_ERROR_OTHER", c"Other error"),
        _ => (c"**UNKNOWN**", c"Unknown error"),
    }
}
