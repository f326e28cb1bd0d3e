//! Every operand of every stage, located and sized, checked against the arena it lives in.
//!
//! The arenas' sizes are not stored in a blob; they follow from the records:
//! - input: the largest extent any stage reads as its main input from the input region;
//! - output: what the host reads (the last record's X·Y·strideX/2 elements), or more if a
//!   stage writes further (Caffe input stages do);
//! - blob: the data section as stored;
//! - work: the furthest byte any work-area operand touches.
//!
//! Each is bounded (input/output 128 MiB, work 100 MiB), so executing a validated blob never
//! needs an unbounded allocation and never indexes outside an arena.
//!
//! [`validate`] checks what the host library relies on and runs on every parse (the driver
//! sends what it accepts). [`check_operand_counts`] bounds the *logical* size of each stage's
//! tensors, which strides can fold into a small extent; hosts that compute a graph (the CPU
//! reference, the software stick) call it before allocating anything.

use super::enums::{Arena, Location, StageType};
use super::error::{BlobError, BlobErrorKind};
use super::layout::{self, record, ELEMENT_BYTES, HEADER_LEN, RECORD_LEN};
use super::stage::{span_bytes, Dims, Stage};
use super::Blob;

/// The operand slots of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Main input (`data*`).
    Input,
    /// Weights or second tensor (`taps*`).
    Taps,
    /// Bias, LRN parameters or PReLU slopes.
    Bias,
    /// Typed operation parameters.
    OpParams,
    /// Output.
    Output,
}

impl Slot {
    /// All slots, in record order.
    pub const ALL: [Slot; 5] = [Slot::Input, Slot::Taps, Slot::Bias, Slot::OpParams, Slot::Output];

    /// The record field's name.
    pub fn field(self) -> &'static str {
        match self {
            Slot::Input => "dataPointer",
            Slot::Taps => "tapsPointer",
            Slot::Bias => "biasPointer",
            Slot::OpParams => "opParamsPointer",
            Slot::Output => "outputPointer",
        }
    }

    fn record_offset(self) -> usize {
        match self {
            Slot::Input => record::DATA,
            Slot::Taps => record::TAPS,
            Slot::Bias => record::BIAS,
            Slot::OpParams => record::OP_PARAMS,
            Slot::Output => record::OUTPUT,
        }
    }
}

/// One operand of a stage: where it is and how many bytes from its pointer are touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operand {
    /// Which record slot.
    pub slot: Slot,
    /// The region.
    pub location: Location,
    /// Byte offset in the region.
    pub pointer: u32,
    /// Bytes touched from the pointer (0 when only the pointer itself is known).
    pub len: u64,
}

impl Operand {
    /// One past the last byte touched.
    pub fn end(&self) -> u64 {
        u64::from(self.pointer).saturating_add(self.len)
    }
}

/// The used operands of a stage with the bytes each one spans.
///
/// Sizes of weights and parameters follow the op (docs/blob_format.md §7.5); a slot
/// whose size this table does not know is still checked to point inside its region.
pub fn operands(stage: &Stage) -> Vec<Operand> {
    Slot::ALL
        .into_iter()
        .filter_map(|slot| {
            let (location, pointer) = match slot {
                Slot::Input => (stage.input.location, stage.input.pointer),
                Slot::Taps => (stage.taps.location, stage.taps.pointer),
                Slot::Bias => (stage.bias.location, stage.bias.pointer),
                Slot::OpParams => (stage.op_params.location, stage.op_params.pointer),
                Slot::Output => (stage.output.location, stage.output.pointer),
            };
            (location != Location::None).then(|| Operand { slot, location, pointer, len: operand_len(stage, slot) })
        })
        .collect()
}

