//! Device failures, each naming the stick and the protocol step.

use super::transport::UsbError;

/// A failure talking to a stick.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    /// The USB stack failed a transfer or call.
    #[error("{stick}: {step}: {source}")]
    Usb {
        /// Stick name.
        stick: String,
        /// Protocol step, e.g. "SET input1 payload".
        step: String,
        /// What USB said.
        source: UsbError,
    },
    /// The stick refused a SET or GET.
    #[error("{stick}: {step}: the stick refused (permit 0x{got:08x}, expected 0x0000abcd)")]
    Permit {
        /// Stick name.
        stick: String,
        /// Protocol step.
        step: String,
        /// The word it sent instead of the permit.
        got: u32,
    },
    /// The firmware reported an error in its debug string (NCSDK's MVNC_MYRIAD_ERROR).
    #[error("{stick}: firmware error: {message}")]
    Firmware {
        /// Stick name.
        stick: String,
        /// The debug string.
        message: String,
    },
    /// The stick is not in the state the step needs.
    #[error("{stick}: {message}")]
    State {
        /// Stick name.
        stick: String,
        /// What was expected.
        message: String,
    },
    /// A request the API refuses without talking to the stick (limits, misuse).
    #[error("{0}")]
    Usage(String),
    /// Two inferences are already in flight and the graph does not block (MVNC_BUSY).
    #[error("two inferences are already queued")]
    Busy,
    /// No inference is queued (MVNC_NO_DATA).
    #[error("no inference is queued")]
    NoData,
}

impl DeviceError {
    pub(crate) fn usb(stick: &str, step: impl Into<String>, source: UsbError) -> Self {
        DeviceError::Usb { stick: stick.to_owned(), step: step.into(), source }
    }

    pub(crate) fn state(stick: &str, message: impl Into<String>) -> Self {
        DeviceError::State { stick: stick.to_owned(), message: message.into() }
    }

    /// True when the stick itself went away (unplugged, or reset under us).
    pub fn is_disconnect(&self) -> bool {
        matches!(self, DeviceError::Usb { source: UsbError::NoDevice, .. })
    }
}
