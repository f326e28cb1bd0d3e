//! Sticks: the native NCS1 driver and the software stick it can drive instead.
//!
//! ```text
//! Bus ──open──▶ Transport ──▶ boot (ROM) ──▶ Link (64-byte headers, permits) ──▶ Device
//!  ├─ usb::UsbBus        libusb (real sticks)
//!  └─ emulator::SoftBus  software sticks (CPU reference inside)
//! ```

pub mod boot;
pub mod driver;
pub mod emulator;
pub mod error;
pub mod link;
pub mod trace;
pub mod transport;
pub mod usb;
pub mod wire;

pub use boot::Firmware;
pub use driver::{Device, GraphOptions, OpenOptions, Telemetry, ThermalOptions};
pub use error::DeviceError;
pub use transport::{Bus, OpenName, Place, StickState, Transport, UsbError, UsbId};
