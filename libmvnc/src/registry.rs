//! The library's state: the bus, open devices and allocated graphs, addressed by opaque handles.
//!
//! Handles are small integers dressed as pointers; they are only ever looked up, never
//! dereferenced, so a stale or made-up handle is `MVNC_INVALID_PARAMETERS`, not a crash.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use ncs::backend::{firmware_for, open_bus, MAX_SOFT_STICKS};
use ncs::device::boot::NCSDK_FIRMWARE_PATH;
use ncs::device::{Bus, Device, Firmware};
use ncs::sdk::Status;

use crate::options::{DeviceReadings, GraphReadings};

/// An allocated graph and the buffers whose addresses the library hands out; allocated once,
/// overwritten in place, so returned pointers stay valid for as long as NCSDK documents.
pub struct GraphBuffers {
    pub handle: usize,
    /// The last result, fp16 bytes (`mvncGetResult`'s output).
    pub output: Box<[u8]>,
    pub readings: GraphReadings,
}

/// One open device.
pub struct Entry {
    pub device: Device,
    pub graph: Option<GraphBuffers>,
    pub readings: DeviceReadings,
}

/// A device and the condition blocked callers wait on.
pub struct Slot {
    pub entry: Mutex<Option<Entry>>,
    pub changed: Condvar,
}

impl Slot {
    pub fn lock(&self) -> MutexGuard<'_, Option<Entry>> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until `ready(inferences in flight)` holds for graph `handle`, returning the locked
    /// entry. Fails with MVNC_GONE when the graph or device goes away while waiting, and with
    /// `would_block` at once when the graph is in non-blocking mode.
    pub fn wait_until(
        &self,
        handle: usize,
        ready: impl Fn(usize) -> bool,
        would_block: Status,
    ) -> Result<MutexGuard<'_, Option<Entry>>, Status> {
        let mut guard = self.lock();
        loop {
            let entry =
                guard.as_ref().filter(|e| e.graph.as_ref().is_some_and(|g| g.handle == handle)).ok_or(Status::Gone)?;
            if ready(entry.device.in_flight()) {
                return Ok(guard);
            }
            if entry.device.graph_options().is_some_and(|o| o.dont_block) {
                return Err(would_block);
            }
            guard = self.changed.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }
}

#[derive(Default)]
pub struct Handles {
    next: usize,
    pub devices: HashMap<usize, (String, Arc<Slot>)>,
    pub graphs: HashMap<usize, usize>,
    pub names: Vec<String>,
}

impl Handles {
    pub fn new_handle(&mut self) -> usize {
        self.next += 1;
        0x1000 + 16 * self.next
    }
}

/// Process-wide state.
pub struct Library {
    pub bus: Option<Box<dyn Bus>>,
    pub emulated: bool,
    pub log_level: AtomicI32,
    pub handles: Mutex<Handles>,
}

impl Library {
    pub fn get() -> &'static Library {
        static LIBRARY: OnceLock<Library> = OnceLock::new();
        LIBRARY.get_or_init(|| {
            let emulate = std::env::var("NCS_EMULATE").ok().and_then(|v| v.parse::<usize>().ok());
            let library = Library {
                bus: None,
                emulated: emulate.is_some(),
                // MVNC_LOG_LEVEL in the environment lets unmodified programs see why calls fail.
                log_level: AtomicI32::new(
                    std::env::var("MVNC_LOG_LEVEL").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0),
                ),
                handles: Mutex::new(Handles::default()),
            };
            // Software sticks follow NCS_EMULATE_PROFILE, else the strict usb2 profile. No bus
            // (no USB subsystem, USB failing, a bad profile) leaves every device call to fail.
            let bus = match open_bus(emulate.map(|n| n.min(MAX_SOFT_STICKS))) {
                Ok(bus) => bus,
                Err(e) => {
                    library.log(&format!("no bus: {e}"));
                    None
                }
            };
            Library { bus, ..library }
        })
    }

    pub fn handles(&self) -> MutexGuard<'_, Handles> {
        self.handles.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The firmware to boot sticks with. As Intel's library, first
    /// `<directory of libmvnc.so>/mvnc/MvNCAPI.mvcmd` (`docs/usb_protocol.md` §4); then, for real
    /// sticks, `$NCS_FIRMWARE` and NCSDK's install path, for software sticks their built-in
    /// image. Under `MVNC_LOG_LEVEL` ≥ 1 each place looked at is logged with why it was not used.
    pub fn firmware(&self) -> Option<Firmware> {
        let mut places: Vec<PathBuf> = Vec::new();
        match crate::location::library_dir() {
            Some(dir) => places.push(dir.join("mvnc").join("MvNCAPI.mvcmd")),
            None => self.log("firmware: cannot tell which file libmvnc was loaded from; not looking beside it"),
        }
        if !self.emulated {
            places.extend(std::env::var_os("NCS_FIRMWARE").map(PathBuf::from));
            places.push(PathBuf::from(NCSDK_FIRMWARE_PATH));
        }
        let mut looked: Vec<PathBuf> = Vec::new();
        for place in places {
            if looked.contains(&place) {
                continue;
            }
            match Firmware::load(&place) {
                Ok(firmware) => {
                    self.log(&format!("firmware: {} ({} bytes)", firmware.source, firmware.bytes().len()));
                    return Some(firmware);
                }
                Err(why) => self.log(&format!("firmware not used: {why}")),
            }
            looked.push(place);
        }
        if self.emulated {
            self.log("firmware: the software sticks' built-in image");
            return firmware_for(true, None).ok();
        }
        self.log("no firmware found (MVNC_MVCMD_NOT_FOUND); install Intel's MvNCAPI.mvcmd in one of the places above");
        None
    }

    pub fn log(&self, message: &str) {
        if self.log_level.load(Ordering::Relaxed) > 0 {
            eprintln!("libmvnc (ncs): {message}");
        }
    }

    /// The slot of a device handle.
    pub fn device(&self, handle: usize) -> Option<Arc<Slot>> {
        self.handles().devices.get(&handle).map(|(_, slot)| Arc::clone(slot))
    }

    /// The slot of a graph handle's device.
    pub fn graph(&self, handle: usize) -> Option<Arc<Slot>> {
        let handles = self.handles();
        let device = handles.graphs.get(&handle)?;
        handles.devices.get(device).map(|(_, slot)| Arc::clone(slot))
    }
}
