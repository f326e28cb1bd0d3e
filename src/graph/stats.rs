//! Multiply-accumulates, parameter counts and weight bytes, per stage and in total.

use crate::blob::{operand_len, Blob, Dims, Location, Slot, Stage, StageType};

/// Work and size figures of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageStats {
    /// Multiply-accumulates of one inference (weighted layers and elementwise products; pooling,
    /// activations and copies count 0).
    pub macs: u64,
    /// Bytes of constants (weights, bias, parameters) the stage reads from the blob.
    pub weight_bytes: u64,
    /// Learned values: fp16 weights and biases in the blob.
    pub parameters: u64,
}

/// Figures for a whole graph.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphStats {
    /// One entry per stage, in order.
    pub stages: Vec<StageStats>,
    /// Sum of stage MACs.
    pub macs: u64,
    /// Sum of stage parameters.
    pub parameters: u64,
    /// Sum of stage weight bytes.
    pub weight_bytes: u64,
}

impl GraphStats {
    /// Computes the figures of every stage of a blob.
    pub fn of(blob: &Blob) -> Self {
        let stages: Vec<StageStats> = blob.stages.iter().map(stage_stats).collect();
        GraphStats {
            macs: stages.iter().map(|s| s.macs).sum(),
            parameters: stages.iter().map(|s| s.parameters).sum(),
            weight_bytes: stages.iter().map(|s| s.weight_bytes).sum(),
            stages,
        }
    }
}

/// Computes the figures of one stage from its record.
pub fn stage_stats(stage: &Stage) -> StageStats {
    use StageType as Op;
    let out = stage.output.dims;
    let input = stage.input.dims;
    let kernel_area = u64::from(stage.kernel_x.max(0) as u8) * u64::from(stage.kernel_y.max(0) as u8);
    let macs = match stage.op {
        Op::Convolution => out.product().saturating_mul(kernel_area).saturating_mul(u64::from(input.z)),
        Op::DepthwiseConvolution => out.product().saturating_mul(kernel_area),
        // Each input pixel meets every tap once: kernel taps × input × output channels each.
        Op::Deconvolution => Dims::new(input.x, input.y, 1)
            .product()
            .saturating_mul(kernel_area)
            .saturating_mul(u64::from(input.z))
            .saturating_mul(u64::from(out.z)),
        Op::FullyConnected => u64::from(stage.taps.dims.y) * u64::from(stage.taps.dims.z),
        Op::Scale | Op::EltwiseProd | Op::ScaleWithScalar => out.product(),
        _ => 0,
    };
    let from_blob =
        |slot: Slot, location: Location| if location == Location::Blob { operand_len(stage, slot) } else { 0 };
    let learned = from_blob(Slot::Taps, stage.taps.location) + from_blob(Slot::Bias, stage.bias.location);
    StageStats {
        macs,
        weight_bytes: learned + from_blob(Slot::OpParams, stage.op_params.location),
        parameters: learned / 2,
    }
}
