//! Ops folded into the stage before them, and the binary ops: activations as post-ops, bias,
//! batch norm (into a convolution's taps and bias, or a scale stage), `Mul`/`RealDiv` by a
//! constant (into a convolution, or a scale stage), and elementwise ops of two tensors.

use crate::blob::{PostOp, StageType};

use super::error::CompileResult;
use super::front::{bad_shape, unsupported, Front, Tensor, Val};
use super::graph::{Attrs, Graph, TensorRef};
use super::ir::{Network, StageSpec, TapsSlot};
use super::lower::quirky_xyz;
use super::tensor::{Constant, Values};
use super::weights::{Bias, ChannelOp};

fn is_activation(op: PostOp) -> bool {
    matches!(op, PostOp::Relu | PostOp::ReluX | PostOp::LeakyRelu | PostOp::Elu)
}

impl Front<'_> {
    /// Relu, Relu6, Elu, LeakyRelu: the post-op of the stage before.
    pub(super) fn activation(&mut self, n: usize, op: &str) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let what = format!("{op} (a post-op)");
        let s = self.fusable(&x.val, &what)?;
        let alpha = self.g.nodes[n].attr_float("alpha")?;
        let (post, param) = match op {
            "Relu" => (PostOp::Relu, 0),
            "Relu6" => (PostOp::ReluX, 6.0f32.to_bits()),
            "Elu" => (PostOp::Elu, 1.0f32.to_bits()),
            _ => (PostOp::LeakyRelu, alpha.unwrap_or(0.2).to_bits()),
        };
        self.set_post_op(s, post, param)?;
        self.fused(n, s, self.out_name(n), x.shape)?;
        Ok(())
    }

    fn set_post_op(&mut self, s: usize, post: PostOp, param: u32) -> CompileResult<()> {
        let stage = &mut self.net.stages[s];
        if is_activation(stage.post_op) {
            return Err(unsupported(format!(
                "a second activation on stage '{}' (it already has {})",
                stage.name, stage.post_op
            )));
        }
        stage.post_op = post;
        stage.post_param = param;
        Ok(())
    }

    /// BiasAdd: the bias of the stage before.
    pub(super) fn bias_add(&mut self, n: usize) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let b = self.require_constant(n, 1, "the bias")?;
        self.add_bias(n, &x, &b, false)
    }

    /// `addBias` with a constant (negated for `Sub`), fused into the stage producing `x`.
    fn add_bias(&mut self, n: usize, x: &Tensor, c: &Constant, negate: bool) -> CompileResult<()> {
        let k = *x.shape.last().unwrap_or(&0);
        let mut values = c.floats();
        if values.len() != 1 && values.len() as i64 != k {
            return Err(bad_shape(format!("a bias of {} values for {k} channels", values.len())));
        }
        if values.len() == 1 {
            values = vec![values[0]; k.max(0) as usize];
        }
        if negate {
            values.iter_mut().for_each(|v| *v = -*v);
        }
        let s = self.fusable(&x.val, "a bias")?;
        let stage = &mut self.net.stages[s];
        if !matches!(
            stage.op,
            StageType::Convolution
                | StageType::DepthwiseConvolution
                | StageType::FullyConnected
                | StageType::Scale
                | StageType::Deconvolution
        ) {
            return Err(unsupported(format!("a bias after a {} stage ('{}')", stage.op, stage.name)));
        }
        if is_activation(stage.post_op) {
            return Err(unsupported(format!("a bias after the activation of stage '{}'", stage.name)));
        }
        let bias = Bias::rounded(&values);
        match &mut stage.bias {
            Some(existing) => existing.add(&bias),
            None => {
                stage.bias = Some(bias);
                stage.post_op = PostOp::Bias;
            }
        }
        self.fused(n, s, self.out_name(n), x.shape.clone())?;
        Ok(())
    }

    /// FusedBatchNorm (V1/V2/V3) at inference: folded into a preceding convolution, depthwise
    /// convolution or fully connected stage, otherwise a scale stage.
    pub(super) fn batch_norm(&mut self, n: usize) -> CompileResult<()> {
        let node = &self.g.nodes[n];
        if node.attr_bool("is_training")?.unwrap_or(true) {
            return Err(unsupported(
                "a batch norm in training mode (is_training=True): export the inference graph".into(),
            ));
        }
        if node.attr_str("data_format")?.is_some_and(|f| f != "NHWC") {
            return Err(unsupported("a batch norm in NCHW format".into()));
        }
        let eps = node.attr_float("epsilon")?.unwrap_or(1e-4);
        let x = self.input(n, 0)?;
        let [gamma, beta, mean, var] =
            [1, 2, 3, 4].map(|i| self.require_constant(n, i, "a batch norm parameter").map(|c| c.floats()));
        let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
        let c = *x.shape.last().unwrap_or(&0) as usize;
        if mean.is_empty() || var.is_empty() {
            return Err(unsupported("a batch norm without moving mean and variance (a training graph)".into()));
        }
        if [&gamma, &beta, &mean, &var].iter().any(|v| v.len() != c) {
            return Err(bad_shape(format!("batch norm parameters for {c} channels have other lengths")));
        }
        // The toolkit's arithmetic, in float32: 1/sqrt(var + eps) * gamma, beta - mean * scale.
        let scale: Vec<f32> = var.iter().zip(&gamma).map(|(&v, &g)| (1.0 / (v + eps).sqrt()) * g).collect();
        let shift: Vec<f32> = beta.iter().zip(&mean).zip(&scale).map(|((&b, &m), &s)| b - m * s).collect();
        let target = self.fusable(&x.val, "a batch norm").ok().filter(|&s| {
            let st = &self.net.stages[s];
            let dw_ok = st.op != StageType::DepthwiseConvolution || st.out_dims.z == st.in_dims.z;
            matches!(st.op, StageType::Convolution | StageType::DepthwiseConvolution | StageType::FullyConnected)
                && dw_ok
                && !is_activation(st.post_op)
        });
        let Some(s) = target else {
            let stage = self.const_taps_stage(n, StageType::Scale, &x, scale)?;
            let st = &mut self.net.stages[stage];
            st.bias = Some(Bias::rounded(&shift));
            st.post_op = PostOp::Bias;
            return Ok(());
        };
        let stage = &mut self.net.stages[s];
        if let TapsSlot::Weights(taps) = &mut stage.taps {
            taps.ops.push(ChannelOp::Mul(scale.clone()));
        }
        match &mut stage.bias {
            Some(bias) => bias.scale_shift(&scale, &shift),
            None => {
                stage.bias = Some(Bias::rounded(&shift));
                stage.post_op = PostOp::Bias;
            }
        }
        let name = format!("{}/{}", stage.name, self.g.nodes[n].name);
        self.fused(n, s, name, x.shape)?;
        Ok(())
    }

    /// Add, Sub, Mul, RealDiv, Maximum.
    pub(super) fn binary(&mut self, n: usize, op: &str) -> CompileResult<()> {
        if op == "Maximum" {
            if let Some((mul, x, alpha)) = leaky_pattern(self.g, n) {
                if self.leaky_muls.contains(&mul) {
                    let x = self.tensor(x)?;
                    let s = self.fusable(&x.val, "a leaky ReLU")?;
                    self.set_post_op(s, PostOp::LeakyRelu, alpha.to_bits())?;
                    self.fused(n, s, self.out_name(n), x.shape)?;
                    return Ok(());
                }
            }
        }
        let (a, b) = (self.input(n, 0)?, self.input(n, 1)?);
        match (Front::is_tensor(&a.val), Front::is_tensor(&b.val)) {
            (false, false) => self.fold_constant(n, op),
            (true, true) => self.eltwise(n, op, &a, &b),
            (a_is_tensor, _) => {
                let (x, c) = if a_is_tensor { (a, b) } else { (b, a) };
                let c = self.constant(&c)?.expect("a constant operand");
                match op {
                    "Add" | "AddV2" => self.add_bias(n, &x, &c, false),
                    "Sub" if a_is_tensor => self.add_bias(n, &x, &c, true),
                    "Mul" => self.mul_const(n, &x, &c, a_is_tensor, false),
                    "RealDiv" | "Div" if a_is_tensor => self.mul_const(n, &x, &c, true, true),
                    "Maximum" => {
                        let taps = c.floats();
                        self.check_channel_values(taps.len(), &x)?;
                        self.const_taps_stage(n, StageType::MaxWithConst, &x, taps)?;
                        Ok(())
                    }
                    _ => Err(unsupported(format!("{op} of a constant by a tensor"))),
                }
            }
        }
    }

    fn check_channel_values(&self, count: usize, x: &Tensor) -> CompileResult<()> {
        let c = *x.shape.last().unwrap_or(&0);
        if count != 1 && count as i64 != c {
            return Err(bad_shape(format!("{count} constant values for a tensor of {c} channels")));
        }
        Ok(())
    }

    /// Mul or RealDiv by a constant: absorbed into the convolution before (if its output has
    /// no other consumer in the graph), otherwise a scale stage.
    fn mul_const(&mut self, n: usize, x: &Tensor, c: &Constant, x_first: bool, divide: bool) -> CompileResult<()> {
        let factors = c.floats();
        self.check_channel_values(factors.len(), x)?;
        let x_ref = self.g.inputs[n][if x_first { 0 } else { 1 }];
        let single_use = self.uses.get(&x_ref).copied().unwrap_or(0) == 1;
        let absorb = match &x.val {
            Val::Stage { stage, .. } => {
                // Not past an activation: relu(x)·a is relu(a·x) only for a > 0.
                single_use
                    && self.net.stages[*stage].op == StageType::Convolution
                    && !is_activation(self.net.stages[*stage].post_op)
                    && self.fusable(&x.val, "a multiplication").is_ok()
            }
            _ => false,
        };
        if !absorb {
            // mvNCCompile used the divisor itself as the multiplier of a RealDiv scale stage
            // (a wrong result); the reciprocal is what the graph means.
            let taps = if divide { factors.iter().map(|&f| 1.0 / f).collect() } else { factors };
            self.const_taps_stage(n, StageType::Scale, x, taps)?;
            return Ok(());
        }
        let s = self.fusable(&x.val, "a multiplication")?;
        let out_name = self.out_name(n);
        let stage = &mut self.net.stages[s];
        if let TapsSlot::Weights(taps) = &mut stage.taps {
            taps.ops.push(if divide { ChannelOp::Div(factors.clone()) } else { ChannelOp::Mul(factors.clone()) });
        }
        if let Some(bias) = &mut stage.bias {
            bias.apply(&factors, c.shape.is_empty(), divide);
        }
        let name = format!("{}/{}", stage.name, out_name);
        self.fused(n, s, name, x.shape.clone())?;
        Ok(())
    }

    /// Add, Mul, Maximum (and Sub as a negating scale plus a sum) of two tensors.
    fn eltwise(&mut self, n: usize, op: &str, a: &Tensor, b: &Tensor) -> CompileResult<()> {
        let stage_op = match op {
            "Add" | "AddV2" | "Sub" => StageType::EltwiseSum,
            "Mul" if b.shape.last() == Some(&1) && a.shape.last() != Some(&1) => StageType::ScaleWithScalar,
            "Mul" => StageType::EltwiseProd,
            "Maximum" => StageType::EltwiseMax,
            _ => return Err(unsupported(format!("{op} of two tensors; supported: Add, Sub, Mul, Maximum"))),
        };
        if a.shape != b.shape && stage_op != StageType::ScaleWithScalar {
            return Err(unsupported(format!("{op} of tensors shaped {:?} and {:?} (broadcasting)", a.shape, b.shape)));
        }
        let (xyz, _) = quirky_xyz(&a.shape)?;
        let mut second = b.val.clone();
        if op == "Sub" {
            let name = format!("{}/negate", self.out_name(n));
            let spec = StageSpec {
                radix: [0, 0],
                filter: [0, 0],
                taps: Some(super::weights::Taps::values(vec![-1.0; xyz[2] as usize])),
                ..StageSpec::simple(&name, StageType::Scale, quirky_xyz(&b.shape)?.0, xyz[2])
            };
            let negated = self.add_stage(n, spec, &b.val, b.shape.clone())?;
            second = Val::Stage { stage: negated, version: 0 };
        }
        let first = self.source(&a.val)?;
        let second = self.source(&second)?;
        let spec =
            StageSpec { filter: [xyz[0], xyz[1]], ..StageSpec::simple(&self.out_name(n), stage_op, xyz, xyz[2]) };
        let stage = Network::make_stage(spec);
        let index = self.net.attach_two(stage, &first, &second);
        self.stage_output(n, index, a.shape.clone())?;
        Ok(())
    }
}

