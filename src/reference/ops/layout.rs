//! Operators that only move values: flatten to planes (op 25), crop (op 27), and the channel
//! reduction sum_reduce (op 43). Copy, none and reshape need no kernel: the executor's
//! gather/scatter through the descriptors is the whole operation.

use super::Shape;

/// HWC → CHW: `out[c·H·W + y·W + x] = in[y][x][c]` (Caffe Flatten order).
pub fn to_plane_major(input: &[f32], shape: Shape, out: &mut [f32]) {
    let (h, w, c) = (shape.rows, shape.cols, shape.channels);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                out[ch * h * w + y * w + x] = input[(y * w + x) * c + ch];
            }
        }
    }
}

/// `out[y][x][c] = in[y + offset[0]][x + offset[1]][c + offset[2]]` (offsets rows, columns,
/// channels; the caller checks the window fits).
pub fn crop(input: &[f32], in_shape: Shape, offset: [usize; 3], out_shape: Shape, out: &mut [f32]) {
    let mut i = 0;
    for y in 0..out_shape.rows {
        for x in 0..out_shape.cols {
            let base = ((y + offset[0]) * in_shape.cols + x + offset[1]) * in_shape.channels + offset[2];
            out[i..i + out_shape.channels].copy_from_slice(&input[base..base + out_shape.channels]);
            i += out_shape.channels;
        }
    }
}

/// Sum over the channels of each pixel.
pub fn sum_channels(input: &[f32], channels: usize, out: &mut [f32]) {
    for (o, pixel) in out.iter_mut().zip(input.chunks(channels.max(1))) {
        *o = pixel.iter().sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_values_where_the_formulas_say() {
        let s = Shape::new(2, 3, 2);
        let input: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut planes = vec![0.0; 12];
        to_plane_major(&input, s, &mut planes);
        assert_eq!(planes, [0., 2., 4., 6., 8., 10., 1., 3., 5., 7., 9., 11.]);
        let mut c = vec![0.0; 2];
        crop(&input, s, [1, 1, 1], Shape::new(1, 2, 1), &mut c);
        assert_eq!(c, [9.0, 11.0]);
        let mut sums = vec![0.0; 6];
        sum_channels(&input, 2, &mut sums);
        assert_eq!(sums, [1., 5., 9., 13., 17., 21.]);
    }
}
