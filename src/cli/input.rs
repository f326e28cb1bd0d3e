//! A command's network input, one way for every command: the file's type by its content
//! (`.npy` magic, an image format's signature, or raw values with `--input-format`), images
//! preprocessed to the network's own H×W with a scheme that is always said, and options that
//! do not apply to the input refused rather than ignored.

use std::io::Read;
use std::path::Path;

use ncs::preprocess::{self, NetworkInput, Scheme};
use ncs::{npy, Error, Result};
use serde_json::json;

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

/// How raw tensor files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RawFormat {
    /// Little-endian IEEE half floats (as the stick takes them).
    F16,
    /// Little-endian IEEE single floats.
    F32,
}

impl RawFormat {
    /// `f16` or `f32`.
    pub fn name(self) -> &'static str {
        match self {
            RawFormat::F16 => "f16",
            RawFormat::F32 => "f32",
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

/// How an image input was turned into the tensor, for the stderr note and `--json`.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The scheme used.
    pub scheme: Scheme,
    /// The image size `[height, width]` it was resized to.
    pub size: [usize; 2],
    /// Whether the user named the scheme, or why it was chosen.
    pub chosen_because: Option<String>,
    /// The network input it became.
    pub network: NetworkInput,
}

impl Prepared {
    /// One line describing it.
    pub fn line(&self) -> String {
        let (lo, hi) = self.scheme.value_range();
        let [h, w] = self.size;
        let mut text = format!("preprocessing: {} to {h}×{w}, values in [{lo}, {hi}]", self.scheme.name());
        if self.network.shape[2] == 1 {
            text.push_str(", one channel = mean of R, G, B");
        }
        if self.network.transposed {
            text.push_str(&format!(", stored transposed as {:?} (TF H/W quirk)", self.network.shape));
        }
        if let Some(why) = &self.chosen_because {
            text.push_str(&format!(" (chosen: {why}; --preprocess to change)"));
        }
        text
    }

    /// As a JSON object: `{ scheme, size: [H, W], value_range: [lo, hi], chosen, reason, transposed, channels }`.
    pub fn json(&self) -> serde_json::Value {
        let (lo, hi) = self.scheme.value_range();
        json!({
            "scheme": self.scheme.name(),
            "size": self.size,
            "value_range": [lo, hi],
            "chosen": if self.chosen_because.is_some() { "default" } else { "given" },
            "reason": self.chosen_because,
            "transposed": self.network.transposed,
            "channels": self.network.shape[2],
        })
    }
}

/// What kind of file an input is, by its content.
enum Kind {
    Npy,
    Raw(RawFormat),
    Image,
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

    /// The scheme to use for `network` and whether it was chosen (with the reason).
    pub fn scheme_for(&self, network: &NetworkInput) -> Result<(Scheme, Option<String>)> {
        let (scheme, why) = match self.preprocess {
            Some(arg) => (arg.scheme(self.seed.unwrap_or(0), self.fast_mode), None),
            None => {
                let (scheme, why) = network.default_scheme();
                (scheme, Some(why))
            }
        };
        self.check(scheme)?;
        Ok((scheme, why))
    }

    /// Prepares one image for `network`, checking `--size` against it.
    pub fn prepare(&self, path: &Path, network: &NetworkInput) -> Result<(Vec<f32>, Prepared)> {
        let prepared = self.plan(network)?;
        let image = preprocess::open(path)?;
        let rgb = preprocess::preprocess_to(&image, prepared.size, prepared.scheme)?;
        Ok((network.arrange(&rgb)?, prepared))
    }

