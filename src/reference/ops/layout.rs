//! Operators that only move values: flatten to planes (op 25), crop (op 27), and the channel
//! reduction sum_reduce (op 43). Copy, none and reshape need no kernel: the executor's
//! gather/scatter through the descriptors is the whole operation.

use super::rows::{for_rows, Finish};
use super::Shape;

/// HWC → CHW: `out[c·H·W + y·W + x] = in[y][x][c]` (Caffe Flatten order), planes in parallel,
/// each finished as it is done (there is no bias here, so finishing needs no channel order).
pub fn to_plane_major(input: &[f32], shape: Shape, out: &mut [f32], finish: &Finish) {
    let (plane, c) = (shape.rows * shape.cols, shape.channels);
    for_rows(out, plane, plane, plane, finish, |channels, values| {
        for (ch, dst) in channels.zip(values.chunks_exact_mut(plane)) {
            dst.iter_mut().zip(input[ch..].iter().step_by(c)).for_each(|(d, &v)| *d = v);
        }
    });
}

/// `out[y][x][c] = in[y + offset[0]][x + offset[1]][c + offset[2]]` (offsets rows, columns,
/// channels; the caller checks the window fits), output rows in parallel.
pub fn crop(input: &[f32], in_shape: Shape, offset: [usize; 3], out_shape: Shape, out: &mut [f32], finish: &Finish) {
    let (k, row_len) = (out_shape.channels, out_shape.cols * out_shape.channels);
    for_rows(out, row_len, row_len, k, finish, |rows, values| {
        for (y, row) in rows.zip(values.chunks_exact_mut(row_len)) {
            for (x, dst) in row.chunks_exact_mut(k).enumerate() {
                let base = ((y + offset[0]) * in_shape.cols + x + offset[1]) * in_shape.channels + offset[2];
                dst.copy_from_slice(&input[base..base + k]);
            }
        }
    });
}

/// Sum over the channels of each pixel, pixels in parallel.
pub fn sum_channels(input: &[f32], channels: usize, out: &mut [f32], finish: &Finish) {
    let c = channels.max(1);
    for_rows(out, 1, c, 1, finish, |pixels, values| {
        let sources = input[pixels.start * c..pixels.end * c].chunks_exact(c);
        for (o, pixel) in values.iter_mut().zip(sources) {
            *o = pixel.iter().sum();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_values_where_the_formulas_say() {
        let s = Shape::new(2, 3, 2);
        let input: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut planes = vec![0.0; 12];
        to_plane_major(&input, s, &mut planes, &Finish::NONE);
        assert_eq!(planes, [0., 2., 4., 6., 8., 10., 1., 3., 5., 7., 9., 11.]);
        let mut c = vec![0.0; 2];
        crop(&input, s, [1, 1, 1], Shape::new(1, 2, 1), &mut c, &Finish::NONE);
        assert_eq!(c, [9.0, 11.0]);
        let mut sums = vec![0.0; 6];
        sum_channels(&input, 2, &mut sums, &Finish::NONE);
        assert_eq!(sums, [1., 5., 9., 13., 17., 21.]);
    }
}
