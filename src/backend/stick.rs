//! A stick driven by the native driver — real (libusb) or software — as a [`Backend`].

use std::time::Instant;

use crate::blob::GraphFile;
use crate::device::{Bus, Device, Firmware, OpenOptions};
use crate::error::{Error, Result};
use crate::fp16;

use super::{Backend, Outcome};

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
        graph: &GraphFile,
        options: &OpenOptions,
    ) -> Result<Self> {
        let sticks = bus.sticks().map_err(|source| Error::Bus { bus: bus.describe(), source })?;
        let first = sticks.first().ok_or_else(|| Error::NoStick { bus: bus.describe() })?;
        Self::open_named(name, bus, &first.name(), firmware, graph, options)
    }

    /// Opens the stick called `stick` on `bus`, boots it and allocates `graph`.
    pub fn open_named(
        name: &'static str,
        bus: &dyn Bus,
        stick: &str,
        firmware: &Firmware,
        graph: &GraphFile,
        options: &OpenOptions,
    ) -> Result<Self> {
        let mut device = Device::open(bus, stick, firmware, options)?;
        device.allocate_graph(graph)?;
        let blob = graph.blob();
        Ok(Stick { device, name, input_shape: blob.input_shape(), output_shape: blob.output_shape() })
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

    /// The `emulator` kind opens software sticks only (`backend::open`), `usb` real ones only.
    fn simulated(&self) -> bool {
        self.name == super::BackendKind::Emulator.name()
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