    /// The preparation images will get for `network`, without reading any.
    pub fn plan(&self, network: &NetworkInput) -> Result<Prepared> {
        let wanted = network.image_size();
        if let Some(size) = self.size.filter(|&s| s != wanted) {
            let stored = if network.transposed {
                format!(" (its input {:?} is the image transposed: TF's H/W quirk)", network.shape)
            } else {
                String::new()
            };
            return Err(Error::Usage(format!(
                "--size {},{}: the network takes {}×{} images (H×W){stored}; omit --size to use it",
                size[0], size[1], wanted[0], wanted[1]
            )));
        }
        let channels = network.shape[2];
        if channels != 1 && channels != 3 {
            return Err(Error::Usage(format!(
                "the network input {:?} has {channels} channels; images feed networks of 1 or 3 (pass a .npy)",
                network.shape
            )));
        }
        let (scheme, chosen_because) = self.scheme_for(network)?;
        Ok(Prepared { scheme, size: wanted, chosen_because, network: *network })
    }
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

/// Reads the network input from `path`: a `.npy` (by its magic bytes, whatever its name), raw
/// values with `--input-format`, or an image. Says on stderr how an image was preprocessed.
pub fn load(
    path: &Path,
    image: &ImageArgs,
    raw: Option<RawFormat>,
    network: &NetworkInput,
) -> Result<(Vec<f32>, Option<Prepared>)> {
    let kind = kind_of(path, raw)?;
    if !matches!(kind, Kind::Image) {
        if let Some(flag) = image.given() {
            return Err(Error::Usage(format!(
                "{flag} applies to image inputs; {} is a {} tensor, used as it is",
                path.display(),
                if matches!(kind, Kind::Npy) { ".npy" } else { "raw" }
            )));
        }
    }
    match kind {
        Kind::Npy => Ok((refuse_unstorable(path, read_npy(path, network.shape)?, network.shape)?, None)),
        Kind::Raw(format) => {
            Ok((refuse_unstorable(path, read_raw(path, format, network.shape)?, network.shape)?, None))
        }
        Kind::Image => {
            let (values, prepared) = image.prepare(path, network)?;
            out::note(&format!("{}: {}", path.display(), prepared.line()));
            Ok((values, Some(prepared)))
        }
    }
}

fn kind_of(path: &Path, raw: Option<RawFormat>) -> Result<Kind> {
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|source| Error::Io { path: path.to_owned(), source })?;
    if head.starts_with(b"\x93NUMPY") {
        if let Some(format) = raw {
            return Err(Error::Usage(format!(
                "--input-format {} is for raw files; {} is a .npy (its header gives the type)",
                format.name(),
                path.display()
            )));
        }
        return Ok(Kind::Npy);
    }
    if let Some(format) = raw {
        return Ok(Kind::Raw(format));
    }
    if image::guess_format(&head).is_ok() {
        return Ok(Kind::Image);
    }
    Err(Error::Input {
        path: Some(path.to_owned()),
        message: "neither an image (JPEG, PNG, BMP, TIFF, WebP, GIF) nor a .npy tensor; for raw values \
                  give --input-format f16|f32"
            .into(),
    })
}

/// The stick stores its input as fp16, so a NaN, an infinity or a value beyond fp16's largest
/// finite one (65504, which would become ±Inf) is refused, naming the first such value and its
/// position; what the firmware computes from them is undocumented (docs/cli.md §1, Inputs). The
/// CPU reference follows the stick, whatever its precision.
fn refuse_unstorable(path: &Path, values: Vec<f32>, shape: [usize; 3]) -> Result<Vec<f32>> {
    const FP16_MAX: f32 = 65504.0;
    let Some((index, value)) = values.iter().enumerate().find(|(_, v)| v.is_nan() || v.abs() > FP16_MAX) else {
        return Ok(values);
    };
    let [_, cols, channels] = shape;
    let (row, col, channel) = (index / (cols * channels), index / channels % cols, index % channels);
    let what = if value.is_finite() { "beyond fp16's range (|v| ≤ 65504)" } else { "not a finite number" };
    Err(Error::Input {
        path: Some(path.to_owned()),
        message: format!(
            "value {value} at flat index {index} (row {row}, column {col}, channel {channel}) is {what}; \
             the stick stores its input as fp16"
        ),
    })
}

/// Reads a network input .npy: [H,W,C], [1,H,W,C], flat, or [H,W] for one channel.
fn read_npy(path: &Path, expected: [usize; 3]) -> Result<Vec<f32>> {
    let array = npy::read(path)?;
    let count: usize = expected.iter().product();
    let [h, w, c] = expected;
    let shape = array.shape.as_slice();
    let ok = shape == expected
        || shape == [1, h, w, c]
        || shape == [count]
        || (c == 1 && (shape == [h, w] || shape == [1, h, w]));
    if ok {
        return Ok(array.values);
    }
    let nchw = c > 1 && (shape == [c, h, w] || shape == [1, c, h, w]);
    let hint = if nchw {
        format!(
            "; it looks channels-first (NCHW), which is not the stick's order: transpose to [{h}, {w}, {c}] \
             (numpy: x.transpose(1, 2, 0) or x[0].transpose(1, 2, 0))"
        )
    } else {
        String::new()
    };
    let one = if c == 1 { ", [H, W]" } else { "" };
    Err(Error::Input {
        path: Some(path.to_owned()),
        message: format!(
            "input shape {:?} does not match the network input {expected:?} (rows, columns, channels; also accepted: \
             [1, ...]{one} or flat {count}){hint}",
            array.shape
        ),
    })
}

/// Reads raw little-endian values of exactly the network input's size.
fn read_raw(path: &Path, format: RawFormat, expected: [usize; 3]) -> Result<Vec<f32>> {
    let count: usize = expected.iter().product();
    let width = match format {
        RawFormat::F16 => 2,
        RawFormat::F32 => 4,
    };
    let len = std::fs::metadata(path).map_err(|source| Error::Io { path: path.to_owned(), source })?.len();
    if len != (count * width) as u64 {
        return Err(Error::Input {
            path: Some(path.to_owned()),
            message: format!(
                "{len} bytes; the network input {expected:?} as {} is {count} values = {} bytes",
                format.name(),
                count * width
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(match format {
        RawFormat::F16 => ncs::fp16::decode(&bytes),
        RawFormat::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
    })
}
