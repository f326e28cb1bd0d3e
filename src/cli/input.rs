//! The input flags every command shares, converted into `ncs::input`'s: the scheme and size of
//! images, the raw format, and options that do not apply to the input refused rather than
//! ignored. Detection, reading and preprocessing are the library's (`ncs::input`).

use std::path::Path;

use ncs::input::{self, ImagePlan, InputKind, RawFormat};
use ncs::preprocess::{NetworkInput, Scheme};
use ncs::{Error, Result};

use super::out;

/// A preprocessing scheme on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemeArg {
    /// TF-Slim preprocess_for_eval: central crop 0.875, TF1 bilinear, [-1, 1].
    SlimEval,
    /// TF-Slim preprocess_for_train with a seeded random stream.
    SlimTrain,
    /// The NCSDK example: centre square, half-pixel bilinear, (x - 128)/128.
    Ncsdk,
    /// The whole image resized, values in [0, 1] (e.g. MNIST-style networks).
    Plain,
}

impl SchemeArg {
    /// The library scheme.
    pub fn scheme(self, seed: u64, fast_mode: bool) -> Scheme {
        match self {
            SchemeArg::SlimEval => Scheme::SlimEval,
            SchemeArg::SlimTrain => Scheme::SlimTrain { seed, fast_mode },
            SchemeArg::Ncsdk => Scheme::Ncsdk,
            SchemeArg::Plain => Scheme::Plain,
        }
    }
}

/// How raw tensor files are stored, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RawFormatArg {
    /// Little-endian IEEE half floats (as the stick takes them).
    F16,
    /// Little-endian IEEE single floats.
    F32,
}

impl From<RawFormatArg> for RawFormat {
    fn from(format: RawFormatArg) -> Self {
        match format {
            RawFormatArg::F16 => RawFormat::F16,
            RawFormatArg::F32 => RawFormat::F32,
        }
    }
}

/// How an image becomes a tensor; shared by every command that reads images.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ImageArgs {
    /// Preprocessing for an image input [default: chosen from the network input, and said].
    #[arg(long, visible_alias = "scheme", value_enum, value_name = "SCHEME")]
    pub preprocess: Option<SchemeArg>,
    /// Image size H,W (or N for N,N) [default: the network's own].
    #[arg(long, value_name = "H,W", value_parser = parse_size)]
    pub size: Option<[usize; 2]>,
    /// Seed of slim-train's random stream [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// slim-train: TF-Slim's fast mode (bilinear only, colour ordering 0).
    #[arg(long)]
    pub fast_mode: bool,
}

/// Parses `--size`: `N` or `H,W`.
pub fn parse_size(text: &str) -> std::result::Result<[usize; 2], String> {
    let side = |s: &str| {
        s.trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=4096).contains(n))
            .ok_or_else(|| format!("`{text}`: expected N or H,W with each side 1..=4096 (e.g. 224 or 66,200)"))
    };
    match text.split_once([',', 'x']) {
        Some((h, w)) => Ok([side(h)?, side(w)?]),
        None => side(text).map(|n| [n, n]),
    }
}

impl ImageArgs {
    /// The first image option given, if any (to refuse it where no image is read).
    pub fn given(&self) -> Option<&'static str> {
        [
            (self.preprocess.is_some(), "--preprocess"),
            (self.size.is_some(), "--size"),
            (self.seed.is_some(), "--seed"),
            (self.fast_mode, "--fast-mode"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }

    /// The scheme named by `--preprocess` (with `--seed` and `--fast-mode`), if any.
    pub fn scheme(&self) -> Option<Scheme> {
        self.preprocess.map(|arg| arg.scheme(self.seed.unwrap_or(0), self.fast_mode))
    }

    /// Refuses slim-train's options with another scheme.
    pub fn check(&self, scheme: Scheme) -> Result<()> {
        if !matches!(scheme, Scheme::SlimTrain { .. }) {
            for (given, name) in [(self.fast_mode, "--fast-mode"), (self.seed.is_some(), "--seed")] {
                if given {
                    return Err(Error::Usage(format!(
                        "{name} applies to --preprocess slim-train, not {}",
                        scheme.name()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The preparation images will get for `network`, without reading any.
    pub fn plan(&self, network: &NetworkInput) -> Result<ImagePlan> {
        let plan = ImagePlan::for_network(network, self.scheme(), self.size)?;
        self.check(plan.scheme)?;
        Ok(plan)
    }
}

/// Reads the network input from `path` (its kind by content, `ncs::input`), refusing image
/// options for a tensor; says on stderr how an image was preprocessed.
pub fn load(
    path: &Path,
    image: &ImageArgs,
    raw: Option<RawFormatArg>,
    network: &NetworkInput,
) -> Result<(Vec<f32>, Option<ImagePlan>)> {
    let kind = InputKind::detect(path, raw.map(RawFormat::from))?;
    if kind == InputKind::Image {
        let plan = image.plan(network)?;
        let values = plan.apply_to_file(path)?;
        out::note(&format!("{}: {}", path.display(), plan.line()));
        return Ok((values, Some(plan)));
    }
    if let Some(flag) = image.given() {
        return Err(Error::Usage(format!(
            "{flag} applies to image inputs; {} is a {} tensor, used as it is",
            path.display(),
            kind.name()
        )));
    }
    Ok((input::read_tensor(path, kind, network)?, None))
}
