//! Byte offsets, sizes and limits of the v2 blob format (docs/blob_format.md §2–§3).
//!
//! Parser, writer and error messages all take offsets from here, so a field lives at exactly
//! one documented place.

/// Length of the file header, before the stage table.
pub const HEADER_LEN: usize = 264;
/// Length of one packed stage record.
pub const RECORD_LEN: usize = 227;
/// The only blob version NCSDK 1.x writes and its host library accepts.
pub const BLOB_VERSION: u32 = 2;
/// Length of the fixed, NUL-padded name fields.
pub const NAME_LEN: usize = 100;
/// Constant buffers in the data section are padded to this many bytes.
pub const DATA_ALIGN: usize = 64;
/// Bytes per tensor element (fp16).
pub const ELEMENT_BYTES: u64 = 2;

/// Smallest file the host library accepts (a header and one record).
pub const MIN_FILE_LEN: usize = HEADER_LEN + RECORD_LEN;
/// Largest file the host library accepts.
pub const MAX_FILE_LEN: usize = 512 << 20;
/// Largest work area the toolkit will lay out.
pub const MAX_WORK_BYTES: u64 = 100 << 20;
/// Largest network output the host library will read, in elements.
pub const MAX_OUTPUT_ELEMENTS: u64 = 64 << 20;
/// Largest input or output arena we will address (the output element limit, in bytes).
pub const MAX_IO_BYTES: u64 = MAX_OUTPUT_ELEMENTS * ELEMENT_BYTES;

/// A work buffer of `x`·`y`·`z` fp16 values as the toolkit lays it out (`get_zero_buffer`):
/// `(guard, block)` — a guard band of RADIX_MAX/2 = 2 rows of X+1 pixels before and after the
/// data (`guard` bytes each), the whole rounded up to [`DATA_ALIGN`] (`block` bytes). The data
/// start `guard` bytes into the block (docs/blob_format.md §6).
pub fn work_buffer_bytes(x: u32, y: u32, z: u32) -> (u64, u64) {
    let guard = 2 * (u64::from(x) + 1) * u64::from(z) * ELEMENT_BYTES;
    let data = u64::from(x) * u64::from(y) * u64::from(z) * ELEMENT_BYTES;
    (guard, (data + 2 * guard).next_multiple_of(DATA_ALIGN as u64))
}

/// Start of the data section for `stage_count` records: the stage table, rounded up to 8.
pub fn data_offset(stage_count: usize) -> usize {
    (HEADER_LEN + RECORD_LEN * stage_count).next_multiple_of(8)
}

/// Header field offsets.
pub mod header {
    /// 32 reserved zero bytes ("VCS fix").
    pub const RESERVED: usize = 0;
    /// u32 total file length.
    pub const FILE_SIZE: usize = 32;
    /// u32 blob version (2).
    pub const VERSION: usize = 36;
    /// `char[100]` network name.
    pub const NAME: usize = 40;
    /// `char[100]` report directory (always empty).
    pub const REPORT_DIR: usize = 140;
    /// u32 number of stage records.
    pub const STAGE_COUNT: usize = 240;
    /// u32 file offset of the data section.
    pub const DATA_OFFSET: usize = 244;
    /// u16 first SHAVE core.
    pub const FIRST_SHAVE: usize = 248;
    /// u16 last SHAVE core.
    pub const LAST_SHAVE: usize = 250;
    /// u32 LEON memory location (0).
    pub const LEON_MEM_LOCATION: usize = 252;
    /// u32 LEON memory size (0).
    pub const LEON_MEM_SIZE: usize = 256;
    /// u32 DMA agent (0).
    pub const DMA_AGENT: usize = 260;
}

/// Stage record field offsets, relative to the record start; each constant is named after the
/// toolkit's field (docs/blob_format.md §3).
#[allow(missing_docs)]
pub mod record {
    pub const NAME: usize = 0;
    pub const OP: usize = 100;
    pub const OPT_MASK: usize = 101;
    pub const RADIX_X: usize = 105;
    pub const RADIX_Y: usize = 106;
    pub const STRIDE_X: usize = 107;
    pub const STRIDE_Y: usize = 108;
    pub const PAD_X: usize = 109;
    pub const PAD_Y: usize = 110;
    pub const PAD_STYLE: usize = 111;
    /// u32 × 3: inputDimX/Y/Z.
    pub const INPUT_DIMS: usize = 112;
    /// u32 × 3: tapDimX/Y/Z.
    pub const TAP_DIMS: usize = 124;
    /// u32 × 3: outputDimX/Y/Z.
    pub const OUTPUT_DIMS: usize = 136;
    /// u32 × 3: inputStrideX/Y/Z (bytes).
    pub const INPUT_STRIDES: usize = 148;
    /// u32 × 3: tapStrideX/Y/Z.
    pub const TAP_STRIDES: usize = 160;
    /// u32 × 3: outputStrideX/Y/Z (bytes).
    pub const OUTPUT_STRIDES: usize = 172;
    pub const DATA_TYPE: usize = 184;
    pub const PRECISION: usize = 185;
    pub const STORAGE_ORDER: usize = 186;
    /// u32 pointer + u16 location index.
    pub const DATA: usize = 187;
    pub const TAPS: usize = 193;
    pub const BIAS: usize = 199;
    pub const OP_PARAMS: usize = 205;
    pub const OUTPUT: usize = 211;
    pub const PRE_OP: usize = 217;
    pub const POST_OP: usize = 218;
    /// f32 (or i32 0) parameter of the post-op.
    pub const POST_PARAM: usize = 219;
    pub const POST_STRIDE_X: usize = 223;
    pub const POST_STRIDE_Y: usize = 225;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_offset_matches_real_blobs() {
        // conv8.graph: 3 stages, data at 952; deeppicar.graph: 10 stages, data at 2536.
        assert_eq!(data_offset(3), 952);
        assert_eq!(data_offset(10), 2536);
        assert_eq!(record::POST_STRIDE_Y + 2, RECORD_LEN);
        assert_eq!(header::DMA_AGENT + 4, HEADER_LEN);
    }
}
