//! Crop boxes: TF's `central_crop`, the NCSDK example's centre square, and TF's
//! `sample_distorted_bounding_box` (its kernel's rules, with our random stream).

use super::rng::Rng;

/// A box in pixels: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// First row.
    pub y: usize,
    /// First column.
    pub x: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl CropBox {
    /// The whole image.
    pub fn full(height: usize, width: usize) -> Self {
        CropBox { y: 0, x: 0, height, width }
    }
}

/// `tf.image.central_crop(image, fraction)`: start = trunc((n − n·f)/2) in float64, size = n − 2·start.
pub fn central(height: usize, width: usize, fraction: f64) -> CropBox {
    if fraction >= 1.0 {
        return CropBox::full(height, width);
    }
    let start = |n: usize| ((n as f64 - n as f64 * fraction) / 2.0) as usize;
    let (y, x) = (start(height), start(width));
    CropBox { y, x, height: height - 2 * y, width: width - 2 * x }
}

/// The NCSDK example's centre square: `int(0.5·delta)` cut from both ends of the longer side
/// (an odd delta leaves the box one pixel off square; the resize absorbs it).
pub fn centre_square(height: usize, width: usize) -> CropBox {
    let cut = height.abs_diff(width) / 2;
    if height > width {
        CropBox { y: cut, x: 0, height: height - 2 * cut, width }
    } else {
        CropBox { y: 0, x: cut, height, width: width - 2 * cut }
    }
}

/// `sample_distorted_bounding_box` parameters of TF-Slim's training preprocessing.
#[derive(Debug, Clone, Copy)]
pub struct DistortedBox {
    /// Fraction of the object box the crop must cover (0.1).
    pub min_object_covered: f32,
    /// Width/height range (0.75, 1.33).
    pub aspect_ratio: (f32, f32),
    /// Fraction-of-image area range (0.05, 1.0).
    pub area: (f32, f32),
    /// Tries before falling back to the whole image (100).
    pub max_attempts: usize,
}

impl Default for DistortedBox {
    fn default() -> Self {
        DistortedBox { min_object_covered: 0.1, aspect_ratio: (0.75, 1.33), area: (0.05, 1.0), max_attempts: 100 }
    }
}

/// C's `lrintf` (round half to even).
fn lrint(v: f32) -> i64 {
    v.round_ties_even() as i64
}

impl DistortedBox {
    /// Samples a crop of an image whose object box is the whole image (TF-Slim's default bbox).
    /// Returns the box and whether it came from an attempt (`false`: the whole-image fallback).
    pub fn sample(&self, height: usize, width: usize, rng: &mut Rng) -> (CropBox, bool) {
        for _ in 0..self.max_attempts {
            let aspect = rng.uniform(self.aspect_ratio.0, self.aspect_ratio.1);
            if let Some(crop) = self.random_crop(height, width, aspect, rng) {
                // Coverage of the object box (the whole image) by the crop.
                let covered = (crop.height * crop.width) as f32 / (height * width) as f32;
                if covered >= self.min_object_covered {
                    return (crop, true);
                }
            }
        }
        (CropBox::full(height, width), false)
    }

    /// TF's `GenerateRandomCrop` for one aspect ratio.
    fn random_crop(&self, height: usize, width: usize, aspect: f32, rng: &mut Rng) -> Option<CropBox> {
        let (h_img, w_img) = (height as i64, width as i64);
        let min_area = self.area.0 * width as f32 * height as f32;
        let max_area = self.area.1 * width as f32 * height as f32;
        let mut h = lrint((min_area / aspect).sqrt());
        let mut max_h = lrint((max_area / aspect).sqrt());
        if lrint(max_h as f32 * aspect) > w_img {
            const EPS: f32 = 0.000_000_1;
            max_h = ((w_img as f32 + 0.5 - EPS) / aspect) as i64;
            if lrint(max_h as f32 * aspect) > w_img {
                max_h -= 1;
            }
        }
        max_h = max_h.min(h_img);
        h = h.min(max_h);
        if h < max_h {
            h += rng.below((max_h - h + 1) as u64) as i64;
        }
        let mut w = lrint(h as f32 * aspect);
        let mut area = (w * h) as f32;
        if area < min_area {
            h += 1;
            w = lrint(h as f32 * aspect);
            area = (w * h) as f32;
        }
        if area > max_area {
            h -= 1;
            w = lrint(h as f32 * aspect);
            area = (w * h) as f32;
        }
        if area < min_area || area > max_area || w > w_img || h > h_img || w <= 0 || h <= 0 {
            return None;
        }
        let y = if h < h_img { rng.below((h_img - h) as u64) as usize } else { 0 };
        let x = if w < w_img { rng.below((w_img - w) as u64) as usize } else { 0 };
        Some(CropBox { y, x, height: h as usize, width: w as usize })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_crop_matches_tensorflows_sizes() {
        // docs/numerics.md §6.2 (measured): 600→526, 1944×2592→1702×2268, 257→225, 299→263.
        assert_eq!(central(600, 600, 0.875), CropBox { y: 37, x: 37, height: 526, width: 526 });
        let b = central(1944, 2592, 0.875);
        assert_eq!((b.height, b.width), (1702, 2268));
        assert_eq!(central(257, 257, 0.875).height, 225);
        assert_eq!(central(299, 299, 0.875).height, 263);
    }

    #[test]
    fn centre_square_cuts_the_longer_side() {
        assert_eq!(centre_square(300, 451), CropBox { y: 0, x: 75, height: 300, width: 301 });
        assert_eq!(centre_square(640, 427), CropBox { y: 106, x: 0, height: 428, width: 427 });
    }

    #[test]
    fn distorted_boxes_follow_tensorflows_rules() {
        let params = DistortedBox::default();
        let mut rng = Rng::new(7);
        let (h, w) = (300usize, 451usize);
        let mut areas = Vec::new();
        for _ in 0..5000 {
            let (b, sampled) = params.sample(h, w, &mut rng);
            assert!(b.y + b.height <= h && b.x + b.width <= w, "{b:?} leaves the image");
            if sampled {
                let fraction = (b.height * b.width) as f32 / (h * w) as f32;
                assert!((0.05..=1.0).contains(&fraction) && fraction >= 0.1, "area fraction {fraction}");
                let aspect = b.width as f32 / b.height as f32;
                // Rounding to whole pixels can move the aspect slightly past the range.
                assert!((0.75 - 0.02..=1.33 + 0.02).contains(&aspect), "aspect {aspect}");
                areas.push(fraction);
            }
        }
        assert!(areas.len() > 4900, "most samples succeed on the first attempts");
        // The largest crop is limited by the image's height at these aspects (300 / 451 of the
        // width): area fractions span [0.1, ≈0.88]. Distribution statistics are compared with
        // TensorFlow's own sampler in tests/preprocess.rs.
        assert!(areas.iter().any(|&a| a < 0.15) && areas.iter().any(|&a| a > 0.8), "the whole range is reached");
    }
}
