//! A network's input from a file or an upload, one way for every caller (`ncs run`, `verify`,
//! `bench`, `preprocess`, `classify`, `ncs serve`):
//!
//! - [`InputKind::detect`] tells the file's type by its content — the `.npy` magic, an image
//!   format's signature — never by its name; raw values are read only when their format is given;
//! - [`read_tensor`] reads a `.npy` or raw tensor shaped as the network input (the accepted
//!   shapes and the refusal of values fp16 cannot store: `docs/cli.md` §1, Inputs);
//! - [`ImagePlan`] says how an image becomes that input: the scheme (named, or chosen from the
//!   network by [`NetworkInput::default_scheme`]), the network's own H×W, one or three channels,
//!   TensorFlow's H/W swap ([`NetworkInput`]); it describes itself for a note on stderr and for
//!   `--json`.

use std::io::Read;
use std::path::Path;

use serde_json::json;

use crate::error::{Error, Result};
use crate::preprocess::{self, Image, NetworkInput, Scheme};
use crate::{fp16, npy};

/// How raw tensor files store their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// Bytes per value.
    pub fn width(self) -> usize {
        match self {
            RawFormat::F16 => 2,
            RawFormat::F32 => 4,
        }
    }
}

/// What kind of file an input is, by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A NumPy `.npy` file (its header gives the type and shape).
    Npy,
    /// Raw little-endian values in the given format, as many as the network input has.
    Raw(RawFormat),
    /// An image in a format the decoder reads (JPEG, PNG, BMP, TIFF, WebP, GIF).
    Image,
}

/// Bytes read from the start of a file to tell its kind.
const SNIFF: u64 = 64;

impl InputKind {
    /// The kind of the file at `path`, from its first bytes. `raw` is the format the caller says
    /// raw values are in; it never overrides a `.npy` header (that is an error saying so), and
    /// without it a file that is neither a `.npy` nor an image is an error naming both.
    pub fn detect(path: &Path, raw: Option<RawFormat>) -> Result<InputKind> {
        let mut head = Vec::with_capacity(SNIFF as usize);
        std::fs::File::open(path)
            .and_then(|f| f.take(SNIFF).read_to_end(&mut head))
            .map_err(|source| Error::Io { path: path.to_owned(), source })?;
        InputKind::of_bytes(&head, raw).map_err(|message| match raw {
            Some(_) => Error::Usage(format!("{message}; {} is a .npy (its header gives the type)", path.display())),
            None => Error::Input { path: Some(path.to_owned()), message },
        })
    }

    /// The kind of a file starting with `head` (its first few dozen bytes suffice); see
    /// [`detect`](Self::detect). The error is a message without the file's name.
    pub fn of_bytes(head: &[u8], raw: Option<RawFormat>) -> std::result::Result<InputKind, String> {
        if head.starts_with(b"\x93NUMPY") {
            return match raw {
                Some(format) => Err(format!("--input-format {} is for raw files", format.name())),
                None => Ok(InputKind::Npy),
            };
        }
        if let Some(format) = raw {
            return Ok(InputKind::Raw(format));
        }
        if image::guess_format(head).is_ok() {
            return Ok(InputKind::Image);
        }
        Err("neither an image (JPEG, PNG, BMP, TIFF, WebP, GIF) nor a .npy tensor; for raw values \
             give --input-format f16|f32"
            .into())
    }

    /// `.npy`, `raw` or `image`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Npy => ".npy",
            InputKind::Raw(_) => "raw",
            InputKind::Image => "image",
        }
    }
}

/// Reads a `.npy` or raw tensor for `network` (an [`InputKind::Image`] is an error: images go
/// through an [`ImagePlan`]). The values come back in the stick's memory order, checked to fit
/// fp16 ([`check_storable`]).
pub fn read_tensor(path: &Path, kind: InputKind, network: &NetworkInput) -> Result<Vec<f32>> {
    let values = match kind {
        InputKind::Npy => read_npy(path, network.shape)?,
        InputKind::Raw(format) => read_raw(path, format, network.shape)?,
        InputKind::Image => {
            return Err(Error::Input {
                path: Some(path.to_owned()),
                message: "an image, not a tensor: it needs preprocessing".into(),
            })
        }
    };
    check_storable(&values, network.shape).map_err(|message| Error::Input { path: Some(path.to_owned()), message })?;
    Ok(values)
}

