//! From an image to one network's input: the image size the network takes, the scheme that
//! suits it when the user names none, and the arrangement of the preprocessed RGB image in the
//! stick's memory (one channel as the mean of R, G, B; TensorFlow's H/W swap for non-square
//! inputs, `docs/blob_format.md` §8 quirk 1).

use ndarray::Array3;

use super::Scheme;
use crate::blob::{Blob, StorageOrder};
use crate::error::{Error, Result};

/// Side lengths of the Inception and MobileNet networks TF-Slim's `preprocess_for_eval` serves
/// (Inception V1/V2 224, V3/V4 299, MobileNet 128…224, NASNet 331).
pub const SLIM_SIZES: [usize; 6] = [128, 160, 192, 224, 299, 331];

/// What a network's input asks of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkInput {
    /// The stick's input tensor `[rows, columns, channels]`.
    pub shape: [usize; 3],
    /// The stick's rows are the image's columns: a TensorFlow graph (records in YXZ order)
    /// with a non-square input, whose H and W the toolkit swapped.
    pub transposed: bool,
}

impl NetworkInput {
    /// The input of `blob`.
    pub fn of(blob: &Blob) -> NetworkInput {
        let shape = blob.input_shape().map(|d| d as usize);
        let tensorflow = blob
            .stages
            .iter()
            .find(|s| Some(&s.input) == blob.network_input())
            .is_some_and(|s| s.storage_order == StorageOrder::Yxz);
        NetworkInput { shape, transposed: tensorflow && shape[0] != shape[1] }
    }

    /// The image `[height, width]` the network takes.
    pub fn image_size(&self) -> [usize; 2] {
        let [rows, cols, _] = self.shape;
        if self.transposed {
            [cols, rows]
        } else {
            [rows, cols]
        }
    }

    /// The scheme for this network when the user names none, and why: TF-Slim's evaluation
    /// preprocessing for square RGB inputs of a size its networks use, else the whole image in
    /// [0, 1] (one channel, or any other size: MNIST-style and regression networks).
    pub fn default_scheme(&self) -> (Scheme, String) {
        let [rows, cols, channels] = self.shape;
        if channels == 3 && rows == cols && SLIM_SIZES.contains(&rows) {
            return (Scheme::SlimEval, format!("a square RGB input of {rows}, an Inception/MobileNet size"));
        }
        let why = if channels == 1 {
            "one channel, not an Inception-style RGB input".to_owned()
        } else if channels != 3 {
            format!("{channels} channels, not an Inception-style RGB input")
        } else {
            let [h, w] = self.image_size();
            format!("{h}×{w} images are not an Inception/MobileNet size {SLIM_SIZES:?}")
        };
        (Scheme::Plain, why)
    }

    /// Lays out a preprocessed `[height, width, 3]` image as this network's input.
    pub fn arrange(&self, rgb: &Array3<f32>) -> Result<Vec<f32>> {
        let [height, width] = self.image_size();
        let (h, w, _) = rgb.dim();
        if [h, w] != [height, width] {
            return Err(Error::Usage(format!(
                "the image was preprocessed to {h}×{w}; the network takes {height}×{width} images"
            )));
        }
        let channels = self.shape[2];
        if channels != 1 && channels != 3 {
            return Err(Error::Usage(format!("images feed networks of 1 or 3 channels, not {channels}")));
        }
        let mut out = Vec::with_capacity(h * w * channels);
        let (outer, inner) = if self.transposed { (w, h) } else { (h, w) };
        for a in 0..outer {
            for b in 0..inner {
                let (y, x) = if self.transposed { (b, a) } else { (a, b) };
                let p = [rgb[[y, x, 0]], rgb[[y, x, 1]], rgb[[y, x, 2]]];
                if channels == 1 {
                    out.push((p[0] + p[1] + p[2]) / 3.0);
                } else {
                    out.extend_from_slice(&p);
                }
            }
        }
        Ok(out)
    }
}

impl Scheme {
    /// The range the scheme's values lie in.
    pub fn value_range(self) -> (f32, f32) {
        match self {
            Scheme::SlimEval | Scheme::SlimTrain { .. } => (-1.0, 1.0),
            Scheme::Ncsdk => (-1.0, 127.0 / 128.0),
            Scheme::Plain => (0.0, 1.0),
        }
    }

    /// The command-line name: `slim-eval`, `slim-train`, `ncsdk`, `plain`.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::SlimEval => "slim-eval",
            Scheme::SlimTrain { .. } => "slim-train",
            Scheme::Ncsdk => "ncsdk",
            Scheme::Plain => "plain",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposed_input_reads_the_image_column_by_column() {
        let net = NetworkInput { shape: [3, 2, 3], transposed: true };
        assert_eq!(net.image_size(), [2, 3]);
        let rgb = Array3::from_shape_fn((2, 3, 3), |(y, x, c)| (y * 100 + x * 10 + c) as f32);
        let out = net.arrange(&rgb).unwrap();
        // Stick row 1 = image column 1: pixels (0,1), (1,1).
        assert_eq!(&out[6..12], &[10.0, 11.0, 12.0, 110.0, 111.0, 112.0]);
        let square = NetworkInput { shape: [2, 3, 1], transposed: false };
        assert_eq!(square.arrange(&rgb).unwrap()[..2], [1.0, 11.0]);
    }

    #[test]
    fn defaults_are_slim_eval_only_for_inception_shaped_inputs() {
        let pick = |shape| NetworkInput { shape, transposed: false }.default_scheme().0;
        assert_eq!(pick([299, 299, 3]), Scheme::SlimEval);
        assert_eq!(pick([28, 28, 1]), Scheme::Plain);
        assert_eq!(pick([64, 64, 3]), Scheme::Plain);
        assert_eq!(pick([224, 224, 1]), Scheme::Plain);
    }
}
