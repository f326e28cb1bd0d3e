//! TensorFlow's GraphDef messages, declared by hand for prost from the field numbers of TF's
//! `graph.proto`, `node_def.proto`, `attr_value.proto`, `tensor.proto`, `tensor_shape.proto`
//! and `types.proto` (tensorflow/core/framework). Only the fields a frozen inference graph
//! needs are declared; prost skips the others (function libraries, resource handles, …).
//!
//! Tensor contents are `bytes::Bytes`: decoded from a `Bytes` buffer they are views of the
//! file, not copies.

use std::collections::HashMap;

use bytes::Bytes;

/// `tensorflow.GraphDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphDef {
    /// Field 1: the nodes, in the order the graph was built.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    /// Field 2 (`FunctionDefLibrary library`): present in graphs with functions, which a
    /// frozen inference graph must not use. Kept as raw bytes to detect it.
    #[prost(bytes = "bytes", optional, tag = "2")]
    pub library: Option<Bytes>,
    /// Field 3: producer version.
    #[prost(int32, tag = "3")]
    pub version: i32,
}

/// `tensorflow.NodeDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDef {
    /// Field 1: unique node name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Field 2: the op type.
    #[prost(string, tag = "2")]
    pub op: String,
    /// Field 3: inputs as `node[:output]`, control inputs as `^node`.
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    /// Field 4: device placement (ignored).
    #[prost(string, tag = "4")]
    pub device: String,
    /// Field 5: attributes.
    #[prost(map = "string, message", tag = "5")]
    pub attr: HashMap<String, AttrValue>,
}

/// `tensorflow.AttrValue` (its `oneof value`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttrValue {
    /// The value.
    #[prost(oneof = "attr_value::Value", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10")]
    pub value: Option<attr_value::Value>,
}

/// The `oneof` of [`AttrValue`] and its `ListValue`.
pub mod attr_value {
    use super::{TensorProto, TensorShapeProto};
    use bytes::Bytes;

    /// `AttrValue.value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// Field 1: `list(...)`.
        #[prost(message, tag = "1")]
        List(ListValue),
        /// Field 2: `string`.
        #[prost(bytes = "bytes", tag = "2")]
        S(Bytes),
        /// Field 3: `int`.
        #[prost(int64, tag = "3")]
        I(i64),
        /// Field 4: `float`.
        #[prost(float, tag = "4")]
        F(f32),
        /// Field 5: `bool`.
        #[prost(bool, tag = "5")]
        B(bool),
        /// Field 6: `type` (a `DataType` number).
        #[prost(int32, tag = "6")]
        Type(i32),
        /// Field 7: `shape`.
        #[prost(message, tag = "7")]
        Shape(TensorShapeProto),
        /// Field 8: `tensor`.
        #[prost(message, tag = "8")]
        Tensor(TensorProto),
        /// Field 9: a function placeholder name (only inside functions).
        #[prost(string, tag = "9")]
        Placeholder(String),
        /// Field 10: `func` (`NameAttrList`), kept raw: never valid in the ops we lower.
        #[prost(bytes = "bytes", tag = "10")]
        Func(Bytes),
    }

    /// `AttrValue.ListValue`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ListValue {
        /// Field 2: `list(string)`.
        #[prost(bytes = "bytes", repeated, tag = "2")]
        pub s: Vec<Bytes>,
        /// Field 3: `list(int)`.
        #[prost(int64, repeated, tag = "3")]
        pub i: Vec<i64>,
        /// Field 4: `list(float)`.
        #[prost(float, repeated, tag = "4")]
        pub f: Vec<f32>,
        /// Field 5: `list(bool)`.
        #[prost(bool, repeated, tag = "5")]
        pub b: Vec<bool>,
        /// Field 6: `list(type)`.
        #[prost(int32, repeated, tag = "6")]
        pub r#type: Vec<i32>,
        /// Field 7: `list(shape)`.
        #[prost(message, repeated, tag = "7")]
        pub shape: Vec<TensorShapeProto>,
    }
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// Field 2: dimensions, outermost first (size −1 = unknown).
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
    /// Field 3: the rank itself is unknown.
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dim {
    /// Field 1: size, −1 when unknown.
    #[prost(int64, tag = "1")]
    pub size: i64,
}

/// `tensorflow.TensorProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Field 1: element type (`DataType` number).
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// Field 2: shape.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// Field 4: raw little-endian contents (`Tensor::AsProtoTensorContent`).
    #[prost(bytes = "bytes", tag = "4")]
    pub tensor_content: Bytes,
    /// Field 5: `DT_FLOAT` values.
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    /// Field 6: `DT_DOUBLE` values.
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    /// Field 7: `DT_INT32`/`INT16`/`INT8`/`UINT8` values.
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
    /// Field 10: `DT_INT64` values.
    #[prost(int64, repeated, tag = "10")]
    pub int64_val: Vec<i64>,
    /// Field 11: `DT_BOOL` values.
    #[prost(bool, repeated, tag = "11")]
    pub bool_val: Vec<bool>,
    /// Field 13: `DT_HALF` values, one fp16 bit pattern per int32.
    #[prost(int32, repeated, tag = "13")]
    pub half_val: Vec<i32>,
}

/// `tensorflow.DataType` numbers of the element types constants may have here.
pub mod dtype {
    /// `DT_FLOAT`.
    pub const FLOAT: i32 = 1;
    /// `DT_DOUBLE`.
    pub const DOUBLE: i32 = 2;
    /// `DT_INT32`.
    pub const INT32: i32 = 3;
    /// `DT_UINT8`.
    pub const UINT8: i32 = 4;
    /// `DT_INT16`.
    pub const INT16: i32 = 5;
    /// `DT_INT8`.
    pub const INT8: i32 = 6;
    /// `DT_INT64`.
    pub const INT64: i32 = 9;
    /// `DT_BOOL`.
    pub const BOOL: i32 = 10;
    /// `DT_HALF`.
    pub const HALF: i32 = 19;
    /// Reference types are the value type + 100 (`DT_FLOAT_REF` = 101).
    pub const REF_OFFSET: i32 = 100;

    /// TensorFlow's name for a type number, for messages.
    pub fn name(dtype: i32) -> String {
        match dtype {
            FLOAT => "float32".into(),
            DOUBLE => "float64".into(),
            INT32 => "int32".into(),
            UINT8 => "uint8".into(),
            INT16 => "int16".into(),
            INT8 => "int8".into(),
            7 => "string".into(),
            INT64 => "int64".into(),
            BOOL => "bool".into(),
            HALF => "float16".into(),
            14 => "bfloat16".into(),
            d if d > REF_OFFSET => format!("{}_ref", name(d - REF_OFFSET)),
            d => format!("DataType {d}"),
        }
    }
}
