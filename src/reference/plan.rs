//! Record → [`Step`]: resolve each stage's geometry, parameters and views once, proving every
//! element the kernel will touch lies inside its arena, so running never needs a bounds failure.

use std::ops::Range;

use crate::blob::{Arena, Blob, Dims, Location, PadStyle, PostOp, Stage, StageType, Tensor};
use crate::error::{Error, Result};

use super::arena::View;
use super::ops::elementwise::{Activation, Binary, Unary};
use super::ops::pool::{AvgDivisor, PoolKind};
use super::ops::{Shape, Window};

/// What a step computes, with its parameters resolved.
#[derive(Debug, Clone)]
pub enum Kernel {
    /// Convolution with weights in the blob arena.
    Conv { weights: Range<usize>, window: Window },
    /// Depthwise convolution.
    Depthwise { weights: Range<usize>, window: Window },
    /// Deconvolution with stored (flipped, swapped) taps.
    Deconv { taps: Range<usize>, window: Window },
    /// Fully connected over the flat input.
    FullyConnected { weights: Range<usize>, outputs: usize },
    /// Max or average pooling.
    Pool { window: Window, kind: PoolKind },
    /// Softmax over channels.
    Softmax,
    /// A parameterless map (copy and none are the identity).
    Unary(Unary),
    /// Eltwise op with a second tensor.
    Binary { op: Binary, second: View },
    /// Per-channel (or scalar) multipliers.
    Scale { factors: Range<usize> },
    /// Multiply by a per-pixel second tensor.
    ScaleWithScalar { second: View },
    /// Per-channel negative slopes.
    PRelu { slopes: Range<usize> },
    /// max(x, constant).
    MaxWithConst { constants: Range<usize> },
    /// (shift + scale·x)^power.
    Power { shift: f32, scale: f32, power: f32 },
    /// Across-channel LRN.
    Lrn { size: usize, k: f32, alpha: f32, beta: f32 },
    /// (k + α·x)^(−β).
    InnerLrn { k: f32, alpha: f32, beta: f32 },
    /// HWC → CHW flatten.
    ToPlaneMajor,
    /// Window of the input.
    Crop { offset: [usize; 3] },
    /// Sum over channels.
    SumReduce,
}

/// One stage, ready to run.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index in the blob.
    pub index: usize,
    /// Stage name.
    pub name: String,
    /// The computation.
    pub kernel: Kernel,
    /// Where the main input is gathered from, and as what shape.
    pub input: View,
    /// Where the result is scattered to.
    pub output: View,
    /// Shape of the gathered input.
    pub in_shape: Shape,
    /// Shape of the computed output.
    pub out_shape: Shape,
    /// Bias added before the activation (weighted ops only).
    pub bias: Option<Range<usize>>,
    /// The fused activation.
    pub activation: Activation,
}

/// Arena sizes in elements, with the work area's trailing guard band.
#[derive(Debug, Clone, Copy)]
pub struct ArenaSizes {
    /// Network input.
    pub input: usize,
    /// Network output.
    pub output: usize,
    /// Work area.
    pub work: usize,
    /// Blob data section.
    pub blob: usize,
}

impl ArenaSizes {
    fn of(&self, arena: Arena) -> usize {
        match arena {
            Arena::Input => self.input,
            Arena::Output => self.output,
            Arena::Work => self.work,
            Arena::Blob => self.blob,
        }
    }
}

/// Plans every stage of a blob.
pub fn plan(blob: &Blob, sizes: &ArenaSizes) -> Result<Vec<Step>> {
    blob.stages.iter().enumerate().map(|(index, stage)| plan_stage(index, stage, &blob.data, sizes)).collect()
}

struct Planner<'a> {
    index: usize,
    stage: &'a Stage,
    data: &'a [u8],
    sizes: &'a ArenaSizes,
}

fn plan_stage(index: usize, stage: &Stage, data: &[u8], sizes: &ArenaSizes) -> Result<Step> {
    Planner { index, stage, data, sizes }.step()
}

