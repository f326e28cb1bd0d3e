//! One interface over the places a graph can run: the CPU reference and sticks (real or
//! software). Commands construct a backend and then only use this trait.

use std::time::{Duration, Instant};

use crate::blob::{self, Blob};
use crate::device::{Bus, Device, Firmware, OpenOptions, Telemetry};
use crate::error::{Error, Result};
use crate::fp16;
use crate::reference::{Executor, Limits, Precision};

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
        let started = Instant::now();
        let result = self.executor.run(input)?;
        Ok(Outcome {
            output: result.output,
            stage_ms: result.stage_times.iter().map(|d| d.as_secs_f64() * 1e3).collect(),
            wall: started.elapsed(),
            telemetry: None,
        })
    }
}

/// A stick (native driver), real or software, with a graph allocated.
#[derive(Debug)]
pub struct Stick {
    device: Device,
    name: &'static str,
    input_shape: [u32; 3],
    output_shape: [u32; 3],
}

impl Stick {
    /// Opens the first stick on `bus`, boots it and allocates `graph`.
    pub fn open(
        name: &'static str,
        bus: &dyn Bus,
        firmware: &Firmware,
        graph: &[u8],
        options: &OpenOptions,
    ) -> Result<Self> {
        let sticks = bus.sticks().map_err(|e| Error::InvalidInput(format!("{}: {e}", bus.describe())))?;
        let first =
            sticks.first().ok_or_else(|| Error::InvalidInput(format!("no stick found on {}", bus.describe())))?;
        Self::open_named(name, bus, &first.name(), firmware, graph, options)
    }

    /// Opens the stick called `stick` on `bus`, boots it and allocates `graph`.
    pub fn open_named(
        name: &'static str,
        bus: &dyn Bus,
        stick: &str,
        firmware: &Firmware,
        graph: &[u8],
        options: &OpenOptions,
    ) -> Result<Self> {
        let parsed = blob::parse(graph).map_err(Error::Build)?;
        let mut device = Device::open(bus, stick, firmware, options)?;
        device.allocate_graph(graph)?;
        Ok(Stick { device, name, input_shape: parsed.input_shape(), output_shape: parsed.output_shape() })
    }

    /// The driver, for options and telemetry.
    pub fn device_mut(&mut self) -> &mut Device {
        &mut self.device
    }

    /// Resets the stick to its ROM.
    pub fn close(self) -> Result<()> {
        Ok(self.device.close()?)
    }
}

impl Backend for Stick {
    fn name(&self) -> &'static str {
        self.name
    }

    fn input_shape(&self) -> [u32; 3] {
        self.input_shape
    }

    fn output_shape(&self) -> [u32; 3] {
        self.output_shape
    }

    fn infer(&mut self, input: &[f32]) -> Result<Outcome> {
        let started = Instant::now();
        self.device.load_tensor(&fp16::halves_from_f32(input), 0)?;
        let (output, _) = self.device.get_result()?;
        let telemetry = self.device.telemetry().clone();
        Ok(Outcome {
            output: fp16::halves_to_f32(&output),
            stage_ms: telemetry.stage_ms.iter().map(|&v| f64::from(v)).collect(),
            wall: started.elapsed(),
            telemetry: Some(telemetry),
        })
    }

    /// Keeps two inferences in flight, as the stick's double buffering allows.
    fn pipelined(&mut self, input: &[f32], count: usize) -> Result<()> {
        let halves = fp16::halves_from_f32(input);
        let mut queued = 0;
        for i in 0..count {
            if queued == 2 {
                self.device.get_result()?;
                queued -= 1;
            }
            self.device.load_tensor(&halves, i as u64)?;
            queued += 1;
        }
        for _ in 0..queued {
            self.device.get_result()?;
        }
        Ok(())
    }
}
