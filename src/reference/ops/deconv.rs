//! Deconvolution (op 22). The toolkit stores the taps already flipped and with input/output
//! swapped, `T[i][j][c][k] = W_fw[kh−1−i][kw−1−j][k][c]`, so the stage is a correlation of the
//! stride-dilated input, padded by kh−1−p, with T (docs/blob_format.md §7.2); the index
//! mapping is [`Window::deconv_source`].

use super::rows::{for_rows, Finish};
use super::Shape;
use crate::window::Window;

/// `out = correlate(zero_insert(input, stride), T)` with caffe padding `window.pad`: runs of
/// output rows in parallel, each finished (bias, activation, fp16 rounding) as it is done;
/// every output pixel sums its taps in the same order whichever thread computes it.
pub fn deconv2d(
    input: &[f32],
    in_shape: Shape,
    taps: &[f32],
    window: &Window,
    out_shape: Shape,
    out: &mut [f32],
    finish: &Finish,
) {
    let (c, k) = (in_shape.channels, out_shape.channels);
    let [kh, kw] = window.kernel;
    let row_len = out_shape.cols * k;
    // Only one tap in stride² meets an input cell; c·k multiply-adds for each that does.
    let work = row_len * c * (kh * kw).div_ceil((window.stride[0] * window.stride[1]).max(1));
    for_rows(out, row_len, work, k, finish, |rows, values| {
        for (oy, row) in rows.zip(values.chunks_exact_mut(row_len)) {
            for (ox, acc) in row.chunks_exact_mut(k).enumerate() {
                acc.fill(0.0);
                for i in 0..kh {
                    let Some(iy) = window.deconv_source(0, oy, i, in_shape.rows) else { continue };
                    for j in 0..kw {
                        let Some(ix) = window.deconv_source(1, ox, j, in_shape.cols) else { continue };
                        let x = &input[(iy * in_shape.cols + ix) * c..][..c];
                        let t = &taps[(i * kw + j) * c * k..][..c * k];
                        for (&xv, t) in x.iter().zip(t.chunks_exact(k)) {
                            acc.iter_mut().zip(t).for_each(|(a, &tv)| *a += xv * tv);
                        }
                    }
                }
            }
        }
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    /// Transposed convolution by its scatter definition, from forward weights W_fw[kh][kw][K][C]
    /// (TF's conv2d_transpose filter layout): input pixel `(iy, ix)` adds `x · W_fw[a][b]` to
    /// output `(iy·s + a − p, ix·s + b − p)`, cropped by the padding. Also the property tests'
    /// reference (`ops/proptests.rs`).
    pub fn naive_transposed(x: &[f32], s: Shape, w_fw: &[f32], win: &Window, o: Shape) -> Vec<f32> {
        let [kh, kw] = win.kernel;
        let k = o.channels;
        let mut out = vec![0.0; o.len()];
        for iy in 0..s.rows {
            for ix in 0..s.cols {
                for a in 0..kh {
                    for b in 0..kw {
                        let oy = (iy * win.stride[0] + a) as isize - win.pad[0] as isize;
                        let ox = (ix * win.stride[1] + b) as isize - win.pad[1] as isize;
                        if oy < 0 || ox < 0 || oy as usize >= o.rows || ox as usize >= o.cols {
                            continue;
                        }
                        for kk in 0..k {
                            for c in 0..s.channels {
                                out[(oy as usize * o.cols + ox as usize) * k + kk] += x
                                    [(iy * s.cols + ix) * s.channels + c]
                                    * w_fw[((a * kw + b) * k + kk) * s.channels + c];
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn equals_the_scatter_definition_of_a_transposed_convolution() {
        for (seed, (stride, pad)) in [(2, 0), (2, 1), (1, 1), (3, 0)].into_iter().enumerate() {
            let (kernel, c, k) = (3, 2, 3);
            let s = Shape::new(4, 5, c);
            let o = Shape::new(stride * 3 + kernel - 2 * pad, stride * 4 + kernel - 2 * pad, k);
            let x = random(s.len(), seed as u64);
            let w_fw = random(kernel * kernel * k * c, 30 + seed as u64);
            // What the toolkit stores: flipped, with C and K swapped.
            let mut taps = vec![0.0; w_fw.len()];
            for i in 0..kernel {
                for j in 0..kernel {
                    for ch in 0..c {
                        for kk in 0..k {
                            taps[((i * kernel + j) * c + ch) * k + kk] =
                                w_fw[(((kernel - 1 - i) * kernel + (kernel - 1 - j)) * k + kk) * c + ch];
                        }
                    }
                }
            }
            let win = Window { kernel: [kernel, kernel], stride: [stride, stride], pad: [pad, pad], dilation: 1 };
            let mut out = vec![0.0; o.len()];
            deconv2d(&x, s, &taps, &win, o, &mut out, &Finish::NONE);
            assert_close(&out, &naive_transposed(&x, s, &w_fw, &win, o), 1e-5, "deconv");
        }
    }
}
