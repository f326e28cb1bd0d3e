//! A thin safe layer over `libusb1-sys`: RAII context, device list, handles and config
//! descriptors, with libusb's error codes mapped to [`UsbError`] in one place.
//!
//! Ownership follows rusb: the [`Context`] is shared (an `Arc` inside), and every [`Handle`]
//! holds a clone, so libusb is exited only after the last handle is closed, whatever order the
//! owners drop in. Bulk transfers check the endpoint's direction before touching libusb.

#![allow(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

use std::os::raw::c_int;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use libusb1_sys as ffi;
use libusb1_sys::constants::*;

use crate::device::transport::UsbError;

/// Maps a libusb return code (negative) to our error, once.
pub fn map_error(code: c_int) -> UsbError {
    match code {
        LIBUSB_ERROR_TIMEOUT => UsbError::Timeout,
        LIBUSB_ERROR_NO_DEVICE => UsbError::NoDevice,
        LIBUSB_ERROR_ACCESS => UsbError::Access,
        LIBUSB_ERROR_BUSY => UsbError::Busy,
        LIBUSB_ERROR_NOT_FOUND => UsbError::NotFound,
        LIBUSB_ERROR_PIPE => UsbError::Pipe,
        LIBUSB_ERROR_OVERFLOW => UsbError::Overflow,
        other => UsbError::Other(format!("libusb error {}", error_name(other))),
    }
}

fn error_name(code: c_int) -> String {
    // SAFETY: libusb_error_name returns a pointer to a static NUL-terminated string for any code.
    let name = unsafe { std::ffi::CStr::from_ptr(ffi::libusb_error_name(code)) };
    name.to_string_lossy().into_owned()
}

fn check(code: c_int) -> Result<c_int, UsbError> {
    if code < 0 {
        Err(map_error(code))
    } else {
        Ok(code)
    }
}

/// A libusb context, shared: clones refer to the same context, which is exited when the last
/// clone — the bus's, or an open [`Handle`]'s — is dropped.
#[derive(Debug, Clone)]
pub struct Context(Arc<RawContext>);

/// The owned libusb context pointer; exited on drop.
#[derive(Debug)]
struct RawContext(*mut ffi::libusb_context);

// SAFETY: libusb contexts are thread-safe; libusb documents every API taking a context as
// callable from any thread.
unsafe impl Send for RawContext {}
// SAFETY: as above; shared references only call thread-safe libusb functions.
unsafe impl Sync for RawContext {}

impl Drop for RawContext {
    fn drop(&mut self) {
        // SAFETY: the context is live and owned; every Handle holds a Context clone, so none
        // remains open once the last clone drops this.
        unsafe { ffi::libusb_exit(self.0) };
    }
}

impl Context {
    /// Initialises libusb. A machine with no USB subsystem (no `/dev/bus/usb`, as in many
    /// containers) fails here.
    pub fn new() -> Result<Self, UsbError> {
        let mut ctx = ptr::null_mut();
        // SAFETY: `ctx` is a valid out-pointer; on success libusb stores a context we own.
        let rc = unsafe { ffi::libusb_init(&mut ctx) };
        if rc < 0 {
            log::debug!("libusb_init failed: {}", error_name(rc));
            return Err(UsbError::NoUsbSubsystem);
        }
        Ok(Context(Arc::new(RawContext(ctx))))
    }

    fn raw(&self) -> *mut ffi::libusb_context {
        self.0 .0
    }

    /// Calls `f` on every device on the system; the list is freed afterwards.
    pub fn for_each_device(&self, mut f: impl FnMut(Device<'_>)) -> Result<(), UsbError> {
        let mut list: *const *mut ffi::libusb_device = ptr::null();
        // SAFETY: the context is live; `list` is a valid out-pointer.
        let count = unsafe { ffi::libusb_get_device_list(self.raw(), &mut list) };
        if count < 0 {
            return Err(map_error(count as c_int));
        }
        for i in 0..count as usize {
            // SAFETY: libusb returned `count` valid device pointers, alive until the list is freed.
            let dev = unsafe { *list.add(i) };
            f(Device { raw: dev, context: self });
        }
        // SAFETY: `list` came from libusb_get_device_list; unref the devices we did not ref.
        unsafe { ffi::libusb_free_device_list(list, 1) };
        Ok(())
    }
}

/// A device in a device list (valid while the list is, which `'list` borrows).
#[derive(Debug, Clone, Copy)]
pub struct Device<'list> {
    raw: *mut ffi::libusb_device,
    context: &'list Context,
}

