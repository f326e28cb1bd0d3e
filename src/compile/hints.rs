//! The error for an op the NCS cannot run: the op's name, the nearest supported op (a hint
//! for the ops users commonly meet, else the closest name), and where the full list is.

use super::error::{CompileError, CompileErrorKind};

/// Ops the front end lowers, for "did you mean" hints.
const SUPPORTED: &[&str] = &[
    "Conv2D",
    "DepthwiseConv2dNative",
    "Conv2DBackpropInput",
    "MaxPool",
    "AvgPool",
    "Relu",
    "Relu6",
    "Elu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LRN",
    "MatMul",
    "BiasAdd",
    "Add",
    "AddV2",
    "Sub",
    "Mul",
    "RealDiv",
    "Maximum",
    "FusedBatchNorm",
    "FusedBatchNormV2",
    "FusedBatchNormV3",
    "ConcatV2",
    "Concat",
    "Reshape",
    "Squeeze",
    "ExpandDims",
    "Mean",
    "Pad",
    "Identity",
    "Const",
    "Placeholder",
    "Shape",
    "Slice",
    "Sum",
    "Square",
    "Rsqrt",
];

/// Explicit advice for ops users commonly meet.
const HINTS: &[(&str, &str)] = &[
    ("AddN", "Add (pairwise)"),
    ("BatchMatMul", "MatMul (batch 1, 2-D)"),
    ("BatchMatMulV2", "MatMul (batch 1, 2-D)"),
    ("Conv3D", "Conv2D"),
    ("Selu", "Elu"),
    ("Softplus", "Relu"),
    ("Swish", "Relu"),
    ("ResizeBilinear", "Conv2DBackpropInput (a transposed convolution)"),
    ("ResizeNearestNeighbor", "Conv2DBackpropInput (a transposed convolution)"),
    ("FusedBatchNormGradV3", "FusedBatchNormV3 at inference (export with is_training=False)"),
    ("Switch", "an inference graph without tf.cond (e.g. Keras learning phase 0, or slim is_training=False)"),
    ("Merge", "an inference graph without tf.cond (e.g. Keras learning phase 0, or slim is_training=False)"),
    ("StridedSlice", "Slice (channel slices of a 4-D tensor)"),
    ("Split", "Slice (channel slices of a 4-D tensor)"),
    ("Max", "MaxPool (a window over H and W)"),
    ("Minimum", "Maximum (with negated operands)"),
    ("ArgMax", "Softmax (take the arg max on the host)"),
    ("Transpose", "Reshape (memory stays HWC)"),
];

/// The error for an op the NCS cannot run, with the nearest supported op.
pub fn unsupported_op(op: &str) -> CompileError {
    let hint = HINTS.iter().find(|(o, _)| *o == op).map(|(_, h)| h.to_string()).unwrap_or_else(|| {
        let best = SUPPORTED.iter().min_by_key(|s| distance(&op.to_ascii_lowercase(), &s.to_ascii_lowercase()));
        best.map(|s| s.to_string()).unwrap_or_default()
    });
    CompileError::new(
        CompileErrorKind::Unsupported,
        format!(
            "op {op} is not supported by the NCS v1 TensorFlow front end (nearest supported: {hint}); \
             supported ops are listed in README"
        ),
    )
}

/// Levenshtein distance (op names are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_and_nearest_names() {
        assert!(unsupported_op("Conv3D").message.contains("nearest supported: Conv2D"));
        assert!(unsupported_op("Relu7").message.contains("nearest supported: Relu"));
    }
}
