//! Depthwise convolution (op 8): each input channel c feeds outputs c·M … c·M+M−1 through its
//! own kernel; weights are `[kh][kw][C·M]`.

use super::Shape;
use crate::window::Window;

/// `out[.., c·M + m] = Σ_{i,j} x[.., c] · W[i][j][c·M + m]`, with M = K / C.
pub fn depthwise_conv2d(
    input: &[f32],
    in_shape: Shape,
    weights: &[f32],
    window: &Window,
    out_shape: Shape,
    out: &mut [f32],
) {
    let (c, k) = (in_shape.channels, out_shape.channels);
    let multiplier = k / c.max(1);
    let [kh, kw] = window.kernel;
    out.fill(0.0);
    for oy in 0..out_shape.rows {
        for ox in 0..out_shape.cols {
            let acc = &mut out[(oy * out_shape.cols + ox) * k..][..k];
            for i in 0..kh {
                let Some(iy) = window.source(0, oy, i, in_shape.rows) else { continue };
                for j in 0..kw {
                    let Some(ix) = window.source(1, ox, j, in_shape.cols) else { continue };
                    let x = &input[(iy * in_shape.cols + ix) * c..][..c];
                    let w = &weights[(i * kw + j) * k..][..k];
                    for (ch, &xv) in x.iter().enumerate() {
                        for m in 0..multiplier {
                            let o = ch * multiplier + m;
                            acc[o] += xv * w[o];
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    #[test]
    fn matches_naive_with_multipliers() {
        for (seed, (multiplier, stride, pad)) in [(1, 1, 1), (2, 2, 0), (3, 1, 2)].into_iter().enumerate() {
            let s = Shape::new(7, 6, 3);
            let k = 3 * multiplier;
            let win = Window { kernel: [3, 3], stride: [stride, stride], pad: [pad, pad], dilation: 1 };
            let o = Shape::new((7 + 2 * pad - 3) / stride + 1, (6 + 2 * pad - 3) / stride + 1, k);
            let x = random(s.len(), seed as u64);
            let w = random(9 * k, 50 + seed as u64);
            let mut out = vec![0.0; o.len()];
            depthwise_conv2d(&x, s, &w, &win, o, &mut out);
            let mut naive = vec![0.0; o.len()];
            for oy in 0..o.rows {
                for ox in 0..o.cols {
                    for c in 0..3 {
                        for m in 0..multiplier {
                            let mut acc = 0.0;
                            for i in 0..3 {
                                for j in 0..3 {
                                    let iy = (oy * stride + i) as isize - pad as isize;
                                    let ix = (ox * stride + j) as isize - pad as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < 7 && (ix as usize) < 6 {
                                        acc += x[(iy as usize * 6 + ix as usize) * 3 + c]
                                            * w[(i * 3 + j) * k + c * multiplier + m];
                                    }
                                }
                            }
                            naive[(oy * o.cols + ox) * k + c * multiplier + m] = acc;
                        }
                    }
                }
            }
            assert_close(&out, &naive, 1e-5, "depthwise");
        }
    }
}
