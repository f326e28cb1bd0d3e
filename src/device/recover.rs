//! Recovering sticks left booted: a process that died (or leaked its [`Device`](super::Device))
//! leaves its stick running firmware, enumerated as 03e7:f63b, possibly on another bus. Before a
//! stick can be booted again it has to be reset back into its ROM (`docs/usb_protocol.md` §5).

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;

use super::error::DeviceError;
use super::link::Link;
use super::options::RESET_WAIT;
use super::trace::Tracer;
use super::transport::{Bus, Place, StickState, UsbId};

/// Pause between looks at the bus while waiting.
const POLL: Duration = Duration::from_millis(10);

/// The stick the caller named at `place` is not in its ROM: reset booted sticks and wait for
/// one to come back as a ROM. Which are reset, in order of preference: the booted stick at
/// `place`; else those at `place`'s port path on any bus (a USB 3 stick boots onto the other
/// root hub); else every booted stick nobody has open, as Intel's library does when it starts
/// (`mvnc_api.c` 107–112, `usb_link_vsc.c` 108–142). A stick another owner holds answers the
/// open with busy and is left alone. Returns the ROM to boot: the one at `place`, or — when the
/// caller named the booted stick itself — the first ROM that was not there before the reset.
pub fn left_booted(
    bus: &dyn Bus,
    name: &str,
    place: &Place,
    link_timeout: Duration,
    tracer: Option<&Tracer>,
) -> Result<UsbId, DeviceError> {
    let before = bus.sticks().map_err(|e| DeviceError::usb(name, "enumerate", e))?;
    let roms_before: Vec<UsbId> = before.iter().filter(|d| d.state() == Some(StickState::Rom)).cloned().collect();
    let booted: Vec<UsbId> = before.into_iter().filter(|d| d.state() == Some(StickState::Booted)).collect();
    let named: Vec<UsbId> = booted.iter().filter(|d| place.matches(d)).cloned().collect();
    let same_ports: Vec<UsbId> = booted.iter().filter(|d| d.ports == place.ports).cloned().collect();
    let targets = if !named.is_empty() {
        named.clone()
    } else if !same_ports.is_empty() {
        same_ports
    } else {
        booted
    };
    if targets.is_empty() {
        let shown: Vec<String> = roms_before.iter().map(UsbId::name).collect();
        return Err(DeviceError::state(
            name,
            format!("no stick there on {} (sticks in their ROM: {shown:?})", bus.describe()),
        ));
    }
    let names: Vec<String> = targets.iter().map(UsbId::name).collect();
    log::info!("{name}: not in its ROM (left booted by an earlier run?); resetting booted stick(s) {names:?}");
    if let Some(t) = tracer {
        t.event(name, "recover_booted_stick", json!({ "reset": names }));
    }
    let started = Instant::now();
    let mut problems = Vec::new();
    let mut reset = 0;
    for id in &targets {
        match reset_one(bus, id, link_timeout, tracer) {
            Ok(()) => reset += 1,
            Err(e) => problems.push(e.to_string()),
        }
    }
    if reset == 0 {
        return Err(DeviceError::state(
            name,
            format!("it is booted and could not be reset ({}); is another program using it?", problems.join("; ")),
        ));
    }
    let deadline = Instant::now() + RESET_WAIT;
    loop {
        let now = bus.sticks().map_err(|e| DeviceError::usb(name, "enumerate", e))?;
        let fresh: Vec<UsbId> =
            now.into_iter().filter(|d| d.state() == Some(StickState::Rom) && !roms_before.contains(d)).collect();
        let back = fresh.iter().find(|d| place.matches(d)).or_else(|| {
            // The caller named the booted stick: its ROM is the new one (by port path if several).
            (!named.is_empty()).then(|| fresh.iter().find(|d| d.ports == place.ports).or(fresh.first())).flatten()
        });
        if let Some(rom) = back {
            log::info!("{name}: recovered: back in its ROM at {} after {:.0} ms", rom.name(), ms(started.elapsed()));
            return Ok(rom.clone());
        }
        if Instant::now() >= deadline {
            let shown: Vec<String> = fresh.iter().map(UsbId::name).collect();
            return Err(DeviceError::state(
                name,
                format!(
                    "reset {reset} booted stick(s); none returned to its ROM here within {RESET_WAIT:?} \
                     (new ROMs: {shown:?})"
                ),
            ));
        }
        sleep(POLL);
    }
}

/// Opens one booted stick and asks its firmware to reboot; a firmware that no longer listens
/// gets a USB port reset instead. A stick already leaving the bus counts as reset.
fn reset_one(bus: &dyn Bus, id: &UsbId, link_timeout: Duration, tracer: Option<&Tracer>) -> Result<(), DeviceError> {
    let stick = id.name();
    let transport = bus.open(id).map_err(|e| DeviceError::usb(&stick, "open booted stick to reset it", e))?;
    let mut link = Link::new(transport, &stick, link_timeout, tracer.cloned());
    match link.reset() {
        Ok(()) => Ok(()),
        Err(e) if e.is_disconnect() => Ok(()),
        Err(e) => {
            log::info!("{e}; resetting the USB port");
            link.reset_port()
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