/// Bytes an op reads or writes through one slot.
pub fn operand_len(stage: &Stage, slot: Slot) -> u64 {
    use StageType as Op;
    let fp16 = |count: u64| count.saturating_mul(ELEMENT_BYTES);
    let taps = stage.taps.dims;
    let kernel_area = u64::from(stage.kernel_x.max(0) as u8) * u64::from(stage.kernel_y.max(0) as u8);
    let out_channels = u64::from(stage.output.dims.z);
    match slot {
        Slot::Input => stage.input.extent_bytes(),
        // Reshape stores the requested (possibly 0 or -1) dims; it writes what it reads.
        Slot::Output if stage.op == Op::Reshape => fp16(stage.input.dims.product()),
        Slot::Output => stage.output.extent_bytes(),
        Slot::Taps => match stage.op {
            Op::Convolution | Op::Deconvolution => fp16(taps.product()),
            Op::DepthwiseConvolution => fp16(kernel_area.saturating_mul(out_channels)),
            Op::FullyConnected => fp16(u64::from(taps.y) * u64::from(taps.z)),
            Op::Scale => fp16(u64::from(taps.z)),
            // The second tensor of an elementwise op is read like the first.
            Op::EltwiseSum | Op::EltwiseProd | Op::EltwiseMax => span_bytes(stage.input.dims, stage.input.strides),
            _ => 0,
        },
        Slot::Bias => match stage.op {
            Op::Convolution | Op::Deconvolution | Op::DepthwiseConvolution | Op::FullyConnected | Op::Scale => {
                fp16(out_channels)
            }
            Op::PRelu => fp16(u64::from(stage.input.dims.z)),
            Op::Lrn | Op::InnerLrn => fp16(4),
            _ => 0,
        },
        Slot::OpParams => match stage.op {
            Op::SoftMax | Op::Convolution | Op::Deconvolution | Op::SumReduce => 4,
            Op::Power | Op::Crop => 12,
            _ => 0,
        },
    }
}

/// Sizes of the four arenas a blob addresses, and where its network input and output are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLayout {
    /// Bytes of network input the stages read.
    pub input_bytes: u64,
    /// Bytes of the network output region.
    pub output_bytes: u64,
    /// Bytes of the blob's data section.
    pub blob_bytes: u64,
    /// Bytes of work area the stages touch.
    pub work_bytes: u64,
    /// Index of the first stage reading the network input, whose input descriptor defines the
    /// network input shape.
    pub input_stage: Option<usize>,
    /// Elements the host reads back: the last record's outputDimX·outputDimY·outputStrideX/2.
    pub output_elements: u64,
}

impl MemoryLayout {
    /// The size of one arena.
    pub fn arena_bytes(&self, arena: Arena) -> u64 {
        match arena {
            Arena::Input => self.input_bytes,
            Arena::Output => self.output_bytes,
            Arena::Blob => self.blob_bytes,
            Arena::Work => self.work_bytes,
        }
    }
}

