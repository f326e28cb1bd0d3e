//! Ops that become stages of their own: convolutions, pooling, fully connected, LRN,
//! elementwise and unary ops, slices and concatenations. Geometry follows the toolkit's
//! `TensorFlowParser.py` branch for each op (what it passes to `NetworkStage`).

use std::rc::Rc;

use crate::blob::{PadStyle, StageType};
use crate::window::{Axis, Padding, WindowOp};

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::front::{bad_shape, unsupported, Front, Tensor, Val};
use super::graph::Attrs;
use super::ir::{Network, StageSpec};
use super::tensor::Values;
use super::weights::{Bias, OpParams, Taps, TapsLayout, TapsSource};

impl Front<'_> {
    /// Dispatches one node by op type.
    pub(super) fn lower_op(&mut self, n: usize, op: &str) -> CompileResult<()> {
        match op {
            "Identity" | "StopGradient" | "PlaceholderWithDefault" | "Snapshot" => {
                let t = self.input(n, 0)?;
                self.set(n, t.val, t.shape);
            }
            "Reshape" | "Squeeze" | "ExpandDims" => self.reshape(n, op)?,
            "Pad" | "PadV2" => self.pad(n)?,
            "Conv2D" | "DepthwiseConv2dNative" => self.conv(n, op == "DepthwiseConv2dNative")?,
            "Conv2DBackpropInput" => self.deconv(n)?,
            "MaxPool" | "AvgPool" => self.pool(n, op == "MaxPool")?,
            "LRN" => self.lrn(n)?,
            "MatMul" => self.matmul(n)?,
            "Mean" => self.mean(n)?,
            "Sigmoid" | "Tanh" | "Softmax" => self.unary(n, op)?,
            "ConcatV2" | "Concat" => self.concat(n, op == "Concat")?,
            "Slice" if self.is_tensor_input(n, 0)? => self.slice(n)?,
            "Sum" if self.is_tensor_input(n, 0)? => self.sum(n)?,
            "Square" | "Rsqrt" if self.is_tensor_input(n, 0)? => self.square_rsqrt(n, op)?,
            "Relu" | "Relu6" | "Elu" | "LeakyRelu" => self.activation(n, op)?,
            "BiasAdd" => self.bias_add(n)?,
            "FusedBatchNorm" | "FusedBatchNormV2" | "FusedBatchNormV3" => self.batch_norm(n)?,
            "Mul" if self.leaky_muls.contains(&n) => {}
            "Add" | "AddV2" | "Sub" | "Mul" | "RealDiv" | "Div" | "Maximum" => self.binary(n, op)?,
            _ => return self.fold_constant(n, op),
        }
        Ok(())
    }

    fn is_tensor_input(&self, n: usize, i: usize) -> CompileResult<bool> {
        Ok(Front::is_tensor(&self.input(n, i)?.val))
    }

    /// The output name the toolkit gives a stage: the node's first output tensor.
    pub(super) fn out_name(&self, n: usize) -> String {
        self.g.nodes[n].name.clone()
    }

    fn reshape(&mut self, n: usize, op: &str) -> CompileResult<()> {
        let t = self.input(n, 0)?;
        let total: i64 = t.shape.iter().product();
        let shape = match op {
            "Reshape" => {
                let wanted = self.require_constant(n, 1, "the new shape")?;
                let mut dims = wanted.ints().ok_or_else(|| bad_shape("the new shape is not integer".into()))?.to_vec();
                let unknown = dims.iter().filter(|&&d| d == -1).count();
                let known: i64 = dims.iter().filter(|&&d| d != -1).product();
                if unknown > 1 || dims.iter().any(|&d| d < -1) {
                    return Err(bad_shape(format!("reshape to {dims:?}")));
                }
                if unknown == 1 && known > 0 {
                    let i = dims.iter().position(|&d| d == -1).unwrap_or(0);
                    dims[i] = total / known;
                }
                dims
            }
            "Squeeze" => {
                let axes = self.g.nodes[n].attr_ints("squeeze_dims")?.unwrap_or_default();
                let rank = t.shape.len() as i64;
                let axes: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
                t.shape
                    .iter()
                    .enumerate()
                    .filter(|&(i, &d)| !(d == 1 && (axes.is_empty() || axes.contains(&(i as i64)))))
                    .map(|(_, &d)| d)
                    .collect()
            }
            _ => {
                let axis = self.require_constant(n, 1, "the axis")?;
                let axis = axis.ints().and_then(|a| a.first().copied()).ok_or_else(|| bad_shape("bad axis".into()))?;
                let rank = t.shape.len() as i64 + 1;
                let axis = if axis < 0 { axis + rank } else { axis };
                if !(0..rank).contains(&axis) {
                    return Err(bad_shape(format!("axis {axis} for rank {}", rank - 1)));
                }
                let mut s = t.shape.clone();
                s.insert(axis as usize, 1);
                s
            }
        };
        if shape.iter().product::<i64>() != total || shape.iter().any(|&d| d < 0) {
            return Err(bad_shape(format!("{op} of {:?} to {shape:?} changes the number of elements", t.shape)));
        }
        let val = match &t.val {
            Val::Node(_) | Val::Folded(_) => {
                let c = self.constant(&t)?.expect("a constant value");
                let mut c = (*c).clone();
                c.shape = shape.iter().map(|&d| d as usize).collect();
                Val::Folded(Rc::new(c))
            }
            other => other.clone(),
        };
        self.set(n, val, shape);
        Ok(())
    }

    fn pad(&mut self, n: usize) -> CompileResult<()> {
        let t = self.input(n, 0)?;
        let pads = self.require_constant(n, 1, "the paddings")?;
        let p = pads.ints().ok_or_else(|| bad_shape("paddings are not integer".into()))?;
        if t.shape.len() != 4 || p.len() != 8 || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
            return Err(unsupported(format!(
                "padding {p:?} of a {:?} tensor: only rows and columns of a 4-D tensor can be padded",
                t.shape
            )));
        }
        if self.g.nodes[n].op == "PadV2" {
            let value = self.require_constant(n, 2, "the pad value")?;
            if value.floats().iter().any(|&v| v != 0.0) {
                return Err(unsupported("padding with a value other than 0".into()));
            }
        }
        let shape = vec![1, t.shape[1] + p[2] + p[3], t.shape[2] + p[4] + p[5], t.shape[3]];
        self.set(n, Val::Padded(Box::new(t.val), [[p[2], p[3]], [p[4], p[5]]]), shape);
        Ok(())
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

    fn weights_of(&self, n: usize, i: usize) -> CompileResult<(Taps, Vec<usize>)> {
        let t = self.input(n, i)?;
        let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
        match t.val {
            Val::Node(node) => Ok((Taps::node(node), shape)),
            Val::Folded(c) => Ok((Taps::values(c.floats()), shape)),
            _ => Err(unsupported(format!("the weights (input {i}) are not a constant: freeze the graph"))),
        }
    }

    fn conv(&mut self, n: usize, depthwise: bool) -> CompileResult<()> {
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
        if pad.iter().any(|&p| p > 255) {
            return Err(unsupported(format!("padding {pad:?} exceeds the record's u8 fields")));
        }
        let (kh, kw) = (w[0] as u32, w[1] as u32);
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

    fn deconv(&mut self, n: usize) -> CompileResult<()> {
        let sizes = self.require_constant(n, 0, "the output shape")?;
        let out = sizes.ints().ok_or_else(|| bad_shape("output shape not integer".into()))?.to_vec();
        let (mut taps, w) = self.weights_of(n, 1)?;
        let x = self.input(n, 2)?;
        let (stride, _) = self.window_attrs(n)?;
        if matches!(x.val, Val::Padded(..)) {
            return Err(unsupported("a Pad before a transposed convolution".into()));
        }
        let [_, h, wd, c] = four(&x.shape)?;
        if w.len() != 4 || w[3] as i64 != c || out.len() != 4 || out[3] != w[2] as i64 {
            return Err(bad_shape(format!("kernel {w:?}, output {out:?} for an input of {c} channels")));
        }
        // The toolkit derives a symmetric pad from the requested output size.
        let pad_of = |len: i64, k: usize, s: u32, o: i64| -> CompileResult<u32> {
            let twice = i64::from(s) * (len - 1) + k as i64 - o;
            if twice % 2 != 0 || !(0..=510).contains(&twice) {
                return Err(unsupported(format!(
                    "transposed convolution output {o} from {len} (kernel {k}, stride {s}) needs asymmetric padding"
                )));
            }
            Ok((twice / 2) as u32)
        };
        let pad = [pad_of(h, w[0], stride[0], out[1])?, pad_of(wd, w[1], stride[1], out[2])?];
        taps.layout = TapsLayout::DeconvFlip { kh: w[0], kw: w[1], c_out: w[2], c_in: w[3] };
        let spec = StageSpec {
            pad,
            pad_style: PadStyle::Caffe,
            radix: [w[0] as u32, w[1] as u32],
            stride,
            filter: [w[0] as u32, w[1] as u32],
            taps: Some(taps),
            ..StageSpec::simple(&self.out_name(n), StageType::Deconvolution, xyz(h, wd, c)?, w[2] as u32)
        };
        self.add_stage(n, spec, &x.val, out)?;
        Ok(())
    }

    fn pool(&mut self, n: usize, max: bool) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let (stride, style) = self.window_attrs(n)?;
        let ksize = self.g.nodes[n].attr_ints("ksize")?.unwrap_or_default();
        if ksize.len() != 4
            || ksize[0] != 1
            || ksize[3] != 1
            || !(1..=127).contains(&ksize[1])
            || !(1..=127).contains(&ksize[2])
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

    fn lrn(&mut self, n: usize) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let node = &self.g.nodes[n];
        let radius = node.attr_int("depth_radius")?.unwrap_or(5);
        let bias = node.attr_float("bias")?.unwrap_or(1.0);
        let alpha = node.attr_float("alpha")?.unwrap_or(1.0);
        let beta = node.attr_float("beta")?.unwrap_or(0.5);
        if !(0..=63).contains(&radius) {
            return Err(unsupported(format!("depth_radius {radius}")));
        }
        let [_, h, w, c] = four(&x.shape)?;
        let window = 2 * radius as u32 + 1;
        // The toolkit multiplies alpha (a Python float) by the window in float64 before fp16.
        let params = [bias, (f64::from(alpha) * f64::from(window)) as f32, beta, 0.0];
        let spec = StageSpec {
            radix: [0, window],
            filter: [0, 0],
            bias: Some(Bias::params(&params)),
            ..StageSpec::simple(&self.out_name(n), StageType::Lrn, xyz(h, w, c)?, c as u32)
        };
        self.add_stage(n, spec, &x.val, x.shape.clone())?;
        Ok(())
    }

    fn matmul(&mut self, n: usize) -> CompileResult<()> {
        let node = &self.g.nodes[n];
        if node.attr_bool("transpose_a")? == Some(true) || node.attr_bool("transpose_b")? == Some(true) {
            return Err(unsupported("MatMul with transposed operands; store the weights as [in, out]".into()));
        }
        let x = self.input(n, 0)?;
        let (mut taps, w) = self.weights_of(n, 1)?;
        taps.round_first = true;
        if x.shape.len() != 2 || w.len() != 2 || x.shape[1] != w[0] as i64 {
            return Err(bad_shape(format!("MatMul of {:?} by {w:?}", x.shape)));
        }
        if x.shape[0] != 1 {
            return Err(bad_shape(format!("batch {} (the NCS runs batch 1)", x.shape[0])));
        }
        let k = w[1] as u32;
        let c = u32_dim(x.shape[1])?;
        let spec = StageSpec {
            taps: Some(taps),
            ..StageSpec::simple(&self.out_name(n), StageType::FullyConnected, [0, 1, c], k)
        };
        self.add_stage(n, spec, &x.val, vec![1, i64::from(k)])?;
        Ok(())
    }

    fn mean(&mut self, n: usize) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let axes = self.require_constant(n, 1, "the reduction axes")?;
        let axes = axes.ints().unwrap_or(&[]).to_vec();
        if axes != [1, 2] {
            return Err(unsupported(format!("Mean over axes {axes:?}; only over [1, 2] (global average pooling)")));
        }
        let [_, h, w, c] = four(&x.shape)?;
        let keep = self.g.nodes[n].attr_bool("keep_dims")?.unwrap_or(false);
        let (hu, wu) = (u32_dim(h)?, u32_dim(w)?);
        let spec = StageSpec {
            pad_style: PadStyle::TfValid,
            radix: [hu, wu],
            filter: [hu, wu],
            ..StageSpec::simple(&self.out_name(n), StageType::AveragePooling, xyz(h, w, c)?, c as u32)
        };
        let shape = if keep { vec![1, 1, 1, c] } else { vec![1, c] };
        self.add_stage(n, spec, &x.val, shape)?;
        Ok(())
    }

    /// Sigmoid, Tanh, Softmax: the toolkit passes the input's dimension 1 as output channels
    /// (quirk 2: on a 4-D tensor that is H, not C).
    fn unary(&mut self, n: usize, op: &str) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let (xyz, k) = quirky_xyz(&x.shape)?;
        let stage_op = match op {
            "Softmax" => StageType::SoftMax,
            "Sigmoid" => StageType::Sigmoid,
            _ => StageType::Tanh,
        };
        let mut spec = StageSpec::simple(&self.out_name(n), stage_op, xyz, k);
        if stage_op == StageType::SoftMax {
            spec.op_params = Some(OpParams::I32(vec![1]));
        }
        self.quirk2_warning(&spec.name, &x.shape, k);
        self.add_stage(n, spec, &x.val, x.shape.clone())?;
        Ok(())
    }

    fn square_rsqrt(&mut self, n: usize, op: &str) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let (xyz, k) = quirky_xyz(&x.shape)?;
        let stage_op = if op == "Square" { StageType::Square } else { StageType::Rsqrt };
        // These two stages are named after the node, not its output tensor.
        let spec =
            StageSpec { radix: [0, 0], filter: [0, 0], ..StageSpec::simple(&self.g.nodes[n].name, stage_op, xyz, k) };
        self.quirk2_warning(&spec.name, &x.shape, k);
        self.add_stage(n, spec, &x.val, x.shape.clone())?;
        Ok(())
    }

    fn quirk2_warning(&mut self, name: &str, shape: &[i64], k: u32) {
        if shape.len() == 4 && i64::from(k) != shape[3] {
            self.net.warnings.push(format!(
                "stage '{name}': its output descriptor has {k} channels (the input's H) instead of {}, as \
                 mvNCCompile writes it (toolkit quirk 2); the stick returns {} values",
                shape[3],
                i64::from(k) * shape[1] * shape[2]
            ));
        }
    }

    fn sum(&mut self, n: usize) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let axis = self.require_constant(n, 1, "the axis")?;
        let rank = x.shape.len() as i64;
        let axis = axis.ints().and_then(|a| (a.len() == 1).then_some(a[0])).unwrap_or(-99);
        let keep = self.g.nodes[n].attr_bool("keep_dims")?.unwrap_or(false);
        if axis != rank - 1 || !keep {
            return Err(unsupported(format!("Sum over axis {axis}: only over the last axis with keep_dims")));
        }
        let (xyz, _) = quirky_xyz(&x.shape)?;
        let spec = StageSpec {
            radix: [0, 0],
            filter: [0, 0],
            op_params: Some(OpParams::F16(vec![axis as f32, 0.0])),
            ..StageSpec::simple(&self.g.nodes[n].name, StageType::SumReduce, xyz, 1)
        };
        let mut shape = x.shape.clone();
        *shape.last_mut().expect("rank ≥ 1") = 1;
        self.add_stage(n, spec, &x.val, shape)?;
        Ok(())
    }

    fn slice(&mut self, n: usize) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let begin = self.require_constant(n, 1, "the begin")?;
        let size = self.require_constant(n, 2, "the size")?;
        let (b, s) = (begin.ints().unwrap_or(&[]), size.ints().unwrap_or(&[]));
        let shape = &x.shape;
        let whole = |i: usize| b.get(i) == Some(&0) && (s.get(i) == Some(&shape[i]) || s.get(i) == Some(&-1));
        if shape.len() != 4 || b.len() != 4 || s.len() != 4 || !(0..3).all(whole) {
            return Err(unsupported(format!("Slice begin {b:?} size {s:?}: only channel slices of a 4-D tensor")));
        }
        let count = if s[3] == -1 { shape[3] - b[3] } else { s[3] };
        if b[3] < 0 || count <= 0 || b[3] + count > shape[3] {
            return Err(bad_shape(format!("channels {}..{} of {}", b[3], b[3] + count, shape[3])));
        }
        let [_, h, w, c] = four(shape)?;
        let spec = StageSpec {
            slice: Some([b[3] as u32, (b[3] + count) as u32]),
            ..StageSpec::simple(&self.out_name(n), StageType::Copy, xyz(h, w, c)?, count as u32)
        };
        self.add_stage(n, spec, &x.val, vec![1, h, w, count])?;
        Ok(())
    }

    fn concat(&mut self, n: usize, axis_first: bool) -> CompileResult<()> {
        let count = self.g.inputs[n].len();
        if count < 2 {
            return Err(CompileError::new(CompileErrorKind::NotAGraph, "a concatenation needs an axis and values"));
        }
        let (axis_at, values): (usize, Vec<usize>) =
            if axis_first { (0, (1..count).collect()) } else { (count - 1, (0..count - 1).collect()) };
        let tensors: Vec<Tensor> = values.iter().map(|&i| self.input(n, i)).collect::<CompileResult<_>>()?;
        if tensors.iter().all(|t| !Front::is_tensor(&t.val)) {
            return self.fold_constant(n, self.g.nodes[n].op.clone().as_str());
        }
        let axis = self.require_constant(n, axis_at, "the axis")?;
        let rank = tensors[0].shape.len() as i64;
        let axis = axis.ints().and_then(|a| a.first().copied()).unwrap_or(-99);
        if axis != -1 && axis != rank - 1 {
            return Err(unsupported(format!("concatenation along axis {axis}; only along channels (the last axis)")));
        }
        let mut members = Vec::new();
        let mut channels = 0;
        for t in &tensors {
            if t.shape[..t.shape.len() - 1] != tensors[0].shape[..tensors[0].shape.len() - 1]
                || t.shape.len() as i64 != rank
            {
                return Err(bad_shape(format!("concatenating {:?} and {:?}", tensors[0].shape, t.shape)));
            }
            channels += t.shape[t.shape.len() - 1];
            match &t.val {
                Val::Stage { .. } => {
                    let s = self.fusable(&t.val, "a concatenation member")?;
                    members.push(s);
                }
                Val::Concat(inner) => members.extend(inner.iter().copied()),
                _ => {
                    return Err(unsupported(
                        "a concatenation of the network input or a constant (mvNCCompile's explicit concat) \
                         is not supported; concatenate stage outputs"
                            .into(),
                    ))
                }
            }
        }
        for &m in &members {
            self.consumed[m] = true;
        }
        let mut shape = tensors[0].shape.clone();
        *shape.last_mut().expect("rank ≥ 1") = channels;
        self.set(n, Val::Concat(members), shape);
        Ok(())
    }

    /// Creates a stage reading `val` for node `n`.
    pub(super) fn add_stage(&mut self, n: usize, spec: StageSpec, val: &Val, shape: Vec<i64>) -> CompileResult<usize> {
        let source = self.source(val)?;
        let stage = Network::make_stage(spec);
        let index = self.net.attach(stage, &source);
        self.stage_output(n, index, shape);
        Ok(index)
    }

    /// Creates a stage with taps of a constant (scale or max_with_const) for node `n`.
    ///
    /// A single constant is written once per channel: the record (like mvNCCompile's) claims
    /// one value per channel, and mvNCCompile's one-value buffer left the others to the zero
    /// padding.
    pub(super) fn const_taps_stage(
        &mut self,
        n: usize,
        op: StageType,
        x: &Tensor,
        taps: Vec<f32>,
    ) -> CompileResult<usize> {
        let (xyz, _) = quirky_xyz(&x.shape)?;
        let taps = if taps.len() == 1 { vec![taps[0]; xyz[2] as usize] } else { taps };
        let name = if op == StageType::MaxWithConst { self.g.nodes[n].name.clone() } else { self.out_name(n) };
        let spec = StageSpec {
            radix: [0, 0],
            filter: [0, 0],
            taps: Some(Taps { source: TapsSource::Values(taps), ..Taps::values(Vec::new()) }),
            ..StageSpec::simple(&name, op, xyz, xyz[2])
        };
        self.add_stage(n, spec, &x.val, x.shape.clone())
    }
}

