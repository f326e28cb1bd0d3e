//! The backend factory: from a backend's name, a graph and a few options to a running
//! [`Backend`] — the CPU reference, a software or real stick through the native driver, or an
//! NCSDK library. Shared by the CLI, the drop-in library and tests.

use std::path::{Path, PathBuf};

use crate::blob::GraphFile;
use crate::device::emulator::{Profile, SoftBus, SOFT_FIRMWARE};
use crate::device::trace::Tracer;
use crate::device::usb::UsbBus;
use crate::device::{Bus, Firmware, OpenOptions, UsbError};
use crate::error::{Error, Result};
use crate::reference::{Limits, Precision};
use crate::sdk::{Mvnc, SdkStick};

use super::{Backend, Cpu, Stick};

/// Most software sticks one bus holds (a USB hub's worth, generously).
pub use crate::device::emulator::MAX_STICKS as MAX_SOFT_STICKS;

/// Where an inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// The CPU reference executor.
    Cpu,
    /// A software stick through the native driver (no hardware needed).
    Emulator,
    /// A real stick on the USB bus through the native driver.
    Usb,
    /// The first device of an NCSDK v1 `libmvnc.so` (Intel's, or ncs's drop-in).
    Sdk,
}

impl BackendKind {
    /// The short name backends report: `cpu`, `emulator`, `usb`, `sdk`.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Emulator => "emulator",
            BackendKind::Usb => "usb",
            BackendKind::Sdk => "sdk",
        }
    }
}

/// What the backends other than the kind need; [`Default`] suits every kind.
#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// How the CPU reference stores stage outputs; sticks compute in fp16 only.
    pub precision: Precision,
    /// Firmware for sticks: else `$NCS_FIRMWARE`, else NCSDK's install path (real sticks), or
    /// the built-in software image (software sticks).
    pub firmware: Option<PathBuf>,
    /// The NCSDK library for [`BackendKind::Sdk`]: else `$NCS_MVNC_LIB`, else NCSDK's paths.
    pub mvnc_lib: Option<PathBuf>,
    /// Software sticks on the emulator's bus (at most [`MAX_SOFT_STICKS`]).
    pub emulate: usize,
    /// How strictly those software sticks behave: else `$NCS_EMULATE_PROFILE`, else `usb2`.
    pub emulate_profile: Option<Profile>,
    /// Where the native driver records its USB trace.
    pub tracer: Option<Tracer>,
    /// How much the CPU reference may allocate and compute for one graph — on the CPU backend
    /// and inside software sticks, whose firmware runs the same executor.
    pub limits: Limits,
}

impl Default for BackendOptions {
    fn default() -> Self {
        BackendOptions {
            precision: Precision::Fp16,
            firmware: None,
            mvnc_lib: None,
            emulate: 1,
            emulate_profile: None,
            tracer: None,
            limits: Limits::default(),
        }
    }
}

/// Builds the backend `kind` with `graph` loaded (a stick backend uses the first stick).
/// Failures that do not name a file themselves are reported with the graph's path.
pub fn open(kind: BackendKind, graph: &GraphFile, options: &BackendOptions) -> Result<Box<dyn Backend + Send>> {
    let backend = open_unnamed(kind, graph, options).map_err(|e| e.in_graph(graph.path()))?;
    log::info!(
        "backend {}: graph loaded, input {:?}, output {:?}",
        backend.name(),
        backend.input_shape(),
        backend.output_shape()
    );
    Ok(backend)
}

fn open_unnamed(kind: BackendKind, graph: &GraphFile, options: &BackendOptions) -> Result<Box<dyn Backend + Send>> {
    check_precision(kind, options)?;
    Ok(match kind {
        BackendKind::Cpu => Box::new(Cpu::with_limits(graph.blob(), options.precision, &options.limits)?),
        BackendKind::Emulator | BackendKind::Usb => {
            let (bus, firmware) = stick_bus(kind, options)?;
            Box::new(Stick::open(kind.name(), bus.as_ref(), &firmware, graph, &open_options(options))?)
        }
        BackendKind::Sdk => Box::new(SdkStick::open(Mvnc::load(options.mvnc_lib.as_deref())?, graph)?),
    })
}

