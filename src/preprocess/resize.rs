//! Image resizing as TensorFlow 1's `resize_images` does it (`align_corners=False`, legacy
//! coordinates `src = dst · in/out`), for the four methods of `ResizeMethodV1`, plus the
//! half-pixel bilinear of OpenCV's INTER_LINEAR (TF2's `tf.image.resize`). Scales, coordinates
//! and weights are computed in float32, as TensorFlow does: float64 gives visibly different
//! results (docs/numerics.md §6.3).

use ndarray::Array3;

/// Something to resize: `rows × cols × 3` values.
pub trait Source {
    /// Rows.
    fn rows(&self) -> usize;
    /// Columns.
    fn cols(&self) -> usize;
    /// Value at (row, column, channel).
    fn get(&self, y: usize, x: usize, c: usize) -> f32;
}

impl Source for Array3<f32> {
    fn rows(&self) -> usize {
        self.dim().0
    }
    fn cols(&self) -> usize {
        self.dim().1
    }
    fn get(&self, y: usize, x: usize, c: usize) -> f32 {
        self[[y, x, c]]
    }
}

/// TensorFlow 1's `ResizeMethodV1`, in its numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// 0: bilinear.
    Bilinear,
    /// 1: nearest neighbour.
    Nearest,
    /// 2: bicubic (Keys, a = −0.75).
    Bicubic,
    /// 3: area averaging.
    Area,
}

impl Method {
    /// By `ResizeMethodV1` number (0–3).
    pub fn from_index(i: usize) -> Option<Self> {
        [Method::Bilinear, Method::Nearest, Method::Bicubic, Method::Area].get(i).copied()
    }
}

/// Resizes with TF1 semantics (`align_corners=False`, no half-pixel centres).
pub fn resize(src: &impl Source, rows: usize, cols: usize, method: Method) -> Array3<f32> {
    match method {
        Method::Bilinear => bilinear(src, rows, cols, false),
        Method::Nearest => nearest(src, rows, cols),
        Method::Bicubic => bicubic(src, rows, cols),
        Method::Area => area(src, rows, cols),
    }
}

fn scale(input: usize, output: usize) -> f32 {
    input as f32 / output as f32
}

/// Interpolation taps along one axis: (lower index, upper index, weight of upper).
fn linear_taps(input: usize, output: usize, half_pixel: bool) -> Vec<(usize, usize, f32)> {
    let s = scale(input, output);
    (0..output)
        .map(|o| {
            let src = if half_pixel { (o as f32 + 0.5) * s - 0.5 } else { o as f32 * s };
            let floor = src.floor();
            let lower = (floor.max(0.0) as usize).min(input - 1);
            let upper = (src.ceil().max(0.0) as usize).min(input - 1);
            (lower, upper, src - floor)
        })
        .collect()
}

/// Bilinear interpolation; `half_pixel` selects `src = (dst + ½)·scale − ½` (OpenCV, TF2).
pub fn bilinear(src: &impl Source, rows: usize, cols: usize, half_pixel: bool) -> Array3<f32> {
    let ys = linear_taps(src.rows(), rows, half_pixel);
    let xs = linear_taps(src.cols(), cols, half_pixel);
    Array3::from_shape_fn((rows, cols, 3), |(y, x, c)| {
        let (y0, y1, dy) = ys[y];
        let (x0, x1, dx) = xs[x];
        let top_left = src.get(y0, x0, c);
        let top_right = src.get(y0, x1, c);
        let bottom_left = src.get(y1, x0, c);
        let bottom_right = src.get(y1, x1, c);
        let top = top_left + (top_right - top_left) * dx;
        let bottom = bottom_left + (bottom_right - bottom_left) * dx;
        top + (bottom - top) * dy
    })
}

fn nearest(src: &impl Source, rows: usize, cols: usize) -> Array3<f32> {
    let pick = |input: usize, output: usize| -> Vec<usize> {
        let s = scale(input, output);
        (0..output).map(|o| ((o as f32 * s).floor() as usize).min(input - 1)).collect()
    };
    let (ys, xs) = (pick(src.rows(), rows), pick(src.cols(), cols));
    Array3::from_shape_fn((rows, cols, 3), |(y, x, c)| src.get(ys[y], xs[x], c))
}

const CUBIC_TABLE: usize = 1024;

/// TensorFlow's tabulated Keys kernel (a = −0.75): entry i holds the weights at distance i/1024
/// (inner tap) and 1 + i/1024 (outer tap).
fn cubic_table() -> Vec<[f32; 2]> {
    const A: f32 = -0.75;
    (0..=CUBIC_TABLE)
        .map(|i| {
            let x = i as f32 / CUBIC_TABLE as f32;
            let inner = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
            let x = x + 1.0;
            let outer = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
            [inner, outer]
        })
        .collect()
}

