//! Describe a network in a few calls and get the blob mvNCCompile would have written for it.
//!
//! ```
//! use ncs::graph::{Activation, ConvSpec, GraphBuilder, Padding};
//! let mut g = GraphBuilder::new("tiny", [8, 8, 1]);
//! let x = g.input();
//! let (w, b) = (vec![0.5f32; 3 * 3 * 1 * 4], [0.0; 4]);
//! let spec = ConvSpec::new([3, 3], &w).padding(Padding::Same).bias(&b).activation(Activation::Relu);
//! let c = g.conv("conv", x, spec).unwrap();
//! let p = g.max_pool("pool", c, [2, 2], [2, 2], Padding::Valid).unwrap();
//! let blob = g.finish(p).unwrap();
//! assert_eq!(blob.output_shape(), [4, 4, 4]);
//! ```
//!
//! Conventions follow the toolkit (docs/blob_format.md §9): weights fp16 (round to nearest
//! even) in HWCK order, each constant buffer 64-byte aligned in the data section, work buffers
//! with guard bands of 2·(X+1)·Z fp16 values each side, tapDims (kh·kw, C, K) and tapStrides
//! (2K, 2K, 2), concatenation by shared output buffers with channel offsets.
//! Shapes given to and returned by the builder are `[rows, columns, channels]`.
//!
//! Files: this one holds the builder's state and the helpers every stage uses (and
//! `invalid`, the one place builder errors are made); `spec.rs` the parameter types
//! ([`ConvSpec`], [`Activation`]); `layers.rs` one method per stage kind; `layout.rs`
//! concatenation and the memory layout [`GraphBuilder::finish`] writes.

mod layers;
mod layout;
mod spec;

pub use spec::{Activation, ConvSpec};

use crate::blob::{layout::DATA_ALIGN, BufferRef, Dims, Location, Stage};
use crate::error::{Error, Result};

/// A tensor of the network under construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorId(usize);

/// Where a tensor's values live.
#[derive(Debug, Clone, Copy)]
enum Storage {
    NetworkInput,
    Own,
    /// Channels `[offset, offset + z)` of a concatenation.
    Member {
        parent: TensorId,
        channel_offset: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct TensorInfo {
    dims: Dims,
    storage: Storage,
}

/// A channel window of a tensor, as a stage reads or writes it.
#[derive(Debug, Clone, Copy)]
struct View {
    tensor: TensorId,
    channel_start: u32,
    channels: u32,
}

/// A stage whose operands are still tensors, not yet placed in memory.
#[derive(Debug)]
struct Draft {
    stage: Stage,
    input: View,
    /// A second tensor operand (eltwise ops).
    second: Option<TensorId>,
    output: TensorId,
}

/// Builds a [`Blob`](crate::blob::Blob) stage by stage.
#[derive(Debug)]
pub struct GraphBuilder {
    name: String,
    shaves: u16,
    tensors: Vec<TensorInfo>,
    drafts: Vec<Draft>,
    data: Vec<u8>,
}

impl GraphBuilder {
    /// Starts a network whose input is `[rows, columns, channels]`.
    pub fn new(name: &str, input_shape: [u32; 3]) -> Self {
        let [rows, cols, channels] = input_shape;
        GraphBuilder {
            name: name.to_owned(),
            shaves: 1,
            tensors: vec![TensorInfo { dims: Dims::new(cols, rows, channels), storage: Storage::NetworkInput }],
            drafts: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Sets the SHAVE count recorded in the header (mvNCCompile `-s`).
    pub fn shaves(mut self, shaves: u16) -> Self {
        self.shaves = shaves.max(1);
        self
    }

    /// The network input.
    pub fn input(&self) -> TensorId {
        TensorId(0)
    }

    /// Shape `[rows, columns, channels]` of a tensor.
    pub fn shape(&self, t: TensorId) -> [u32; 3] {
        self.dims(t).shape_yxz()
    }

    fn dims(&self, t: TensorId) -> Dims {
        self.tensors[t.0].dims
    }

    /// All channels of a tensor.
    fn full(&self, t: TensorId) -> View {
        View { tensor: t, channel_start: 0, channels: self.dims(t).z }
    }

    fn new_tensor(&mut self, dims: Dims) -> TensorId {
        self.tensors.push(TensorInfo { dims, storage: Storage::Own });
        TensorId(self.tensors.len() - 1)
    }

    /// Records a stage and returns its output.
    fn push(&mut self, stage: Stage, input: View, second: Option<TensorId>, output: TensorId) -> TensorId {
        self.drafts.push(Draft { stage, input, second, output });
        output
    }

    /// Appends a constant buffer to the data section, 64-byte aligned.
    fn constant_buffer(&mut self, bytes: &[u8]) -> BufferRef {
        let pointer = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        self.data.resize(self.data.len().next_multiple_of(DATA_ALIGN), 0);
        BufferRef { location: Location::Blob, pointer }
    }
}

/// The one place builder errors are made: what is wrong, and the stage it concerns (`None`
/// for the graph as a whole).
fn invalid(stage: Option<&str>, message: impl Into<String>) -> Error {
    Error::Builder { stage: stage.map(str::to_owned), message: message.into() }
}

fn u32_of(name: &str, value: u64) -> Result<u32> {
    u32::try_from(value).map_err(|_| invalid(Some(name), format!("{value} does not fit a u32 record field")))
}

fn u8_of(name: &str, value: u32) -> Result<u8> {
    u8::try_from(value).map_err(|_| invalid(Some(name), format!("{value} does not fit a u8 record field")))
}

fn i8_of(name: &str, value: u32) -> Result<i8> {
    i8::try_from(value).map_err(|_| invalid(Some(name), format!("kernel {value} does not fit the i8 radix field")))
}
