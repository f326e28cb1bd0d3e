//! Real sticks through libusb: enumeration by bus and port path, and the bulk transport.

mod libusb;

use std::time::Duration;

use super::transport::{Bus, StickState, Transport, UsbError, UsbId};
use super::wire::{ENDPOINT_IN, ENDPOINT_OUT};
use libusb::{Context, Handle};

/// The system's USB bus.
#[derive(Debug, Clone)]
pub struct UsbBus {
    context: Context,
}

impl UsbBus {
    /// Initialises libusb; [`UsbError::NoUsbSubsystem`] on machines without USB.
    pub fn new() -> Result<Self, UsbError> {
        Ok(UsbBus { context: Context::new()? })
    }
}

impl Bus for UsbBus {
    fn sticks(&self) -> Result<Vec<UsbId>, UsbError> {
        let mut found = Vec::new();
        self.context.for_each_device(|dev| {
            if let Ok((vendor, product)) = dev.ids() {
                let (bus, ports) = dev.location();
                let id = UsbId { bus, ports, vendor, product };
                if id.state().is_some() {
                    found.push(id);
                }
            }
        })?;
        found.sort_by(|a, b| (a.bus, &a.ports).cmp(&(b.bus, &b.ports)));
        Ok(found)
    }

    fn open(&self, id: &UsbId) -> Result<Box<dyn Transport>, UsbError> {
        let mut opened: Option<Result<(Handle, u8, usize), UsbError>> = None;
        self.context.for_each_device(|dev| {
            if opened.is_some()
                || dev.location() != (id.bus, id.ports.clone())
                || dev.ids().ok() != Some((id.vendor, id.product))
            {
                return;
            }
            opened = Some((|| {
                let mut handle = dev.open()?;
                if id.state() == Some(StickState::Rom) {
                    // The ROM: configure, and boot through its first bulk OUT endpoint.
                    handle.set_configuration(1)?;
                    handle.claim_interface(0)?;
                    let (endpoint, packet) = dev.first_bulk_out()?;
                    Ok((handle, endpoint, packet))
                } else {
                    handle.claim_interface(0)?;
                    let packet = dev.first_bulk_out().map_or(512, |(_, p)| p);
                    Ok((handle, ENDPOINT_OUT, packet))
                }
            })());
        })?;
        let (handle, out_endpoint, packet) = opened.ok_or(UsbError::NotFound)??;
        Ok(Box::new(UsbTransport { handle, out_endpoint, packet }))
    }

    fn describe(&self) -> String {
        "the USB bus".into()
    }
}

/// Bulk transfers on an opened stick.
#[derive(Debug)]
struct UsbTransport {
    handle: Handle,
    out_endpoint: u8,
    packet: usize,
}

impl Transport for UsbTransport {
    fn write(&mut self, data: &[u8], timeout: Duration) -> Result<usize, UsbError> {
        self.handle.bulk_out(self.out_endpoint, data, timeout)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, UsbError> {
        self.handle.bulk_in(ENDPOINT_IN, buf, timeout)
    }

    fn max_packet_size(&self) -> usize {
        self.packet
    }

    fn reset_port(&mut self) -> Result<(), UsbError> {
        self.handle.reset()
    }
}
