//! What the driver needs from a USB stack: enumerate sticks, open one, move bulk data with
//! timeouts. Implemented over libusb ([`super::usb`]) and by the software stick
//! ([`super::emulator`]); the driver cannot tell them apart.

use std::fmt;
use std::time::Duration;

use super::wire::{BOOTED_PRODUCT_ID, ROM_PRODUCT_ID, VENDOR_ID};

/// A USB failure, mapped once from the stack's own codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbError {
    /// The transfer did not complete within its timeout.
    Timeout,
    /// The device is gone (unplugged, or re-enumerating).
    NoDevice,
    /// Permission denied (udev rules?).
    Access,
    /// Claimed by another process or driver.
    Busy,
    /// No such device or endpoint.
    NotFound,
    /// The endpoint stalled.
    Pipe,
    /// The device sent more than asked for.
    Overflow,
    /// The machine has no USB subsystem (no /dev/bus/usb, e.g. a container).
    NoUsbSubsystem,
    /// A bulk transfer was asked of an endpoint of the other direction (a bug, not a device
    /// fault): reads need an IN endpoint, writes an OUT one.
    WrongDirection {
        /// The endpoint address.
        endpoint: u8,
        /// Whether the transfer was a read.
        read: bool,
    },
    /// Anything else, with the stack's description.
    Other(String),
}

impl fmt::Display for UsbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsbError::Timeout => f.write_str("timed out"),
            UsbError::NoDevice => f.write_str("device disconnected"),
            UsbError::Access => f.write_str("permission denied (install the udev rule, see README)"),
            UsbError::Busy => f.write_str("device busy (claimed by another process)"),
            UsbError::NotFound => f.write_str("not found"),
            UsbError::Pipe => f.write_str("endpoint stalled"),
            UsbError::Overflow => f.write_str("device sent more data than requested"),
            UsbError::NoUsbSubsystem => f.write_str("no USB subsystem available"),
            UsbError::WrongDirection { endpoint, read } => {
                let (is, wanted, transfer, bit) =
                    if *read { ("OUT", "IN", "read", "set") } else { ("IN", "OUT", "write", "clear") };
                write!(f, "endpoint {endpoint:#04x} is an {is} endpoint; a bulk {transfer} needs an {wanted} endpoint (address bit 7 {bit})")
            }
            UsbError::Other(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for UsbError {}

/// Where a stick is and what it currently is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsbId {
    /// Bus number.
    pub bus: u8,
    /// Port numbers from the root hub.
    pub ports: Vec<u8>,
    /// Vendor ID.
    pub vendor: u16,
    /// Product ID.
    pub product: u16,
}

/// What state a stick is in, judged by its product ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickState {
    /// In the boot ROM, waiting for firmware (03e7:2150).
    Rom,
    /// Running the v1 firmware (03e7:f63b).
    Booted,
}

impl UsbId {
    /// A unique, stable name: bus and port path, e.g. `"1-2.3"`. (Intel's names omit the bus,
    /// so equal port paths on two buses clashed.)
    pub fn name(&self) -> String {
        format!("{}-{}", self.bus, self.port_path())
    }

    /// The port path alone, e.g. `"2.3"`: Intel's name for a stick (`usb_boot.c` 77–95), the
    /// same on the USB 2 and USB 3 root hubs when the stick sits behind a hub.
    pub fn port_path(&self) -> String {
        let path: Vec<String> = self.ports.iter().map(|p| p.to_string()).collect();
        path.join(".")
    }

    /// The stick's state, or `None` for a device that is not an NCS1.
    pub fn state(&self) -> Option<StickState> {
        match (self.vendor, self.product) {
            (VENDOR_ID, ROM_PRODUCT_ID) => Some(StickState::Rom),
            (VENDOR_ID, BOOTED_PRODUCT_ID) => Some(StickState::Booted),
            _ => None,
        }
    }
}

/// A place on the bus as a user names it: `bus-ports` (`"1-2.3"`, ncs's names) or the port
/// path alone (`"2.3"`, Intel's names), which matches that path on any bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The bus, when named.
    pub bus: Option<u8>,
    /// Port numbers from the root hub.
    pub ports: Vec<u8>,
}