/// (vendor, product) of a device.
pub type Ids = (u16, u16);

impl Device<'_> {
    /// Vendor and product IDs.
    pub fn ids(&self) -> Result<Ids, UsbError> {
        let mut desc = std::mem::MaybeUninit::<ffi::libusb_device_descriptor>::uninit();
        // SAFETY: the device is live; `desc` is a valid out-pointer filled on success.
        check(unsafe { ffi::libusb_get_device_descriptor(self.raw, desc.as_mut_ptr()) })?;
        // SAFETY: libusb_get_device_descriptor returned success, so `desc` is initialised.
        let desc = unsafe { desc.assume_init() };
        Ok((desc.idVendor, desc.idProduct))
    }

    /// Bus number and port path.
    pub fn location(&self) -> (u8, Vec<u8>) {
        let mut ports = [0u8; 8];
        // SAFETY: the device is live; `ports` has room for the 7 tiers USB allows.
        let bus = unsafe { ffi::libusb_get_bus_number(self.raw) };
        // SAFETY: as above, with the buffer's true length.
        let n = unsafe { ffi::libusb_get_port_numbers(self.raw, ports.as_mut_ptr(), ports.len() as c_int) };
        (bus, ports[..n.max(0) as usize].to_vec())
    }

    /// The first bulk OUT endpoint of configuration 0, interface 0, altsetting 0, and its
    /// wMaxPacketSize (the boot chunk size).
    pub fn first_bulk_out(&self) -> Result<(u8, usize), UsbError> {
        let mut config: *const ffi::libusb_config_descriptor = ptr::null();
        // SAFETY: the device is live; `config` is a valid out-pointer.
        check(unsafe { ffi::libusb_get_config_descriptor(self.raw, 0, &mut config) })?;
        let mut found = None;
        // SAFETY: libusb returned a valid descriptor tree; we only read within the counts it
        // gives, and free it exactly once below.
        unsafe {
            let c = &*config;
            if c.bNumInterfaces > 0 && !c.interface.is_null() {
                let iface = &*c.interface;
                if iface.num_altsetting > 0 && !iface.altsetting.is_null() {
                    let alt = &*iface.altsetting;
                    for e in 0..alt.bNumEndpoints as usize {
                        let ep = &*alt.endpoint.add(e);
                        let is_out = ep.bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK == 0;
                        let is_bulk = ep.bmAttributes & 0x3 == LIBUSB_TRANSFER_TYPE_BULK;
                        if is_out && is_bulk {
                            found = Some((ep.bEndpointAddress, usize::from(ep.wMaxPacketSize)));
                            break;
                        }
                    }
                }
            }
            ffi::libusb_free_config_descriptor(config);
        }
        found.ok_or(UsbError::NotFound)
    }

    /// Opens the device. The handle keeps the context alive and its own reference to the
    /// device (libusb_open takes one), so it outlives the device list.
    pub fn open(&self) -> Result<Handle, UsbError> {
        let mut raw = ptr::null_mut();
        // SAFETY: the device is live; `raw` is a valid out-pointer owned by the Handle on success.
        check(unsafe { ffi::libusb_open(self.raw, &mut raw) })?;
        Ok(Handle { raw, claimed: None, _context: self.context.clone() })
    }
}

/// Checks that `endpoint` moves data the transfer's way — a read needs an IN endpoint, a
/// write an OUT one — by bit 7 of its address (set: IN; USB 2.0 §9.6.6).
fn check_direction(endpoint: u8, read: bool) -> Result<(), UsbError> {
    let is_in = endpoint & LIBUSB_ENDPOINT_DIR_MASK == LIBUSB_ENDPOINT_IN;
    if is_in == read {
        Ok(())
    } else {
        Err(UsbError::WrongDirection { endpoint, read })
    }
}

/// An open device handle; closed (and its interface released) on drop, before the context
/// clone it holds is released.
#[derive(Debug)]
pub struct Handle {
    raw: *mut ffi::libusb_device_handle,
    claimed: Option<c_int>,
    /// Keeps libusb initialised while the handle is open.
    _context: Context,
}