impl Planner<'_> {
    fn fail(&self, message: impl Into<String>) -> Error {
        Error::Stage { index: self.index, name: self.stage.name_text(), message: message.into() }
    }

    fn step(&self) -> Result<Step> {
        use StageType as Op;
        let s = self.stage;
        let out_dims = s.output.dims;
        let out_shape = shape(out_dims);
        // Shape-preserving ops read the input through its strides with the output's dims: the
        // records' own description, which reproduces the toolkit's dimension quirks.
        let same_shape = || -> Result<(View, Shape)> { Ok((self.view(&s.input, Some(out_dims), "input")?, out_shape)) };
        let own_shape = || -> Result<(View, Shape)> { Ok((self.view(&s.input, None, "input")?, shape(s.input.dims))) };

        let (kernel, (input, in_shape)) = match s.op {
            Op::Convolution => {
                let window = self.window(true)?;
                let count = window.kernel[0] * window.kernel[1] * s.input.dims.z as usize * out_shape.channels;
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
                let count = window.kernel[0] * window.kernel[1] * k;
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
                let count = window.kernel[0] * window.kernel[1] * s.input.dims.z as usize * out_shape.channels;
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
                let weights = self.blob_range(&s.taps.location, s.taps.pointer, inputs * outputs, "taps")?;
                (
                    Kernel::FullyConnected { weights, outputs },
                    (self.view(&flat, None, "input")?, Shape::new(1, 1, inputs)),
                )
            }
            Op::MaxPooling => (Kernel::Pool { window: self.window(false)?, kind: PoolKind::Max }, own_shape()?),
            Op::AveragePooling => {
                let divisor =
                    if s.pad_style == PadStyle::Caffe { AvgDivisor::PaddedWindow } else { AvgDivisor::ValidCells };
                (Kernel::Pool { window: self.window(false)?, kind: PoolKind::Average(divisor) }, own_shape()?)
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
                (Kernel::Binary { op, second: self.view(&second, None, "second operand (taps)")? }, same_shape()?)
            }
            Op::ScaleWithScalar => {
                let second = Tensor { dims: Dims::new(out_dims.x, out_dims.y, 1), strides: s.input.strides, ..s.taps };
                (Kernel::ScaleWithScalar { second: self.view(&second, None, "second operand (taps)")? }, same_shape()?)
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
                let output = self.view(&flat, None, "output")?;
                return self.finish(Kernel::Unary(Unary::Identity), input, in_shape, output, in_shape);
            }
            Op::ToPlaneMajor => {
                let (input, in_shape) = own_shape()?;
                let flat = flat(&s.output, in_shape.len());
                let output = self.view(&flat, None, "output")?;
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
        let output = self.view(&s.output, None, "output")?;
        self.finish(kernel, input, in_shape, output, out_shape)
    }

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
        })
    }

    /// A view of a descriptor (optionally with other dims), checked against its arena.
    fn view(&self, tensor: &Tensor, dims: Option<Dims>, what: &str) -> Result<View> {
        let arena = tensor.location.arena().ok_or_else(|| self.fail(format!("{what} has no location (index 0)")))?;
        if arena == Arena::Blob && what == "output" {
            return Err(self.fail("output points into the blob data section"));
        }
        let s = tensor.strides;
        if tensor.pointer % 2 != 0 || s.x % 2 != 0 || s.y % 2 != 0 || s.z % 2 != 0 {
            return Err(self.fail(format!("{what} pointer or strides are not whole fp16 elements")));
        }
        let view = View::of(&Tensor { dims: dims.unwrap_or(tensor.dims), ..*tensor }, arena);
        let limit = self.sizes.of(arena);
        let end = crate::blob::span_bytes(view.dims, tensor.strides) / 2 + view.offset as u64;
        if end > limit as u64 {
            return Err(self.fail(format!("{what} reaches element {end} of the {} ({limit} elements)", arena.name())));
        }
        Ok(view)
    }

    /// `count` f32 elements of the blob arena at a byte pointer.
    fn blob_range(&self, location: &Location, pointer: u32, count: usize, what: &str) -> Result<Range<usize>> {
        if *location != Location::Blob {
            return Err(self.fail(format!("{what} must be in the blob data section, not {location}")));
        }
        if pointer % 2 != 0 {
            return Err(self.fail(format!("{what} pointer {pointer} is not fp16-aligned")));
        }
        let start = pointer as usize / 2;
        let end = start + count;
        if end > self.sizes.blob {
            return Err(self.fail(format!(
                "{what} needs {count} values at byte {pointer}, past the {}-byte data section",
                self.data.len()
            )));
        }
        Ok(start..end)
    }

    fn window(&self, dilated: bool) -> Result<Window> {
        let s = self.stage;
        if s.kernel_x < 1 || s.kernel_y < 1 || s.stride_x < 1 || s.stride_y < 1 {
            return Err(self.fail(format!(
                "kernel {}x{} and stride {}x{} must be positive",
                s.kernel_y, s.kernel_x, s.stride_y, s.stride_x
            )));
        }
        let dilation = if dilated && s.op_params.is_used() { self.param_i32(0)? } else { 1 };
        if !(1..=64).contains(&dilation) {
            return Err(self.fail(format!("dilation {dilation} outside 1..=64")));
        }
        let dilation = dilation as usize;
        let kernel = [s.kernel_y as usize, s.kernel_x as usize];
        let stride = [s.stride_y as usize, s.stride_x as usize];
        let (i, o) = (s.input.dims, s.output.dims);
        let pad = match s.pad_style {
            PadStyle::Caffe => [s.pad_y as usize, s.pad_x as usize],
            PadStyle::TfSame => [
                Window::tf_same_pad(i.y as usize, o.y as usize, kernel[0], stride[0], dilation),
                Window::tf_same_pad(i.x as usize, o.x as usize, kernel[1], stride[1], dilation),
            ],
            PadStyle::TfValid | PadStyle::None => [0, 0],
        };
        Ok(Window { kernel, stride, pad, dilation })
    }

    fn param_bytes(&self, index: usize, width: usize) -> Result<[u8; 4]> {
        let p = &self.stage.op_params;
        if p.location != Location::Blob {
            return Err(self.fail(format!("operation parameters must be in the blob data section, not {}", p.location)));
        }
        let at = p.pointer as usize + index * width;
        let bytes = self
            .data
            .get(at..at + width)
            .ok_or_else(|| self.fail(format!("parameter {index} at byte {at} is past the data section")))?;
        let mut out = [0u8; 4];
        out[..width].copy_from_slice(bytes);
        Ok(out)
    }

    fn param_i32(&self, index: usize) -> Result<i32> {
        Ok(i32::from_le_bytes(self.param_bytes(index, 4)?))
    }

    fn param_u32(&self, index: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(self.param_bytes(index, 4)?))
    }

    fn param_f32(&self, index: usize) -> Result<f32> {
        Ok(f32::from_le_bytes(self.param_bytes(index, 4)?))
    }

    /// LRN parameters `[k, α, β]` stored as fp16 in the bias slot.
    fn lrn_params(&self) -> Result<[f32; 3]> {
        let r = self.blob_range(&self.stage.bias.location, self.stage.bias.pointer, 3, "LRN parameters (bias slot)")?;
        let bytes = &self.data[r.start * 2..r.end * 2];
        let v = crate::fp16::decode(bytes);
        Ok([v[0], v[1], v[2]])
    }
}

/// `len` contiguous elements from a descriptor's pointer.
fn flat(t: &Tensor, len: usize) -> Tensor {
    let dims = Dims::new(1, 1, len as u32);
    Tensor { dims, strides: dims.hwc_strides(), ..*t }
}

fn shape(d: Dims) -> Shape {
    Shape::new(d.y as usize, d.x as usize, d.z as usize)
}
