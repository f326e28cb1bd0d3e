//! One interface over the places a graph can run: the CPU reference, sticks (real or
//! software) through the native driver, and an NCSDK library. [`open`] builds the one a caller
//! names from a [`GraphFile`]; callers then only use the [`Backend`] trait.
//!
//! ```text
//! GraphFile ──open(kind, options)──▶ Box<dyn Backend>: Cpu | Stick (emulator, usb) | sdk::SdkStick
//! ```

mod open;
mod stick;

use std::time::{Duration, Instant};

pub use open::{
    firmware_for, open, open_bus, open_bus_with, open_every_stick, BackendKind, BackendOptions, MAX_SOFT_STICKS,
};
pub use stick::Stick;

use crate::blob::Blob;
use crate::device::Telemetry;
use crate::error::Result;
use crate::reference::{Executor, Limits, Precision, StageOutput};

#[cfg(doc)]
use crate::blob::GraphFile;

/// The result of one inference on any backend.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Output values as the host receives them.
    pub output: Vec<f32>,
    /// Per-stage times in ms (measured on the CPU, or reported by the stick).
    pub stage_ms: Vec<f64>,
    /// Wall time of the whole inference as the host saw it.
    pub wall: Duration,
    /// Stick telemetry, for stick backends.
    pub telemetry: Option<Telemetry>,
}

/// Something that runs one graph.
pub trait Backend {
    /// Short name: `cpu`, `emulator`, `usb`, `sdk`.
    fn name(&self) -> &'static str;
    /// Network input `[rows, columns, channels]`.
    fn input_shape(&self) -> [u32; 3];
    /// Network output `[rows, columns, channels]` as the host reads it.
    fn output_shape(&self) -> [u32; 3];
    /// Runs one inference on a dense HWC input.
    fn infer(&mut self, input: &[f32]) -> Result<Outcome>;

    /// True when the sticks behind this backend are software sticks, so their telemetry
    /// (temperatures, throttling) is modelled, not measured, and must be labelled simulated
    /// wherever printed. False for the CPU (no telemetry) and real sticks.
    fn simulated(&self) -> bool {
        false
    }

    /// Runs `count` inferences of the same input as fast as the backend allows (sticks keep
    /// both of their slots busy). Results are discarded.
    fn pipelined(&mut self, input: &[f32], count: usize) -> Result<()> {
        for _ in 0..count {
            self.infer(input)?;
        }
        Ok(())
    }
}

/// The CPU reference executor.
#[derive(Debug)]
pub struct Cpu {
    executor: Executor,
}

impl Cpu {
    /// Plans a graph for the CPU within the default [`Limits`].
    pub fn new(blob: &Blob, precision: Precision) -> Result<Self> {
        Self::with_limits(blob, precision, &Limits::default())
    }

    /// Plans a graph for the CPU, refusing one whose operands or work exceed `limits`.
    pub fn with_limits(blob: &Blob, precision: Precision, limits: &Limits) -> Result<Self> {
        Ok(Cpu { executor: Executor::with_limits(blob, precision, limits)? })
    }

    /// The executor, for stage-level access.
    pub fn executor_mut(&mut self) -> &mut Executor {
        &mut self.executor
    }

    /// Runs one inference, showing each stage's stored output to `observer` as it is produced.
    pub fn infer_observed(&mut self, input: &[f32], observer: &mut dyn FnMut(StageOutput<'_>)) -> Result<Outcome> {
        let started = Instant::now();
        let result = self.executor.run_observed(input, observer)?;
        Ok(cpu_outcome(result, started))
    }
}

/// What a CPU inference started at `started` gives the caller.
fn cpu_outcome(result: crate::reference::Inference, started: Instant) -> Outcome {
    Outcome {
        output: result.output,
        stage_ms: result.stage_times.iter().map(|d| d.as_secs_f64() * 1e3).collect(),
        wall: started.elapsed(),
        telemetry: None,
    }
}

impl Backend for Cpu {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn input_shape(&self) -> [u32; 3] {
        self.executor.input_shape()
    }

    fn output_shape(&self) -> [u32; 3] {
        self.executor.output_shape()
    }

    fn infer(&mut self, input: &[f32]) -> Result<Outcome> {
        // Without an observer the executor need not read back what the kernels stored in place.
        let started = Instant::now();
        let result = self.executor.run(input)?;
        Ok(cpu_outcome(result, started))
    }
}