// SAFETY: libusb device handles may be used from any thread; a Handle is used by one thread
// at a time (`&mut self` for I/O).
unsafe impl Send for Handle {}

impl Handle {
    /// Selects a configuration.
    pub fn set_configuration(&mut self, config: c_int) -> Result<(), UsbError> {
        // SAFETY: the handle is open.
        check(unsafe { ffi::libusb_set_configuration(self.raw, config) }).map(|_| ())
    }

    /// Claims an interface (released on drop).
    pub fn claim_interface(&mut self, interface: c_int) -> Result<(), UsbError> {
        // SAFETY: the handle is open.
        check(unsafe { ffi::libusb_claim_interface(self.raw, interface) })?;
        self.claimed = Some(interface);
        Ok(())
    }

    /// One bulk IN transfer into `buf`; returns the bytes read. A timeout after partial
    /// progress returns the progress (the caller continues), as libusb reports it.
    pub fn bulk_in(&mut self, endpoint: u8, buf: &mut [u8], timeout: Duration) -> Result<usize, UsbError> {
        check_direction(endpoint, true)?;
        // SAFETY: `buf` is exclusively borrowed and writable for its length for the call.
        unsafe { self.bulk(endpoint, buf.as_mut_ptr(), buf.len(), timeout) }
    }

    /// One bulk OUT transfer from `data`; returns the bytes written (partial progress on a
    /// timeout, as [`Handle::bulk_in`]).
    pub fn bulk_out(&mut self, endpoint: u8, data: &[u8], timeout: Duration) -> Result<usize, UsbError> {
        check_direction(endpoint, false)?;
        // SAFETY: `data` is readable for its length for the call, and an OUT transfer only
        // reads its buffer, so a pointer derived from a shared slice is sound.
        unsafe { self.bulk(endpoint, data.as_ptr().cast_mut(), data.len(), timeout) }
    }

    /// One bulk transfer of `len` bytes at `data`.
    ///
    /// # Safety
    /// `data` must be valid for `len` bytes for the call: writable for an IN endpoint, readable
    /// for an OUT endpoint.
    unsafe fn bulk(&mut self, endpoint: u8, data: *mut u8, len: usize, timeout: Duration) -> Result<usize, UsbError> {
        let len = c_int::try_from(len).map_err(|_| UsbError::Other("transfer larger than 2 GiB".into()))?;
        let millis = timeout.as_millis().clamp(1, u128::from(u32::MAX)) as u32;
        let mut transferred: c_int = 0;
        // SAFETY: the handle is open; `data` is valid for `len` bytes by this function's
        // contract; `transferred` is a valid out-pointer.
        let rc = unsafe { ffi::libusb_bulk_transfer(self.raw, endpoint, data, len, &mut transferred, millis) };
        match rc {
            0 => Ok(transferred as usize),
            LIBUSB_ERROR_TIMEOUT if transferred > 0 => Ok(transferred as usize),
            code => Err(map_error(code)),
        }
    }

    /// USB port reset.
    pub fn reset(&mut self) -> Result<(), UsbError> {
        // SAFETY: the handle is open.
        check(unsafe { ffi::libusb_reset_device(self.raw) }).map(|_| ())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is open and owned; release what we claimed, then close it once.
        unsafe {
            if let Some(interface) = self.claimed {
                ffi::libusb_release_interface(self.raw, interface);
            }
            ffi::libusb_close(self.raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::wire::{ENDPOINT_IN, ENDPOINT_OUT};

    #[test]
    fn reads_need_an_in_endpoint_and_writes_an_out_endpoint() {
        assert_eq!(check_direction(ENDPOINT_IN, true), Ok(()));
        assert_eq!(check_direction(ENDPOINT_OUT, false), Ok(()));
        assert_eq!(check_direction(ENDPOINT_OUT, true), Err(UsbError::WrongDirection { endpoint: 0x01, read: true }));
        assert_eq!(check_direction(ENDPOINT_IN, false), Err(UsbError::WrongDirection { endpoint: 0x81, read: false }));
        assert_eq!(
            UsbError::WrongDirection { endpoint: 0x01, read: true }.to_string(),
            "endpoint 0x01 is an OUT endpoint; a bulk read needs an IN endpoint (address bit 7 set)"
        );
    }
}
