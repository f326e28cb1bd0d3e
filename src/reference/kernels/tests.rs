//! Every kernel family this CPU has, against the definition, over random shapes (proptest: the
//! blocking, edge tiles and strided stores have many cases, and shrinking names the smallest
//! failing one).

use proptest::prelude::*;

use super::*;
use crate::reference::ops::elementwise::{bias_activation, Activation};

fn values(len: usize, seed: u64) -> Vec<f32> {
    crate::graph::samples::Weights::new(seed).uniform(len, 1.0)
}

/// What sits in the output buffer's gaps; it must survive.
const SENTINEL: f32 = 1234.5;

/// An output buffer with `rows` rows of n values at `offset + p·stride`, gaps holding SENTINEL.
fn buffer(rows: usize, n: usize, offset: usize, stride: usize) -> Vec<f32> {
    vec![SENTINEL; offset + rows.saturating_sub(1) * stride + n + 3]
}

fn rows_of(buf: &[f32], rows: usize, n: usize, offset: usize, stride: usize) -> Vec<f32> {
    (0..rows).flat_map(|p| buf[offset + p * stride..][..n].to_vec()).collect()
}

fn gaps_untouched(buf: &[f32], rows: usize, n: usize, offset: usize, stride: usize) -> bool {
    buf.iter().enumerate().all(|(i, &v)| {
        let inside = i >= offset && (i - offset) / stride < rows && (i - offset) % stride < n;
        inside || v == SENTINEL
    })
}

/// The definition: f64 sums of the explicit im2col matrix times B, then bias and activation.
fn naive(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, bias: Option<&[f32]>, act: Activation) -> Vec<f32> {
    let mut out: Vec<f32> = (0..m * n)
        .map(|i| (0..k).map(|p| f64::from(a[i / n * k + p]) * f64::from(b[p * n + i % n])).sum::<f64>() as f32)
        .collect();
    bias_activation(&mut out, n, bias, act);
    out
}

/// Largest |Σ a·b| term sum per output, to scale the tolerance.
fn magnitude(a: &[f32], k: usize, b: &[f32], n: usize, i: usize) -> f32 {
    (0..k).map(|p| (a[i / n * k + p] * b[p * n + i % n]).abs()).sum::<f32>() + 1.0
}

fn activation(choice: u8) -> Activation {
    match choice % 5 {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::ReluX(0.3),
        3 => Activation::LeakyRelu(0.1),
        _ => Activation::Elu(0.7),
    }
}

/// Explicit im2col of a dense HWC input, zero where a tap falls in the padding.
fn im2col(x: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let [h, w, c] = g.input;
    let mut cols = Vec::new();
    for oy in 0..g.output[0] {
        for ox in 0..g.output[1] {
            for i in 0..g.kernel[0] {
                for j in 0..g.kernel[1] {
                    let iy = (oy * g.stride[0] + i * g.dilation) as isize - g.pad[0] as isize;
                    let ix = (ox * g.stride[1] + j * g.dilation) as isize - g.pad[1] as isize;
                    let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                    for ch in 0..c {
                        cols.push(if inside { x[(iy as usize * w + ix as usize) * c + ch] } else { 0.0 });
                    }
                }
            }
        }
    }
    cols
}

/// A product and its operands as the definition reads them (`a` dense m × k).
struct Problem<'a> {
    a: &'a [f32],
    m: usize,
    k: usize,
    w: &'a [f32],
    n: usize,
    bias: Option<&'a [f32]>,
    act: Activation,
}

/// Relative error allowed against the summed magnitudes |a·b| + 1 (f32 sums in another order):
/// ≈ 10× the largest measured, 2.07e-7 over 132 k elements of these tests on AVX-512, AVX2 and
/// portable (2026-12-01).
const GEMM_TOLERANCE: f32 = 2e-6;
/// The same for the matrix-vector product: measured at most 9.5e-8 over 24 k elements, each family.
const GEMV_TOLERANCE: f32 = 1e-6;

