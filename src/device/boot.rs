//! Firmware: finding it, sending it to a stick's boot ROM, and waiting for the booted stick to
//! come back (`docs/usb_protocol.md` §4–§5).

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;

use super::error::DeviceError;
use super::link::Link;
use super::trace::{log_transfer, Tracer, Transfer};
use super::transport::{Bus, Place, StickState, Transport, UsbError, UsbId};
use super::wire::{Status, ENDPOINT_OUT, FIRMWARE_MAGIC};

/// Where NCSDK 1.x installs the firmware.
pub const NCSDK_FIRMWARE_PATH: &str = "/usr/local/lib/mvnc/MvNCAPI.mvcmd";
/// Refuse firmware files larger than this (real ones are < 1 MiB).
const MAX_FIRMWARE: u64 = 16 << 20;
/// Per-chunk timeout of the boot transfer.
const BOOT_CHUNK_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between polls while waiting for a stick to (re)appear (`mvnc_api.c` 297).
const POLL: Duration = Duration::from_millis(10);
/// Pause before the first look for the ROM (`usb_boot.c` 235).
const BOOT_OPEN_FIRST_PAUSE: Duration = Duration::from_millis(100);
/// How long a ROM that is there but cannot be opened is retried (`usb_boot.c` 38: 20 × 100 ms).
const BOOT_OPEN_RETRY: Duration = Duration::from_secs(2);
/// Pause between those retries (`usb_boot.c` 267).
const BOOT_OPEN_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A firmware image (Intel's `MvNCAPI.mvcmd`, never shipped with ncs).
#[derive(Debug, Clone)]
pub struct Firmware {
    bytes: Vec<u8>,
    /// Where it came from, for messages.
    pub source: String,
}

impl Firmware {
    /// Wraps an image after checking its magic.
    pub fn from_bytes(bytes: Vec<u8>, source: &str) -> Result<Self, DeviceError> {
        if !bytes.starts_with(FIRMWARE_MAGIC) {
            return Err(DeviceError::Usage(format!(
                "{source}: not a Myriad firmware image (it does not start with \"MA2x\")"
            )));
        }
        Ok(Firmware { bytes, source: source.to_owned() })
    }

    /// Loads `--firmware PATH`, else `$NCS_FIRMWARE`, else NCSDK's install location.
    pub fn locate(explicit: Option<&Path>) -> Result<Self, DeviceError> {
        let from_env = std::env::var_os("NCS_FIRMWARE").map(PathBuf::from);
        let path = explicit.map(Path::to_path_buf).or(from_env).unwrap_or_else(|| PathBuf::from(NCSDK_FIRMWARE_PATH));
        Firmware::load(&path).map_err(|why| {
            DeviceError::Usage(format!(
                "firmware {why}; pass --firmware PATH or set NCS_FIRMWARE to Intel's MvNCAPI.mvcmd (NCSDK 1.12)"
            ))
        })
    }

    /// Loads the image at `path`; the error says why that file cannot be used, starting with
    /// its path (missing, unreadable, too large, or not a Myriad image).
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let len = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?.len();
        if len > MAX_FIRMWARE {
            return Err(format!("{shown} is {len} bytes, larger than any Myriad image"));
        }
        let bytes = crate::files::read_at_most(path, MAX_FIRMWARE).map_err(|e| format!("{shown}: {e}"))?;
        if !bytes.starts_with(FIRMWARE_MAGIC) {
            return Err(format!("{shown}: not a Myriad firmware image (it does not start with \"MA2x\")"));
        }
        Ok(Firmware { bytes, source: shown })
    }

    /// The image.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Sends the firmware to the stick waiting in its ROM at `at`'s bus and ports, in chunks of
/// the endpoint's packet size. As Intel's `wait_findopen` (`usb_boot.c` 228–269): pause 100 ms,
/// then look the stick up in the *current* enumeration (nothing in its ROM there is an error at
/// once), and retry opening it — open, set configuration, claim — every 100 ms for 2 s. The
/// stick may drop off the bus before the last chunk completes; that counts as success
/// (`usb_boot.c` 295–297).
pub fn send_firmware(
    bus: &dyn Bus,
    at: &UsbId,
    firmware: &Firmware,
    tracer: Option<&Tracer>,
) -> Result<(), DeviceError> {
    let stick = at.name();
    let mut transport = open_rom(bus, at)?;
    let chunk_size = transport.max_packet_size().max(64);
    log::info!("{stick}: booting with {} ({} bytes, {chunk_size}-byte chunks)", firmware.source, firmware.bytes.len());
    if let Some(t) = tracer {
        t.event(
            &stick,
            "boot_start",
            json!({ "firmware_bytes": firmware.bytes.len(), "chunk": chunk_size, "source": firmware.source }),
        );
    }
    for (index, chunk) in firmware.bytes.chunks(chunk_size).enumerate() {
        let started = Instant::now();
        let result = transport.write(chunk, BOOT_CHUNK_TIMEOUT);
        let transfer = Transfer {
            stick: &stick,
            op: "write",
            endpoint: ENDPOINT_OUT,
            kind: "boot_chunk",
            requested: chunk.len(),
            actual: *result.as_ref().unwrap_or(&0),
            timeout: BOOT_CHUNK_TIMEOUT,
            result: result.as_ref().map(|_| ()),
            header: None,
            payload: None,
        };
        // The ROM leaving the bus before the last chunk is the normal end of a boot.
        if !matches!(result, Err(UsbError::NoDevice)) {
            log_transfer(&transfer, started.elapsed());
        }
        if let Some(t) = tracer {
            t.transfer(&transfer);
        }
        match result {
            Ok(n) if n == chunk.len() => {}
            Ok(n) => {
                let step = format!("boot chunk {index}");
                return Err(DeviceError::usb(
                    &stick,
                    step,
                    UsbError::Other(format!("short transfer: {n} of {} bytes", chunk.len())),
                ));
            }
            Err(UsbError::NoDevice) => break,
            Err(e) => return Err(DeviceError::usb(&stick, format!("boot chunk {index}"), e)),
        }
    }
    Ok(())
}

/// Waits for a stick at the same bus and ports to appear in `state`; opens it when booted and
/// checks it reports WAITING. (Kept for callers that do not yet use [`wait_for_rom`] and
/// [`wait_for_booted`].)
pub fn wait_for(
    bus: &dyn Bus,
    at: &UsbId,
    state: StickState,
    within: Duration,
    tracer: Option<&Tracer>,
    link_timeout: Duration,
) -> Result<Option<Link>, DeviceError> {
    match state {
        StickState::Rom => wait_for_rom(bus, at, within, tracer).map(|_| None),
        StickState::Booted => wait_for_booted(bus, at, None, within, tracer, link_timeout).map(|(_, link)| Some(link)),
    }
}

/// Waits until a stick shows up in its ROM at `at`'s bus and ports; returns its enumeration.
pub fn wait_for_rom(
    bus: &dyn Bus,
    at: &UsbId,
    within: Duration,
    tracer: Option<&Tracer>,
) -> Result<UsbId, DeviceError> {
    let stick = at.name();
    let deadline = Instant::now() + within;
    loop {
        let found = bus.sticks().map_err(|e| DeviceError::usb(&stick, "enumerate", e))?;
        if let Some(id) = found.into_iter().find(|d| same_place(d, at) && d.state() == Some(StickState::Rom)) {
            if let Some(t) = tracer {
                t.event(&stick, "enumerated", json!({ "state": "Rom", "product": format!("{:04x}", id.product) }));
            }
            return Ok(id);
        }
        if Instant::now() >= deadline {
            return Err(DeviceError::state(&stick, format!("waited {within:?} for the stick to return to its ROM")));
        }
        sleep(POLL);
    }
}

/// Waits for the firmware booted from the ROM at `rom` and opens it, as Intel's open loop does
/// (`mvnc_api.c` 256–298), every 10 ms for `within`: the booted stick (03e7:f63b) at `booted`
/// when the caller named it (Intel's `"a:b"` names), else at the ROM's port path on **any** bus
/// — on a USB 3 port the firmware re-enumerates on the USB 3 root hub — else the first booted
/// stick nobody has open (its interface can be claimed). A candidate is taken once it answers
/// the status request with WAITING. Returns where it was found and the link to it.
pub fn wait_for_booted(
    bus: &dyn Bus,
    rom: &UsbId,
    booted: Option<&Place>,
    within: Duration,
    tracer: Option<&Tracer>,
    link_timeout: Duration,
) -> Result<(UsbId, Link), DeviceError> {
    let stick = rom.name();
    let started = Instant::now();
    let deadline = started + within;
    let expected = booted.cloned().unwrap_or_else(|| Place::ports_of(rom));
    let mut last_problem = String::from("no booted stick appeared");
    loop {
        let found = bus.sticks().map_err(|e| DeviceError::usb(&stick, "enumerate", e))?;
        let booted_sticks = found.into_iter().filter(|d| d.state() == Some(StickState::Booted));
        let (at_place, elsewhere): (Vec<UsbId>, Vec<UsbId>) = booted_sticks.partition(|d| expected.matches(d));
        // Anywhere else only when the caller did not say where (Intel: `!second_name_available`).
        let fallback = if booted.is_none() { elsewhere } else { Vec::new() };
        for id in at_place.iter().chain(&fallback) {
            match open_waiting(bus, id, &stick, tracer, link_timeout) {
                Ok(link) => {
                    let how = if expected.matches(id) { "port path" } else { "first unopened booted stick" };
                    let ports: Vec<String> = id.ports.iter().map(u8::to_string).collect();
                    log::info!(
                        "{stick}: booted firmware re-enumerated at {} (bus {}, port path {}, found by {how}) after {:.0} ms",
                        id.name(),
                        id.bus,
                        ports.join("."),
                        started.elapsed().as_secs_f64() * 1e3
                    );
                    if let Some(t) = tracer {
                        t.event(
                            &stick,
                            "enumerated",
                            json!({ "state": "Booted", "product": format!("{:04x}", id.product),
                                    "at": id.name(), "matched_by": how }),
                        );
                    }
                    return Ok((id.clone(), link));
                }
                Err(problem) => last_problem = format!("{}: {problem}", id.name()),
            }
        }
        if Instant::now() >= deadline {
            return Err(DeviceError::state(
                &stick,
                format!("waited {within:?} for its booted firmware (03e7:f63b); {last_problem}"),
            ));
        }
        sleep(POLL);
    }
}

/// Opens a booted stick and checks that its firmware is idle. The link keeps the name the
/// stick was booted under, so messages name the stick the caller asked for.
fn open_waiting(
    bus: &dyn Bus,
    id: &UsbId,
    stick: &str,
    tracer: Option<&Tracer>,
    link_timeout: Duration,
) -> Result<Link, String> {
    let transport = bus.open(id).map_err(|e| format!("it cannot be opened: {e}"))?;
    let mut link = Link::new(transport, stick, link_timeout, tracer.cloned());
    match link.status() {
        Ok(Status::Waiting) => Ok(link),
        Ok(other) => Err(format!("it reports status {other:?}, not WAITING")),
        Err(e) => Err(e.to_string()),
    }
}

fn same_place(a: &UsbId, b: &UsbId) -> bool {
    a.bus == b.bus && a.ports == b.ports
}

/// Opens the ROM at `at`'s place for booting (see [`send_firmware`]).
fn open_rom(bus: &dyn Bus, at: &UsbId) -> Result<Box<dyn Transport>, DeviceError> {
    let stick = at.name();
    sleep(BOOT_OPEN_FIRST_PAUSE);
    let deadline = Instant::now() + BOOT_OPEN_RETRY;
    loop {
        let found = bus.sticks().map_err(|e| DeviceError::usb(&stick, "enumerate", e))?;
        let Some(rom) = found.iter().find(|d| same_place(d, at) && d.state() == Some(StickState::Rom)) else {
            let shown = found.iter().find(|d| same_place(d, at)).map_or_else(
                || "nothing is there".to_owned(),
                |d| format!("it shows as {:04x}:{:04x}", d.vendor, d.product),
            );
            return Err(DeviceError::state(&stick, format!("no stick waiting for firmware there ({shown})")));
        };
        match bus.open(rom) {
            Ok(transport) => return Ok(transport),
            Err(e) if Instant::now() < deadline => {
                log::debug!("{stick}: opening the ROM: {e}; retrying");
                sleep(BOOT_OPEN_RETRY_PAUSE);
            }
            Err(e) => {
                return Err(DeviceError::usb(&stick, format!("open for boot (retried for {BOOT_OPEN_RETRY:?})"), e))
            }
        }
    }
}
