//! The op-by-op choice: which [`Kernel`] a stage record becomes, which shapes its operands are
//! read and written as, and the fused bias and activation.

use crate::blob::{Dims, PadStyle, PostOp, StageType, Tensor};
use crate::error::Result;

use super::{flat, shape, Kernel, Planner, Role, Step};
use crate::reference::arena::View;
use crate::reference::ops::elementwise::{Activation, Binary, Unary};
use crate::reference::ops::pool::{AvgDivisor, PoolKind};
use crate::reference::ops::Shape;

impl Planner<'_> {
    /// Plans the stage: its kernel, operand views and shapes, bias and activation.
    pub(super) fn step(&self) -> Result<Step> {
        use StageType as Op;
        let s = self.stage;
        let out_dims = s.output.dims;
        let out_shape = shape(out_dims);
        // Shape-preserving ops read the input through its strides with the output's dims: the
        // records' own description, which reproduces the toolkit's dimension quirks.
        let same_shape =
            || -> Result<(View, Shape)> { Ok((self.view(&s.input, Some(out_dims), Role::Input)?, out_shape)) };
        let own_shape =
            || -> Result<(View, Shape)> { Ok((self.view(&s.input, None, Role::Input)?, shape(s.input.dims))) };
        // Pooling windows each channel on its own: a record whose output has other channels
        // than its input describes no pooling (the kernel sizes its rows from the input).
        let pool_shape = || -> Result<(View, Shape)> {
            if s.input.dims.z != out_dims.z {
                return Err(self.fail(format!(
                    "pooling keeps the channels, but the input has {} and the output (outputDimZ) {}",
                    s.input.dims.z, out_dims.z
                )));
            }
            own_shape()
        };

        let (kernel, (input, in_shape)) = match s.op {
            Op::Convolution => {
                let window = self.window(true)?;
                let count = weight_count(&window, s.input.dims.z as usize, out_shape.channels);
                (
                    Kernel::Conv { weights: self.blob_range(&s.taps.location, s.taps.pointer, count, "taps")?, window },
                    own_shape()?,
                )
            }
            Op::DepthwiseConvolution => {
                let window = self.window(false)?;
                let (c, k) = (s.input.dims.z as usize, out_shape.channels);
                if c == 0 || k % c != 0 {
                    return Err(
                        self.fail(format!("depthwise output channels {k} are not a multiple of input channels {c}"))
                    );
                }
                let count = weight_count(&window, 1, k);
                (
                    Kernel::Depthwise {
                        weights: self.blob_range(&s.taps.location, s.taps.pointer, count, "taps")?,
                        window,
                    },
                    own_shape()?,
                )
            }
            Op::Deconvolution => {
                let window = self.window(true)?;
                if window.dilation != 1 {
                    return Err(self.fail("dilated deconvolution is not supported by the CPU reference"));
                }
                let count = weight_count(&window, s.input.dims.z as usize, out_shape.channels);
                (
                    Kernel::Deconv { taps: self.blob_range(&s.taps.location, s.taps.pointer, count, "taps")?, window },
                    own_shape()?,
                )
            }
            Op::FullyConnected => {
                let inputs = s.input.dims.product() as usize;
                let outputs = out_shape.len();
                if s.taps.dims.y as usize != inputs || s.taps.dims.z as usize != outputs {
                    return Err(self.fail(format!(
                        "weights are {}x{} but the stage maps {inputs} inputs to {outputs} outputs",
                        s.taps.dims.y, s.taps.dims.z
                    )));
                }
                // The input is one flat run of values from the data pointer (its strides are
                // not meaningful for this op).
                let flat = flat(&s.input, inputs);
                let weights =
                    self.blob_range(&s.taps.location, s.taps.pointer, inputs.saturating_mul(outputs), "taps")?;
                (Kernel::FullyConnected { weights }, (self.view(&flat, None, Role::Input)?, Shape::new(1, 1, inputs)))
            }
            Op::MaxPooling => (Kernel::Pool { window: self.window(false)?, kind: PoolKind::Max }, pool_shape()?),
            Op::AveragePooling => {
                let divisor =
                    if s.pad_style == PadStyle::Caffe { AvgDivisor::PaddedWindow } else { AvgDivisor::ValidCells };
                (Kernel::Pool { window: self.window(false)?, kind: PoolKind::Average(divisor) }, pool_shape()?)
            }
            Op::SoftMax => {
                if s.op_params.is_used() {
                    let axis = self.param_i32(0)?;
                    if axis != 1 {
                        return Err(self.fail(format!("softmax over axis {axis} is not supported (only 1, channels)")));
                    }
                }
                (Kernel::Softmax, same_shape()?)
            }
            Op::Sigmoid => (Kernel::Unary(Unary::Sigmoid), same_shape()?),
            Op::Tanh => (Kernel::Unary(Unary::Tanh), same_shape()?),
            Op::Square => (Kernel::Unary(Unary::Square), same_shape()?),
            Op::Rsqrt => (Kernel::Unary(Unary::Rsqrt), same_shape()?),
            Op::Copy | Op::None => (Kernel::Unary(Unary::Identity), same_shape()?),
            Op::EltwiseSum | Op::EltwiseProd | Op::EltwiseMax => {
                let op = match s.op {
                    Op::EltwiseSum => Binary::Sum,
                    Op::EltwiseProd => Binary::Prod,
                    _ => Binary::Max,
                };
                let second = Tensor { dims: out_dims, strides: s.input.strides, ..s.taps };
                (Kernel::Binary { op, second: self.view(&second, None, Role::Second)? }, same_shape()?)
            }
            Op::ScaleWithScalar => {
                let second = Tensor { dims: Dims::new(out_dims.x, out_dims.y, 1), strides: s.input.strides, ..s.taps };
                (Kernel::ScaleWithScalar { second: self.view(&second, None, Role::Second)? }, same_shape()?)
            }
            Op::Scale => {
                let count = s.taps.dims.z as usize;
                if count != 1 && count != out_shape.channels {
                    return Err(self.fail(format!("{count} multipliers for {} channels", out_shape.channels)));
                }
                (
                    Kernel::Scale { factors: self.blob_range(&s.taps.location, s.taps.pointer, count, "taps")? },
                    same_shape()?,
                )
            }
            Op::PRelu => {
                let slopes =
                    self.blob_range(&s.bias.location, s.bias.pointer, out_shape.channels, "slopes (bias slot)")?;
                (Kernel::PRelu { slopes }, same_shape()?)
            }
            Op::MaxWithConst => {
                let count = if s.taps.dims.z as usize == out_shape.channels { out_shape.channels } else { 1 };
                (
                    Kernel::MaxWithConst {
                        constants: self.blob_range(&s.taps.location, s.taps.pointer, count, "taps")?,
                    },
                    same_shape()?,
                )
            }
            Op::Power => {
                let [shift, scale, power] = [0, 1, 2].map(|i| self.param_f32(i));
                (Kernel::Power { shift: shift?, scale: scale?, power: power? }, same_shape()?)
            }
            Op::Lrn => {
                let [k, alpha, beta] = self.lrn_params()?;
                let size = s.kernel_x.max(1) as usize;
                (Kernel::Lrn { size, k, alpha, beta }, same_shape()?)
            }
            Op::InnerLrn => {
                let [k, alpha, beta] = self.lrn_params()?;
                (Kernel::InnerLrn { k, alpha, beta }, same_shape()?)
            }
            Op::Reshape => {
                // Same values in the same (HWC) order; the record's output dims are the raw
                // requested ones, so write them as one flat run.
                let (input, in_shape) = own_shape()?;
                let flat = flat(&s.output, in_shape.len());
                let output = self.view(&flat, None, Role::Output)?;
                return self.finish(Kernel::Unary(Unary::Identity), input, in_shape, output, in_shape);
            }
            Op::ToPlaneMajor => {
                let (input, in_shape) = own_shape()?;
                let flat = flat(&s.output, in_shape.len());
                let output = self.view(&flat, None, Role::Output)?;
                return self.finish(Kernel::ToPlaneMajor, input, in_shape, output, in_shape);
            }
            Op::Crop => {
                let (input, in_shape) = own_shape()?;
                let offset = [self.param_u32(0)?, self.param_u32(1)?, self.param_u32(2)?].map(|v| v as usize);
                let fits = offset[0] + out_shape.rows <= in_shape.rows
                    && offset[1] + out_shape.cols <= in_shape.cols
                    && offset[2] + out_shape.channels <= in_shape.channels;
                if !fits {
                    return Err(
                        self.fail(format!("crop offset {offset:?} + output {out_shape:?} exceeds input {in_shape:?}"))
                    );
                }
                (Kernel::Crop { offset }, (input, in_shape))
            }
            Op::SumReduce => {
                if out_dims.z != 1 || (out_dims.x, out_dims.y) != (s.input.dims.x, s.input.dims.y) {
                    return Err(self.fail("sum_reduce must reduce the channels of each pixel to one value"));
                }
                (Kernel::SumReduce, own_shape()?)
            }
            other => {
                return Err(self.fail(format!(
                    "op {} ({}) is not supported by the CPU reference",
                    other.to_u8(),
                    other.name()
                )))
            }
        };
        let output = self.view(&s.output, None, Role::Output)?;
        self.finish(kernel, input, in_shape, output, out_shape)
    }

    /// Completes a step with the stage's bias (weighted ops only) and fused activation.
    fn finish(&self, kernel: Kernel, input: View, in_shape: Shape, output: View, out_shape: Shape) -> Result<Step> {
        let s = self.stage;
        let weighted = matches!(
            s.op,
            StageType::Convolution
                | StageType::DepthwiseConvolution
                | StageType::Deconvolution
                | StageType::FullyConnected
                | StageType::Scale
        );
        let bias = match weighted && s.bias.is_used() {
            true => Some(self.blob_range(&s.bias.location, s.bias.pointer, out_shape.channels, "bias")?),
            false => None,
        };
        let param = s.post_param_f32();
        let activation = match s.post_op {
            PostOp::None | PostOp::Bias => Activation::None,
            PostOp::Relu => Activation::Relu,
            PostOp::ReluX => Activation::ReluX(param),
            PostOp::LeakyRelu => Activation::LeakyRelu(param),
            PostOp::Elu => Activation::Elu(param),
        };
        Ok(Step {
            index: self.index,
            name: s.name_text(),
            kernel,
            input,
            output,
            in_shape,
            out_shape,
            bias,
            activation,
            packed: None,
        })
    }
}

/// Weights of a windowed op: kernel taps × input channels × output channels, saturating (a
/// count past the data section is refused by [`Planner::blob_range`]).
fn weight_count(window: &crate::window::Window, inputs: usize, outputs: usize) -> usize {
    (window.kernel[0] * window.kernel[1]).saturating_mul(inputs).saturating_mul(outputs)
}
