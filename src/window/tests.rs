//! Property tests of the window arithmetic: every formula against a brute-force definition or
//! the framework's own formulation, over random kernels (odd and even), strides, dilations,
//! pads and lengths.

use proptest::prelude::*;

use super::*;

/// Kernels 1..=8 (odd and even), strides 1..=5, dilations 1..=4.
fn axis() -> impl Strategy<Value = Axis> {
    (1u32..=8, 1u32..=5, 1u32..=4).prop_map(|(k, s, d)| Axis::new(k, s, d))
}

/// A kernel 1..=8 with a Caffe pad below it (Caffe refuses pad ≥ kernel).
fn kernel_and_pad() -> impl Strategy<Value = (u32, u32)> {
    (1u32..=8).prop_flat_map(|k| (Just(k), 0..k))
}

/// A one-axis window with its leading pad, as the executor holds it (rows only).
fn window_of(a: Axis, pad: u64) -> Window {
    Window {
        kernel: [a.kernel as usize, 1],
        stride: [a.stride as usize, 1],
        pad: [pad as usize, 0],
        dilation: a.dilation as usize,
    }
}

/// How many windows `o·stride − before + [0, extent)` lie inside `[−before, len + after)`.
fn whole_windows(a: Axis, len: u32, before: u64, after: u64) -> u64 {
    let room = u64::from(len) + before + after;
    (0..).take_while(|&o| o * u64::from(a.stride) + a.extent() <= room).count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn valid_counts_the_windows_that_fit(a in axis(), len in 1u32..64) {
        let out = a.output_len(len, AxisPadding::Valid, WindowOp::Convolution);
        prop_assert_eq!(out, whole_windows(a, len, 0, 0));
        // Pooling and convolution agree under TensorFlow's padding.
        prop_assert_eq!(out, a.output_len(len, AxisPadding::Valid, WindowOp::Pooling));
        // TensorFlow's formulation: ⌈(len − extent + 1) / stride⌉ when a window fits.
        let tf = (i64::from(len) - a.extent() as i64 + 1).max(0) as f64 / f64::from(a.stride);
        prop_assert_eq!(out, tf.ceil() as u64);
    }

    #[test]
    fn same_gives_one_output_per_stride_and_splits_the_padding(a in axis(), len in 1u32..64) {
        let out = a.output_len(len, AxisPadding::Same, WindowOp::Convolution);
        prop_assert_eq!(out, u64::from(len).div_ceil(u64::from(a.stride)));
        prop_assert_eq!(out, a.output_len(len, AxisPadding::Same, WindowOp::Pooling));
        let (before, after) = a.same_padding(len, out as u32);
        // The total is what the last window needs beyond the data; the extra cell goes after.
        let needed = (out - 1) * u64::from(a.stride) + a.extent();
        prop_assert_eq!(before + after, needed.saturating_sub(u64::from(len)));
        prop_assert!(after == before || after == before + 1);
        // With that padding exactly `out` whole windows fit.
        prop_assert_eq!(whole_windows(a, len, before, after), out);
        prop_assert_eq!(a.pad_before(len, out as u32, AxisPadding::Same), before);
    }

    #[test]
    fn same_split_ends_the_last_tap_in_the_trailing_padding(a in axis(), len in 1u32..64) {
        let out = a.output_len(len, AxisPadding::Same, WindowOp::Convolution) as usize;
        let (before, after) = a.same_padding(len, out as u32);
        let w = window_of(a, before);
        // Position of the last tap of the last window, relative to the data (may be past it).
        let last = ((out - 1) * w.stride[0] + (w.kernel[0] - 1) * w.dilation) as i64 - before as i64;
        prop_assert_eq!(last.max(i64::from(len) - 1), i64::from(len) - 1 + after as i64);
    }

    #[test]
    fn caffe_convolution_rounds_down(a in axis(), len in 1u32..64, pad in 0u32..8) {
        let out = a.output_len(len, AxisPadding::explicit(pad), WindowOp::Convolution);
        prop_assert_eq!(out, whole_windows(a, len, pad.into(), pad.into()));
    }

    #[test]
    fn caffe_pooling_matches_caffe(
        (kh, ph) in kernel_and_pad(), (kw, pw) in kernel_and_pad(), s in [1u32..=5, 1u32..=5], len in [1u32..64, 1u32..64],
    ) {
        // PoolingLayer::Reshape, as Caffe writes it: float ceil per axis, then, when either
        // axis is padded, one conditional decrement on each axis.
        let (k, p) = ([kh, kw], [ph, pw]);
        let mut caffe = [0, 1].map(|i| {
            let (l, k, s, p) = (i64::from(len[i]), i64::from(k[i]), i64::from(s[i]), i64::from(p[i]));
            ((l + 2 * p - k) as f64 / s as f64).ceil() as i64 + 1
        });
        if ph > 0 || pw > 0 {
            for i in 0..2 {
                if (caffe[i] - 1) * i64::from(s[i]) >= i64::from(len[i]) + i64::from(p[i]) {
                    caffe[i] -= 1;
                }
            }
        }
        let padding = Padding::Explicit([ph as u8, pw as u8]);
        for i in 0..2 {
            let out = Axis::new(k[i], s[i], 1).output_len(len[i], padding.axis(i), WindowOp::Pooling);
            prop_assert_eq!(out, caffe[i].max(0) as u64, "axis {}", i);
        }
    }

    #[test]
    fn deconv_padding_inverts_the_output_length(k in 1u32..=8, s in 1u32..=5, len in 1u32..40, pad in 0u32..8, out in 1u32..200) {
        let a = Axis::new(k, s, 1);
        if let Some(o) = a.deconv_output_len(len, pad) {
            prop_assert_eq!(a.deconv_padding(len, o as u32), Some(u64::from(pad)));
        }
        match a.deconv_padding(len, out) {
            Some(p) => prop_assert_eq!(a.deconv_output_len(len, p as u32), Some(u64::from(out))),
            // No symmetric pad gives `out`: neither any pad up to the span.
            None => prop_assert!((0..=k + s * len).all(|p| a.deconv_output_len(len, p) != Some(u64::from(out)))),
        }
    }

    #[test]
    fn source_is_the_tap_position_when_inside(a in axis(), len in 1usize..40, pad in 0u64..10) {
        let w = window_of(a, pad);
        let out = a.output_len(len as u32, AxisPadding::explicit(pad as u32), WindowOp::Convolution) as usize;
        for o in 0..out {
            for tap in 0..w.kernel[0] {
                let position = (o * w.stride[0] + tap * w.dilation) as i64 - pad as i64;
                let brute = (0..len).find(|&i| i as i64 == position);
                prop_assert_eq!(w.source(0, o, tap, len), brute, "out {} tap {}", o, tap);
            }
        }
    }

    #[test]
    fn taps_inside_are_the_taps_source_finds(a in axis(), len in 1usize..40, pad in 0u64..10, extra in 0usize..4) {
        let w = window_of(a, pad);
        let out = a.output_len(len as u32, AxisPadding::explicit(pad as u32), WindowOp::Pooling) as usize;
        // Past the last output too: a window wholly in the trailing padding has no taps.
        for o in 0..out + extra {
            let found: Vec<usize> = (0..w.kernel[0]).filter(|&t| w.source(0, o, t, len).is_some()).collect();
            prop_assert_eq!(w.taps_inside(0, o, len).collect::<Vec<_>>(), found, "out {}", o);
        }
    }

    #[test]
    fn deconv_source_inverts_the_scatter(k in 1u32..=8, s in 1u32..=5, len in 1usize..20, pad in 0u32..8) {
        let a = Axis::new(k, s, 1);
        let Some(out) = a.deconv_output_len(len as u32, pad) else {
            // Not even one output: the scatter span is covered by the two crops.
            prop_assert!((len as u64 - 1) * u64::from(s) + u64::from(k) <= 2 * u64::from(pad));
            return Ok(());
        };
        // Scatter: input i adds through forward tap f into output i·s + f − pad.
        let positions = (0..len).flat_map(|i| (0..k as usize).map(move |f| (i * s as usize + f) as i64));
        let span = positions.clone().max().unwrap() - positions.min().unwrap() + 1;
        prop_assert_eq!(out as i64, span - 2 * i64::from(pad));
        let w = window_of(a, pad.into());
        for o in 0..out as usize {
            for stored in 0..k as usize {
                let forward = k as usize - 1 - stored;
                let brute = (0..len).find(|&i| (i * s as usize + forward) as i64 - i64::from(pad) == o as i64);
                prop_assert_eq!(w.deconv_source(0, o, stored, len), brute, "out {} tap {}", o, stored);
            }
        }
    }

    #[test]
    fn padded_extent_counts_cells_of_the_padded_input((k, pad) in kernel_and_pad(), s in 1u32..=5, len in 1usize..40) {
        let a = Axis::new(k, s, 1);
        let w = window_of(a, pad.into());
        let p = pad as i64;
        let out = a.output_len(len as u32, AxisPadding::explicit(pad), WindowOp::Pooling) as usize;
        for o in 0..out {
            let start = (o * s as usize) as i64 - p;
            let brute = (start..start + i64::from(k)).filter(|&c| c >= -p && c < len as i64 + p).count();
            prop_assert_eq!(w.padded_extent(0, o, len), brute, "out {}", o);
        }
    }

    #[test]
    fn resolve_takes_each_axis_leading_pad(
        kernel in [1u32..=8, 1u32..=8], stride in [1u32..=5, 1u32..=5], d in 1u32..=3,
        input in [1u32..64, 1u32..64], pads in [0u8..8, 0u8..8],
    ) {
        for padding in [Padding::Same, Padding::Valid, Padding::Explicit(pads)] {
            let output = [0, 1].map(|i| {
                Axis::new(kernel[i], stride[i], d).output_len(input[i], padding.axis(i), WindowOp::Convolution) as u32
            });
            let w = Window::resolve(kernel, stride, d, padding, input, output);
            for i in 0..2 {
                let axis = Axis::new(kernel[i], stride[i], d);
                prop_assert_eq!(w.pad[i] as u64, axis.pad_before(input[i], output[i], padding.axis(i)));
            }
            let (style, record_pads) = padding.to_record();
            prop_assert_eq!(Padding::of_record(style, record_pads), padding);
        }
    }
}

