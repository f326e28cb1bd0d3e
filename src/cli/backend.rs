//! The backend options commands share, as clap arguments converted into `ncs::backend`'s.

use std::path::{Path, PathBuf};

use ncs::backend::{BackendKind, BackendOptions, MAX_SOFT_STICKS};
use ncs::device::emulator::Profile;
use ncs::device::trace::Tracer;
use ncs::reference::{Limits, Precision};
use ncs::{Error, Result};

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

impl std::fmt::Display for PrecisionArg {
    /// The flag's own spelling (`fp16`, `fp32`), as text output and `--json` show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrecisionArg::Fp16 => "fp16",
            PrecisionArg::Fp32 => "fp32",
        })
    }
}

impl From<PrecisionArg> for Precision {
    fn from(p: PrecisionArg) -> Self {
        match p {
            PrecisionArg::Fp16 => Precision::Fp16,
            PrecisionArg::Fp32 => Precision::Fp32,
        }
    }
}

/// How every command that runs a graph chooses and opens its backend: `--backend`,
/// `--emulate`, `--precision`, the stick files and `--trace-usb`, one definition for all.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Where to run it [default: cpu; emulator when --emulate is given].
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// N software sticks (implies --backend emulator; 1..=64) [default: 1].
    #[arg(long, value_name = "N")]
    pub emulate: Option<usize>,
    /// How strictly software sticks behave like real ones: usb2, usb3 or ideal (forgiving, for
    /// quick tests), optionally with overrides such as usb3,absence=200ms,latency=5ms (implies
    /// --backend emulator) [default: $NCS_EMULATE_PROFILE, else usb2].
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile)]
    pub emulate_profile: Option<Profile>,
    /// How the CPU stores stage outputs: fp16 as on the stick, or fp32 (cpu only).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Fp16)]
    pub precision: PrecisionArg,
    /// Firmware for --backend usb (else $NCS_FIRMWARE, else NCSDK's install path).
    // Also taken by software sticks (a file in place of their built-in image).
    #[arg(long)]
    pub firmware: Option<PathBuf>,
    /// libmvnc for --backend sdk (else $NCS_MVNC_LIB, else the usual NCSDK locations).
    #[arg(long)]
    pub mvnc_lib: Option<PathBuf>,
    /// Most multiply-adds one inference may take on the CPU reference (default 50 G; Inception
    /// V3 takes 5.7 G). A graph over it is refused before it runs.
    // Software sticks run the CPU reference too and refuse the same graphs (BackendOptions::limits).
    #[arg(long, value_name = "N")]
    pub max_macs: Option<u64>,
    /// Record every USB transfer of the native driver as JSON lines (emulator and usb backends).
    #[arg(long, env = "NCS_TRACE_USB", value_name = "FILE")]
    pub trace_usb: Option<PathBuf>,
}

impl BackendArgs {
    /// The backend these options name: `--emulate` alone means the emulator; `--emulate` with
    /// another backend, `--emulate 0`, or a stick option the backend would ignore
    /// (`--trace-usb`, `--firmware`, `--mvnc-lib`) is refused rather than ignored.
    pub fn backend(&self) -> Result<Backend> {
        let backend = self.named_backend()?;
        self.check_stick_options(backend)?;
        Ok(backend)
    }

