//! What a caller can set: how a stick is opened, and the NCSDK graph and device options.

use std::time::Duration;

use super::link::DEFAULT_TIMEOUT;
use super::trace::Tracer;

/// How long to wait for a stick to come back after boot (NCSDK's `STATUS_WAIT_TIMEOUT`, 15 s,
/// `mvnc_api.c` 52, 257).
pub const BOOT_WAIT: Duration = Duration::from_secs(15);
/// How long a reset stick may take to return to its ROM. Intel's start-up reset waits
/// 50 × 100 ms for every reset stick to show up as 2150 (`usb_link_vsc.c` 44–45, 143–161).
pub const RESET_WAIT: Duration = Duration::from_secs(5);
/// How long a result is asked for again while the stick refuses it (still computing): Intel
/// retries the output read every 1 ms for 15 s (`mvnc_api.c` 953–978).
pub const RESULT_WAIT: Duration = Duration::from_secs(15);
/// How long closing waits after the reset request, so that a reopen does not meet the dying
/// firmware (Intel: 500 ms, `mvnc_api.c` 406–418).
pub const CLOSE_SETTLE: Duration = Duration::from_millis(500);

/// Knobs for opening a stick.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Timeout of each link transfer (NCSDK: 10 s).
    pub link_timeout: Duration,
    /// How long to wait for the booted stick to re-enumerate.
    pub boot_wait: Duration,
    /// Where to record the USB trace.
    pub tracer: Option<Tracer>,
    /// How long a refused result is retried ([`RESULT_WAIT`]).
    pub result_wait: Duration,
    /// How long closing waits after the reset request ([`CLOSE_SETTLE`]).
    pub close_settle: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            link_timeout: DEFAULT_TIMEOUT,
            boot_wait: BOOT_WAIT,
            tracer: None,
            result_wait: RESULT_WAIT,
            close_settle: CLOSE_SETTLE,
        }
    }
}

/// Per-graph options (NCSDK's graph options 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphOptions {
    /// Iterations per input (1).
    pub iterations: i32,
    /// Measure temperature once per inference (1) rather than per layer.
    pub network_throttle: i32,
    /// Return [`DeviceError::Busy`](crate::device::DeviceError::Busy)/[`DeviceError::NoData`](crate::device::DeviceError::NoData) instead of waiting.
    pub dont_block: bool,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions { iterations: 1, network_throttle: 1, dont_block: false }
    }
}

/// Thermal settings (NCSDK's device options 1–6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThermalOptions {
    /// Lower limit, °C (85).
    pub temp_lim_lower: f32,
    /// Upper limit, °C (95).
    pub temp_lim_higher: f32,
    /// Back-off below the lower limit, ms (0).
    pub backoff_normal: i32,
    /// Back-off past the lower limit, ms (100).
    pub backoff_high: i32,
    /// Back-off past the upper limit, ms (10000).
    pub backoff_critical: i32,
    /// Stop on critical temperature (0).
    pub temperature_debug: i32,
}

impl Default for ThermalOptions {
    fn default() -> Self {
        ThermalOptions {
            temp_lim_lower: 85.0,
            temp_lim_higher: 95.0,
            backoff_normal: 0,
            backoff_high: 100,
            backoff_critical: 10000,
            temperature_debug: 0,
        }
    }
}
