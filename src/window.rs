//! Sliding-window arithmetic: the one place every convolution, pooling and deconvolution asks
//! how long its output is, how much padding goes before the data, and which input cell each
//! kernel tap reads.
//!
//! These rules are a property of the graph format, not of one side of it: the builder
//! ([`crate::graph`]) uses them to size the stages it writes, the reference executor
//! ([`crate::reference`]) to resolve the stages it runs. Both depend on this module and it on
//! neither — only on the record's [`PadStyle`] in [`crate::blob`] — so it sits at crate level
//! beside `blob`, where neither side's imports can form a cycle through it.
//!
//! Two levels:
//! - [`Axis`] (one axis, `u32` record fields, 64-bit arithmetic): output lengths for TensorFlow
//!   SAME/VALID and Caffe explicit padding, TensorFlow's asymmetric SAME split, deconvolution's
//!   output length. Used while building and planning.
//! - [`Window`] (both axes, leading pads resolved, `usize`): tap → input index for convolution
//!   and pooling, its inverse for deconvolution, and Caffe's average-pool divisor. Used inside
//!   the kernels' loops.
//!
//! Formulas: TensorFlow's `GetWindowedOutputSize` (tensorflow/core/framework/kernel_shape_util.cc)
//! for SAME/VALID and the SAME split (before = ⌊total/2⌋); Caffe's `BaseConvolutionLayer`
//! (floor) and `PoolingLayer::Reshape` (ceil, then drop a last window that starts in the
//! trailing padding) for explicit pads.

use crate::blob::PadStyle;

/// Padding of a convolution, pooling or deconvolution stage, as the builder is told and a
/// record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// TensorFlow SAME: output = ⌈in/stride⌉, the padding split with the extra after the data.
    Same,
    /// TensorFlow VALID: no padding.
    Valid,
    /// Caffe-style symmetric explicit padding `[rows, columns]`.
    Explicit([u8; 2]),
}

impl Padding {
    /// The padding a record states with its pad style and explicit pads `[rows, columns]`
    /// (`none` pads nothing, like `tfvalid`; the pads count only with `caffe`).
    pub fn of_record(style: PadStyle, pads: [u8; 2]) -> Padding {
        match style {
            PadStyle::TfSame => Padding::Same,
            PadStyle::TfValid | PadStyle::None => Padding::Valid,
            PadStyle::Caffe => Padding::Explicit(pads),
        }
    }

    /// The record fields that state this padding: pad style and explicit pads `[rows, columns]`.
    pub fn to_record(self) -> (PadStyle, [u8; 2]) {
        match self {
            Padding::Same => (PadStyle::TfSame, [0, 0]),
            Padding::Valid => (PadStyle::TfValid, [0, 0]),
            Padding::Explicit(pads) => (PadStyle::Caffe, pads),
        }
    }

    /// The padding along one axis (0 = rows, 1 = columns).
    pub fn axis(self, axis: usize) -> AxisPadding {
        match self {
            Padding::Same => AxisPadding::Same,
            Padding::Valid => AxisPadding::Valid,
            Padding::Explicit(pads) => {
                AxisPadding::Explicit { pad: u32::from(pads[axis]), padded_window: pads != [0, 0] }
            }
        }
    }
}

/// Padding along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisPadding {
    /// TensorFlow SAME.
    Same,
    /// TensorFlow VALID.
    Valid,
    /// `pad` cells before and after the data (Caffe).
    Explicit {
        /// Cells of padding on each side along this axis.
        pad: u32,
        /// Whether the window is padded along either axis: Caffe's pooling drops a last window
        /// that starts in the trailing padding on *both* axes as soon as one axis is padded
        /// (`if (pad_h_ || pad_w_)` in its `PoolingLayer::Reshape`), so an unpadded axis of a
        /// padded window is clipped too.
        padded_window: bool,
    },
}

impl AxisPadding {
    /// Explicit padding of a window padded alike on both axes (`pad` on each side).
    pub const fn explicit(pad: u32) -> AxisPadding {
        AxisPadding::Explicit { pad, padded_window: pad > 0 }
    }
}