impl Place {
    /// Parses `"1-2.3"` or `"2.3"`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Place> {
        let (bus, path) = match text.split_once('-') {
            Some((bus, path)) => (Some(bus.parse().ok()?), path),
            None => (None, text),
        };
        let ports: Option<Vec<u8>> = path.split('.').map(|p| p.parse().ok()).collect();
        let ports = ports.filter(|p| !p.is_empty() && p.len() <= 7)?;
        Some(Place { bus, ports })
    }

    /// The port path of a stick, on any bus.
    pub fn ports_of(id: &UsbId) -> Place {
        Place { bus: None, ports: id.ports.clone() }
    }

    /// True when `id` is at this place.
    pub fn matches(&self, id: &UsbId) -> bool {
        self.bus.map_or(true, |bus| bus == id.bus) && self.ports == id.ports
    }
}

/// A name given to open a stick: `"a"`, or Intel's `"a:b"` — boot the stick at `a`, then open
/// its booted firmware at `b` rather than searching for it (`mvnc_api.c` 233–254).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenName {
    /// The stick to boot.
    pub rom: Place,
    /// Where its booted firmware will be, when given.
    pub booted: Option<Place>,
}

impl OpenName {
    /// Parses `"1-2"`, `"2"`, `"1-2:2-2"`; the error says what is wrong.
    pub fn parse(name: &str) -> Result<OpenName, String> {
        let place = |part: &str| {
            Place::parse(part).ok_or_else(|| {
                format!(
                    "'{part}' in stick name '{name}' is not a place (bus-ports such as 1-2.3, or ports such as 2.3)"
                )
            })
        };
        match name.split_once(':') {
            None => Ok(OpenName { rom: place(name)?, booted: None }),
            Some((rom, booted)) => Ok(OpenName { rom: place(rom)?, booted: Some(place(booted)?) }),
        }
    }
}

/// One opened stick: bulk transfers on its OUT and IN endpoints.
pub trait Transport: Send {
    /// Writes to the bulk OUT endpoint; returns the bytes accepted.
    fn write(&mut self, data: &[u8], timeout: Duration) -> Result<usize, UsbError>;
    /// Reads from the bulk IN endpoint; returns the bytes received.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, UsbError>;
    /// wMaxPacketSize of the bulk OUT endpoint (the firmware boot chunk size).
    fn max_packet_size(&self) -> usize;
    /// Resets the USB port: the last resort when the stick no longer follows the protocol.
    /// The stick re-enumerates; the handle is dead afterwards.
    fn reset_port(&mut self) -> Result<(), UsbError>;
}

/// A USB bus with sticks on it.
pub trait Bus: Send + Sync {
    /// Every NCS1 on the bus (ROM or booted).
    fn sticks(&self) -> Result<Vec<UsbId>, UsbError>;
    /// Opens a stick and claims its interface.
    fn open(&self, id: &UsbId) -> Result<Box<dyn Transport>, UsbError>;
    /// Short description for messages ("libusb", "software sticks").
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_both_styles() {
        let id = UsbId { bus: 2, ports: vec![3, 1], vendor: VENDOR_ID, product: BOOTED_PRODUCT_ID };
        assert_eq!((id.name(), id.port_path()), ("2-3.1".to_owned(), "3.1".to_owned()));
        assert!(Place::parse("2-3.1").unwrap().matches(&id));
        assert!(Place::parse("3.1").unwrap().matches(&id), "Intel's names match any bus");
        assert!(!Place::parse("1-3.1").unwrap().matches(&id));
        let both = OpenName::parse("1-3:2-3").unwrap();
        assert_eq!(both.rom, Place { bus: Some(1), ports: vec![3] });
        assert_eq!(both.booted, Some(Place { bus: Some(2), ports: vec![3] }));
        assert_eq!(OpenName::parse("4").unwrap().booted, None);
        for bad in ["", "1-", "x-1", "1-2.", "1-2:", "1-2:3:4", "1-300", "1-1.1.1.1.1.1.1.1"] {
            assert!(OpenName::parse(bad).is_err(), "'{bad}' accepted");
        }
    }
}
