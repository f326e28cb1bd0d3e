//! Bytes → [`Blob`]: decode the header and records, then validate every extent before anyone
//! touches memory through them.
//!
//! Allocation is bounded by the input: the stage table is checked to fit in the file before
//! the records are decoded, and the data section is a copy of the file's own tail.

use super::enums::{DataType, Location, PadStyle, PostOp, StageType, StorageOrder};
use super::error::{BlobError, BlobErrorKind};
use super::layout::{self, header, record, HEADER_LEN, NAME_LEN, RECORD_LEN};
use super::name::Name;
use super::stage::{BufferRef, Dims, Stage, Tensor};
use super::validate::validate;
use super::{Blob, Header};

/// The first bytes of an NCSDK 2.x graph (a pseudo-ELF header).
const NCSDK2_PREFIX: [u8; 8] = [0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x01, 0x00];
/// The NCSDK 2.x blob magic, seen at 0x22 or 0x24 depending on the release.
const NCSDK2_MAGIC: u16 = 0x2204;

/// Parses and validates an NCSDK 1.x graph blob, copying its data section.
pub fn parse(bytes: &[u8]) -> Result<Blob, BlobError> {
    let (header, stages) = parse_table(bytes)?;
    let data = bytes[layout::data_offset(stages.len())..].to_vec();
    finish(header, stages, data)
}

/// Like [`parse`], but reuses the buffer for the data section instead of copying it (the
/// weights are held in memory once). Returns the blob and the bytes before its data section.
pub(super) fn parse_in_place(mut bytes: Vec<u8>) -> Result<(Blob, Vec<u8>), BlobError> {
    let (header, stages) = parse_table(&bytes)?;
    let data_offset = layout::data_offset(stages.len());
    let table = bytes[..data_offset].to_vec();
    bytes.drain(..data_offset);
    Ok((finish(header, stages, bytes)?, table))
}

fn finish(header: Header, stages: Vec<Stage>, data: Vec<u8>) -> Result<Blob, BlobError> {
    let blob = Blob { header, stages, data };
    validate(&blob)?;
    Ok(blob)
}

/// Header and stage records, with the envelope and table checked.
fn parse_table(bytes: &[u8]) -> Result<(Header, Vec<Stage>), BlobError> {
    check_envelope(bytes)?;
    let stage_count = stage_count(bytes)?;
    let header = Header {
        name: name_at(bytes, header::NAME),
        report_dir: name_at(bytes, header::REPORT_DIR),
        first_shave: u16_at(bytes, header::FIRST_SHAVE),
        last_shave: u16_at(bytes, header::LAST_SHAVE),
        leon_mem_location: u32_at(bytes, header::LEON_MEM_LOCATION),
        leon_mem_size: u32_at(bytes, header::LEON_MEM_SIZE),
        dma_agent: u32_at(bytes, header::DMA_AGENT),
    };
    let mut stages = Vec::with_capacity(stage_count);
    for index in 0..stage_count {
        stages.push(decode_stage(bytes, index)?);
    }
    Ok((header, stages))
}

/// Refuses a file longer than the host library accepts (checkable before reading it).
pub(super) fn check_file_len(len: u64) -> Result<(), BlobError> {
    if len > layout::MAX_FILE_LEN as u64 {
        return Err(BlobError::new(
            BlobErrorKind::Limit,
            0,
            format!("file is {len} bytes; the limit is {} (512 MiB)", layout::MAX_FILE_LEN),
        ));
    }
    Ok(())
}