/// What slides the window; with explicit padding it decides whether a partial last window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowOp {
    /// Convolution: Caffe rounds down (only whole windows).
    Convolution,
    /// Pooling: Caffe rounds up, but drops a last window that would start in the trailing padding.
    Pooling,
}

/// One axis of a window, in record units. Kernel, stride and dilation are at least 1 (callers
/// check the record's fields first; a 0 is read as 1 here rather than dividing by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    /// Kernel taps.
    pub kernel: u32,
    /// Step between output positions.
    pub stride: u32,
    /// Spacing between taps (1 = adjacent).
    pub dilation: u32,
}

impl Axis {
    /// An axis from its kernel, stride and dilation.
    pub const fn new(kernel: u32, stride: u32, dilation: u32) -> Axis {
        Axis { kernel, stride, dilation }
    }

    /// Input cells one window spans: dilation·(kernel − 1) + 1.
    pub fn extent(self) -> u64 {
        u64::from(self.dilation.max(1)) * u64::from(self.kernel.max(1) - 1) + 1
    }

    fn step(self) -> i64 {
        i64::from(self.stride.max(1))
    }

    /// Output length over `len` input cells (0 when not even one window fits).
    pub fn output_len(self, len: u32, padding: AxisPadding, op: WindowOp) -> u64 {
        let (len, extent, s) = (i64::from(len), self.extent() as i64, self.step());
        let out = match padding {
            AxisPadding::Same => (len + s - 1) / s,
            AxisPadding::Valid => (len - extent + s).max(0) / s,
            AxisPadding::Explicit { pad, padded_window } => {
                let p = i64::from(pad);
                let room = len + 2 * p - extent;
                match op {
                    WindowOp::Convolution if room < 0 => 0,
                    WindowOp::Convolution => room / s + 1,
                    WindowOp::Pooling => {
                        let out = room.div_euclid(s) + i64::from(room.rem_euclid(s) != 0) + 1;
                        // Caffe keeps the last window only if it starts inside data + leading
                        // pad, a check it makes when either axis is padded.
                        if padded_window && (out - 1) * s >= len + p {
                            out - 1
                        } else {
                            out
                        }
                    }
                }
            }
        };
        out.max(0) as u64
    }

    /// TensorFlow SAME's padding `(before, after)` for `len` inputs and `out` outputs: the total
    /// max((out − 1)·stride + extent − len, 0), before = ⌊total/2⌋, the extra cell after.
    /// An `out` of 0 is taken as 1.
    pub fn same_padding(self, len: u32, out: u32) -> (u64, u64) {
        let needed = u64::from(out.max(1) - 1) * u64::from(self.stride.max(1)) + self.extent();
        let total = needed.saturating_sub(u64::from(len));
        (total / 2, total - total / 2)
    }

    /// Padding before the data along this axis, for `len` inputs and `out` outputs.
    pub fn pad_before(self, len: u32, out: u32, padding: AxisPadding) -> u64 {
        match padding {
            AxisPadding::Same => self.same_padding(len, out).0,
            AxisPadding::Valid => 0,
            AxisPadding::Explicit { pad, .. } => u64::from(pad),
        }
    }

    /// Deconvolution's output length for `len` inputs and explicit `pad`:
    /// stride·(len − 1) + kernel − 2·pad, or `None` when that is not positive.
    pub fn deconv_output_len(self, len: u32, pad: u32) -> Option<u64> {
        let out = self.step() * (i64::from(len) - 1) + i64::from(self.kernel) - 2 * i64::from(pad);
        u64::try_from(out).ok().filter(|&o| o > 0)
    }

    /// The symmetric explicit pad that makes a deconvolution over `len` inputs produce `out`
    /// outputs (the inverse of [`Axis::deconv_output_len`]): (stride·(len − 1) + kernel − out)/2,
    /// or `None` when that is negative or odd (the record has one pad per axis, so an odd total
    /// cannot be split). TensorFlow's `Conv2DBackpropInput` states `out`; the toolkit derives
    /// the record's pad this way.
    pub fn deconv_padding(self, len: u32, out: u32) -> Option<u64> {
        let twice = self.step() * (i64::from(len) - 1) + i64::from(self.kernel) - i64::from(out);
        (twice >= 0 && twice % 2 == 0).then_some(twice as u64 / 2)
    }
}