/// Refuses what the stick cannot store: its input is fp16, so a NaN, an infinity or a value
/// beyond fp16's largest finite one (65504, which would become ±Inf) is an error naming the
/// first such value and its position in `shape` (`[rows, columns, channels]`). What the firmware
/// computes from them is undocumented (`docs/cli.md` §1, Inputs); the CPU reference follows the
/// stick, whatever its precision.
pub fn check_storable(values: &[f32], shape: [usize; 3]) -> std::result::Result<(), String> {
    const FP16_MAX: f32 = 65504.0;
    let Some((index, value)) = values.iter().enumerate().find(|(_, v)| v.is_nan() || v.abs() > FP16_MAX) else {
        return Ok(());
    };
    let [_, cols, channels] = shape.map(|d| d.max(1));
    let (row, col, channel) = (index / (cols * channels), index / channels % cols, index % channels);
    let what = if value.is_finite() { "beyond fp16's range (|v| ≤ 65504)" } else { "not a finite number" };
    Err(format!(
        "value {value} at flat index {index} (row {row}, column {col}, channel {channel}) is {what}; \
         the stick stores its input as fp16"
    ))
}

/// Reads a network input `.npy` of shape `[H,W,C]`, `[1,H,W,C]`, flat, or `[H,W]` / `[1,H,W]`
/// for one channel; a channels-first array is refused with the transpose that fixes it.
pub fn read_npy(path: &Path, expected: [usize; 3]) -> Result<Vec<f32>> {
    let array = npy::read(path)?;
    npy_values(array, expected).map_err(|message| Error::Input { path: Some(path.to_owned()), message })
}

fn npy_values(array: npy::Array, expected: [usize; 3]) -> std::result::Result<Vec<f32>, String> {
    let count: usize = expected.iter().product();
    let [h, w, c] = expected;
    let shape = array.shape.as_slice();
    let fits = shape == expected
        || shape == [1, h, w, c]
        || shape == [count]
        || (c == 1 && (shape == [h, w] || shape == [1, h, w]));
    if fits {
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
    Err(format!(
        "input shape {:?} does not match the network input {expected:?} (rows, columns, channels; also accepted: \
         [1, ...]{one} or flat {count}){hint}",
        array.shape
    ))
}

/// Reads raw little-endian values of exactly the network input's size (the file's length is
/// checked before it is read).
pub fn read_raw(path: &Path, format: RawFormat, expected: [usize; 3]) -> Result<Vec<f32>> {
    let count: usize = expected.iter().product();
    let bytes = count * format.width();
    let len = std::fs::metadata(path).map_err(|source| Error::Io { path: path.to_owned(), source })?.len();
    if len != bytes as u64 {
        return Err(Error::Input {
            path: Some(path.to_owned()),
            message: format!(
                "{len} bytes; the network input {expected:?} as {} is {count} values = {bytes} bytes",
                format.name()
            ),
        });
    }
    let data = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(match format {
        RawFormat::F16 => fp16::decode(&data),
        RawFormat::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
    })
}

/// How images become one network's input: the scheme, the image size, and whether the scheme
/// was named or chosen (and why). Made once, applied to any number of images.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlan {
    /// The scheme used.
    pub scheme: Scheme,
    /// The image size `[height, width]` images are resized to.
    pub size: [usize; 2],
    /// `None` when the caller named the scheme; otherwise why it was chosen.
    pub chosen_because: Option<String>,
    /// The network input the images become.
    pub network: NetworkInput,
}

