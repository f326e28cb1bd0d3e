//! Stages that read a whole tensor without a sliding window: `MatMul` (fully connected),
//! `LRN`, `Mean` over H and W (a global average pool), `Sum` over channels, `Sigmoid`/`Tanh`/
//! `Softmax`, and `Square`/`Rsqrt` on tensors.

use crate::blob::{PadStyle, StageType};

use super::super::error::CompileResult;
use super::super::front::{bad_shape, unsupported, Front};
use super::super::graph::Attrs;
use super::super::ir::StageSpec;
use super::super::weights::{Bias, OpParams};
use super::{four, quirky_xyz, u32_dim, xyz};

impl Front<'_> {
    pub(super) fn lrn(&mut self, n: usize) -> CompileResult<()> {
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

    pub(super) fn matmul(&mut self, n: usize) -> CompileResult<()> {
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

    pub(super) fn mean(&mut self, n: usize) -> CompileResult<()> {
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
    pub(super) fn unary(&mut self, n: usize, op: &str) -> CompileResult<()> {
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

    pub(super) fn square_rsqrt(&mut self, n: usize, op: &str) -> CompileResult<()> {
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

    pub(super) fn sum(&mut self, n: usize) -> CompileResult<()> {
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
}
