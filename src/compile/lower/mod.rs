//! Ops that become stages of their own, one file per kind of op, following the toolkit's
//! `TensorFlowParser.py` branch for each (what it passes to `NetworkStage`):
//!
//! - [`windowed`]: sliding-window stages — convolution, depthwise and transposed convolution,
//!   pooling, and the `Pad` folded into the convolution after it;
//! - [`whole_tensor`]: stages over a whole tensor — fully connected, LRN, `Mean`, `Sum`,
//!   sigmoid/tanh/softmax, square/rsqrt;
//! - [`layout`]: ops that only rearrange — `Reshape`/`Squeeze`/`ExpandDims` (no stage), channel
//!   `Slice` (a copy stage) and channel concatenation (shared buffers).
//!
//! This file dispatches by op and holds what all of them share: creating a stage and the
//! toolkit's dimension conventions.

mod layout;
mod whole_tensor;
mod windowed;

use crate::blob::StageType;

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::front::{bad_shape, unsupported, Front, Tensor, Val, MAX_TENSOR_VALUES};
use super::ir::{Network, StageSpec};
use super::weights::{Taps, TapsSource};

/// Largest kernel side a record holds: `radixX`/`radixY` are signed bytes, −1 meaning "global"
/// (docs/blob_format.md §4).
pub const MAX_KERNEL: i64 = 127;
/// Largest explicit pad a record holds: `padX`/`padY` are unsigned bytes (docs/blob_format.md §4).
pub const MAX_PAD: i64 = 255;

impl Front<'_> {
    /// Dispatches one node by op type.
    pub(super) fn lower_op(&mut self, n: usize, op: &str) -> CompileResult<()> {
        match op {
            "Identity" | "StopGradient" | "PlaceholderWithDefault" | "Snapshot" => {
                let t = self.input(n, 0)?;
                self.set(n, t.val, t.shape)?;
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

    /// The constant weights of input `i` and their shape (not decoded: a `Const` is read when
    /// written, a folded constant shared).
    fn weights_of(&self, n: usize, i: usize) -> CompileResult<(Taps, Vec<usize>)> {
        let t = self.input(n, i)?;
        let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
        match t.val {
            Val::Node(node) => Ok((Taps::node(node), shape)),
            Val::Folded(c) => Ok((Taps::folded(c), shape)),
            _ => Err(unsupported(format!("the weights (input {i}) are not a constant: freeze the graph"))),
        }
    }

    /// The output name the toolkit gives a stage: the node's first output tensor.
    pub(super) fn out_name(&self, n: usize) -> String {
        self.g.nodes[n].name.clone()
    }

    /// Creates a stage reading `val` for node `n`.
    pub(super) fn add_stage(&mut self, n: usize, spec: StageSpec, val: &Val, shape: Vec<i64>) -> CompileResult<usize> {
        let source = self.source(val)?;
        let stage = Network::make_stage(spec);
        // The record's own dims (which may differ from TensorFlow's shape by the toolkit's
        // quirks) are bounded like every tensor before any buffer is sized from them.
        for dims in [stage.in_dims, stage.out_dims] {
            if dims.product() > MAX_TENSOR_VALUES as u64 {
                return Err(CompileError::new(
                    CompileErrorKind::Limit,
                    format!("stage '{}' of {dims:?} holds more than {MAX_TENSOR_VALUES} values", stage.name),
                ));
            }
        }
        let index = self.net.attach(stage, &source);
        self.stage_output(n, index, shape)?;
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