/// Whole-file checks: format family, length limits, reserved bytes, size and version fields.
fn check_envelope(bytes: &[u8]) -> Result<(), BlobError> {
    let magic_at = |offset: usize| bytes.len() >= offset + 2 && u16_at(bytes, offset) == NCSDK2_MAGIC;
    if bytes.starts_with(&NCSDK2_PREFIX) || magic_at(0x22) || magic_at(0x24) {
        return Err(BlobError::new(
            BlobErrorKind::Ncsdk2,
            0,
            "an NCSDK 2.x graph (blob format 3); ncs runs NCSDK 1.x graphs (blob format 2): recompile with \
             `ncs compile` or NCSDK 1.x mvNCCompile",
        ));
    }
    if bytes.len() < layout::MIN_FILE_LEN {
        return Err(BlobError::new(
            BlobErrorKind::Truncated,
            bytes.len(),
            format!(
                "file is {} bytes; a graph needs at least {} (header and one stage record)",
                bytes.len(),
                layout::MIN_FILE_LEN
            ),
        ));
    }
    check_file_len(bytes.len() as u64)?;
    if let Some(pos) = bytes[header::RESERVED..header::FILE_SIZE].iter().position(|&b| b != 0) {
        return Err(BlobError::new(
            BlobErrorKind::Header,
            pos,
            "the 32 reserved header bytes must be zero; this is not an NCSDK 1 graph",
        ));
    }
    let size = u32_at(bytes, header::FILE_SIZE);
    if u64::from(size) != bytes.len() as u64 {
        return Err(BlobError::new(
            BlobErrorKind::Header,
            header::FILE_SIZE,
            format!("size field says {size} bytes but the file has {} (truncated or padded?)", bytes.len()),
        ));
    }
    let version = u32_at(bytes, header::VERSION);
    if version != layout::BLOB_VERSION {
        return Err(BlobError::new(
            BlobErrorKind::Header,
            header::VERSION,
            format!("blob version is {version}; expected {}", layout::BLOB_VERSION),
        ));
    }
    Ok(())
}

/// Reads the stage count and checks the table, padding and data offset against the file.
fn stage_count(bytes: &[u8]) -> Result<usize, BlobError> {
    let count = u32_at(bytes, header::STAGE_COUNT);
    if count == 0 {
        return Err(BlobError::new(BlobErrorKind::Structure, header::STAGE_COUNT, "stage count is 0"));
    }
    let table_end = HEADER_LEN as u64 + RECORD_LEN as u64 * u64::from(count);
    if table_end > bytes.len() as u64 {
        return Err(BlobError::new(
            BlobErrorKind::Truncated,
            header::STAGE_COUNT,
            format!(
                "stage count {count} needs a stage table ending at byte {table_end}, but the file has {} bytes",
                bytes.len()
            ),
        ));
    }
    let count = count as usize;
    let expected = layout::data_offset(count);
    let found = u32_at(bytes, header::DATA_OFFSET);
    if u64::from(found) != expected as u64 {
        return Err(BlobError::new(
            BlobErrorKind::Header,
            header::DATA_OFFSET,
            format!("data-section offset is {found}; {count} stages put it at {expected} (table end rounded up to 8)"),
        ));
    }
    if expected > bytes.len() {
        return Err(BlobError::new(
            BlobErrorKind::Truncated,
            header::DATA_OFFSET,
            format!("data section would start at byte {expected}, past the end of the {}-byte file", bytes.len()),
        ));
    }
    let table_end = table_end as usize;
    if let Some(pos) = bytes[table_end..expected].iter().position(|&b| b != 0) {
        return Err(BlobError::new(
            BlobErrorKind::Header,
            table_end + pos,
            "padding between the stage table and the data section must be zero",
        ));
    }
    Ok(count)
}

