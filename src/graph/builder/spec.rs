//! The parameters of a weighted stage: [`ConvSpec`] for the sliding-window ones and the fused
//! [`Activation`], with the toolkit's mapping of an activation to the record's post-op.

use crate::blob::PostOp;
use crate::window::Padding;

/// The activation fused after a weighted stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// None (a bias alone still sets post-op "bias").
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// x ≥ 0 ? x : slope·x.
    LeakyRelu(f32),
    /// x > 0 ? x : α(eˣ − 1).
    Elu(f32),
}

impl Activation {
    /// The record's post-op and its parameter (f32 bits) as the toolkit's fusion writes them.
    pub(super) fn post_op(self, has_bias: bool) -> (PostOp, u32) {
        match self {
            Activation::None if has_bias => (PostOp::Bias, 0),
            Activation::None => (PostOp::None, 0),
            Activation::Relu => (PostOp::Relu, 0),
            Activation::Relu6 => (PostOp::ReluX, 6.0f32.to_bits()),
            Activation::LeakyRelu(slope) => (PostOp::LeakyRelu, slope.to_bits()),
            Activation::Elu(alpha) => (PostOp::Elu, alpha.to_bits()),
        }
    }
}

/// The parameters of a convolution, depthwise convolution or deconvolution: the window, the
/// weights and what is fused after it.
///
/// Start from [`ConvSpec::new`] (stride 1, VALID, no bias, no activation) and set the rest:
/// `ConvSpec::new([3, 3], &w).stride([2, 2]).padding(Padding::Same).bias(&b)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvSpec<'a> {
    /// Kernel `[rows, columns]`.
    pub kernel: [u32; 2],
    /// Stride `[rows, columns]`.
    pub stride: [u32; 2],
    /// Padding; a deconvolution takes [`Padding::Explicit`] only.
    pub padding: Padding,
    /// Weights, in the order the stage method documents.
    pub weights: &'a [f32],
    /// One bias per output channel.
    pub bias: Option<&'a [f32]>,
    /// The fused activation.
    pub activation: Activation,
}

impl<'a> ConvSpec<'a> {
    /// A `kernel` over `weights`, stride 1, VALID padding, no bias, no activation.
    pub fn new(kernel: [u32; 2], weights: &'a [f32]) -> Self {
        ConvSpec { kernel, stride: [1, 1], padding: Padding::Valid, weights, bias: None, activation: Activation::None }
    }

    /// With this stride `[rows, columns]`.
    pub fn stride(self, stride: [u32; 2]) -> Self {
        ConvSpec { stride, ..self }
    }

    /// With this padding.
    pub fn padding(self, padding: Padding) -> Self {
        ConvSpec { padding, ..self }
    }

    /// With one bias per output channel.
    pub fn bias(self, bias: &'a [f32]) -> Self {
        ConvSpec { bias: Some(bias), ..self }
    }

    /// With this fused activation.
    pub fn activation(self, activation: Activation) -> Self {
        ConvSpec { activation, ..self }
    }
}
