//! The byte-coded enumerations of the v2 blob format, numbered as NCSDK 1.12 writes them.
//!
//! Values the table does not know are rejected by the parser with the stage and field named,
//! so every variant here is a value some toolkit actually emits (or reserves).

use std::fmt;

/// Declares a `u8`-coded enum with its wire value and the toolkit's name for each variant.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("Wire value ", stringify!($value), ", `", $text, "`.")]
                $variant = $value,
            )+
        }

        impl $name {
            /// Every variant, in wire-value order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// Decodes a wire value; `None` when the toolkit never assigned it.
            pub fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $($value => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The wire value.
            pub fn to_u8(self) -> u8 {
                self as u8
            }

            /// The toolkit's own name for the value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

wire_enum! {
    /// The operation of a stage record (`op`, and also the value space of `preOp`/`postOp`).
    ///
    /// Numbers 0–27 are stable across toolkit versions; 28 and above follow NCSDK 1.12 and were
    /// renumbered between releases (see [`StageType::is_version_dependent`]).
    StageType {
        Convolution = 0 => "convolution",
        MaxPooling = 1 => "max_pooling",
        AveragePooling = 2 => "average_pooling",
        SoftMax = 3 => "soft_max",
        FullyConnected = 4 => "fully_connected_layer",
        None = 5 => "none",
        Relu = 6 => "relu",
        ReluX = 7 => "relu_x",
        DepthwiseConvolution = 8 => "depthwise_convolution",
        Bias = 9 => "bias",
        PRelu = 10 => "prelu",
        Lrn = 11 => "LRN",
        EltwiseSum = 12 => "eltwise_sum",
        EltwiseProd = 13 => "eltwise_prod",
        EltwiseMax = 14 => "eltwise_max",
        Scale = 15 => "scale",
        Relayout = 16 => "relayout",
        Square = 17 => "square",
        InnerLrn = 18 => "innerlrn",
        Copy = 19 => "copy",
        Sigmoid = 20 => "sigmoid",
        Tanh = 21 => "tanh",
        Deconvolution = 22 => "deconvolution",
        Elu = 23 => "elu",
        Reshape = 24 => "reshape",
        ToPlaneMajor = 25 => "toplanemajor",
        Power = 26 => "power",
        Crop = 27 => "crop",
        Tile = 28 => "tile",
        Region = 29 => "region",
        Reorg = 30 => "reorg",
        ConvertU8F16 = 31 => "convertu8fp16",
        ConvertF32F16 = 32 => "convertf32f16",
        MyriadXConvolution = 33 => "myriadX_convolution",
        MyriadXPooling = 34 => "myriadX_pooling",
        MyriadXFullyConnected = 35 => "myriadX_fully_connected_layer",
        MyriadXPostOps = 36 => "myriadX_post_ops",
        ConvertHwSw = 37 => "convertHwSw",
        Permute = 38 => "permute",
        Normalize = 39 => "normalize",
        PriorBox = 40 => "prior_box",
        DetectionOutput = 41 => "detection_output",
        LeakyRelu = 42 => "leaky_relu",
        SumReduce = 43 => "sum_reduce",
        MaxWithConst = 44 => "max_with_const",
        Rsqrt = 45 => "rsqrt",
        ScaleWithScalar = 46 => "scale_with_scalar",
        Dropout = 47 => "dropout",
        Maxout = 48 => "maxout",
        Normalization = 49 => "normalizaton",
        RRelu = 50 => "r_relu",
        Bnll = 51 => "BNLL",
        Abs = 52 => "abs",
        StochasticPooling = 53 => "stochastic_pooling",
    }
}

impl StageType {
    /// True for values ≥ 28, whose meaning changed between toolkit releases
    /// (e.g. leaky_relu was 31 in NCSDK 1.07 and is 42 in 1.12).
    pub fn is_version_dependent(self) -> bool {
        self.to_u8() >= 28
    }
}

wire_enum! {
    /// The activation fused after a stage (`postOp`) or before it (`preOp`, always `None` in v1).
    PostOp {
        None = 5 => "none",
        Relu = 6 => "relu",
        /// ReLU clipped at `post_param1` (TensorFlow's Relu6 writes 6.0).
        ReluX = 7 => "relu_x",
        /// Add bias, no activation.
        Bias = 9 => "bias",
        Elu = 23 => "elu",
        LeakyRelu = 42 => "leaky_relu",
    }
}

wire_enum! {
    /// How a stage derives its padding.
    PadStyle {
        None = 0 => "none",
        TfValid = 1 => "tfvalid",
        /// Symmetric explicit padding from `padX`/`padY`.
        Caffe = 2 => "caffe",
        /// TensorFlow SAME: the device derives the (asymmetric) padding itself.
        TfSame = 3 => "tfsame",
    }
}

wire_enum! {
    /// Element type of a stage's tensors (`datatype`, `precision`); always fp16 in practice.
    DataType {
        Fp64 = 0 => "fp64",
        Fp32 = 1 => "fp32",
        Fp16 = 2 => "fp16",
        Fp8 = 3 => "fp8",
        Int64 = 4 => "int64",
        Int32 = 5 => "int32",
        Int16 = 6 => "int16",
        Int8 = 7 => "int8",
        Int4 = 8 => "int4",
        Int2 = 9 => "int2",
        Bit = 10 => "bit",
        Chr = 11 => "chr",
    }
}

wire_enum! {
    /// Declared storage order (outer to inner). Informational only: Caffe blobs say ZYX although
    /// their data are HWC, so the strides, not this field, define the layout.
    StorageOrder {
        Xyz = 0 => "orderXYZ",
        Xzy = 1 => "orderXZY",
        Yxz = 2 => "orderYXZ",
        Yzx = 3 => "orderYZX",
        Zyx = 4 => "orderZYX",
        Zxy = 5 => "orderZXY",
    }
}

/// Which memory region a pointer is relative to (the record's `*Index` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Location {
    /// Slot unused.
    #[default]
    None,
    /// The tensor the host loads.
    Input,
    /// The tensor the host reads back.
    Output,
    /// The blob's data section (weights, biases, parameters).
    Blob,
    /// The zero-initialised work area; the id (≥ 4) only names the buffer, pointers are
    /// offsets into one shared area.
    Work(u16),
}

impl Location {
    /// Decodes an index field; every `u16` is meaningful.
    pub fn from_u16(index: u16) -> Self {
        match index {
            0 => Location::None,
            1 => Location::Input,
            2 => Location::Output,
            3 => Location::Blob,
            id => Location::Work(id),
        }
    }

    /// The index field value.
    pub fn to_u16(self) -> u16 {
        match self {
            Location::None => 0,
            Location::Input => 1,
            Location::Output => 2,
            Location::Blob => 3,
            Location::Work(id) => id,
        }
    }

    /// The arena a located pointer addresses (`None` for an unused slot).
    pub fn arena(self) -> Option<Arena> {
        match self {
            Location::None => None,
            Location::Input => Some(Arena::Input),
            Location::Output => Some(Arena::Output),
            Location::Blob => Some(Arena::Blob),
            Location::Work(_) => Some(Arena::Work),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::None => f.write_str("none"),
            Location::Input => f.write_str("input"),
            Location::Output => f.write_str("output"),
            Location::Blob => f.write_str("blob"),
            Location::Work(id) => write!(f, "work{id}"),
        }
    }
}

/// The four byte regions a stage can address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arena {
    /// Network input, loaded by the host.
    Input,
    /// Network output, read by the host.
    Output,
    /// The blob's data section.
    Blob,
    /// The device work area (intermediate tensors).
    Work,
}

