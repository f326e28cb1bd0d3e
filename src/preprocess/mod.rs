//! Image preprocessing for Inception-style networks, numerically faithful to TensorFlow:
//!
//! - [`Scheme::SlimEval`]: TF-Slim `preprocess_for_eval` — to `[0, 1]`, `central_crop(0.875)`,
//!   TF1 bilinear resize (no half-pixel centres), `(x − 0.5)·2`;
//! - [`Scheme::SlimTrain`]: TF-Slim `preprocess_for_train` with a seeded stream — distorted
//!   bounding-box crop, resize by a random method, random left-right flip, `distort_color` in a
//!   random ordering, clip, `(x − 0.5)·2`;
//! - [`Scheme::Ncsdk`]: the NCSDK example path the stick was fed with — centre square,
//!   half-pixel bilinear (OpenCV INTER_LINEAR), `(x − 128)/128`;
//! - [`Scheme::Plain`]: the whole image resized to the target, in [0, 1].
//!
//! Output is float32 HWC RGB `[height, width, 3]`. Only the crop is ever read: the full-size
//! image is never converted to floats. Facts: `docs/numerics.md` §6.

pub mod color;
pub mod crop;
pub mod decode;
pub mod network;
pub mod resize;
pub mod rng;

use std::path::Path;

use ndarray::Array3;

use crate::error::{Error, Result};
use crop::{CropBox, DistortedBox};
pub use decode::{decode, open, Image, Pixels, MAX_PIXELS};
pub use network::NetworkInput;
use resize::{Method, Source};
use rng::Rng;

/// A preprocessing scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// TF-Slim evaluation preprocessing.
    SlimEval,
    /// TF-Slim training preprocessing with a seeded random stream. `fast_mode` (TF-Slim's
    /// default) resizes bilinearly and uses colour ordering 0 only; otherwise the resize method
    /// and the colour ordering are each drawn from four.
    SlimTrain {
        /// Seed of the random stream.
        seed: u64,
        /// TF-Slim's `fast_mode`.
        fast_mode: bool,
    },
    /// The NCSDK example's stick input.
    Ncsdk,
    /// The whole image resized (TF1 bilinear) to the target, values in [0, 1] — for networks
    /// trained on plain scaled pixels, such as MNIST classifiers.
    Plain,
}

/// A crop of an image read as values in [0, 1] (TF's `convert_image_dtype`).
struct Unit<'a> {
    image: &'a Image,
    crop: CropBox,
}

impl Source for Unit<'_> {
    fn rows(&self) -> usize {
        self.crop.height
    }
    fn cols(&self) -> usize {
        self.crop.width
    }
    fn get(&self, y: usize, x: usize, c: usize) -> f32 {
        self.image.unit(self.crop.y + y, self.crop.x + x, c)
    }
}

/// A crop of an image read on the 0..=255 scale.
struct Levels<'a> {
    image: &'a Image,
    crop: CropBox,
}

impl Source for Levels<'_> {
    fn rows(&self) -> usize {
        self.crop.height
    }
    fn cols(&self) -> usize {
        self.crop.width
    }
    fn get(&self, y: usize, x: usize, c: usize) -> f32 {
        self.image.level(self.crop.y + y, self.crop.x + x, c)
    }
}

/// Preprocesses a decoded image to `[size, size, 3]`.
pub fn preprocess(image: &Image, size: usize, scheme: Scheme) -> Result<Array3<f32>> {
    preprocess_to(image, [size, size], scheme)
}

