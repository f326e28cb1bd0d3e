//! Pooling against naive loops over the definition.

use super::*;
use crate::reference::ops::testing::{assert_close, random};

fn naive(x: &[f32], s: Shape, win: &Window, kind: PoolKind, o: Shape) -> Vec<f32> {
    let mut out = vec![0.0; o.len()];
    for oy in 0..o.rows {
        for ox in 0..o.cols {
            for ch in 0..s.channels {
                let (mut best, mut sum, mut n) = (f32::NEG_INFINITY, 0.0, 0);
                let y0 = (oy * win.stride[0]) as isize - win.pad[0] as isize;
                let x0 = (ox * win.stride[1]) as isize - win.pad[1] as isize;
                for iy in y0..y0 + win.kernel[0] as isize {
                    for ix in x0..x0 + win.kernel[1] as isize {
                        if iy >= 0 && ix >= 0 && (iy as usize) < s.rows && (ix as usize) < s.cols {
                            let v = x[(iy as usize * s.cols + ix as usize) * s.channels + ch];
                            best = best.max(v);
                            sum += v;
                            n += 1;
                        }
                    }
                }
                let caffe = {
                    let ye = (y0 + win.kernel[0] as isize).min((s.rows + win.pad[0]) as isize);
                    let xe = (x0 + win.kernel[1] as isize).min((s.cols + win.pad[1]) as isize);
                    ((ye - y0) * (xe - x0)) as f32
                };
                out[(oy * o.cols + ox) * s.channels + ch] = match kind {
                    PoolKind::Max => best,
                    PoolKind::Average(AvgDivisor::ValidCells) => sum / n as f32,
                    PoolKind::Average(AvgDivisor::PaddedWindow) => sum / caffe,
                };
            }
        }
    }
    out
}

#[test]
fn matches_naive_for_every_kind_and_padding() {
    let s = Shape::new(7, 8, 3);
    let x = random(s.len(), 9);
    let kinds = [PoolKind::Max, PoolKind::Average(AvgDivisor::ValidCells), PoolKind::Average(AvgDivisor::PaddedWindow)];
    for kind in kinds {
        for (kernel, stride, pad) in [(3, 1, 1), (2, 2, 0), (3, 2, 1), (3, 3, 0)] {
            let win = Window { kernel: [kernel, kernel], stride: [stride, stride], pad: [pad, pad], dilation: 1 };
            let o =
                Shape::new((7 + 2 * pad - kernel).div_ceil(stride) + 1, (8 + 2 * pad - kernel).div_ceil(stride) + 1, 3);
            let o = Shape::new(o.rows.min((7 + pad).div_ceil(stride)), o.cols.min((8 + pad).div_ceil(stride)), 3);
            let mut out = vec![0.0; o.len()];
            pool2d(&x, s, &win, kind, o, &mut out, &Finish::NONE);
            assert_close(&out, &naive(&x, s, &win, kind, o), 1e-6, &format!("{kind:?} k{kernel} s{stride} p{pad}"));
        }
    }
}

#[test]
fn tf_and_caffe_averages_differ_at_the_border() {
    // 2x2 input of ones, 3x3 window, pad 1, stride 1: the corner window has 4 valid cells.
    let s = Shape::new(2, 2, 1);
    let win = Window { kernel: [3, 3], stride: [1, 1], pad: [1, 1], dilation: 1 };
    let mut tf = vec![0.0; 4];
    let mut caffe = vec![0.0; 4];
    pool2d(&[1.0; 4], s, &win, PoolKind::Average(AvgDivisor::ValidCells), s, &mut tf, &Finish::NONE);
    pool2d(&[1.0; 4], s, &win, PoolKind::Average(AvgDivisor::PaddedWindow), s, &mut caffe, &Finish::NONE);
    assert_eq!(tf, vec![1.0; 4]);
    assert_eq!(caffe, vec![4.0 / 9.0; 4]);
}