impl Arena {
    /// All arenas.
    pub const ALL: [Arena; 4] = [Arena::Input, Arena::Output, Arena::Blob, Arena::Work];

    /// Lower-case name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Arena::Input => "input",
            Arena::Output => "output",
            Arena::Blob => "blob data",
            Arena::Work => "work area",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_types_round_trip_and_leave_gaps_unknown() {
        for value in 0..=u8::MAX {
            match StageType::from_u8(value) {
                Some(op) => assert_eq!(op.to_u8(), value),
                None => assert!(value > 53, "{value} should be known"),
            }
        }
        assert_eq!(StageType::LeakyRelu.to_u8(), 42);
        assert!(StageType::LeakyRelu.is_version_dependent());
        assert!(!StageType::Crop.is_version_dependent());
    }

    #[test]
    fn post_ops_are_the_fusable_subset() {
        let values: Vec<u8> = PostOp::ALL.iter().map(|p| p.to_u8()).collect();
        assert_eq!(values, [5, 6, 7, 9, 23, 42]);
        for p in PostOp::ALL {
            // Each post-op shares its number and name with the stage type of the same value.
            let op = StageType::from_u8(p.to_u8()).unwrap();
            assert_eq!(op.name(), p.name());
        }
        assert_eq!(PostOp::from_u8(8), None);
    }

    #[test]
    fn locations_cover_every_index() {
        for index in [0u16, 1, 2, 3, 4, 5, 999, u16::MAX] {
            assert_eq!(Location::from_u16(index).to_u16(), index);
        }
        assert_eq!(Location::from_u16(7).arena(), Some(Arena::Work));
        assert_eq!(Location::from_u16(0).arena(), None);
    }
}
