//! [`Blob`] → bytes, laid out exactly as mvNCCompile lays them out, so that a parsed real
//! graph re-writes to the identical file.

use super::error::{BlobError, BlobErrorKind};
use super::layout::{self, header, record, HEADER_LEN, RECORD_LEN};
use super::stage::{Dims, Stage, Tensor};
use super::{Blob, BufferRef};

/// Serialises a blob. Fails only when the result would exceed the host's 512 MiB limit.
pub fn write(blob: &Blob) -> Result<Vec<u8>, BlobError> {
    let mut out = write_table(blob)?;
    out.extend_from_slice(&blob.data);
    Ok(out)
}

/// The header and stage table of [`write`]'s output: every byte before the data section.
pub(super) fn write_table(blob: &Blob) -> Result<Vec<u8>, BlobError> {
    let data_offset = layout::data_offset(blob.stages.len());
    let len = data_offset + blob.data.len();
    if len > layout::MAX_FILE_LEN {
        return Err(BlobError::new(
            BlobErrorKind::Limit,
            0,
            format!("the blob would be {len} bytes; the limit is {} (512 MiB)", layout::MAX_FILE_LEN),
        ));
    }
    let mut out = Vec::with_capacity(len);
    out.resize(data_offset, 0);
    let h = &blob.header;
    put_u32(&mut out, header::FILE_SIZE, len as u32);
    put_u32(&mut out, header::VERSION, layout::BLOB_VERSION);
    out[header::NAME..header::NAME + layout::NAME_LEN].copy_from_slice(h.name.as_bytes());
    out[header::REPORT_DIR..header::REPORT_DIR + layout::NAME_LEN].copy_from_slice(h.report_dir.as_bytes());
    put_u32(&mut out, header::STAGE_COUNT, blob.stages.len() as u32);
    put_u32(&mut out, header::DATA_OFFSET, data_offset as u32);
    put_u16(&mut out, header::FIRST_SHAVE, h.first_shave);
    put_u16(&mut out, header::LAST_SHAVE, h.last_shave);
    put_u32(&mut out, header::LEON_MEM_LOCATION, h.leon_mem_location);
    put_u32(&mut out, header::LEON_MEM_SIZE, h.leon_mem_size);
    put_u32(&mut out, header::DMA_AGENT, h.dma_agent);
    for (index, stage) in blob.stages.iter().enumerate() {
        let base = HEADER_LEN + RECORD_LEN * index;
        encode_stage(stage, &mut out[base..base + RECORD_LEN]);
    }
    Ok(out)
}

fn encode_stage(stage: &Stage, rec: &mut [u8]) {
    rec[record::NAME..record::NAME + layout::NAME_LEN].copy_from_slice(stage.name.as_bytes());
    rec[record::OP] = stage.op.to_u8();
    put_u32(rec, record::OPT_MASK, stage.opt_mask);
    rec[record::RADIX_X] = stage.kernel_x as u8;
    rec[record::RADIX_Y] = stage.kernel_y as u8;
    rec[record::STRIDE_X] = stage.stride_x;
    rec[record::STRIDE_Y] = stage.stride_y;
    rec[record::PAD_X] = stage.pad_x;
    rec[record::PAD_Y] = stage.pad_y;
    rec[record::PAD_STYLE] = stage.pad_style.to_u8();
    put_tensor(rec, &stage.input, record::DATA, record::INPUT_DIMS, record::INPUT_STRIDES);
    put_tensor(rec, &stage.taps, record::TAPS, record::TAP_DIMS, record::TAP_STRIDES);
    put_tensor(rec, &stage.output, record::OUTPUT, record::OUTPUT_DIMS, record::OUTPUT_STRIDES);
    put_buffer(rec, &stage.bias, record::BIAS);
    put_buffer(rec, &stage.op_params, record::OP_PARAMS);
    rec[record::DATA_TYPE] = stage.data_type.to_u8();
    rec[record::PRECISION] = stage.precision.to_u8();
    rec[record::STORAGE_ORDER] = stage.storage_order.to_u8();
    rec[record::PRE_OP] = stage.pre_op.to_u8();
    rec[record::POST_OP] = stage.post_op.to_u8();
    put_u32(rec, record::POST_PARAM, stage.post_param);
    put_u16(rec, record::POST_STRIDE_X, stage.post_stride_x);
    put_u16(rec, record::POST_STRIDE_Y, stage.post_stride_y);
}

fn put_tensor(rec: &mut [u8], tensor: &Tensor, pointer_at: usize, dims_at: usize, strides_at: usize) {
    put_buffer(rec, &BufferRef { location: tensor.location, pointer: tensor.pointer }, pointer_at);
    put_dims(rec, dims_at, tensor.dims);
    put_dims(rec, strides_at, tensor.strides);
}

fn put_buffer(rec: &mut [u8], buffer: &BufferRef, at: usize) {
    put_u32(rec, at, buffer.pointer);
    put_u16(rec, at + 4, buffer.location.to_u16());
}

fn put_dims(rec: &mut [u8], at: usize, dims: Dims) {
    put_u32(rec, at, dims.x);
    put_u32(rec, at + 4, dims.y);
    put_u32(rec, at + 8, dims.z);
}

fn put_u16(out: &mut [u8], at: usize, value: u16) {
    out[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put_u32(out: &mut [u8], at: usize, value: u32) {
    out[at..at + 4].copy_from_slice(&value.to_le_bytes());
}
