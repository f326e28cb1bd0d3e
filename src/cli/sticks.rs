//! `ncs devices` and `ncs boot`.

use std::path::PathBuf;
use std::time::Instant;

use ncs::backend::{firmware_for, open_bus_with};
use ncs::device::emulator::Profile;
use ncs::device::trace::Tracer;
use ncs::device::{boot, StickState};
use ncs::{Error, Result};
use serde_json::json;

use super::backend::parse_profile;
use super::table::{Align, Table};
use super::Outcome;

/// Options of `ncs devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// List N software sticks instead of the USB bus.
    #[arg(long, value_name = "N")]
    pub emulate: Option<usize>,
    /// How strictly the software sticks behave: usb2, usb3 or ideal, optionally with overrides
    /// (needs --emulate) [default: $NCS_EMULATE_PROFILE, else usb2].
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile, requires = "emulate")]
    pub emulate_profile: Option<Profile>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Options of `ncs boot`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Sticks stay booted when ncs boot ends: nothing resets them. The next open of a stick \
    (any command with --backend usb, ncs serve, the drop-in libmvnc) finds it booted, resets it to its boot ROM \
    and boots it again (device::recover), so it never needs replugging.")]
pub struct BootArgs {
    /// Intel's MvNCAPI.mvcmd (else $NCS_FIRMWARE, else /usr/local/lib/mvnc/MvNCAPI.mvcmd).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// Boot N software sticks instead (no firmware file needed).
    #[arg(long, value_name = "N")]
    pub emulate: Option<usize>,
    /// How strictly the software sticks behave: usb2, usb3 or ideal, optionally with overrides
    /// (needs --emulate) [default: $NCS_EMULATE_PROFILE, else usb2].
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile, requires = "emulate")]
    pub emulate_profile: Option<Profile>,
    /// Record every USB transfer as JSON lines.
    #[arg(long, env = "NCS_TRACE_USB", value_name = "FILE")]
    pub trace_usb: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn check_emulate(emulate: Option<usize>) -> Result<()> {
    if emulate == Some(0) {
        return Err(Error::Usage("--emulate 0: give 1 or more software sticks".into()));
    }
    Ok(())
}

pub fn devices(args: &DevicesArgs) -> Result<Outcome> {
    check_emulate(args.emulate)?;
    let Some(bus) = open_bus_with(args.emulate, args.emulate_profile.as_ref())? else {
        if args.json {
            outln!("{}", json!({ "usb_available": false, "sticks": [] }));
        } else {
            outln!("no USB subsystem available (no sticks can be seen on this machine)");
        }
        return Ok(Outcome::Success);
    };
    let sticks = bus.sticks().map_err(|source| Error::Bus { bus: bus.describe(), source })?;
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
        outln!("{}", json!({ "usb_available": true, "sticks": list }));
        return Ok(Outcome::Success);
    }
    if sticks.is_empty() {
        outln!("no sticks found on {}", bus.describe());
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
    out!("{}", table.render());
    Ok(Outcome::Success)
}

pub fn boot_all(args: &BootArgs) -> Result<Outcome> {
    check_emulate(args.emulate)?;
    let tracer = match &args.trace_usb {
        Some(path) => Some(Tracer::to_file(path).map_err(|source| Error::Io { path: path.clone(), source })?),
        None => None,
    };
    let tracer = tracer.as_ref();
    let bus = open_bus_with(args.emulate, args.emulate_profile.as_ref())?.ok_or(Error::NoUsbSubsystem)?;
    let firmware = firmware_for(args.emulate.is_some(), args.firmware.as_deref())?;
    let sticks = bus.sticks().map_err(|source| Error::Bus { bus: bus.describe(), source })?;
    let rom: Vec<_> = sticks.into_iter().filter(|s| s.state() == Some(StickState::Rom)).collect();
    if rom.is_empty() {
        if args.json {
            outln!("{}", json!({ "bus": bus.describe(), "booted": [] }));
        } else {
            outln!("no sticks waiting for firmware on {}", bus.describe());
        }
        return Ok(Outcome::Success);
    }
    let mut booted = Vec::new();
    let mut links = Vec::new();
    for id in rom {
        let started = Instant::now();
        boot::send_firmware(bus.as_ref(), &id, &firmware, tracer)?;
        let (now, link) = boot::wait_for_booted(
            bus.as_ref(),
            &id,
            None,
            ncs::device::BOOT_WAIT,
            tracer,
            ncs::device::link::DEFAULT_TIMEOUT,
        )?;
        // Held until every stick is booted: a booted stick nobody has open is what the next
        // stick's wait takes when its own firmware is not back yet (docs/usb_protocol.md §5).
        links.push(link);
        let ms = started.elapsed().as_secs_f64() * 1e3;
        // Named where the booted stick is now (a USB 3 port re-enumerates it on another bus,
        // docs/usb_protocol.md §19): the name `devices` lists and `--backend usb` opens.
        let (name, was) = (now.name(), id.name());
        log::info!("{name}: booted in {ms:.0} ms (was {was} in its ROM)");
        if !args.json {
            let moved = if name == was { String::new() } else { format!(" (was {was} in its ROM)") };
            outln!("{name}: booted with {} ({} bytes) in {ms:.0} ms{moved}", firmware.source, firmware.bytes().len());
        }
        booted.push(json!({ "name": name, "was": was, "ms": ms, "emulated": args.emulate.is_some() }));
    }
    if args.json {
        outln!(
            "{}",
            json!({ "bus": bus.describe(), "firmware": firmware.source.to_string(), "firmware_bytes": firmware.bytes().len(), "booted": booted })
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