/// The definition with the kernel's arithmetic: taps row by row inside the input, the max
/// from −∞ ignoring NaN, the sum from 0 times 1/n; a window covering no cell gives 0.
/// Independent of [`Window`]'s tap ranges: every tap is tested against the border.
fn in_order(x: &[f32], s: Shape, win: &Window, kind: PoolKind, o: Shape) -> Vec<f32> {
    let mut out = vec![0.0; o.len()];
    let d = win.dilation as isize;
    for (i, v) in out.iter_mut().enumerate() {
        let (oy, ox, ch) = (i / (o.cols * o.channels), i / o.channels % o.cols, i % o.channels);
        let y0 = (oy * win.stride[0]) as isize - win.pad[0] as isize;
        let x0 = (ox * win.stride[1]) as isize - win.pad[1] as isize;
        let (mut best, mut sum, mut n) = (f32::NEG_INFINITY, 0.0f32, 0usize);
        for ty in 0..win.kernel[0] as isize {
            for tx in 0..win.kernel[1] as isize {
                let (iy, ix) = (y0 + ty * d, x0 + tx * d);
                if iy >= 0 && ix >= 0 && (iy as usize) < s.rows && (ix as usize) < s.cols {
                    let v = x[(iy as usize * s.cols + ix as usize) * s.channels + ch];
                    best = best.max(v);
                    sum += v;
                    n += 1;
                }
            }
        }
        // Caffe: the window clipped to [−pad, len + pad), padding cells counted.
        let clipped = |a: usize, start: isize, len: usize| {
            let end = (start + win.kernel[a] as isize).min((len + win.pad[a]) as isize);
            (end - start).max(0) as usize
        };
        let scaled = |count: usize| if count == 0 { 0.0 } else { sum * (1.0 / count as f32) };
        *v = match kind {
            PoolKind::Max if n == 0 => 0.0,
            PoolKind::Max => best,
            PoolKind::Average(AvgDivisor::ValidCells) => scaled(n),
            PoolKind::Average(AvgDivisor::PaddedWindow) => scaled(clipped(0, y0, s.rows) * clipped(1, x0, s.cols)),
        };
    }
    out
}

/// Random windows over channel counts that reach every block width (128, 64, 32, 16, the
/// one-at-a-time rest) and rows longer than one run of pixels, on every vector family this
/// CPU has, with NaN in the input: bit for bit the definition's order, and fp16 rounding
/// of exactly those values.
#[test]
fn every_family_matches_the_definition_bit_for_bit() {
    let mut rng = crate::splitmix::SplitMix64::new(15);
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let kinds = [PoolKind::Max, PoolKind::Average(AvgDivisor::ValidCells), PoolKind::Average(AvgDivisor::PaddedWindow)];
    for case in 0..120 {
        let channels = [1, 3, 15, 16, 17, 33, 48, 64, 100, 128, 130, 192, 241, 288][pick(14)];
        let kernel = [1 + pick(4), 1 + pick(4)];
        let stride = [1 + pick(3), 1 + pick(3)];
        let pad = [pick(kernel[0]), pick(kernel[1])];
        let dilation = 1 + pick(2);
        let extent = |a: usize| (kernel[a] - 1) * dilation + 1;
        let s = Shape::new(extent(0) + pick(8), extent(1) + pick(40), channels);
        // Caffe rounds the output size up: sometimes one more output, whose window may lie
        // wholly in padding.
        let mut len = |a: usize, n: usize| (n + 2 * pad[a] - extent(a)) / stride[a] + 1 + pick(2);
        let o = Shape::new(len(0, s.rows), len(1, s.cols), channels);
        let win = Window { kernel, stride, pad, dilation };
        let mut x = random(s.len(), case);
        let poisoned = pick(x.len());
        x[poisoned] = f32::NAN;
        for kind in kinds {
            let want = in_order(&x, s, &win, kind, o);
            let rounded: Vec<u32> = want.iter().map(|&v| crate::fp16::round_one(v).to_bits()).collect();
            let round = Finish { round_fp16: true, ..Finish::NONE };
            for isa in Isa::available() {
                let what = format!("{isa} {kind:?} {s:?} -> {o:?} {win:?}");
                let mut out = vec![0.0; o.len()];
                pool2d_with(isa, &x, s, &win, kind, o, &mut out, &Finish::NONE);
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&want), "{what}");
                pool2d_with(isa, &x, s, &win, kind, o, &mut out, &round);
                assert_eq!(bits(&out), rounded, "{what}, fp16 storage");
            }
        }
    }
}
