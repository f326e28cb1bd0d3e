//! `ncs preprocess IMAGE --size N [--scheme ...] [--seed S] --output OUT.npy`.

use std::path::{Path, PathBuf};

use ncs::preprocess::{self, Scheme};
use ncs::{npy, Result};

use super::Outcome;

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

/// Options of `ncs preprocess`.
#[derive(Debug, clap::Args)]
pub struct PreprocessArgs {
    /// Image file (JPEG, PNG, BMP, TIFF, WebP, GIF).
    pub image: PathBuf,
    /// Output side length.
    #[arg(long)]
    pub size: usize,
    /// Scheme.
    #[arg(long, value_enum, default_value_t = SchemeArg::SlimEval)]
    pub scheme: SchemeArg,
    /// Seed of slim-train's random stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// slim-train: TF-Slim's fast mode (bilinear only, colour ordering 0).
    #[arg(long)]
    pub fast_mode: bool,
    /// Where to write the float32 [N, N, 3] tensor.
    #[arg(long)]
    pub output: PathBuf,
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

/// Decodes and preprocesses one image to a flat HWC tensor.
pub fn load(image: &Path, size: usize, scheme: Scheme) -> Result<Vec<f32>> {
    Ok(preprocess::preprocess_file(image, size, scheme)?.into_raw_vec_and_offset().0)
}

/// Like [`load`], for a network taking `channels` channels: 3 as is, 1 as the mean of R, G, B.
pub fn load_for(image: &Path, size: usize, channels: u32, scheme: Scheme) -> Result<Vec<f32>> {
    let rgb = load(image, size, scheme)?;
    match channels {
        3 => Ok(rgb),
        1 => Ok(rgb.chunks_exact(3).map(|p| (p[0] + p[1] + p[2]) / 3.0).collect()),
        other => Err(ncs::Error::Input {
            path: Some(image.to_owned()),
            message: format!("images feed networks of 1 or 3 channels, not {other}"),
        }),
    }
}

pub fn run(args: &PreprocessArgs) -> Result<Outcome> {
    let values = load(&args.image, args.size, args.scheme.scheme(args.seed, args.fast_mode))?;
    npy::write_f32(&args.output, &[args.size, args.size, 3], &values)?;
    println!("{}: [{n}, {n}, 3] float32 written to {}", args.image.display(), args.output.display(), n = args.size);
    Ok(Outcome::Success)
}
