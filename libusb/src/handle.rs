//! One `libusb_device_handle`: configuration, the claimed interface, bulk transfers and port
//! resets on a software stick, with libusb's error codes.

use std::os::raw::c_int;
use std::time::Duration;

use libusb1_sys::constants::*;
use ncs::device::emulator::{Enumeration, SoftBus};
use ncs::device::trace::Tracer;
use ncs::device::transport::{StickState, Transport, UsbError};
use ncs::device::wire::{ENDPOINT_IN, ENDPOINT_OUT};

use crate::registry::Outcome;
use crate::trace::{record, Bulk, Expect};

/// libusb's timeout 0 means "no timeout"; a software stick that cannot answer waits this long
/// instead, so a misused program fails rather than hangs.
const UNLIMITED: Duration = Duration::from_secs(60);

/// An open handle.
pub struct Handle {
    /// The device key it references.
    pub device: usize,
    found: Enumeration,
    configured: bool,
    transport: Option<Box<dyn Transport>>,
    expect: Expect,
}

/// The data of one bulk transfer, by direction.
pub enum Data<'a> {
    /// Bytes to send on an OUT endpoint.
    Out(&'a [u8]),
    /// Room to receive into on an IN endpoint.
    In(&'a mut [u8]),
}

/// libusb's code for a failure.
pub fn code(e: &UsbError) -> c_int {
    match e {
        UsbError::Timeout => LIBUSB_ERROR_TIMEOUT,
        UsbError::NoDevice => LIBUSB_ERROR_NO_DEVICE,
        UsbError::Access => LIBUSB_ERROR_ACCESS,
        UsbError::Busy => LIBUSB_ERROR_BUSY,
        UsbError::NotFound => LIBUSB_ERROR_NOT_FOUND,
        UsbError::Pipe => LIBUSB_ERROR_PIPE,
        UsbError::Overflow => LIBUSB_ERROR_OVERFLOW,
        // Only a caller's bug reaches the transport with the wrong direction.
        UsbError::WrongDirection { .. } => LIBUSB_ERROR_INVALID_PARAM,
        UsbError::NoUsbSubsystem | UsbError::Other(_) => LIBUSB_ERROR_IO,
    }
}

impl Handle {
    /// A handle on one enumeration, nothing claimed.
    pub fn new(device: usize, found: Enumeration) -> Self {
        Handle { device, found, configured: false, transport: None, expect: Expect::Header }
    }

    /// `libusb_set_configuration`: 1 (the only one) or -1 (unconfigured); refused while the
    /// interface is claimed, as libusb does.
    pub fn set_configuration(&mut self, bus: &SoftBus, configuration: c_int) -> Outcome<()> {
        self.check_present(bus)?;
        if self.transport.is_some() {
            return Err(LIBUSB_ERROR_BUSY);
        }
        match configuration {
            1 => self.configured = true,
            -1 | 0 => self.configured = false,
            _ => return Err(LIBUSB_ERROR_NOT_FOUND),
        }
        Ok(())
    }

    /// `libusb_claim_interface`: interface 0; BUSY while another handle has the stick.
    pub fn claim(&mut self, bus: &SoftBus, interface: c_int) -> Outcome<()> {
        if interface != 0 {
            return Err(LIBUSB_ERROR_NOT_FOUND);
        }
        if self.transport.is_none() {
            self.transport = Some(bus.open_enumeration(&self.found).map_err(|e| code(&e))?);
        }
        Ok(())
    }

    /// `libusb_release_interface`.
    pub fn release(&mut self, interface: c_int) -> Outcome<()> {
        if interface != 0 || self.transport.is_none() {
            return Err(LIBUSB_ERROR_NOT_FOUND);
        }
        self.transport = None;
        Ok(())
    }

    /// Releases everything (on close).
    pub fn release_all(&mut self) {
        self.transport = None;
    }

    /// `libusb_bulk_transfer` on endpoint 0x01 (OUT) or 0x81 (IN); the bytes moved. An
    /// unclaimed interface is claimed first, as Linux's usbfs does. An endpoint the interface
    /// does not have is LIBUSB_ERROR_IO, as usbfs answers it.
    pub fn bulk(
        &mut self,
        bus: &SoftBus,
        tracer: Option<&Tracer>,
        endpoint: u8,
        data: Data<'_>,
        timeout_ms: u32,
    ) -> Outcome<usize> {
        let matches_direction = match data {
            Data::Out(_) => endpoint == ENDPOINT_OUT,
            Data::In(_) => endpoint == ENDPOINT_IN,
        };
        if !matches_direction {
            return Err(LIBUSB_ERROR_IO);
        }
        self.claim(bus, 0)?;
        let timeout = if timeout_ms == 0 { UNLIMITED } else { Duration::from_millis(u64::from(timeout_ms)) };
        let transport = self.transport.as_mut().ok_or(LIBUSB_ERROR_NOT_FOUND)?;
        let (result, requested, moved): (Result<usize, UsbError>, usize, &[u8]) = match data {
            Data::Out(bytes) => {
                let result = transport.write(bytes, timeout);
                let n = *result.as_ref().unwrap_or(&0);
                (result, bytes.len(), &bytes[..n.min(bytes.len())])
            }
            Data::In(buf) => {
                let requested = buf.len();
                let result = transport.read(buf, timeout);
                let n = *result.as_ref().unwrap_or(&0);
                (result, requested, &buf[..n.min(requested)])
            }
        };
        let stick = self.found.id.name();
        let bulk = Bulk {
            stick: &stick,
            rom: self.found.id.state() == Some(StickState::Rom),
            endpoint,
            bytes: moved,
            requested,
            timeout,
            result: result.as_ref().map(|_| ()),
        };
        record(tracer, &mut self.expect, &bulk);
        result.map_err(|e| code(&e))
    }

    /// `libusb_reset_device`. The software stick reboots into its ROM, which has other
    /// descriptors: libusb then reports LIBUSB_ERROR_NOT_FOUND ("re-enumerated; the handle is
    /// no longer valid"), and so does this.
    pub fn reset(&mut self, bus: &SoftBus, tracer: Option<&Tracer>) -> Outcome<()> {
        self.claim(bus, 0)?;
        let transport = self.transport.as_mut().ok_or(LIBUSB_ERROR_NOT_FOUND)?;
        let result = transport.reset_port();
        if let Some(t) = tracer {
            let text = result.as_ref().map_or_else(|e| e.to_string(), |()| "ok".into());
            t.event(&self.found.id.name(), "port_reset", serde_json::json!({ "result": text }));
        }
        result.map_err(|e| code(&e))?;
        self.transport = None;
        Err(LIBUSB_ERROR_NOT_FOUND)
    }

    fn check_present(&self, bus: &SoftBus) -> Outcome<()> {
        let now = bus.stick(self.found.index).and_then(|s| s.enumeration());
        match now {
            Some(now) if now.generation == self.found.generation => Ok(()),
            _ => Err(LIBUSB_ERROR_NO_DEVICE),
        }
    }
}
