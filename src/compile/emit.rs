//! IR → [`Blob`]: byte offsets for the buffers the IR names symbolically, with the toolkit's
//! conventions (NCSDK 1.12 `Controllers/FileIO.py`): constant buffers appended in tree order,
//! each zero-padded to 64 bytes; work buffers laid end to end in allocation order, each with
//! guard bands of 2·(X+1)·Z fp16 values before and after, rounded up to 64 bytes.
//! The guard-band rule itself is `blob::layout::work_buffer_bytes`, shared with the builder.

use crate::blob::{layout, validate, Blob, BufferRef, Header, Location, Stage, Tensor as BlobTensor};

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::graph::Graph;
use super::ir::{Buffer, Network, Place, TapsSlot};

/// The network name mvNCCompile writes for every TensorFlow graph.
pub const TF_NETWORK_NAME: &str = "TensorFlow Network";
/// mvNCCompile refuses graph files above 320 MiB (`FileIO.estimate_file_size`).
pub const MAX_GRAPH_FILE: u64 = 320 << 20;

/// Lays out and writes the records of `net`.
pub fn emit(net: &Network, graph: &Graph, shaves: u16) -> CompileResult<Blob> {
    let count = net.stages.len();
    let mut data = Vec::new();
    let mut taps_at = vec![None; count];
    let mut bias_at = vec![None; count];
    let mut params_at = vec![None; count];
    let push = |bytes: &[u8], data: &mut Vec<u8>| -> u32 {
        let at = data.len() as u32;
        data.extend_from_slice(bytes);
        data.resize(data.len().next_multiple_of(layout::DATA_ALIGN), 0);
        at
    };
    for s in net.tree_order() {
        let stage = &net.stages[s];
        if let TapsSlot::Weights(taps) = &stage.taps {
            let values = taps.materialise(graph).map_err(|e| e.or_at(&stage.name, "stage"))?;
            taps_at[s] = Some(push(&crate::fp16::encode(&values), &mut data));
        }
        if let Some(bias) = &stage.bias {
            bias_at[s] = Some(push(&crate::fp16::encode(&bias.values), &mut data));
        }
        if let Some(params) = &stage.op_params {
            params_at[s] = Some(push(&params.bytes(), &mut data));
        }
        let file = (layout::data_offset(count) + data.len()) as u64;
        if file > MAX_GRAPH_FILE {
            return Err(limit(format!("the graph file would exceed mvNCCompile's limit of {MAX_GRAPH_FILE} bytes")));
        }
    }
    // Work buffers are locations 4, 5, …, a u16 field.
    if net.work.len() > usize::from(u16::MAX - 4) {
        return Err(limit(format!("{} work buffers; a graph file can name at most {}", net.work.len(), u16::MAX - 4)));
    }
    let mut work_at = Vec::with_capacity(net.work.len());
    let mut cursor: u64 = 0;
    for (i, b) in net.work.iter().enumerate() {
        let (guard, size) = layout::work_buffer_bytes(b.x, b.y, b.z);
        let pointer = cursor + guard;
        // The toolkit's own check, index included (`get_zero_buffer`).
        if pointer + 4 + i as u64 > layout::MAX_WORK_BYTES {
            return Err(limit(format!(
                "the work buffers need more than the stick's {} MiB",
                layout::MAX_WORK_BYTES >> 20
            )));
        }
        work_at.push(pointer as u32);
        cursor += size;
    }
    let place = |p: Place| -> (Location, u32) {
        match p.buffer {
            Buffer::None => (Location::None, 0),
            Buffer::Input => (Location::Input, p.offset),
            Buffer::Output => (Location::Output, p.offset),
            Buffer::Work(i) => (Location::Work(4 + i as u16), work_at[i] + p.offset),
        }
    };
    let blob_ref =
        |at: Option<u32>| at.map_or(BufferRef::default(), |pointer| BufferRef { location: Location::Blob, pointer });
    let mut stages = Vec::with_capacity(count);
    for (i, s) in net.stages.iter().enumerate() {
        let mut r = Stage::with_defaults(&s.name, s.op);
        r.opt_mask = s.opt_mask;
        r.kernel_x = s.radix[0] as u8 as i8;
        r.kernel_y = s.radix[1] as u8 as i8;
        r.stride_x = s.stride[0] as u8;
        r.stride_y = s.stride[1] as u8;
        r.pad_x = s.pad[0] as u8;
        r.pad_y = s.pad[1] as u8;
        r.pad_style = s.pad_style;
        let (location, pointer) = place(s.data);
        r.input = BlobTensor { location, pointer, dims: s.in_dims, strides: s.in_strides };
        let (location, pointer) = match &s.taps {
            TapsSlot::None => (Location::None, 0),
            TapsSlot::Weights(_) => (Location::Blob, taps_at[i].unwrap_or(0)),
            TapsSlot::Tensor(p) => place(*p),
        };
        r.taps = BlobTensor { location, pointer, dims: s.tap_dims, strides: s.tap_strides };
        r.bias = blob_ref(bias_at[i]);
        r.op_params = blob_ref(params_at[i]);
        let (location, pointer) = place(s.output);
        r.output = BlobTensor { location, pointer, dims: s.out_dims, strides: s.out_strides };
        r.post_op = s.post_op;
        r.post_param = s.post_param;
        stages.push(r);
    }
    let blob = Blob { header: Header::new(TF_NETWORK_NAME, shaves), stages, data };
    validate(&blob).map_err(|e| limit(format!("the compiled graph is not a valid NCS graph: {e}")))?;
    Ok(blob)
}

fn limit(message: String) -> CompileError {
    CompileError::new(CompileErrorKind::Limit, message)
}
