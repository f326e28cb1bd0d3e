//! Sticks: the native NCS1 driver and the software stick it can drive instead.
//!
//! ```text
//! Bus ──open──▶ Transport ──▶ boot (ROM) ──▶ Link (64-byte headers, permits) ──▶ Device
//!  ├─ usb::UsbBus        libusb (real sticks)
//!  └─ emulator::SoftBus  software sticks (CPU reference inside)
//! ```
//!
//! [`Device`] (`driver`) is opened with [`OpenOptions`], takes the NCSDK graph and thermal
//! settings of `options`, and decodes what the stick returns beside each result into a
//! [`Telemetry`] (`telemetry`).

pub mod boot;
pub mod driver;
pub mod emulator;
pub mod error;
pub mod link;
pub mod options;
pub mod recover;
pub mod telemetry;
pub mod trace;
pub mod transport;
pub mod usb;
pub mod wire;

pub use boot::Firmware;
pub use driver::Device;
pub use error::DeviceError;
pub use options::{GraphOptions, OpenOptions, ThermalOptions, BOOT_WAIT, CLOSE_SETTLE, RESET_WAIT, RESULT_WAIT};
pub use telemetry::Telemetry;
pub use transport::{Bus, OpenName, Place, StickState, Transport, UsbError, UsbId};