fn decode_stage(bytes: &[u8], index: usize) -> Result<Stage, BlobError> {
    let base = HEADER_LEN + RECORD_LEN * index;
    let rec = &bytes[base..base + RECORD_LEN];
    let name = name_at(rec, record::NAME);
    let enum_at = |offset, what, expected| EnumField { rec, base, offset, what, expected };
    let decoded = (|| {
        Ok::<_, BlobError>((
            enum_at(record::OP, "op (StageType)", "0..=53 (NCSDK 1.12 numbering)").decode(StageType::from_u8)?,
            enum_at(record::PAD_STYLE, "padStyle", "0 none, 1 tfvalid, 2 caffe or 3 tfsame")
                .decode(PadStyle::from_u8)?,
            enum_at(record::DATA_TYPE, "datatype", DATA_TYPES).decode(DataType::from_u8)?,
            enum_at(record::PRECISION, "precision", DATA_TYPES).decode(DataType::from_u8)?,
            enum_at(record::STORAGE_ORDER, "storageOrder", "0..=5 (2 = YXZ)").decode(StorageOrder::from_u8)?,
            enum_at(record::PRE_OP, "preOp", POST_OPS).decode(PostOp::from_u8)?,
            enum_at(record::POST_OP, "postOp", POST_OPS).decode(PostOp::from_u8)?,
        ))
    })();
    let (op, pad_style, data_type, precision, storage_order, pre_op, post_op) =
        decoded.map_err(|e| e.in_stage(index, name.text()))?;

    let tensor = |pointer_at: usize, dims_at: usize, strides_at: usize| {
        let (location, pointer) = located(rec, pointer_at);
        Tensor { location, pointer, dims: dims_at_offset(rec, dims_at), strides: dims_at_offset(rec, strides_at) }
    };
    let buffer = |pointer_at: usize| {
        let (location, pointer) = located(rec, pointer_at);
        BufferRef { location, pointer }
    };
    Ok(Stage {
        name,
        op,
        opt_mask: u32_at(rec, record::OPT_MASK),
        kernel_x: rec[record::RADIX_X] as i8,
        kernel_y: rec[record::RADIX_Y] as i8,
        stride_x: rec[record::STRIDE_X],
        stride_y: rec[record::STRIDE_Y],
        pad_x: rec[record::PAD_X],
        pad_y: rec[record::PAD_Y],
        pad_style,
        input: tensor(record::DATA, record::INPUT_DIMS, record::INPUT_STRIDES),
        taps: tensor(record::TAPS, record::TAP_DIMS, record::TAP_STRIDES),
        bias: buffer(record::BIAS),
        op_params: buffer(record::OP_PARAMS),
        output: tensor(record::OUTPUT, record::OUTPUT_DIMS, record::OUTPUT_STRIDES),
        data_type,
        precision,
        storage_order,
        pre_op,
        post_op,
        post_param: u32_at(rec, record::POST_PARAM),
        post_stride_x: u16_at(rec, record::POST_STRIDE_X),
        post_stride_y: u16_at(rec, record::POST_STRIDE_Y),
    })
}

const DATA_TYPES: &str = "a DataType 0..=11 (2 = fp16)";
const POST_OPS: &str = "5 none, 6 relu, 7 relu_x, 9 bias, 23 elu or 42 leaky_relu";

/// One byte-coded field of a record, decoded with an error that names it.
struct EnumField<'a> {
    rec: &'a [u8],
    base: usize,
    offset: usize,
    what: &'static str,
    expected: &'static str,
}

impl EnumField<'_> {
    fn decode<T>(&self, from_u8: fn(u8) -> Option<T>) -> Result<T, BlobError> {
        let value = self.rec[self.offset];
        from_u8(value).ok_or_else(|| {
            BlobError::new(
                BlobErrorKind::UnknownValue,
                self.base + self.offset,
                format!("unknown {} {value}; expected {}", self.what, self.expected),
            )
        })
    }
}

fn located(rec: &[u8], offset: usize) -> (Location, u32) {
    (Location::from_u16(u16_at(rec, offset + 4)), u32_at(rec, offset))
}

fn dims_at_offset(rec: &[u8], offset: usize) -> Dims {
    Dims::new(u32_at(rec, offset), u32_at(rec, offset + 4), u32_at(rec, offset + 8))
}

fn name_at(bytes: &[u8], offset: usize) -> Name {
    let mut raw = [0u8; NAME_LEN];
    raw.copy_from_slice(&bytes[offset..offset + NAME_LEN]);
    Name::from_bytes(raw)
}

pub(super) fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

pub(super) fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]])
}
