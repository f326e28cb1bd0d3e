//! One stage record, typed: the operation, its geometry and the tensors it reads and writes.

use super::enums::{DataType, Location, PadStyle, PostOp, StageType, StorageOrder};
use super::layout::ELEMENT_BYTES;
use super::name::Name;

/// A (X, Y, Z) triple as the records store it: X = columns (innermost spatial), Y = rows,
/// Z = channels. Used both for dimensions (elements) and for strides (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dims {
    /// Innermost spatial dimension (columns).
    pub x: u32,
    /// Outer spatial dimension (rows).
    pub y: u32,
    /// Channels.
    pub z: u32,
}

impl Dims {
    /// Builds a triple.
    pub const fn new(x: u32, y: u32, z: u32) -> Self {
        Dims { x, y, z }
    }

    /// X·Y·Z, saturating at `u64::MAX` (beyond every limit, so hostile values are rejected).
    pub fn product(self) -> u64 {
        u64::from(self.x).saturating_mul(u64::from(self.y)).saturating_mul(u64::from(self.z))
    }

    /// Dense fp16 HWC (channel fastest) byte strides for these dimensions.
    pub fn hwc_strides(self) -> Dims {
        let z = ELEMENT_BYTES as u32;
        Dims::new(z * self.z, z * self.z * self.x, z)
    }

    /// As `[rows, columns, channels]`, the order `ncs` prints and `.npy` files use.
    pub fn shape_yxz(self) -> [u32; 3] {
        [self.y, self.x, self.z]
    }
}

/// A strided fp16 tensor somewhere in one of the four arenas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tensor {
    /// Region the pointer is relative to.
    pub location: Location,
    /// Byte offset of element (0, 0, 0) within the region.
    pub pointer: u32,
    /// Extent in elements.
    pub dims: Dims,
    /// Byte distance between neighbours along X, Y and Z.
    pub strides: Dims,
}

impl Tensor {
    /// Bytes from `pointer` to the end of the last element; 0 when any dimension is 0.
    /// Computed in u64, so no field values can overflow it.
    pub fn extent_bytes(&self) -> u64 {
        span_bytes(self.dims, self.strides)
    }

    /// Byte offset of element (x, y, z) relative to the region start.
    pub fn offset_of(&self, x: u32, y: u32, z: u32) -> u64 {
        u64::from(self.pointer)
            + u64::from(x) * u64::from(self.strides.x)
            + u64::from(y) * u64::from(self.strides.y)
            + u64::from(z) * u64::from(self.strides.z)
    }

    /// True when the elements are packed HWC with no gaps (a plain contiguous buffer).
    pub fn is_dense_hwc(&self) -> bool {
        self.strides == self.dims.hwc_strides()
    }
}

/// Bytes spanned by a strided fp16 tensor: last element's offset plus one element.
pub fn span_bytes(dims: Dims, strides: Dims) -> u64 {
    if dims.product() == 0 {
        return 0;
    }
    // Each term is below 2^64; their sum saturates rather than wrapping.
    let last = |d: u32, s: u32| u64::from(d - 1) * u64::from(s);
    last(dims.x, strides.x)
        .saturating_add(last(dims.y, strides.y))
        .saturating_add(last(dims.z, strides.z))
        .saturating_add(ELEMENT_BYTES)
}

/// A pointer into an arena without a shape of its own (biases, parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BufferRef {
    /// Region the pointer is relative to ([`Location::None`] when the slot is unused).
    pub location: Location,
    /// Byte offset within the region.
    pub pointer: u32,
}

impl BufferRef {
    /// True when the slot names a buffer.
    pub fn is_used(&self) -> bool {
        self.location != Location::None
    }
}

