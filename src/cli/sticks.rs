//! `ncs devices` and `ncs boot`, and opening the bus a command asks for.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ncs::device::emulator::{SoftBus, SOFT_FIRMWARE};
use ncs::device::trace::Tracer;
use ncs::device::usb::UsbBus;
use ncs::device::{boot, Bus, Firmware, StickState, UsbError};
use ncs::{Error, Result};
use serde_json::json;

use super::table::{Align, Table};
use super::Outcome;

/// Options of `ncs devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// List N software sticks instead of the USB bus.
    #[arg(long, value_name = "N")]
    pub emulate: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Options of `ncs boot`.
#[derive(Debug, clap::Args)]
pub struct BootArgs {
    /// Intel's MvNCAPI.mvcmd (else $NCS_FIRMWARE, else /usr/local/lib/mvnc/MvNCAPI.mvcmd).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// Boot N software sticks instead (no firmware file needed).
    #[arg(long, value_name = "N")]
    pub emulate: Option<usize>,
}

/// The bus a command runs on, or `None` when this machine has no USB subsystem.
pub fn open_bus(emulate: Option<usize>) -> Result<Option<Box<dyn Bus>>> {
    match emulate {
        Some(n) if n > 64 => Err(Error::InvalidInput(format!("--emulate {n}: at most 64 software sticks"))),
        Some(n) => {
            let bus = SoftBus::new(n);
            // A testing aid: make software sticks miscompute one stage, to watch verify --bisect.
            if let Some(stage) = std::env::var("NCS_EMULATOR_MISCOMPUTE").ok().and_then(|v| v.parse().ok()) {
                bus.sticks_mut().iter().for_each(|s| s.set_miscompute(Some(stage)));
            }
            Ok(Some(Box::new(bus)))
        }
        None => match UsbBus::new() {
            Ok(bus) => Ok(Some(Box::new(bus))),
            Err(UsbError::NoUsbSubsystem) => Ok(None),
            Err(e) => Err(Error::InvalidInput(format!("USB: {e}"))),
        },
    }
}

/// The firmware for a bus: the software image for emulated sticks unless a file is given.
pub fn firmware_for(emulated: bool, path: Option<&Path>) -> Result<Firmware> {
    if emulated && path.is_none() {
        return Ok(Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software stick firmware")?);
    }
    Ok(Firmware::locate(path)?)
}

pub fn devices(args: &DevicesArgs) -> Result<Outcome> {
    let Some(bus) = open_bus(args.emulate)? else {
        if args.json {
            println!("{}", json!({ "usb_available": false, "sticks": [] }));
        } else {
            println!("no USB subsystem available (no sticks can be seen on this machine)");
        }
        return Ok(Outcome::Success);
    };
    let sticks = bus.sticks().map_err(|e| Error::InvalidInput(format!("{}: {e}", bus.describe())))?;
    if args.json {
        let list: Vec<_> = sticks
            .iter()
            .map(|s| {
                json!({
                    "name": s.name(),
                    "state": state_name(s.state()),
                    "vendor_id": format!("{:04x}", s.vendor),
                    "product_id": format!("{:04x}", s.product),
                    "bus": s.bus,
                    "ports": s.ports,
                    "emulated": args.emulate.is_some(),
                })
            })
            .collect();
        println!("{}", json!({ "usb_available": true, "sticks": list }));
        return Ok(Outcome::Success);
    }
    if sticks.is_empty() {
        println!("no sticks found on {}", bus.describe());
        return Ok(Outcome::Success);
    }
    let mut table = Table::new(vec![
        ("name", Align::Left),
        ("state", Align::Left),
        ("id", Align::Left),
        ("bus", Align::Right),
        ("ports", Align::Left),
    ]);
    for s in &sticks {
        let ports: Vec<String> = s.ports.iter().map(|p| p.to_string()).collect();
        table.push(vec![
            s.name(),
            state_name(s.state()).into(),
            format!("{:04x}:{:04x}", s.vendor, s.product),
            s.bus.to_string(),
            ports.join("."),
        ]);
    }
    print!("{}", table.render());
    Ok(Outcome::Success)
}

pub fn boot_all(args: &BootArgs, tracer: Option<&Tracer>) -> Result<Outcome> {
    let Some(bus) = open_bus(args.emulate)? else {
        return Err(Error::InvalidInput("no USB subsystem available: there are no sticks to boot".into()));
    };
    let firmware = firmware_for(args.emulate.is_some(), args.firmware.as_deref())?;
    let sticks = bus.sticks().map_err(|e| Error::InvalidInput(format!("{}: {e}", bus.describe())))?;
    let rom: Vec<_> = sticks.into_iter().filter(|s| s.state() == Some(StickState::Rom)).collect();
    if rom.is_empty() {
        println!("no sticks waiting for firmware on {}", bus.describe());
        return Ok(Outcome::Success);
    }
    for id in rom {
        let started = Instant::now();
        boot::send_firmware(bus.as_ref(), &id, &firmware, tracer)?;
        let waited = boot::wait_for(
            bus.as_ref(),
            &id,
            StickState::Booted,
            ncs::device::driver::BOOT_WAIT,
            tracer,
            ncs::device::link::DEFAULT_TIMEOUT,
        )?;
        drop(waited);
        println!(
            "{}: booted with {} ({} bytes) in {:.0} ms",
            id.name(),
            firmware.source,
            firmware.bytes().len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(Outcome::Success)
}

fn state_name(state: Option<StickState>) -> &'static str {
    match state {
        Some(StickState::Rom) => "rom (needs firmware)",
        Some(StickState::Booted) => "booted",
        None => "unknown",
    }
}
