//! Record → [`Step`]: resolve each stage's geometry, parameters and views once, proving every
//! element the kernel will touch lies inside its arena, so running never needs a bounds failure.
//!
//! - this file: what a planned stage is ([`Step`], [`Kernel`]), the arena sizes it is checked
//!   against, and the per-stage [`Planner`] with its one error constructor, [`Planner::fail`];
//! - [`step`]: the op-by-op choice of kernel and operand shapes, and the fused post-op;
//! - [`operands`]: checked access to a stage's operands — tensor views by [`Role`], constant
//!   ranges in the blob, operation parameters, and the window;
//! - [`budget`]: each step's multiply-adds and value visits, charged against the graph's
//!   [`Limits`].

mod budget;
mod operands;
mod step;

use std::ops::Range;

use crate::blob::{Arena, Blob, Dims, Stage, Tensor};
use crate::error::{Error, Result};
use crate::window::Window;

use super::arena::View;
use super::limits::Limits;
use super::ops::conv::ConvWeights;
use super::ops::elementwise::{Activation, Binary, Unary};
use super::ops::pool::PoolKind;
use super::ops::Shape;

use operands::Role;

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
    FullyConnected { weights: Range<usize> },
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
    /// A convolution's weights (and bias, when it has one per output channel) prepared for the
    /// CPU's kernels: filled in once by the executor at load.
    pub packed: Option<ConvWeights>,
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

/// Plans every stage of a blob, refusing a graph whose work exceeds `limits` before any of it
/// is done.
pub fn plan(blob: &Blob, sizes: &ArenaSizes, limits: &Limits) -> Result<Vec<Step>> {
    let mut spent = budget::Spent::default();
    let mut steps = Vec::with_capacity(blob.stages.len());
    for (index, stage) in blob.stages.iter().enumerate() {
        let planner = Planner { index, stage, data: &blob.data, sizes };
        planner.charge_macs(&mut spent, limits)?;
        let step = planner.step()?;
        planner.charge_visits(&step, &mut spent, limits)?;
        steps.push(step);
    }
    Ok(steps)
}

/// Plans one stage: the record, the blob's data section and the arena sizes to check against.
struct Planner<'a> {
    index: usize,
    stage: &'a Stage,
    data: &'a [u8],
    sizes: &'a ArenaSizes,
}

impl Planner<'_> {
    /// The one place plan errors are made: the stage's index and name, and what is wrong.
    fn fail(&self, message: impl Into<String>) -> Error {
        Error::Stage { index: self.index, name: self.stage.name_text(), message: message.into() }
    }
}

/// `len` contiguous elements from a descriptor's pointer.
fn flat(t: &Tensor, len: usize) -> Tensor {
    let dims = Dims::new(1, 1, len as u32);
    Tensor { dims, strides: dims.hwc_strides(), ..*t }
}

/// The dense HWC shape of record dims.
fn shape(d: Dims) -> Shape {
    Shape::new(d.y as usize, d.x as usize, d.z as usize)
}