/// Checks `gemm` on `lhs` against the definition (within GEMM_TOLERANCE) and, for every family,
/// that the fp16-rounded run stores exactly the rounding of the unrounded run; rows go to
/// `offset + p·stride`.
fn check(isa: Isa, lhs: Lhs<'_>, p: &Problem<'_>, offset: usize, stride: usize) -> Result<(), TestCaseError> {
    let Problem { a, m, k, w, n, bias, act } = *p;
    let packed = PackedB::new(isa, k, n, w, bias);
    let want = naive(a, m, k, w, n, bias, act);
    let mut runs = Vec::new();
    for round_fp16 in [false, true] {
        let mut buf = buffer(m, n, offset, stride);
        let out = Output { data: &mut buf, offset, cols: m, pixel_stride: stride, row_stride: 0 };
        gemm(&lhs, &packed, out, Epilogue { activation: act, round_fp16 });
        prop_assert!(gaps_untouched(&buf, m, n, offset, stride), "{isa}: wrote outside the rows");
        runs.push(rows_of(&buf, m, n, offset, stride));
    }
    for (i, (&g, &e)) in runs[0].iter().zip(&want).enumerate() {
        let tol = GEMM_TOLERANCE * magnitude(a, k, w, n, i);
        prop_assert!((g - e).abs() <= tol, "{isa}: element {i}: {g} vs {e} (m {m} k {k} n {n} {act:?})");
    }
    let mut rounded = runs[0].clone();
    crate::fp16::round(&mut rounded);
    prop_assert!(runs[1].iter().zip(&rounded).all(|(r, e)| r.to_bits() == e.to_bits()), "{isa}: fp16 rounding differs");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn matrix_products_match_the_definition(
        m in 1usize..140, k in 1usize..600, n in 1usize..70, lead in 0usize..5, gap in 0usize..4,
        act in 0u8..5, with_bias: bool, seed in 0u64..1000,
    ) {
        let (row_stride, offset) = (k + lead, 7);
        let a = values((m - 1) * row_stride + k, seed);
        let w = values(k * n, seed + 1);
        let bias = values(n, seed + 2);
        let dense: Vec<f32> = (0..m).flat_map(|p| a[p * row_stride..][..k].to_vec()).collect();
        for isa in Isa::available() {
            let lhs = Lhs::Rows { data: &a, rows: m, stride: row_stride };
            let problem = Problem { a: &dense, m, k, w: &w, n, bias: with_bias.then_some(&bias[..]), act: activation(act) };
            check(isa, lhs, &problem, offset, n + gap)?;
        }
    }

    #[test]
    fn convolutions_match_explicit_im2col(
        h in 1usize..12, w in 1usize..12, c in 1usize..300, kh in 1usize..6, kw in 1usize..6,
        sy in 1usize..4, sx in 1usize..4, dilation in 1usize..3, n in 1usize..40, act in 0u8..5, seed in 0u64..1000,
    ) {
        let (py, px) = ((kh - 1) * dilation / 2, (kw - 1) * dilation / 2);
        let extent = |len: usize, k: usize, p: usize| (len + 2 * p).checked_sub(dilation * (k - 1) + 1);
        let (Some(ey), Some(ex)) = (extent(h, kh, py), extent(w, kw, px)) else { return Ok(()) };
        let g = ConvGeometry {
            input: [h, w, c], output: [ey / sy + 1, ex / sx + 1], kernel: [kh, kw], stride: [sy, sx],
            pad: [py, px], dilation,
        };
        let x = values(h * w * c, seed);
        let k = kh * kw * c;
        let weights = values(k * n, seed + 1);
        let bias = values(n, seed + 2);
        let a = im2col(&x, &g);
        let m = g.output[0] * g.output[1];
        for isa in Isa::available() {
            let lhs = Lhs::Conv { input: &x, geometry: g };
            let problem = Problem { a: &a, m, k, w: &weights, n, bias: Some(&bias), act: activation(act) };
            check(isa, lhs, &problem, 0, n + 3)?;
        }
    }

    #[test]
    fn matrix_vector_products_match_the_definition(k in 0usize..3000, n in 1usize..1100, seed in 0u64..1000) {
        let x = values(k, seed);
        let w = values(k * n, seed + 1);
        let want = naive(&x, 1, k, &w, n, None, Activation::None);
        for isa in Isa::available() {
            let mut out = vec![SENTINEL; n];
            gemv(isa, &x, &w, &mut out);
            for (i, (&g, &e)) in out.iter().zip(&want).enumerate() {
                prop_assert!((g - e).abs() <= GEMV_TOLERANCE * magnitude(&x, k, &w, n, i), "{isa}: {i}: {g} vs {e}");
            }
        }
    }
}