/// A constant's values as f32 (ints converted).
pub fn const_floats(c: &super::tensor::Constant) -> Vec<f32> {
    match &c.values {
        Values::Float(v) => v.clone(),
        Values::Int(v) => v.iter().map(|&i| i as f32).collect(),
    }
}

/// `[N, H, W, C]` of a 4-D shape.
pub fn four(shape: &[i64]) -> CompileResult<[i64; 4]> {
    match shape {
        [n, h, w, c] if *n == 1 && *h > 0 && *w > 0 && *c > 0 => Ok([*n, *h, *w, *c]),
        _ => Err(bad_shape(format!("expected a [1, H, W, C] tensor, found {shape:?}"))),
    }
}

/// A dimension as a record field.
pub fn u32_dim(d: i64) -> CompileResult<u32> {
    u32::try_from(d).ok().filter(|&v| v > 0 && v <= 1 << 24).ok_or_else(|| bad_shape(format!("dimension {d}")))
}

/// The toolkit's `(x, y, c)` of a 4-D input: x = H, y = W (quirk 1).
pub fn xyz(h: i64, w: i64, c: i64) -> CompileResult<[u32; 3]> {
    Ok([u32_dim(h)?, u32_dim(w)?, u32_dim(c)?])
}

/// `(x, y, c)` as the toolkit passes them to elementwise stages, and its `k` for the unary ops:
/// the input's dimension 1 (quirk 2: H of a 4-D `[1, H, W, C]`, C of a 2-D `[1, C]`).
pub fn quirky_xyz(shape: &[i64]) -> CompileResult<([u32; 3], u32)> {
    match shape {
        [1, h, w, c] => {
            let xyz = xyz(*h, *w, *c)?;
            Ok((xyz, xyz[0]))
        }
        [1, c] => {
            let c = u32_dim(*c)?;
            Ok(([1, 1, c], c))
        }
        _ => Err(bad_shape(format!("expected [1, H, W, C] or [1, N], found {shape:?}"))),
    }
}

/// Output `[rows, columns]` of a convolution or pooling over `[h, w]` ([`crate::window`]).
pub fn window_out(hw: [i64; 2], kernel: [u32; 2], stride: [u32; 2], padding: Padding, op: WindowOp) -> [i64; 2] {
    [0, 1].map(|a| {
        let len = u32::try_from(hw[a]).unwrap_or(u32::MAX);
        let out = Axis::new(kernel[a], stride[a], 1).output_len(len, padding.axis(a), op);
        i64::try_from(out).unwrap_or(i64::MAX)
    })
}