#[test]
fn tf_same_puts_the_extra_cell_after() {
    // 8 → 4 with k=3, s=2: total pad 1, before 0 (TF), unlike Caffe's symmetric 1.
    assert_eq!(Axis::new(3, 2, 1).same_padding(8, 4), (0, 1));
    assert_eq!(Axis::new(3, 1, 1).same_padding(7, 7), (1, 1));
    assert_eq!(Axis::new(5, 1, 1).same_padding(9, 9), (2, 2));
    assert_eq!(Axis::new(2, 2, 1).same_padding(7, 4), (0, 1));
    // Dilation widens the window: extent 5 for k=3, d=2.
    assert_eq!(Axis::new(3, 1, 2).same_padding(10, 10), (2, 2));
}

#[test]
fn caffe_pooling_rounds_up_but_drops_a_window_starting_in_the_trailing_pad() {
    let (k2s2, k3s2) = (Axis::new(2, 2, 1), Axis::new(3, 2, 1));
    // 8 inputs, k=3, s=2, pad 1: room 8 + 2 − 3 = 7; pooling ⌈7/2⌉ + 1 = 5, convolution ⌊7/2⌋ + 1 = 4.
    assert_eq!(k3s2.output_len(8, AxisPadding::explicit(1), WindowOp::Pooling), 5);
    assert_eq!(k3s2.output_len(8, AxisPadding::explicit(1), WindowOp::Convolution), 4);
    // 5 inputs, k=2, s=2, pad 1: ⌈5/2⌉ + 1 = 4, but the 4th would start at 3·2 − 1 = 5, in the pad.
    assert_eq!(k2s2.output_len(5, AxisPadding::explicit(1), WindowOp::Pooling), 3);
}