#[test]
fn edge_tiles_of_every_row_count_and_half_width_match_the_definition() {
    // Each family computes a partial tile's rows only, and a half-width last panel directly
    // (n = step, nr + step); other widths go through the stack tile. m runs through every
    // remainder of every family's tile rows, k past one reduction block.
    for isa in Isa::available() {
        let ([mr, nr], step) = (isa.tile(), isa.column_step());
        for m in 1..=2 * mr + 1 {
            for n in [step, nr, nr + step, nr + step + 1, 2 * nr - 1] {
                for k in [5, 700] {
                    let a = values(m * k, (m * n + k) as u64);
                    let w = values(k * n, 3);
                    let bias = values(n, 4);
                    let problem = Problem { a: &a, m, k, w: &w, n, bias: Some(&bias), act: Activation::Relu };
                    check(isa, Lhs::Rows { data: &a, rows: m, stride: k }, &problem, 3, n + 1)
                        .expect("matches the definition");
                }
            }
        }
    }
}

#[test]
fn inception_windows_read_by_kernel_rows_or_by_taps_match_explicit_im2col() {
    // The stem (3 channels: a tile inside the input reads each kernel row's 9 values as one
    // run), 3×3 and 5×5 windows whose border tiles reach into the padding, 1×7 / 7×1 at
    // 17×17 padded by 3 with C = 160 (k-blocks of 3 taps that start mid kernel row), and a
    // dilated 3×3 (read tap by tap).
    let cases = [
        // (input, output, kernel, stride, pad, dilation)
        ([31, 29, 3], [15, 14], [3, 3], [2, 2], [0, 0], 1),
        ([17, 17, 3], [17, 17], [3, 3], [1, 1], [1, 1], 1),
        ([17, 17, 160], [17, 17], [1, 7], [1, 1], [0, 3], 1),
        ([17, 17, 160], [17, 17], [7, 1], [1, 1], [3, 0], 1),
        ([9, 11, 24], [9, 11], [5, 5], [1, 1], [2, 2], 1),
        ([9, 9, 8], [9, 9], [3, 3], [1, 1], [2, 2], 2),
    ];
    for (seed, (input, output, kernel, stride, pad, dilation)) in cases.into_iter().enumerate() {
        let g = ConvGeometry { input, output, kernel, stride, pad, dilation };
        let x = values(input.iter().product(), seed as u64);
        let (k, n) = (kernel[0] * kernel[1] * input[2], 40);
        let weights = values(k * n, seed as u64 + 1);
        let bias = values(n, seed as u64 + 2);
        let a = im2col(&x, &g);
        for isa in Isa::available() {
            let m = output[0] * output[1];
            let problem = Problem { a: &a, m, k, w: &weights, n, bias: Some(&bias), act: Activation::Relu };
            check(isa, Lhs::Conv { input: &x, geometry: g }, &problem, 0, n).expect("matches im2col");
        }
    }
}

#[test]
fn a_channel_slice_of_an_image_is_written_in_place() {
    // 3×4 pixels, 5 output channels written at channel 2 of a 9-channel buffer, rows of an
    // image 10 pixels wide (row stride 90): a concatenation branch inside a padded buffer.
    let (m, k, n, cols) = (12, 7, 5, 4);
    let a = values(m * k, 1);
    let w = values(k * n, 2);
    let want = naive(&a, m, k, &w, n, None, Activation::None);
    for isa in Isa::available() {
        let packed = PackedB::new(isa, k, n, &w, None);
        let mut buf = vec![SENTINEL; 3 * 90];
        let out = Output { data: &mut buf, offset: 2, cols, pixel_stride: 9, row_stride: 90 };
        gemm(
            &Lhs::Rows { data: &a, rows: m, stride: k },
            &packed,
            out,
            Epilogue { activation: Activation::None, round_fp16: false },
        );
        for p in 0..m {
            let at = 2 + (p / cols) * 90 + (p % cols) * 9;
            for j in 0..n {
                assert!((buf[at + j] - want[p * n + j]).abs() < 1e-5, "{isa}: pixel {p} channel {j}");
            }
        }
        let written = m * n;
        assert_eq!(buf.iter().filter(|&&v| v != SENTINEL).count(), written, "{isa}: only the slice is written");
    }
}

#[test]
fn the_detected_family_is_available_and_portable_always_is() {
    let available = Isa::available();
    assert!(available.contains(&Isa::best()));
    assert_eq!(available.last(), Some(&Isa::Portable));
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    assert!(available.contains(&Isa::Avx2));
}