/// One backend per stick on the bus of `kind` (emulator or usb), each with `graph` loaded, to
/// be driven from one thread each.
pub fn open_every_stick(
    kind: BackendKind,
    graph: &GraphFile,
    options: &BackendOptions,
) -> Result<Vec<Box<dyn Backend + Send>>> {
    if !matches!(kind, BackendKind::Emulator | BackendKind::Usb) {
        return Err(Error::Usage(format!("every stick: {} is not a stick backend (emulator, usb are)", kind.name())));
    }
    check_precision(kind, options)?;
    let (bus, firmware) = stick_bus(kind, options)?;
    let ids = bus.sticks().map_err(|source| Error::Bus { bus: bus.describe(), source })?;
    if ids.is_empty() {
        return Err(Error::NoStick { bus: bus.describe() });
    }
    let mut backends: Vec<Box<dyn Backend + Send>> = Vec::with_capacity(ids.len());
    for id in ids {
        let stick = Stick::open_named(kind.name(), bus.as_ref(), &id.name(), &firmware, graph, &open_options(options))
            .map_err(|e| e.in_graph(graph.path()))?;
        backends.push(Box::new(stick));
    }
    Ok(backends)
}

fn check_precision(kind: BackendKind, options: &BackendOptions) -> Result<()> {
    if kind != BackendKind::Cpu && options.precision == Precision::Fp32 {
        return Err(Error::Usage("sticks compute in fp16; --precision fp32 needs --backend cpu".into()));
    }
    Ok(())
}

fn open_options(options: &BackendOptions) -> OpenOptions {
    OpenOptions { tracer: options.tracer.clone(), ..OpenOptions::default() }
}

/// The bus and firmware of a stick backend.
fn stick_bus(kind: BackendKind, options: &BackendOptions) -> Result<(Box<dyn Bus>, Firmware)> {
    let emulated = kind == BackendKind::Emulator;
    let bus = if emulated {
        // The software firmware runs graphs on the CPU reference: it refuses what the CPU
        // backend refuses under the same limits (`--max-macs`), as README promises.
        let bus = soft_bus(options.emulate, options.emulate_profile.as_ref())?;
        bus.sticks_mut().iter().for_each(|s| s.set_limits(options.limits));
        Box::new(bus)
    } else {
        open_bus_with(None, None)?.ok_or(Error::NoUsbSubsystem)?
    };
    Ok((bus, firmware_for(emulated, options.firmware.as_deref())?))
}

/// `emulate` software sticks (profile from `$NCS_EMULATE_PROFILE`, else the strict `usb2`), or
/// else the USB bus — `None` when this machine has no USB subsystem (no stick can be seen, which
/// is not an error for listing them).
pub fn open_bus(emulate: Option<usize>) -> Result<Option<Box<dyn Bus>>> {
    open_bus_with(emulate, None)
}

/// As [`open_bus`], with the software sticks' `profile` given (`--emulate-profile`); `None`
/// takes `$NCS_EMULATE_PROFILE`, else `usb2` — the strict stick is what users get unless they
/// ask otherwise (`docs/usb_protocol.md` §19).
pub fn open_bus_with(emulate: Option<usize>, profile: Option<&Profile>) -> Result<Option<Box<dyn Bus>>> {
    match emulate {
        Some(n) => Ok(Some(Box::new(soft_bus(n, profile)?))),
        None => match UsbBus::new() {
            Ok(bus) => Ok(Some(Box::new(bus))),
            Err(UsbError::NoUsbSubsystem) => Ok(None),
            Err(source) => Err(Error::Bus { bus: "USB".into(), source }),
        },
    }
}

/// `n` software sticks behaving as `profile` (else `$NCS_EMULATE_PROFILE`, else `usb2`).
fn soft_bus(n: usize, profile: Option<&Profile>) -> Result<SoftBus> {
    if n > MAX_SOFT_STICKS {
        return Err(Error::Usage(format!("--emulate {n}: at most {MAX_SOFT_STICKS} software sticks")));
    }
    let profile = match profile {
        Some(profile) => profile.clone(),
        None => Profile::from_env().map_err(Error::Usage)?,
    };
    log::info!("{n} software stick(s), profile {profile}");
    let bus = SoftBus::with_profile(n, profile);
    // A testing aid: make software sticks miscompute one stage, to watch verify --bisect.
    if let Some(stage) = std::env::var("NCS_EMULATOR_MISCOMPUTE").ok().and_then(|v| v.parse().ok()) {
        bus.sticks_mut().iter().for_each(|s| s.set_miscompute(Some(stage)));
    }
    Ok(bus)
}

/// The firmware for a bus: the software image for software sticks unless a file is given,
/// else `path`, `$NCS_FIRMWARE` or NCSDK's install path.
pub fn firmware_for(emulated: bool, path: Option<&Path>) -> Result<Firmware> {
    let firmware = if emulated && path.is_none() {
        Firmware::from_bytes(SOFT_FIRMWARE.to_vec(), "software stick firmware")?
    } else {
        Firmware::locate(path)?
    };
    log::info!("firmware: {} ({} bytes)", firmware.source, firmware.bytes().len());
    Ok(firmware)
}