#[test]
fn caffe_pooling_clips_an_unpadded_axis_of_a_padded_window() {
    // Pad [0, 1], kernel 1 < stride 2 on the rows: ⌈(4 − 1)/2⌉ + 1 = 3 rows, but the 3rd window
    // would start at row 4, past the data; Caffe drops it because the columns are padded.
    let rows = Axis::new(1, 2, 1);
    let padded = Padding::Explicit([0, 1]);
    assert_eq!(rows.output_len(4, padded.axis(0), WindowOp::Pooling), 2);
    // Unpadded on both axes, Caffe keeps it (and so do we).
    assert_eq!(rows.output_len(4, Padding::Explicit([0, 0]).axis(0), WindowOp::Pooling), 3);
    // Convolution never rounds up, padded or not.
    assert_eq!(rows.output_len(4, padded.axis(0), WindowOp::Convolution), 2);
}

#[test]
fn record_padding_round_trips_and_none_means_valid() {
    assert_eq!(Padding::of_record(PadStyle::None, [3, 3]), Padding::Valid);
    assert_eq!(Padding::of_record(PadStyle::TfValid, [3, 3]), Padding::Valid);
    assert_eq!(Padding::of_record(PadStyle::Caffe, [1, 2]), Padding::Explicit([1, 2]));
    assert_eq!(Padding::Explicit([1, 2]).to_record(), (PadStyle::Caffe, [1, 2]));
    assert_eq!(Axis::new(3, 2, 1).deconv_output_len(1, 2), None);
    assert_eq!(Axis::new(3, 2, 1).deconv_output_len(4, 1), Some(7));
}