/// Four taps along one axis: indices (clamped) and weights.
fn cubic_taps(input: usize, output: usize, table: &[[f32; 2]]) -> Vec<([usize; 4], [f32; 4])> {
    let s = scale(input, output);
    let clamp = |i: i64| i.clamp(0, input as i64 - 1) as usize;
    (0..output)
        .map(|o| {
            let src = o as f32 * s;
            let base = src.floor();
            let offset = ((src - base) * CUBIC_TABLE as f32).round_ties_even() as usize;
            let weights =
                [table[offset][1], table[offset][0], table[CUBIC_TABLE - offset][0], table[CUBIC_TABLE - offset][1]];
            let b = base as i64;
            ([clamp(b - 1), clamp(b), clamp(b + 1), clamp(b + 2)], weights)
        })
        .collect()
}

fn bicubic(src: &impl Source, rows: usize, cols: usize) -> Array3<f32> {
    let table = cubic_table();
    let ys = cubic_taps(src.rows(), rows, &table);
    let xs = cubic_taps(src.cols(), cols, &table);
    Array3::from_shape_fn((rows, cols, 3), |(y, x, c)| {
        let (yi, yw) = ys[y];
        let (xi, xw) = xs[x];
        let row = |r: usize| {
            xw[0] * src.get(r, xi[0], c)
                + xw[1] * src.get(r, xi[1], c)
                + xw[2] * src.get(r, xi[2], c)
                + xw[3] * src.get(r, xi[3], c)
        };
        yw[0] * row(yi[0]) + yw[1] * row(yi[1]) + yw[2] * row(yi[2]) + yw[3] * row(yi[3])
    })
}

/// Source cells an output cell covers along one axis, with their coverage.
fn area_spans(input: usize, output: usize) -> Vec<Vec<(usize, f32)>> {
    let s = scale(input, output);
    (0..output)
        .map(|o| {
            let start = o as f32 * s;
            let end = (o + 1) as f32 * s;
            let first = start.floor() as usize;
            let last = end.ceil() as usize;
            (first..last)
                .map(|i| {
                    let cover = (i as f32 + 1.0).min(end) - (i as f32).max(start);
                    (i.min(input - 1), cover)
                })
                .collect()
        })
        .collect()
}

fn area(src: &impl Source, rows: usize, cols: usize) -> Array3<f32> {
    let ys = area_spans(src.rows(), rows);
    let xs = area_spans(src.cols(), cols);
    let norm = 1.0 / (scale(src.rows(), rows) * scale(src.cols(), cols));
    Array3::from_shape_fn((rows, cols, 3), |(y, x, c)| {
        let mut sum = 0.0f32;
        for &(iy, wy) in &ys[y] {
            let mut row = 0.0f32;
            for &(ix, wx) in &xs[x] {
                row += wx * src.get(iy, ix, c);
            }
            sum += wy * row;
        }
        sum * norm
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Array3<f32> {
        Array3::from_shape_fn((4, 4, 3), |(y, x, _)| (y * 4 + x) as f32)
    }

    #[test]
    fn bilinear_matches_tensorflows_golden_values() {
        // docs/numerics.md §6.3: 4×4 arange(16) → 3×3, measured on TF.
        let legacy = bilinear(&ramp(), 3, 3, false);
        let want = [0.0, 1.3333, 2.6667, 5.3333, 6.6667, 8.0, 10.6667, 12.0, 13.3333];
        for (i, w) in want.iter().enumerate() {
            assert!((legacy[[i / 3, i % 3, 0]] - w).abs() < 1e-3, "legacy {i}");
        }
        let half = bilinear(&ramp(), 3, 3, true);
        let want = [0.8333, 2.1667, 3.5, 6.1667, 7.5, 8.8333, 11.5, 12.8333, 14.1667];
        for (i, w) in want.iter().enumerate() {
            assert!((half[[i / 3, i % 3, 1]] - w).abs() < 1e-3, "half-pixel {i}");
        }
    }

    #[test]
    fn other_methods_keep_constants_and_pick_the_right_cells() {
        let flat = Array3::from_elem((5, 7, 3), 0.25f32);
        for m in [Method::Nearest, Method::Bicubic, Method::Area] {
            let out = resize(&flat, 3, 4, m);
            assert!(out.iter().all(|v| (v - 0.25).abs() < 1e-6), "{m:?} changes a constant image");
        }
        let near = resize(&ramp(), 2, 2, Method::Nearest);
        assert_eq!([near[[0, 0, 0]], near[[0, 1, 0]], near[[1, 0, 0]], near[[1, 1, 0]]], [0.0, 2.0, 8.0, 10.0]);
        let halved = resize(&ramp(), 2, 2, Method::Area);
        assert_eq!(halved[[0, 0, 0]], (0.0 + 1.0 + 4.0 + 5.0) / 4.0);
    }
}
