//! Sliding-window stages: `Conv2D`, `DepthwiseConv2dNative`, `Conv2DBackpropInput`,
//! `MaxPool`/`AvgPool`, and `Pad` (kept aside until the convolution that absorbs it). Output
//! sizes and padding come from [`crate::window`], as for every other window in the crate.

use crate::blob::{PadStyle, StageType};
use crate::window::{Axis, Padding, WindowOp};

use super::super::error::CompileResult;
use super::super::front::{bad_shape, unsupported, Front, Val};
use super::super::graph::Attrs;
use super::super::ir::StageSpec;
use super::super::weights::TapsLayout;
use super::{four, u32_dim, xyz, MAX_KERNEL, MAX_PAD};

impl Front<'_> {
    pub(super) fn pad(&mut self, n: usize) -> CompileResult<()> {
        let t = self.input(n, 0)?;
        let pads = self.require_constant(n, 1, "the paddings")?;
        let p = pads.ints().ok_or_else(|| bad_shape("paddings are not integer".into()))?;
        if t.shape.len() != 4 || p.len() != 8 || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
            return Err(unsupported(format!(
                "padding {p:?} of a {:?} tensor: only rows and columns of a 4-D tensor can be padded",
                t.shape
            )));
        }
        if p.iter().any(|&v| !(0..=MAX_PAD).contains(&v)) {
            return Err(unsupported(format!(
                "padding {p:?}: the NCS record holds pads of 0 to {MAX_PAD} (one byte, docs/blob_format.md §4)"
            )));
        }
        if self.g.nodes[n].op == "PadV2" {
            let value = self.require_constant(n, 2, "the pad value")?;
            if value.floats().iter().any(|&v| v != 0.0) {
                return Err(unsupported("padding with a value other than 0".into()));
            }
        }
        let shape = vec![1, t.shape[1] + p[2] + p[3], t.shape[2] + p[4] + p[5], t.shape[3]];
        self.set(n, Val::Padded(Box::new(t.val), [[p[2], p[3]], [p[4], p[5]]]), shape)
    }

    /// Kernel strides `[sh, sw]` and padding of a conv or pool node, checking NHWC.
    fn window_attrs(&self, n: usize) -> CompileResult<([u32; 2], PadStyle)> {
        let node = &self.g.nodes[n];
        if let Some(format) = node.attr_str("data_format")? {
            if format != "NHWC" {
                return Err(unsupported(format!("data_format {format}; only NHWC graphs are supported")));
            }
        }
        let strides = node.attr_ints("strides")?.unwrap_or_else(|| vec![1, 1, 1, 1]);
        if strides.len() != 4
            || strides[0] != 1
            || strides[3] != 1
            || !(1..=255).contains(&strides[1])
            || !(1..=255).contains(&strides[2])
        {
            return Err(unsupported(format!("strides {strides:?}")));
        }
        if let Some(d) = node.attr_ints("dilations")? {
            if d.iter().any(|&v| v != 1) {
                return Err(unsupported(format!(
                    "dilations {d:?}: mvNCCompile's TF front end has no dilated convolution"
                )));
            }
        }
        let style = match node.attr_str("padding")?.as_deref() {
            Some("SAME") => PadStyle::TfSame,
            Some("VALID") => PadStyle::TfValid,
            other => return Err(unsupported(format!("padding {other:?}; use SAME or VALID (or a Pad node)"))),
        };
        Ok(([strides[1] as u32, strides[2] as u32], style))
    }

    pub(super) fn conv(&mut self, n: usize, depthwise: bool) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let (taps, w) = self.weights_of(n, 1)?;
        let (stride, mut style) = self.window_attrs(n)?;
        let (val, in_shape, pad) = match x.val {
            Val::Padded(inner, [[top, bottom], [left, right]]) => {
                if top != bottom || left != right {
                    return Err(unsupported(format!(
                        "asymmetric Pad ({top},{bottom}) rows, ({left},{right}) columns before a convolution: \
                         the NCS pads symmetrically"
                    )));
                }
                if style == PadStyle::TfSame {
                    return Err(unsupported(
                        "a Pad before a SAME convolution (use VALID after an explicit Pad)".into(),
                    ));
                }
                style = PadStyle::Caffe;
                let s = &x.shape;
                (*inner, vec![1, s[1] - 2 * top, s[2] - 2 * left, s[3]], [top as u32, left as u32])
            }
            other => (other, x.shape.clone(), [0, 0]),
        };
        let [_, h, wd, c] = four(&in_shape)?;
        if w.len() != 4 || w[2] as i64 != c {
            return Err(bad_shape(format!("kernel {w:?} for an input of {c} channels")));
        }
        let (kh, kw) = kernel_hw(w[0], w[1])?;
        let k = if depthwise { (w[2] * w[3]) as u32 } else { w[3] as u32 };
        if depthwise && w[3] != 1 {
            self.net.warnings.push(format!(
                "stage '{}': depthwise channel multiplier {} \"may not be supported\" by the firmware (NCSDK 1.12 errata)",
                self.out_name(n),
                w[3]
            ));
        }
        let padding = Padding::of_record(style, [pad[0] as u8, pad[1] as u8]);
        let [out_h, out_w] = window_out([h, wd], [kh, kw], stride, padding, WindowOp::Convolution);
        let op = if depthwise { StageType::DepthwiseConvolution } else { StageType::Convolution };
        let spec = StageSpec {
            pad,
            pad_style: style,
            radix: [kh, kw],
            stride,
            filter: [kh, kw],
            taps: Some(taps),
            ..StageSpec::simple(&self.out_name(n), op, xyz(h, wd, c)?, k)
        };
        self.add_stage(n, spec, &val, vec![1, out_h, out_w, i64::from(k)])?;
        Ok(())
    }

    pub(super) fn deconv(&mut self, n: usize) -> CompileResult<()> {
        let sizes = self.require_constant(n, 0, "the output shape")?;
        let out = sizes.ints().ok_or_else(|| bad_shape("output shape not integer".into()))?.to_vec();
        let (mut taps, w) = self.weights_of(n, 1)?;
        let x = self.input(n, 2)?;
        let (stride, _) = self.window_attrs(n)?;
        if matches!(x.val, Val::Padded(..)) {
            return Err(unsupported("a Pad before a transposed convolution".into()));
        }
        let [_, h, wd, c] = four(&x.shape)?;
        if w.len() != 4 || w[3] as i64 != c || out.len() != 4 || out[0] != 1 || out[3] != w[2] as i64 {
            return Err(bad_shape(format!("kernel {w:?}, output {out:?} for an input of {c} channels")));
        }
        let (kh, kw) = kernel_hw(w[0], w[1])?;
        // The toolkit derives a symmetric pad from the requested output size.
        let pad_of = |len: i64, k: u32, s: u32, o: i64| -> CompileResult<u32> {
            let (len, o) = (u32_dim(len)?, u32_dim(o)?);
            let pad = Axis::new(k, s, 1).deconv_padding(len, o).filter(|&p| p <= MAX_PAD as u64);
            pad.map(|p| p as u32).ok_or_else(|| {
                unsupported(format!(
                    "transposed convolution output {o} from {len} (kernel {k}, stride {s}) needs asymmetric \
                     padding or more than {MAX_PAD} on a side"
                ))
            })
        };
        let pad = [pad_of(h, kh, stride[0], out[1])?, pad_of(wd, kw, stride[1], out[2])?];
        taps.layout = TapsLayout::DeconvFlip { kh: w[0], kw: w[1], c_out: w[2], c_in: w[3] };
        let spec = StageSpec {
            pad,
            pad_style: PadStyle::Caffe,
            radix: [kh, kw],
            stride,
            filter: [kh, kw],
            taps: Some(taps),
            ..StageSpec::simple(&self.out_name(n), StageType::Deconvolution, xyz(h, wd, c)?, w[2] as u32)
        };
        self.add_stage(n, spec, &x.val, out)?;
        Ok(())
    }

    pub(super) fn pool(&mut self, n: usize, max: bool) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let (stride, style) = self.window_attrs(n)?;
        let ksize = self.g.nodes[n].attr_ints("ksize")?.unwrap_or_default();
        if ksize.len() != 4
            || ksize[0] != 1
            || ksize[3] != 1
            || !(1..=MAX_KERNEL).contains(&ksize[1])
            || !(1..=MAX_KERNEL).contains(&ksize[2])
        {
            return Err(unsupported(format!("pooling window {ksize:?}")));
        }
        let [_, h, w, c] = four(&x.shape)?;
        let (kh, kw) = (ksize[1] as u32, ksize[2] as u32);
        let op = if max { StageType::MaxPooling } else { StageType::AveragePooling };
        let spec = StageSpec {
            pad_style: style,
            radix: [kh, kw],
            stride,
            filter: [kh, kw],
            ..StageSpec::simple(&self.out_name(n), op, xyz(h, w, c)?, c as u32)
        };
        let padding = Padding::of_record(style, [0, 0]);
        let [out_h, out_w] = window_out([h, w], [kh, kw], stride, padding, WindowOp::Pooling);
        let shape = vec![1, out_h, out_w, c];
        self.add_stage(n, spec, &x.val, shape)?;
        Ok(())
    }
}

/// Kernel `[height, width]` of a weights shape, within what a record holds.
fn kernel_hw(h: usize, w: usize) -> CompileResult<(u32, u32)> {
    let fits = |k: usize| (1..=MAX_KERNEL as usize).contains(&k);
    if !fits(h) || !fits(w) {
        return Err(unsupported(format!(
            "kernel {h}×{w}: an NCS record holds kernel sides of 1 to {MAX_KERNEL} (a signed byte)"
        )));
    }
    Ok((h as u32, w as u32))
}

/// Output `[rows, columns]` of a convolution or pooling over `[h, w]` ([`crate::window`]).
fn window_out(hw: [i64; 2], kernel: [u32; 2], stride: [u32; 2], padding: Padding, op: WindowOp) -> [i64; 2] {
    [0, 1].map(|a| {
        let len = u32::try_from(hw[a]).unwrap_or(u32::MAX);
        let out = Axis::new(kernel[a], stride[a], 1).output_len(len, padding.axis(a), op);
        i64::try_from(out).unwrap_or(i64::MAX)
    })
}
