//! The NCSDK 1.x graph blob ("graph" file, format version 2): a typed, byte-exact model.
//!
//! ```text
//! bytes ──parse──▶ Blob { header, stages, data } ──write──▶ identical bytes
//! file ──GraphFile::read──▶ GraphFile { Blob, the file's bytes for a stick }
//! ```
//!
//! [`parse`] validates everything a consumer relies on (sizes, enums, every pointer and extent
//! against its arena) so that executors can index arenas without further checks; [`write`](fn@write)
//! follows mvNCCompile's conventions. Facts and sources: `docs/blob_format.md`.

mod enums;
mod error;
mod file;
pub mod layout;
mod name;
mod parse;
mod stage;
mod validate;
mod write;

use std::path::Path;

pub use enums::{Arena, DataType, Location, PadStyle, PostOp, StageType, StorageOrder};
pub use error::{BlobError, BlobErrorKind, ReadError, StageLabel};
pub use file::GraphFile;
pub use name::Name;
pub use parse::parse;
pub use stage::{span_bytes, BufferRef, Dims, Stage, Tensor};
pub use validate::{check_operand_counts, operand_len, operands, validate, MemoryLayout, Operand, Slot};
pub use write::write;

/// The file header, less the fields derived on writing (size, version, stage count, data offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Network name (TensorFlow graphs: "TensorFlow Network").
    pub name: Name,
    /// Report directory (always empty).
    pub report_dir: Name,
    /// First SHAVE core the graph may use.
    pub first_shave: u16,
    /// Last SHAVE core (mvNCCompile `-s N` writes N−1).
    pub last_shave: u16,
    /// LEON memory location (0).
    pub leon_mem_location: u32,
    /// LEON memory size (0).
    pub leon_mem_size: u32,
    /// DMA agent (0).
    pub dma_agent: u32,
}

impl Header {
    /// A header as mvNCCompile writes it for `shaves` SHAVE cores.
    pub fn new(name: &str, shaves: u16) -> Self {
        Header {
            name: Name::new(name),
            report_dir: Name::default(),
            first_shave: 0,
            last_shave: shaves.saturating_sub(1),
            leon_mem_location: 0,
            leon_mem_size: 0,
            dma_agent: 0,
        }
    }

    /// Number of SHAVE cores the graph was compiled for.
    pub fn shave_count(&self) -> u32 {
        u32::from(self.last_shave.saturating_sub(self.first_shave)) + 1
    }
}

/// A parsed graph blob: header, stage records in execution order, and the data section.
#[derive(Debug, Clone, PartialEq)]
pub struct Blob {
    /// Header fields.
    pub header: Header,
    /// Stage records, in execution order.
    pub stages: Vec<Stage>,
    /// The data section (weights, biases, parameters), as stored.
    pub data: Vec<u8>,
}

impl Blob {
    /// Reads and parses a graph file (see [`GraphFile::read`]); errors name the file.
    pub fn read(path: &Path) -> Result<Blob, ReadError> {
        GraphFile::read(path).map(GraphFile::into_blob)
    }

    /// The memory layout: arena sizes, network input stage, output length.
    ///
    /// Validation already succeeded for a parsed blob; for a hand-assembled one this is where
    /// inconsistencies are reported.
    pub fn layout(&self) -> Result<MemoryLayout, BlobError> {
        validate(self)
    }

    /// The network input descriptor: the main input of the first stage that reads location 1.
    pub fn network_input(&self) -> Option<&Tensor> {
        self.stages.iter().map(|s| &s.input).find(|t| t.location == Location::Input)
    }

    /// Network output shape as the host receives it: `[outputDimY, outputDimX, outputStrideX/2]`
    /// of the last stage.
    pub fn output_shape(&self) -> [u32; 3] {
        self.stages.last().map_or([0; 3], |s| [s.output.dims.y, s.output.dims.x, s.output.strides.x / 2])
    }

    /// Network input shape `[inputDimY, inputDimX, inputDimZ]`, or zeros if no stage reads it.
    pub fn input_shape(&self) -> [u32; 3] {
        self.network_input().map_or([0; 3], |t| t.dims.shape_yxz())
    }
}
