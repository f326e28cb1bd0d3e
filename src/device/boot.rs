//! Firmware: finding it, sending it to a stick's boot ROM, and waiting for the booted stick to
//! come back (research/ncsdk_api.md §3.3–§3.4, §3.13).

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;

use super::error::DeviceError;
use super::link::Link;
use super::trace::{Tracer, Transfer};
use super::transport::{Bus, StickState, UsbError, UsbId};
use super::wire::{Status, ENDPOINT_OUT, FIRMWARE_MAGIC};

/// Where NCSDK 1.x installs the firmware.
pub const NCSDK_FIRMWARE_PATH: &str = "/usr/local/lib/mvnc/MvNCAPI.mvcmd";
/// Refuse firmware files larger than this (real ones are < 1 MiB).
const MAX_FIRMWARE: u64 = 16 << 20;
/// Per-chunk timeout of the boot transfer.
const BOOT_CHUNK_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between polls while waiting for a stick to (re)appear.
const POLL: Duration = Duration::from_millis(10);

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
        let shown = path.display().to_string();
        let missing = |e: std::io::Error| {
            DeviceError::Usage(format!(
                "firmware {shown}: {e}; pass --firmware PATH or set NCS_FIRMWARE to Intel's MvNCAPI.mvcmd (NCSDK 1.12)"
            ))
        };
        let len = std::fs::metadata(&path).map_err(missing)?.len();
        if len > MAX_FIRMWARE {
            return Err(DeviceError::Usage(format!("firmware {shown} is {len} bytes, larger than any Myriad image")));
        }
        Firmware::from_bytes(std::fs::read(&path).map_err(missing)?, &shown)
    }

    /// The image.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Sends the firmware to a stick in its ROM, in chunks of the endpoint's packet size.
/// The stick may drop off the bus before the last chunk completes; that counts as success.
pub fn send_firmware(
    bus: &dyn Bus,
    id: &UsbId,
    firmware: &Firmware,
    tracer: Option<&Tracer>,
) -> Result<(), DeviceError> {
    let stick = id.name();
    let mut transport = open_with_retry(bus, id, Duration::from_secs(2))?;
    let chunk_size = transport.max_packet_size().max(64);
    if let Some(t) = tracer {
        t.event(
            &stick,
            "boot_start",
            json!({ "firmware_bytes": firmware.bytes.len(), "chunk": chunk_size, "source": firmware.source }),
        );
    }
    for (index, chunk) in firmware.bytes.chunks(chunk_size).enumerate() {
        let result = transport.write(chunk, BOOT_CHUNK_TIMEOUT);
        if let Some(t) = tracer {
            let actual = *result.as_ref().unwrap_or(&0);
            t.transfer(&Transfer {
                stick: &stick,
                op: "write",
                endpoint: ENDPOINT_OUT,
                kind: "boot_chunk",
                requested: chunk.len(),
                actual,
                timeout: BOOT_CHUNK_TIMEOUT,
                result: result.as_ref().map(|_| ()),
                header: None,
                payload: None,
            });
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
/// checks it reports WAITING.
pub fn wait_for(
    bus: &dyn Bus,
    at: &UsbId,
    state: StickState,
    within: Duration,
    tracer: Option<&Tracer>,
    link_timeout: Duration,
) -> Result<Option<Link>, DeviceError> {
    let stick = at.name();
    let deadline = Instant::now() + within;
    let mut last_problem = String::from("it did not appear");
    loop {
        let found = bus.sticks().map_err(|e| DeviceError::usb(&stick, "enumerate", e))?;
        if let Some(id) = found.iter().find(|d| d.bus == at.bus && d.ports == at.ports && d.state() == Some(state)) {
            if let Some(t) = tracer {
                t.event(
                    &stick,
                    "enumerated",
                    json!({ "state": format!("{state:?}"), "product": format!("{:04x}", id.product) }),
                );
            }
            if state == StickState::Rom {
                return Ok(None);
            }
            match bus.open(id) {
                Ok(transport) => {
                    let mut link = Link::new(transport, &stick, link_timeout, tracer.cloned());
                    match link.status() {
                        Ok(Status::Waiting) => return Ok(Some(link)),
                        Ok(other) => last_problem = format!("it reports status {other:?}, not WAITING"),
                        Err(e) => last_problem = e.to_string(),
                    }
                }
                Err(e) => last_problem = format!("it cannot be opened: {e}"),
            }
        }
        if Instant::now() >= deadline {
            return Err(DeviceError::state(
                &stick,
                format!("waited {within:?} for the stick in {state:?} state; {last_problem}"),
            ));
        }
        sleep(POLL);
    }
}

fn open_with_retry(
    bus: &dyn Bus,
    id: &UsbId,
    within: Duration,
) -> Result<Box<dyn super::transport::Transport>, DeviceError> {
    let deadline = Instant::now() + within;
    loop {
        match bus.open(id) {
            Ok(t) => return Ok(t),
            Err(e @ (UsbError::Busy | UsbError::Access)) if Instant::now() < deadline => {
                log::debug!("{}: {e}; retrying", id.name());
                sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(DeviceError::usb(&id.name(), "open for boot", e)),
        }
    }
}