    /// Refuses the options that `backend` would silently ignore.
    fn check_stick_options(&self, backend: Backend) -> Result<()> {
        let name = BackendKind::from(backend).name();
        if let Some(path) = self.trace_usb.as_deref().filter(|p| !is_ambient_trace(p)) {
            if matches!(backend, Backend::Cpu | Backend::Sdk) {
                let why = match backend {
                    Backend::Sdk => {
                        "the NCSDK library does its own USB (ncs's drop-in records it with NCS_TRACE_USB set)"
                    }
                    _ => "no USB happens",
                };
                return Err(Error::Usage(format!(
                    "--trace-usb {}: --backend {name} would leave it empty ({why}); it records the native \
                     driver's transfers with --backend usb or emulator",
                    path.display()
                )));
            }
        }
        if let Some(path) = &self.firmware {
            if matches!(backend, Backend::Cpu | Backend::Sdk) {
                let why = match backend {
                    Backend::Sdk => "the NCSDK library boots its sticks with its own firmware",
                    _ => "no stick is booted",
                };
                return Err(Error::Usage(format!(
                    "--firmware {}: --backend {name} does not use it ({why}); it boots sticks of --backend usb \
                     or emulator",
                    path.display()
                )));
            }
        }
        if let Some(path) = &self.mvnc_lib {
            if backend != Backend::Sdk {
                return Err(Error::Usage(format!(
                    "--mvnc-lib {}: --backend {name} does not load an NCSDK library; it is for --backend sdk",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// The backend named by `--backend`, `--emulate` and `--emulate-profile` together.
    fn named_backend(&self) -> Result<Backend> {
        if let (Some(other), Some(profile)) = (self.backend.filter(|b| *b != Backend::Emulator), &self.emulate_profile)
        {
            return Err(Error::Usage(format!(
                "--emulate-profile {profile} shapes software sticks, but --backend {} does not use them \
                 (use --backend emulator)",
                BackendKind::from(other).name()
            )));
        }
        match (self.backend, self.emulate) {
            (_, Some(0)) => Err(Error::Usage("--emulate 0: give 1 or more software sticks".into())),
            (None | Some(Backend::Emulator), Some(_)) => Ok(Backend::Emulator),
            (Some(other), Some(n)) => Err(Error::Usage(format!(
                "--emulate {n} makes software sticks, but --backend {} does not use them (use --backend emulator)",
                BackendKind::from(other).name()
            ))),
            (None, None) if self.emulate_profile.is_some() => Ok(Backend::Emulator),
            (backend, None) => Ok(backend.unwrap_or(Backend::Cpu)),
        }
    }

    /// The CPU reference's limits, with --max-macs applied.
    pub fn limits(&self) -> Limits {
        let default = Limits::default();
        Limits { max_macs: self.max_macs.unwrap_or(default.max_macs), ..default }
    }

    /// The library kind of [`backend`](Self::backend).
    pub fn kind(&self) -> Result<BackendKind> {
        self.backend().map(BackendKind::from)
    }

    /// The library's backend options (the USB trace file is created here).
    pub fn options(&self) -> Result<BackendOptions> {
        self.options_with(self.precision)
    }

    /// Like [`options`](Self::options) with another precision (`verify`'s reference side).
    pub fn options_with(&self, precision: PrecisionArg) -> Result<BackendOptions> {
        // An ambient $NCS_TRACE_USB is not asked of backends without native USB: no empty file.
        let no_usb = matches!(self.backend, Some(Backend::Cpu | Backend::Sdk));
        let tracer = match self.trace_usb.as_deref().filter(|p| !(no_usb && is_ambient_trace(p))) {
            Some(path) => Some(Tracer::to_file(path).map_err(|source| Error::Io { path: path.to_owned(), source })?),
            None => None,
        };
        let emulate = self.emulate.unwrap_or(1);
        if emulate > MAX_SOFT_STICKS {
            return Err(Error::Usage(format!("--emulate {emulate}: at most {MAX_SOFT_STICKS} software sticks")));
        }
        Ok(BackendOptions {
            precision: precision.into(),
            firmware: self.firmware.clone(),
            mvnc_lib: self.mvnc_lib.clone(),
            tracer,
            emulate,
            emulate_profile: self.emulate_profile.clone(),
            limits: self.limits(),
        })
    }
}

/// True when `--trace-usb`'s value is `$NCS_TRACE_USB`, set for the whole shell rather than asked
/// of this command (clap cannot tell the two apart; a flag equal to the variable counts as it).
fn is_ambient_trace(path: &Path) -> bool {
    std::env::var_os("NCS_TRACE_USB").is_some_and(|v| Path::new(&v) == path)
}

/// `--emulate-profile`: a profile name with optional overrides, as `$NCS_EMULATE_PROFILE` takes.
pub fn parse_profile(spec: &str) -> std::result::Result<Profile, String> {
    Profile::parse(spec)
}
