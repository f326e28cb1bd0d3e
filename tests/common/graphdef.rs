//! Frozen-graph pieces for `ncs compile` tests, built through the crate's own message structs
//! (`ncs::compile::proto`): shapes, constants as TensorFlow writes them, and op nodes.

use ncs::compile::proto::{attr_value::Value, dtype, AttrValue, Dim, NodeDef, TensorProto, TensorShapeProto};

/// A fully known shape.
pub fn shape(dims: &[i64]) -> TensorShapeProto {
    TensorShapeProto { dim: dims.iter().map(|&size| Dim { size }).collect(), unknown_rank: false }
}

/// A `Const` node holding `tensor`, with the `dtype` attribute TensorFlow writes beside it.
pub fn constant(name: &str, tensor: TensorProto) -> NodeDef {
    let mut node = NodeDef { name: name.into(), op: "Const".into(), ..Default::default() };
    node.attr.insert("dtype".into(), AttrValue { value: Some(Value::Type(tensor.dtype)) });
    node.attr.insert("value".into(), AttrValue { value: Some(Value::Tensor(tensor)) });
    node
}

/// A float32 constant of shape `dims` (TensorFlow stores a splat as one value).
pub fn float_const(name: &str, dims: &[i64], float_val: Vec<f32>) -> NodeDef {
    constant(
        name,
        TensorProto { dtype: dtype::FLOAT, tensor_shape: Some(shape(dims)), float_val, ..Default::default() },
    )
}

/// A one-dimensional int64 constant (shapes, axes, paddings).
pub fn int64_const(name: &str, values: &[i64]) -> NodeDef {
    let tensor_shape = Some(shape(&[values.len() as i64]));
    constant(name, TensorProto { dtype: dtype::INT64, tensor_shape, int64_val: values.to_vec(), ..Default::default() })
}

/// A node running `op` on `inputs`, without attributes.
pub fn op_node(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    NodeDef {
        name: name.into(),
        op: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}