/// Computes the memory layout of a blob, checking every operand against its arena.
pub fn validate(blob: &Blob) -> Result<MemoryLayout, BlobError> {
    let stages = &blob.stages;
    let last = stages
        .last()
        .ok_or_else(|| BlobError::new(BlobErrorKind::Structure, layout::header::STAGE_COUNT, "stage count is 0"))?;
    let last_index = stages.len() - 1;
    let fail = |index: usize, field_offset: usize, kind, message: String| {
        BlobError::new(kind, HEADER_LEN + RECORD_LEN * index + field_offset, message)
            .in_stage(index, stages[index].name_text())
    };

    if last.output.location != Location::Output {
        return Err(fail(
            last_index,
            record::OUTPUT + 4,
            BlobErrorKind::Structure,
            format!(
                "the last stage writes to {}; the host reads the network output, so it must write location 2 (output)",
                last.output.location
            ),
        ));
    }
    // What the host reads: X · Y · strideX/2 of the last record (NCSDK's own rule).
    let out = &last.output;
    let output_elements = crate::blob::Dims::new(out.dims.x, out.dims.y, out.strides.x / 2).product();
    if output_elements > layout::MAX_OUTPUT_ELEMENTS {
        return Err(fail(
            last_index,
            record::OUTPUT_DIMS,
            BlobErrorKind::Limit,
            format!(
                "network output is {output_elements} elements; the host limit is {} (64 Mi)",
                layout::MAX_OUTPUT_ELEMENTS
            ),
        ));
    }

    let input_stage = stages.iter().position(|s| s.input.location == Location::Input);
    let mut layout = MemoryLayout {
        input_bytes: 0,
        output_bytes: output_elements * ELEMENT_BYTES,
        blob_bytes: blob.data.len() as u64,
        work_bytes: 0,
        input_stage,
        output_elements,
    };
    // First pass: the derived arenas grow to cover what is read from the input and what is
    // written to output and work area.
    for (index, stage) in stages.iter().enumerate() {
        for operand in operands(stage) {
            let derived = match (operand.location.arena(), operand.slot) {
                (Some(Arena::Input), Slot::Input) => Some((&mut layout.input_bytes, layout::MAX_IO_BYTES)),
                (Some(Arena::Output), _) => Some((&mut layout.output_bytes, layout::MAX_IO_BYTES)),
                (Some(Arena::Work), _) => Some((&mut layout.work_bytes, layout::MAX_WORK_BYTES)),
                _ => None,
            };
            if let Some((size, limit)) = derived {
                if operand.end() > limit {
                    return Err(fail(
                        index,
                        operand.slot.record_offset(),
                        BlobErrorKind::Limit,
                        format!(
                            "{} reaches byte {} of the {}, past its {limit}-byte limit",
                            operand.slot.field(),
                            operand.end(),
                            operand.location.arena().map_or("?", Arena::name),
                        ),
                    ));
                }
                *size = (*size).max(operand.end());
            }
        }
    }
    // Second pass: everything else (weights, and second operands in the input) must fit.
    for (index, stage) in stages.iter().enumerate() {
        for operand in operands(stage) {
            let Some(arena) = operand.location.arena() else { continue };
            let size = layout.arena_bytes(arena);
            if operand.end() > size {
                return Err(fail(
                    index,
                    operand.slot.record_offset(),
                    BlobErrorKind::OutOfBounds,
                    format!(
                        "{} {} + {} bytes ends at {}, past the end of the {}-byte {}",
                        operand.slot.field(),
                        operand.pointer,
                        operand.len,
                        operand.end(),
                        size,
                        arena.name()
                    ),
                ));
            }
        }
    }
    Ok(layout)
}

/// Bounds the logical size of every stage's input and output: X·Y·Z (a zero dimension counted
/// as 1, since loops still run over the others) may not exceed the elements of the arena the
/// tensor lives in, nor `max_elements`.
///
/// Extents alone do not bound it: strides of 0 fold a tensor of any size onto a few bytes.
/// Distinct elements of a real record have distinct addresses, so real graphs always pass.
/// Weights need no logical bound: they are read densely from the data section, whose extent
/// [`validate`] checks; the second tensor of an eltwise op is read with the output's dims.
/// Reshape's output dims are the requested ones (possibly 0 or −1); it writes as many values
/// as it reads, so only its input counts.
pub fn check_operand_counts(blob: &Blob, layout: &MemoryLayout, max_elements: u64) -> Result<(), BlobError> {
    for (index, stage) in blob.stages.iter().enumerate() {
        let outputs =
            (stage.op != StageType::Reshape).then_some(("outputDimX·Y·Z", &stage.output, record::OUTPUT_DIMS));
        for (field, tensor, offset) in [("inputDimX·Y·Z", &stage.input, record::INPUT_DIMS)].into_iter().chain(outputs)
        {
            let Some(arena) = tensor.location.arena() else { continue };
            let d = tensor.dims;
            let count = Dims::new(d.x.max(1), d.y.max(1), d.z.max(1)).product();
            let capacity = layout.arena_bytes(arena) / ELEMENT_BYTES;
            let (limit, what) = if capacity < max_elements {
                (capacity, format!("the {}'s size", arena.name()))
            } else {
                (max_elements, "the limit per operand".to_owned())
            };
            if count > limit {
                // Limit first: a stick's debug string keeps only ~120 bytes of the message.
                return Err(BlobError::new(
                    BlobErrorKind::Limit,
                    HEADER_LEN + RECORD_LEN * index + offset,
                    format!(
                        "{field} = {count} values > {limit} ({what}); dims {}·{}·{}, a 0 counted as 1",
                        d.x, d.y, d.z
                    ),
                )
                .in_stage(index, stage.name_text()));
            }
        }
    }
    Ok(())
}
