//! TensorFlow's colour adjustments on float RGB images in [0, 1], following its CPU kernels
//! (`adjust_saturation_op.cc`, `adjust_hue_op.cc`, `AdjustContrastv2`); none of them clamps.

use ndarray::{Array3, Axis};

/// `x + delta` (`tf.image.adjust_brightness` on floats).
pub fn adjust_brightness(image: &mut Array3<f32>, delta: f32) {
    image.mapv_inplace(|v| v + delta);
}

/// `(x − mean_c)·factor + mean_c`, with each channel's mean over the image
/// (`tf.image.adjust_contrast`).
pub fn adjust_contrast(image: &mut Array3<f32>, factor: f32) {
    let pixels = (image.dim().0 * image.dim().1) as f32;
    for mut channel in image.axis_iter_mut(Axis(2)) {
        let mean = channel.sum() / pixels;
        channel.mapv_inplace(|v| (v - mean) * factor + mean);
    }
}

/// Scales HSV saturation by `factor`, clamped to [0, 1] (`tf.image.adjust_saturation`).
pub fn adjust_saturation(image: &mut Array3<f32>, factor: f32) {
    for_each_pixel(image, |rgb| {
        let (h, s, v) = rgb_to_hsv(rgb);
        hsv_to_rgb(h, (s * factor).clamp(0.0, 1.0), v)
    });
}

/// Rotates hue by `delta` turns (`tf.image.adjust_hue`, |delta| ≤ 0.5).
pub fn adjust_hue(image: &mut Array3<f32>, delta: f32) {
    for_each_pixel(image, |[r, g, b]| {
        let (mut h, v_min, v_max) = rgb_to_hv_range(r, g, b);
        h += delta * 6.0;
        while h < 0.0 {
            h += 6.0;
        }
        while h >= 6.0 {
            h -= 6.0;
        }
        hv_range_to_rgb(h, v_min, v_max)
    });
}

/// Mirrors columns (`tf.image.flip_left_right`).
pub fn flip_left_right(image: &Array3<f32>) -> Array3<f32> {
    image.slice(ndarray::s![.., ..;-1, ..]).to_owned()
}

fn for_each_pixel(image: &mut Array3<f32>, f: impl Fn([f32; 3]) -> [f32; 3]) {
    for mut pixel in image.lanes_mut(Axis(2)) {
        let out = f([pixel[0], pixel[1], pixel[2]]);
        pixel[0] = out[0];
        pixel[1] = out[1];
        pixel[2] = out[2];
    }
}

fn rgb_to_hsv([r, g, b]: [f32; 3]) -> (f32, f32, f32) {
    let v = r.max(g).max(b);
    let range = v - r.min(g).min(b);
    let s = if v > 0.0 { range / v } else { 0.0 };
    let norm = 1.0 / (6.0 * range);
    let mut h = if range <= 0.0 {
        0.0
    } else if r == v {
        norm * (g - b)
    } else if g == v {
        norm * (b - r) + 2.0 / 6.0
    } else {
        norm * (r - g) + 4.0 / 6.0
    };
    if h < 0.0 {
        h += 1.0;
    }
    (h, s, v)
}

fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let c = s * v;
    let m = v - c;
    let dh = h * 6.0;
    let category = dh as i32;
    let mut fmodu = dh;
    while fmodu <= 0.0 {
        fmodu += 2.0;
    }
    while fmodu > 2.0 {
        fmodu -= 2.0;
    }
    let x = c * (1.0 - (fmodu - 1.0).abs());
    let (r, g, b) = match category {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        5 => (c, 0.0, x),
        _ => (0.0, 0.0, 0.0),
    };
    [r + m, g + m, b + m]
}

/// Hue in [0, 6) from the channels' order, with the value range (TF's `rgb_to_hv_range`).
fn rgb_to_hv_range(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let (v_max, v_mid, v_min, category) = if r < g {
        if b < r {
            (g, r, b, 1)
        } else if b > g {
            (b, g, r, 3)
        } else {
            (g, b, r, 2)
        }
    } else if b < g {
        (r, g, b, 0)
    } else if b > r {
        (b, r, g, 4)
    } else {
        (r, b, g, 5)
    };
    if v_max == v_min {
        return (0.0, v_min, v_max);
    }
    let ratio = (v_mid - v_min) / (v_max - v_min);
    let rising = category % 2 == 0;
    (category as f32 + if rising { ratio } else { 1.0 - ratio }, v_min, v_max)
}

fn hv_range_to_rgb(h: f32, v_min: f32, v_max: f32) -> [f32; 3] {
    let category = h as i32;
    let mut ratio = h - category as f32;
    if category % 2 != 0 {
        ratio = 1.0 - ratio;
    }
    let v_mid = v_min + ratio * (v_max - v_min);
    match category {
        0 => [v_max, v_mid, v_min],
        1 => [v_mid, v_max, v_min],
        2 => [v_min, v_max, v_mid],
        3 => [v_min, v_mid, v_max],
        4 => [v_mid, v_min, v_max],
        _ => [v_max, v_min, v_mid],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(rgb: [f32; 3]) -> Array3<f32> {
        Array3::from_shape_vec((1, 1, 3), rgb.to_vec()).unwrap()
    }

    fn close(a: &Array3<f32>, b: [f32; 3]) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn match_tensorflows_golden_values() {
        // docs/numerics.md §6.5, measured on TensorFlow.
        let mut p = pixel([0.2, 0.4, 0.6]);
        adjust_saturation(&mut p, 0.5);
        close(&p, [0.4, 0.5, 0.6]);
        let mut p = pixel([0.2, 0.4, 0.6]);
        adjust_hue(&mut p, 0.2);
        close(&p, [0.48, 0.2, 0.6]);
        let mut img = Array3::from_shape_vec((2, 1, 3), vec![0.2, 0.2, 0.2, 0.6, 0.6, 0.6]).unwrap();
        adjust_contrast(&mut img, 1.5);
        close(&img.slice(ndarray::s![0..1, .., ..]).to_owned(), [0.1, 0.1, 0.1]);
        close(&img.slice(ndarray::s![1..2, .., ..]).to_owned(), [0.7, 0.7, 0.7]);
    }

    #[test]
    fn hue_round_trips_and_grey_is_fixed() {
        let mut p = pixel([0.9, 0.1, 0.3]);
        adjust_hue(&mut p, 0.3);
        adjust_hue(&mut p, -0.3);
        close(&p, [0.9, 0.1, 0.3]);
        let mut grey = pixel([0.5, 0.5, 0.5]);
        adjust_hue(&mut grey, 0.25);
        adjust_saturation(&mut grey, 1.4);
        close(&grey, [0.5, 0.5, 0.5]);
        let flipped = flip_left_right(&Array3::from_shape_fn((1, 3, 3), |(_, x, _)| x as f32));
        assert_eq!(flipped[[0, 0, 0]], 2.0);
    }
}