/// A stage's window with its leading pads resolved, `[rows, columns]` each, as the executor's
/// kernels index with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Kernel extent.
    pub kernel: [usize; 2],
    /// Step between windows.
    pub stride: [usize; 2],
    /// Padding before the first row / column (what follows the last is implied by the output size).
    pub pad: [usize; 2],
    /// Spacing between kernel taps.
    pub dilation: usize,
}

impl Window {
    /// Resolves a stage's window from its kernel, stride, dilation and padding, and its input
    /// and output sizes `[rows, columns]` (TensorFlow's SAME split depends on both).
    pub fn resolve(
        kernel: [u32; 2],
        stride: [u32; 2],
        dilation: u32,
        padding: Padding,
        input: [u32; 2],
        output: [u32; 2],
    ) -> Window {
        let pad = [0, 1].map(|a| {
            let before = Axis::new(kernel[a], stride[a], dilation).pad_before(input[a], output[a], padding.axis(a));
            usize::try_from(before).unwrap_or(usize::MAX)
        });
        Window {
            kernel: kernel.map(|k| k as usize),
            stride: stride.map(|s| s as usize),
            pad,
            dilation: dilation as usize,
        }
    }

    /// Input index that tap `tap` of output position `out` reads along `axis` (0 = rows,
    /// 1 = columns), if inside `len`; `None` means it falls on padding.
    #[inline]
    pub fn source(&self, axis: usize, out: usize, tap: usize, len: usize) -> Option<usize> {
        let pos = (out * self.stride[axis] + tap * self.dilation).checked_sub(self.pad[axis])?;
        (pos < len).then_some(pos)
    }

    /// The taps of output position `out` along `axis` that read inside `len` input cells: a
    /// contiguous range, since the position grows with the tap. Kernels loop over it instead
    /// of asking [`Window::source`] tap by tap.
    #[inline]
    pub fn taps_inside(&self, axis: usize, out: usize, len: usize) -> std::ops::Range<usize> {
        let (d, k) = (self.dilation.max(1), self.kernel[axis]);
        let start = out * self.stride[axis];
        let pad = self.pad[axis];
        // First tap with start + t·d ≥ pad, first tap with start + t·d ≥ pad + len.
        let taps_to = |position: usize| {
            let distance = position.saturating_sub(start);
            // Undilated windows (nearly all) skip the division: kernels call this per pixel.
            if d == 1 {
                distance
            } else {
                distance.div_ceil(d)
            }
        };
        let first = taps_to(pad).min(k);
        let end = taps_to(pad + len).min(k);
        first..end.max(first)
    }

    /// Deconvolution's inverse mapping: the input index that output position `out` meets
    /// through stored tap `tap` along `axis`, if any. The toolkit stores deconvolution taps
    /// flipped, so stored tap `t` is forward tap `kernel − 1 − t`, and input `i` scatters
    /// through forward tap `a` to output `i·stride + a − pad`; equivalently the output
    /// correlates the stride-dilated input, padded by kernel − 1 − pad, with the stored taps.
    #[inline]
    pub fn deconv_source(&self, axis: usize, out: usize, tap: usize, len: usize) -> Option<usize> {
        let lead = self.kernel[axis] as isize - 1 - self.pad[axis] as isize;
        let t = (out + tap) as isize - lead;
        let s = self.stride[axis] as isize;
        (t >= 0 && t % s == 0 && ((t / s) as usize) < len).then(|| (t / s) as usize)
    }

    /// Caffe's average-pool divisor along `axis` for output position `out`: the window clipped
    /// to the padded input [−pad, len + pad), padding cells included.
    pub fn padded_extent(&self, axis: usize, out: usize, len: usize) -> usize {
        let start = (out * self.stride[axis]) as isize - self.pad[axis] as isize;
        let end = (start + self.kernel[axis] as isize).min((len + self.pad[axis]) as isize);
        (end - start).max(0) as usize
    }
}

#[cfg(test)]
mod tests;
