//! What the pool needs from one stick (or one CPU executor): queue an input, collect the
//! oldest result, report telemetry, and start afresh after a failure.
//!
//! [`StickWorker`] drives a stick through the native driver ([`Device`]), two inferences in
//! flight; [`BackendWorker`] wraps any [`Backend`] (the CPU reference, the NCSDK library) one
//! inference at a time. Each worker lives on its own thread, so a worker only needs `Send`.

use std::sync::Arc;

use crate::backend::Backend;
use crate::blob::GraphFile;
use crate::device::{Bus, Device, Firmware, OpenOptions, Telemetry};
use crate::error::{Error, Result};
use crate::fp16;

/// One result collected from a worker.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Output values as the host receives them.
    pub output: Vec<f32>,
    /// The tag the input was submitted with.
    pub tag: u64,
}

/// A worker used against its contract (the pool never does this).
fn fault(worker: &str, message: &str) -> Error {
    Error::BackendFault { backend: worker.to_owned(), message: message.to_owned() }
}

/// One stick (or executor) the pool drives from a thread of its own.
pub trait Worker: Send {
    /// Stable name for reports and metrics (a stick's bus-port name, or `cpu0`, …).
    fn name(&self) -> String;
    /// What it is: `usb`, `emulator`, `cpu`, `sdk`.
    fn kind(&self) -> &'static str;
    /// How many inputs it can hold at once (a stick: 2, its input1/input2 double buffer).
    fn slots(&self) -> usize;
    /// Queues one input; `tag` comes back with its result.
    fn submit(&mut self, input: &[f32], tag: u64) -> Result<()>;
    /// Collects the oldest queued inference.
    fn collect(&mut self) -> Result<Collected>;
    /// What the stick reported with its last result (thermals, throttling), if it reports.
    fn telemetry(&self) -> Option<Telemetry>;
    /// Brings the worker back after a failure: everything in flight is forgotten, the stick
    /// is reset, booted and given its graph again. Errors mean "not yet, try again later".
    fn recover(&mut self) -> Result<()>;
    /// Releases the stick (a stick returns to its ROM).
    fn close(&mut self) -> Result<()>;
}

/// A stick on a bus, driven by the native driver with both of its slots in use.
pub struct StickWorker {
    bus: Arc<dyn Bus>,
    stick: String,
    kind: &'static str,
    firmware: Firmware,
    graph: Arc<GraphFile>,
    options: OpenOptions,
    device: Option<Device>,
}

impl std::fmt::Debug for StickWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StickWorker").field("stick", &self.stick).field("open", &self.device.is_some()).finish()
    }
}

impl StickWorker {
    /// Opens the stick called `stick` on `bus`, boots it with `firmware` and allocates `graph`.
    /// `kind` names the bus in reports (`usb` or `emulator`).
    pub fn open(
        bus: Arc<dyn Bus>,
        stick: &str,
        kind: &'static str,
        firmware: Firmware,
        graph: Arc<GraphFile>,
        options: OpenOptions,
    ) -> Result<Self> {
        let mut worker = StickWorker { bus, stick: stick.to_owned(), kind, firmware, graph, options, device: None };
        worker.reopen()?;
        Ok(worker)
    }

    fn reopen(&mut self) -> Result<()> {
        if let Some(old) = self.device.take() {
            // A stick that fails mid-request may not answer the reset; opening handles a
            // stick left booted (reset request, else a USB port reset).
            if let Err(e) = old.close() {
                log::info!("{}: reset after failure: {e}", self.stick);
            }
        }
        let mut device = Device::open(self.bus.as_ref(), &self.stick, &self.firmware, &self.options)?;
        device.allocate_graph(&self.graph)?;
        self.device = Some(device);
        Ok(())
    }

    fn device(&mut self) -> Result<&mut Device> {
        let stick = &self.stick;
        self.device.as_mut().ok_or_else(|| fault(stick, "not open (recovering)"))
    }
}

impl Worker for StickWorker {
    fn name(&self) -> String {
        self.stick.clone()
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn slots(&self) -> usize {
        2
    }

    fn submit(&mut self, input: &[f32], tag: u64) -> Result<()> {
        Ok(self.device()?.load_tensor(&fp16::halves_from_f32(input), tag)?)
    }

    fn collect(&mut self) -> Result<Collected> {
        let (output, tag) = self.device()?.get_result()?;
        Ok(Collected { output: fp16::halves_to_f32(&output), tag })
    }

    fn telemetry(&self) -> Option<Telemetry> {
        self.device.as_ref().map(|d| d.telemetry().clone())
    }

    fn recover(&mut self) -> Result<()> {
        self.reopen()
    }

    fn close(&mut self) -> Result<()> {
        match self.device.take() {
            Some(device) => Ok(device.close()?),
            None => Ok(()),
        }
    }
}

/// Opens a backend; called again to recover it.
pub type Opener = Box<dyn Fn() -> Result<Box<dyn Backend + Send>> + Send>;

/// Any [`Backend`] (the CPU reference, an NCSDK device) as a one-slot worker.
pub struct BackendWorker {
    name: String,
    kind: &'static str,
    open: Opener,
    backend: Option<Box<dyn Backend + Send>>,
    pending: Option<(Vec<f32>, u64)>,
    telemetry: Option<Telemetry>,
}

impl std::fmt::Debug for BackendWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendWorker").field("name", &self.name).field("open", &self.backend.is_some()).finish()
    }
}

impl BackendWorker {
    /// Opens a backend now with `open`, keeping `open` to recover it later.
    pub fn open(name: &str, open: Opener) -> Result<Self> {
        let backend = open()?;
        let kind = backend.name();
        Ok(BackendWorker { name: name.to_owned(), kind, open, backend: Some(backend), pending: None, telemetry: None })
    }
}

impl Worker for BackendWorker {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    fn slots(&self) -> usize {
        1
    }

    fn submit(&mut self, input: &[f32], tag: u64) -> Result<()> {
        if self.pending.is_some() {
            return Err(fault(&self.name, "one inference at a time"));
        }
        self.pending = Some((input.to_vec(), tag));
        Ok(())
    }

    fn collect(&mut self) -> Result<Collected> {
        let (input, tag) = self.pending.take().ok_or_else(|| fault(&self.name, "nothing submitted"))?;
        let name = &self.name;
        let backend = self.backend.as_mut().ok_or_else(|| fault(name, "not open (recovering)"))?;
        let outcome = backend.infer(&input)?;
        self.telemetry = outcome.telemetry;
        Ok(Collected { output: outcome.output, tag })
    }

    fn telemetry(&self) -> Option<Telemetry> {
        self.telemetry.clone()
    }

    fn recover(&mut self) -> Result<()> {
        self.pending = None;
        self.backend = None;
        self.backend = Some((self.open)()?);
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.backend = None;
        Ok(())
    }
}