impl ImagePlan {
    /// The plan for `network`: images at its own H×W (a `size` that differs is an error saying
    /// what the network takes), with `scheme`, or the one [`NetworkInput::default_scheme`]
    /// picks. Networks of other than 1 or 3 channels take no images.
    pub fn for_network(network: &NetworkInput, scheme: Option<Scheme>, size: Option<[usize; 2]>) -> Result<ImagePlan> {
        let wanted = network.image_size();
        if let Some(size) = size.filter(|&s| s != wanted) {
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
        let (scheme, chosen_because) = match scheme {
            Some(scheme) => (scheme, None),
            None => {
                let (scheme, why) = network.default_scheme();
                (scheme, Some(why))
            }
        };
        Ok(ImagePlan { scheme, size: wanted, chosen_because, network: *network })
    }

    /// The plan without a network: RGB images of `size` (`[height, width]`), `scheme` or
    /// slim-eval.
    pub fn for_size(size: [usize; 2], scheme: Option<Scheme>) -> ImagePlan {
        ImagePlan {
            scheme: scheme.unwrap_or(Scheme::SlimEval),
            size,
            chosen_because: scheme.is_none().then(|| "the default without --graph".to_owned()),
            network: NetworkInput { shape: [size[0], size[1], 3], transposed: false },
        }
    }

    /// A decoded image as the network's input, in the stick's memory order.
    pub fn apply(&self, image: &Image) -> Result<Vec<f32>> {
        let rgb = preprocess::preprocess_to(image, self.size, self.scheme)?;
        self.network.arrange(&rgb)
    }

    /// Opens, decodes and [`apply`](Self::apply)s an image file.
    pub fn apply_to_file(&self, path: &Path) -> Result<Vec<f32>> {
        self.apply(&preprocess::open(path)?)
    }

    /// One line describing the plan, e.g. `preprocessing: plain to 28×28, values in [0, 1],
    /// one channel = mean of R, G, B (chosen: …; --preprocess to change)`.
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

    /// The plan as JSON: `{ scheme, size: [H, W], value_range: [lo, hi], chosen: "given" |
    /// "default", reason, transposed, channels }` (`docs/cli.md`).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn array(shape: &[usize]) -> npy::Array {
        let count = shape.iter().product();
        npy::Array { shape: shape.to_vec(), values: vec![0.5; count] }
    }

    #[test]
    fn kinds_come_from_content_not_names() {
        let npy = npy::encode_f32(&[2], &[1.0, 2.0]);
        assert_eq!(InputKind::of_bytes(&npy, None), Ok(InputKind::Npy));
        assert!(InputKind::of_bytes(&npy, Some(RawFormat::F16)).unwrap_err().contains("for raw files"));
        assert_eq!(InputKind::of_bytes(b"\x89PNG\r\n\x1a\n....", None), Ok(InputKind::Image));
        assert_eq!(InputKind::of_bytes(b"\x89PNG\r\n\x1a\n", Some(RawFormat::F32)), Ok(InputKind::Raw(RawFormat::F32)));
        assert!(InputKind::of_bytes(b"hello", None).unwrap_err().contains("nor a .npy"));
    }

    #[test]
    fn npy_shapes_accepted_and_refused() {
        for shape in [&[4, 3, 2][..], &[1, 4, 3, 2], &[24]] {
            assert!(npy_values(array(shape), [4, 3, 2]).is_ok(), "{shape:?}");
        }
        assert!(npy_values(array(&[4, 3]), [4, 3, 1]).is_ok());
        assert!(npy_values(array(&[4, 3]), [4, 3, 2]).is_err());
        let nchw = npy_values(array(&[2, 4, 3]), [4, 3, 2]).unwrap_err();
        assert!(nchw.contains("channels-first") && nchw.contains("[4, 3, 2]"), "{nchw}");
    }

    #[test]
    fn unstorable_values_are_named_with_their_position() {
        assert!(check_storable(&[0.0, 65504.0, -65504.0], [1, 3, 1]).is_ok());
        let err = check_storable(&[0.0, 0.0, 0.0, 7e4], [2, 1, 2]).unwrap_err();
        assert!(err.contains("flat index 3 (row 1, column 0, channel 1)") && err.contains("beyond"), "{err}");
        assert!(check_storable(&[f32::NAN], [1, 1, 1]).unwrap_err().contains("not a finite number"));
    }

    #[test]
    fn plans_take_the_network_size_and_refuse_what_images_cannot_feed() {
        let deeppicar = NetworkInput { shape: [200, 66, 3], transposed: true };
        let plan = ImagePlan::for_network(&deeppicar, None, None).unwrap();
        assert_eq!((plan.size, plan.scheme), ([66, 200], Scheme::Plain));
        assert!(plan.chosen_because.is_some() && plan.line().contains("stored transposed"));
        assert!(ImagePlan::for_network(&deeppicar, Some(Scheme::Ncsdk), Some([66, 200])).is_ok());
        let wrong = ImagePlan::for_network(&deeppicar, None, Some([200, 66])).unwrap_err().to_string();
        assert!(wrong.contains("the network takes 66×200 images"), "{wrong}");
        let four = NetworkInput { shape: [8, 8, 4], transposed: false };
        assert!(ImagePlan::for_network(&four, None, None).unwrap_err().to_string().contains("4 channels"));
        assert_eq!(ImagePlan::for_size([5, 7], None).network.shape, [5, 7, 3]);
    }
}
