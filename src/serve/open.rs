//! Opening the workers a server runs on: every stick on the bus (or as many as asked for),
//! booted in parallel, or CPU / NCSDK-library backends through the backend factory. Sticks that
//! fail to open are logged and left out; only when none opens is that an error.

use std::sync::Arc;

use crate::backend::{self, firmware_for, open_bus_with, BackendKind, BackendOptions};
use crate::blob::GraphFile;
use crate::device::{Bus, OpenOptions};
use crate::error::{Error, Result};

use super::{BackendWorker, Opener, StickWorker, Worker};

/// One worker per stick of `kind` with `graph` loaded: `wanted` of them, or every stick found
/// (`None`; the CPU and NCSDK backends then open one). A real stick takes seconds to boot, so
/// sticks are opened in parallel.
pub fn open_workers(
    kind: BackendKind,
    wanted: Option<usize>,
    graph: Arc<GraphFile>,
    options: &BackendOptions,
) -> Result<Vec<Box<dyn Worker>>> {
    if wanted == Some(0) {
        return Err(Error::Usage("a server needs at least one stick".into()));
    }
    match kind {
        // The CPU reference and an NCSDK library: one inference at a time each, through the
        // backend factory (which is also how they recover).
        BackendKind::Cpu | BackendKind::Sdk => {
            let count = wanted.unwrap_or(1);
            if kind == BackendKind::Sdk && count > 1 {
                return Err(Error::Usage("--backend sdk serves with one device".into()));
            }
            (0..count)
                .map(|i| {
                    let (graph, options) = (Arc::clone(&graph), options.clone());
                    let open: Opener = Box::new(move || backend::open(kind, &graph, &options));
                    let name = format!("{}{i}", kind.name());
                    Ok(Box::new(BackendWorker::open(&name, open)?) as Box<dyn Worker>)
                })
                .collect()
        }
        BackendKind::Emulator | BackendKind::Usb => open_sticks(kind, wanted, graph, options),
    }
}

/// A [`StickWorker`] (both slots in use, recovered in place) per stick on the bus.
fn open_sticks(
    kind: BackendKind,
    wanted: Option<usize>,
    graph: Arc<GraphFile>,
    backend: &BackendOptions,
) -> Result<Vec<Box<dyn Worker>>> {
    let emulated = kind == BackendKind::Emulator;
    let bus: Arc<dyn Bus> = Arc::from(
        open_bus_with(emulated.then_some(backend.emulate), backend.emulate_profile.as_ref())?
            .ok_or(Error::NoUsbSubsystem)?,
    );
    let firmware = firmware_for(emulated, backend.firmware.as_deref())?;
    let found = bus.sticks().map_err(|source| Error::Bus { bus: bus.describe(), source })?;
    if found.is_empty() {
        return Err(Error::NoStick { bus: bus.describe() });
    }
    if let Some(n) = wanted.filter(|&n| n > found.len()) {
        return Err(Error::Usage(format!("--devices {n}: {} stick(s) found on {}", found.len(), bus.describe())));
    }
    let names: Vec<String> = found.iter().map(|s| s.name()).take(wanted.unwrap_or(usize::MAX)).collect();
    let options = OpenOptions { tracer: backend.tracer.clone(), ..OpenOptions::default() };
    let label = kind.name();
    let opened: Vec<Result<StickWorker>> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                let (bus, firmware, graph, options) =
                    (Arc::clone(&bus), firmware.clone(), Arc::clone(&graph), options.clone());
                scope.spawn(move || StickWorker::open(bus, name, label, firmware, graph, options))
            })
            .collect();
        handles
            .into_iter()
            .zip(&names)
            .map(|(h, name)| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::BackendFault { backend: name.clone(), message: "opening it panicked".into() })
                })
            })
            .collect()
    });
    let mut workers: Vec<Box<dyn Worker>> = Vec::new();
    let mut first_error = None;
    for (name, result) in names.iter().zip(opened) {
        match result {
            Ok(worker) => workers.push(Box::new(worker)),
            // A deployment keeps serving with the sticks that work; the others are named.
            Err(e) => {
                log::error!("{name}: cannot open, serving without it: {e}");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if workers.is_empty() => Err(e),
        _ => Ok(workers),
    }
}