/// One stage record, with every field kept so that the blob re-writes byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Stage name (TensorFlow: the output tensor of the last fused op).
    pub name: Name,
    /// The operation.
    pub op: StageType,
    /// Implementation selection mask; irrelevant to the maths.
    pub opt_mask: u32,
    /// Kernel width (`radixX`).
    pub kernel_x: i8,
    /// Kernel height (`radixY`).
    pub kernel_y: i8,
    /// Horizontal stride.
    pub stride_x: u8,
    /// Vertical stride.
    pub stride_y: u8,
    /// Explicit horizontal padding (used with [`PadStyle::Caffe`]).
    pub pad_x: u8,
    /// Explicit vertical padding.
    pub pad_y: u8,
    /// How padding is derived.
    pub pad_style: PadStyle,
    /// Main input (`data*` fields with `inputDim*`/`inputStride*`).
    pub input: Tensor,
    /// Weights or second operand (`taps*` fields with `tapDim*`/`tapStride*`); the dims are the
    /// toolkit's (kh·kw, C, K) and the strides are not true strides.
    pub taps: Tensor,
    /// Bias, or LRN parameters, or PReLU slopes.
    pub bias: BufferRef,
    /// Typed operation parameters.
    pub op_params: BufferRef,
    /// Output (`output*` fields with `outputDim*`/`outputStride*`).
    pub output: Tensor,
    /// Element type (always fp16 in practice).
    pub data_type: DataType,
    /// Compute precision (always fp16 in practice).
    pub precision: DataType,
    /// Declared order; informational only (strides define the layout).
    pub storage_order: StorageOrder,
    /// Activation before the op (always none in v1).
    pub pre_op: PostOp,
    /// Activation or bias fused after the op.
    pub post_op: PostOp,
    /// Raw bits of `post_param1` (an f32, or an i32 0).
    pub post_param: u32,
    /// Unused post-op stride fields (always 0), kept for byte fidelity.
    pub post_stride_x: u16,
    /// See `post_stride_x`.
    pub post_stride_y: u16,
}

impl Stage {
    /// `post_param1` as the f32 the toolkit writes for ReLU-X, leaky ReLU and ELU.
    pub fn post_param_f32(&self) -> f32 {
        f32::from_bits(self.post_param)
    }

    /// The name as text.
    pub fn name_text(&self) -> String {
        self.name.text().into_owned()
    }

    /// A record with the toolkit's defaults and the given op; geometry and tensors unset.
    pub fn with_defaults(name: &str, op: StageType) -> Self {
        Stage {
            name: Name::new(name),
            op,
            opt_mask: 0x8000_0000,
            kernel_x: 1,
            kernel_y: 1,
            stride_x: 1,
            stride_y: 1,
            pad_x: 0,
            pad_y: 0,
            pad_style: PadStyle::None,
            input: Tensor::default(),
            taps: Tensor::default(),
            bias: BufferRef::default(),
            op_params: BufferRef::default(),
            output: Tensor::default(),
            data_type: DataType::Fp16,
            precision: DataType::Fp16,
            storage_order: StorageOrder::Yxz,
            pre_op: PostOp::None,
            post_op: PostOp::None,
            post_param: 0,
            post_stride_x: 0,
            post_stride_y: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_follow_strides() {
        let dims = Dims::new(64, 64, 3);
        let t = Tensor { location: Location::Input, pointer: 0, dims, strides: dims.hwc_strides() };
        assert_eq!(t.strides, Dims::new(6, 384, 2));
        assert_eq!(t.extent_bytes(), 64 * 64 * 3 * 2);
        assert!(t.is_dense_hwc());
        // A concat member: 8 of 24 channels, at channel offset 8.
        let member = Tensor {
            location: Location::Work(4),
            pointer: 16,
            dims: Dims::new(2, 2, 8),
            strides: Dims::new(48, 96, 2),
        };
        assert_eq!(member.extent_bytes(), 48 + 96 + 14 + 2);
        assert_eq!(member.offset_of(1, 1, 1), 16 + 48 + 96 + 2);
        assert_eq!(span_bytes(Dims::new(0, 5, 5), Dims::new(2, 2, 2)), 0);
        let huge = span_bytes(Dims::new(u32::MAX, u32::MAX, u32::MAX), Dims::new(u32::MAX, u32::MAX, u32::MAX));
        assert!(huge > u64::from(u32::MAX));
    }
}
