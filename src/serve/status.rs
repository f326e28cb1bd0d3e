//! What the pool knows about each stick, for `/healthz`, `/metrics` and the page.

use serde_json::{json, Value};

use crate::device::Telemetry;

/// Where a stick is in its life in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickState {
    /// Taking jobs.
    Ready,
    /// Failed; being reset, booted and given its graph again.
    Recovering,
    /// Closed at shutdown (or given up).
    Closed,
}

impl StickState {
    /// Lower-case name used in JSON and metrics.
    pub fn name(self) -> &'static str {
        match self {
            StickState::Ready => "ready",
            StickState::Recovering => "recovering",
            StickState::Closed => "closed",
        }
    }
}

/// One stick's state and counters.
#[derive(Debug, Clone)]
pub struct StickStatus {
    /// The stick's name (bus-port path, or `cpu0`, …).
    pub name: String,
    /// `usb`, `emulator`, `cpu`, `sdk`.
    pub kind: &'static str,
    /// Inputs it can hold at once.
    pub slots: usize,
    /// Its state.
    pub state: StickState,
    /// Inferences queued on it now.
    pub in_flight: usize,
    /// Inferences answered.
    pub inferences: u64,
    /// Times it was taken out after an error.
    pub failures: u64,
    /// Times it came back.
    pub recoveries: u64,
    /// The last error it failed with.
    pub last_error: Option<String>,
    /// While recovering: why the last attempt did not bring it back.
    pub recovery_error: Option<String>,
    /// Hottest of its temperature sensors with the last result, °C.
    pub temperature_c: Option<f32>,
    /// Throttling level with the last result (0 none, 1 short back-off, 2 long back-off).
    pub throttling: Option<i32>,
}

impl StickStatus {
    /// A stick just opened, ready.
    pub fn new(name: String, kind: &'static str, slots: usize) -> Self {
        StickStatus {
            name,
            kind,
            slots,
            state: StickState::Ready,
            in_flight: 0,
            inferences: 0,
            failures: 0,
            recoveries: 0,
            last_error: None,
            recovery_error: None,
            temperature_c: None,
            throttling: None,
        }
    }

    /// Counts an answered inference and keeps what the stick reported with it.
    pub fn record_result(&mut self, telemetry: Option<&Telemetry>) {
        self.inferences += 1;
        if let Some(t) = telemetry {
            self.temperature_c = t.thermal.iter().copied().reduce(f32::max);
            self.throttling = Some(t.throttling);
        }
    }

    /// The stick failed and leaves the pool.
    pub fn record_failure(&mut self, error: &str) {
        self.state = StickState::Recovering;
        self.failures += 1;
        self.in_flight = 0;
        self.last_error = Some(error.to_owned());
    }

    /// The stick is back.
    pub fn record_recovery(&mut self) {
        self.state = StickState::Ready;
        self.recoveries += 1;
        self.recovery_error = None;
    }

    /// The JSON object `/healthz` lists.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "kind": self.kind,
            "state": self.state.name(),
            "slots": self.slots,
            "in_flight": self.in_flight,
            "inferences": self.inferences,
            "failures": self.failures,
            "recoveries": self.recoveries,
            "last_error": self.last_error,
            "recovery_error": self.recovery_error,
            "temperature_c": self.temperature_c,
            "throttling": self.throttling,
        })
    }
}
