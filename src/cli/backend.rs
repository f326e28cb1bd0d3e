//! The backend options commands share, as clap arguments converted into `ncs::backend`'s.

use std::path::PathBuf;

use ncs::backend::{BackendKind, BackendOptions};
use ncs::device::trace::Tracer;
use ncs::reference::{Limits, Precision};

/// Where an inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The CPU reference executor.
    Cpu,
    /// A software stick through the native driver (no hardware needed).
    Emulator,
    /// The first real stick on the USB bus through the native driver.
    Usb,
    /// The first device of an NCSDK v1 libmvnc (Intel's, or ncs's drop-in) through bindgen bindings.
    Sdk,
}

impl From<Backend> for BackendKind {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Cpu => BackendKind::Cpu,
            Backend::Emulator => BackendKind::Emulator,
            Backend::Usb => BackendKind::Usb,
            Backend::Sdk => BackendKind::Sdk,
        }
    }
}

/// Storage precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrecisionArg {
    /// Round stage outputs to fp16 (as the stick stores them).
    Fp16,
    /// Keep f32.
    Fp32,
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::Fp16 => Precision::Fp16,
            PrecisionArg::Fp32 => Precision::Fp32,
        }
    }
}

/// Files the stick backends need, as options shared by every command that opens a backend.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct StickFiles {
    /// Firmware for --backend usb (else $NCS_FIRMWARE, else NCSDK's install path).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// libmvnc for --backend sdk (else $NCS_MVNC_LIB, else the usual NCSDK locations).
    #[arg(long)]
    pub mvnc_lib: Option<PathBuf>,
    /// Most multiply-adds one inference may take on the CPU reference (default 50 G; Inception
    /// V3 takes 5.7 G). A graph over it is refused before it runs.
    #[arg(long, value_name = "N")]
    pub max_macs: Option<u64>,
}

impl StickFiles {
    /// The CPU reference's limits, with --max-macs applied.
    pub fn limits(&self) -> Limits {
        let default = Limits::default();
        Limits { max_macs: self.max_macs.unwrap_or(default.max_macs), ..default }
    }

    /// The library's backend options with these files.
    pub fn options(&self, precision: PrecisionArg, tracer: Option<&Tracer>) -> BackendOptions {
        BackendOptions {
            precision: precision.into(),
            firmware: self.firmware.clone(),
            mvnc_lib: self.mvnc_lib.clone(),
            tracer: tracer.cloned(),
            limits: self.limits(),
            ..BackendOptions::default()
        }
    }
}