/// For a `Maximum` node `n`: `(mul node, x, alpha)` if it is `Maximum(x, Mul(alpha, x))` (either
/// operand order) with a scalar constant `alpha`.
pub fn leaky_pattern(g: &Graph, n: usize) -> Option<(usize, TensorRef, f32)> {
    let &[a, b] = g.inputs[n].as_slice() else { return None };
    for (m, x) in [(a, b), (b, a)] {
        let mul = &g.nodes[m.node];
        if mul.op != "Mul" || g.inputs[m.node].len() != 2 {
            continue;
        }
        let mins = &g.inputs[m.node];
        for (a, b) in [(mins[0], mins[1]), (mins[1], mins[0])] {
            if b != x {
                continue;
            }
            let alpha = scalar_const(g, a.node)?;
            return Some((m.node, x, alpha));
        }
    }
    None
}

/// A scalar float constant behind Identity nodes (its shape is read first, so that a large
/// constant is not decoded to find it is not a scalar).
fn scalar_const(g: &Graph, mut n: usize) -> Option<f32> {
    // Identity chains are bounded by the node count; a cycle of them ends the walk.
    for _ in 0..g.nodes.len() {
        if g.nodes[n].op != "Identity" {
            break;
        }
        n = g.inputs[n].first()?.node;
    }
    if g.constant_shape(n).ok()?.iter().product::<usize>() != 1 {
        return None;
    }
    let c = g.constant(n).ok()?;
    match (&c.values, c.shape.iter().product::<usize>()) {
        (Values::Float(v), 1) => Some(v[0]),
        _ => None,
    }
}