/// Preprocesses a decoded image to `[height, width, 3]`.
pub fn preprocess_to(image: &Image, [height, width]: [usize; 2], scheme: Scheme) -> Result<Array3<f32>> {
    for side in [height, width] {
        if side == 0 || side > 4096 {
            return Err(Error::Usage(format!("--size {height},{width}: each side must be 1..=4096")));
        }
    }
    let (h, w) = (image.height, image.width);
    Ok(match scheme {
        Scheme::SlimEval => {
            let crop = crop::central(h, w, 0.875);
            let mut out = resize::bilinear(&Unit { image, crop }, height, width, false);
            out.mapv_inplace(|v| (v - 0.5) * 2.0);
            out
        }
        Scheme::SlimTrain { seed, fast_mode } => train_to(image, [height, width], seed, fast_mode).0,
        Scheme::Plain => resize::bilinear(&Unit { image, crop: CropBox::full(h, w) }, height, width, false),
        Scheme::Ncsdk => {
            let crop = crop::centre_square(h, w);
            let mut out = resize::bilinear(&Levels { image, crop }, height, width, true);
            out.mapv_inplace(|v| (v - 128.0) * (1.0 / 128.0));
            out
        }
    })
}

/// Decodes and preprocesses a file.
pub fn preprocess_file(path: &Path, size: usize, scheme: Scheme) -> Result<Array3<f32>> {
    preprocess(&open(path)?, size, scheme)
}

/// What the training scheme drew, for tests and reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainDraws {
    /// The crop.
    pub crop: CropBox,
    /// The resize method.
    pub method: Method,
    /// Whether the image was mirrored.
    pub flipped: bool,
    /// The `distort_color` ordering.
    pub ordering: usize,
}

/// The training scheme, also returning its random choices.
pub fn train_with_draws(image: &Image, size: usize, seed: u64, fast_mode: bool) -> (Array3<f32>, TrainDraws) {
    train_to(image, [size, size], seed, fast_mode)
}

fn train_to(image: &Image, [height, width]: [usize; 2], seed: u64, fast_mode: bool) -> (Array3<f32>, TrainDraws) {
    let mut rng = Rng::new(seed);
    let (crop, _) = DistortedBox::default().sample(image.height, image.width, &mut rng);
    let method = if fast_mode { Method::Bilinear } else { Method::from_index(rng.below(4) as usize).expect("0..4") };
    let mut out = resize::resize(&Unit { image, crop }, height, width, method);
    let flipped = rng.unit() < 0.5;
    if flipped {
        out = color::flip_left_right(&out);
    }
    let ordering = if fast_mode { 0 } else { rng.below(4) as usize };
    distort_color(&mut out, ordering, fast_mode, &mut rng);
    out.mapv_inplace(|v| (v.clamp(0.0, 1.0) - 0.5) * 2.0);
    (out, TrainDraws { crop, method, flipped, ordering })
}

/// TF-Slim's `distort_color`: random brightness (±32/255), saturation and contrast
/// (×[0.5, 1.5)) and hue (±0.2) in one of four orderings (fast mode: brightness and saturation).
pub fn distort_color(image: &mut Array3<f32>, ordering: usize, fast_mode: bool, rng: &mut Rng) {
    #[derive(Clone, Copy)]
    enum Op {
        Brightness,
        Saturation,
        Hue,
        Contrast,
    }
    use Op::*;
    let order: &[Op] = match (fast_mode, ordering) {
        (true, 0) => &[Brightness, Saturation],
        (true, _) => &[Saturation, Brightness],
        (false, 0) => &[Brightness, Saturation, Hue, Contrast],
        (false, 1) => &[Saturation, Brightness, Contrast, Hue],
        (false, 2) => &[Contrast, Hue, Brightness, Saturation],
        (false, _) => &[Hue, Saturation, Contrast, Brightness],
    };
    for op in order {
        match op {
            Brightness => color::adjust_brightness(image, rng.uniform(-32.0 / 255.0, 32.0 / 255.0)),
            Saturation => color::adjust_saturation(image, rng.uniform(0.5, 1.5)),
            Hue => color::adjust_hue(image, rng.uniform(-0.2, 0.2)),
            Contrast => color::adjust_contrast(image, rng.uniform(0.5, 1.5)),
        }
    }
}
