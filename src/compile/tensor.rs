//! Constant tensors of a GraphDef, decoded with bounds: a claimed shape is checked against the
//! bytes that back it before anything is allocated, so a hostile file cannot make the
//! compiler allocate more than a small multiple of its own size.

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::proto::{dtype, TensorProto, TensorShapeProto};

/// Most elements a constant may expand to from a short value list (TensorFlow repeats the last
/// value to fill the shape). 16 Mi floats = 64 MiB: above any single layer that fits a graph
/// file's 320 MiB limit in practice, yet bounded whatever the file claims.
pub const MAX_FILLED_ELEMENTS: u64 = 1 << 24;
/// Most dimensions a tensor may have here (TensorFlow allows 254; NCS graphs use ≤ 4).
pub const MAX_RANK: usize = 8;

/// A decoded constant: shape (outermost first) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Values,
}

/// The values of a constant, widened to one float and one integer type.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// float32, float16 and float64 constants (float64 rounded to f32, as TF's cast would).
    Float(Vec<f32>),
    /// Integer and bool constants.
    Int(Vec<i64>),
}

impl Constant {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.values {
            Values::Float(v) => v.len(),
            Values::Int(v) => v.len(),
        }
    }

    /// True for an empty tensor.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as floats (integers converted).
    pub fn floats(&self) -> Vec<f32> {
        match &self.values {
            Values::Float(v) => v.clone(),
            Values::Int(v) => v.iter().map(|&i| i as f32).collect(),
        }
    }

    /// The values as integers; `None` for a float constant.
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.values {
            Values::Int(v) => Some(v),
            Values::Float(_) => None,
        }
    }
}

/// Reads the static shape of a `TensorShapeProto`: `None` for an unknown rank, −1 for an
/// unknown dimension.
pub fn shape_of(proto: &TensorShapeProto) -> CompileResult<Option<Vec<i64>>> {
    if proto.unknown_rank {
        return Ok(None);
    }
    if proto.dim.len() > MAX_RANK {
        return Err(bad(format!("{} dimensions; at most {MAX_RANK} are supported", proto.dim.len())));
    }
    let dims: Vec<i64> = proto.dim.iter().map(|d| d.size).collect();
    if let Some(d) = dims.iter().find(|&&d| d < -1) {
        return Err(bad(format!("dimension {d} is negative")));
    }
    Ok(Some(dims))
}

/// Decodes a `TensorProto`. Errors carry no node; callers add it.
pub fn decode(proto: &TensorProto) -> CompileResult<Constant> {
    let dims = match &proto.tensor_shape {
        Some(shape) => shape_of(shape)?.ok_or_else(|| bad("constant of unknown rank".into()))?,
        None => Vec::new(),
    };
    if dims.contains(&-1) {
        return Err(bad(format!("constant with an unknown dimension {dims:?}")));
    }
    let count = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let count = count.ok_or_else(|| bad(format!("shape {dims:?} overflows")))?;
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let values = match proto.dtype {
        dtype::FLOAT => Values::Float(floats(proto, count, 4, &proto.float_val, |content| {
            content.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        })?),
        dtype::HALF => {
            // `half_val` holds each value's 16 bits in an int32.
            let bits: Vec<u8> = proto.half_val.iter().flat_map(|&h| (h as u16).to_le_bytes()).collect();
            Values::Float(floats(proto, count, 2, &crate::fp16::decode(&bits), crate::fp16::decode)?)
        }
        dtype::DOUBLE => {
            let narrowed: Vec<f32> = proto.double_val.iter().map(|&d| d as f32).collect();
            Values::Float(floats(proto, count, 8, &narrowed, |content| {
                content
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                    .collect()
            })?)
        }
        dtype::INT32 | dtype::INT16 | dtype::INT8 | dtype::UINT8 | dtype::INT64 | dtype::BOOL => {
            Values::Int(ints(proto, count)?)
        }
        other => return Err(bad(format!("constants of type {} are not supported", dtype::name(other)))),
    };
    Ok(Constant { shape, values })
}

/// Size in bytes of one element stored in `tensor_content`.
fn int_width(dtype: i32) -> usize {
    match dtype {
        dtype::INT64 => 8,
        dtype::INT32 => 4,
        dtype::INT16 => 2,
        _ => 1,
    }
}

fn floats(
    proto: &TensorProto,
    count: u64,
    width: usize,
    listed: &[f32],
    decode: impl Fn(&[u8]) -> Vec<f32>,
) -> CompileResult<Vec<f32>> {
    if !proto.tensor_content.is_empty() {
        let content = &proto.tensor_content;
        if content.len() as u64 != count.saturating_mul(width as u64) {
            return Err(bad(format!(
                "shape claims {count} elements ({} bytes) but the tensor holds {} bytes",
                count.saturating_mul(width as u64),
                content.len()
            )));
        }
        return Ok(decode(content));
    }
    fill(listed, count, 0.0)
}

fn ints(proto: &TensorProto, count: u64) -> CompileResult<Vec<i64>> {
    if !proto.tensor_content.is_empty() {
        let width = int_width(proto.dtype);
        let content = &proto.tensor_content;
        if content.len() as u64 != count.saturating_mul(width as u64) {
            return Err(bad(format!(
                "shape claims {count} elements ({} bytes) but the tensor holds {} bytes",
                count.saturating_mul(width as u64),
                content.len()
            )));
        }
        let signed = proto.dtype != dtype::UINT8 && proto.dtype != dtype::BOOL;
        return Ok(content
            .chunks_exact(width)
            .map(|b| {
                let mut raw = [0u8; 8];
                raw[..width].copy_from_slice(b);
                let value = i64::from_le_bytes(raw);
                let shift = 64 - 8 * width as u32;
                if signed && shift > 0 {
                    (value << shift) >> shift
                } else {
                    value
                }
            })
            .collect());
    }
    let listed: Vec<i64> = match proto.dtype {
        dtype::INT64 => proto.int64_val.clone(),
        dtype::BOOL => proto.bool_val.iter().map(|&b| i64::from(b)).collect(),
        _ => proto.int_val.iter().map(|&i| i64::from(i)).collect(),
    };
    fill(&listed, count, 0)
}

/// TensorFlow's rule for value lists: exactly `count` values, or fewer with the last one
/// repeated (none = zeros); more is an error.
fn fill<T: Copy>(listed: &[T], count: u64, zero: T) -> CompileResult<Vec<T>> {
    if listed.len() as u64 > count {
        return Err(bad(format!("{} values for a shape of {count} elements", listed.len())));
    }
    if listed.len() as u64 == count {
        return Ok(listed.to_vec());
    }
    if count > MAX_FILLED_ELEMENTS {
        return Err(CompileError::new(
            CompileErrorKind::Limit,
            format!(
                "a constant of {count} elements given by {} value(s); more than {MAX_FILLED_ELEMENTS} \
                 elements must be stored in full",
                listed.len()
            ),
        ));
    }
    let last = listed.last().copied().unwrap_or(zero);
    let mut out = Vec::with_capacity(count as usize);
    out.extend_from_slice(listed);
    out.resize(count as usize, last);
    Ok(out)
}

fn bad(message: String) -> CompileError {
    CompileError::new(CompileErrorKind::BadConstant, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::proto::Dim;

    fn shape(dims: &[i64]) -> Option<TensorShapeProto> {
        Some(TensorShapeProto { dim: dims.iter().map(|&size| Dim { size }).collect(), unknown_rank: false })
    }

    fn float_proto(dims: &[i64], content: Vec<u8>) -> TensorProto {
        TensorProto {
            dtype: dtype::FLOAT,
            tensor_shape: shape(dims),
            tensor_content: content.into(),
            ..Default::default()
        }
    }

    #[test]
    fn content_length_must_match_the_claimed_shape() {
        let ok = float_proto(&[2], [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect());
        assert_eq!(decode(&ok).unwrap().values, Values::Float(vec![1.5, -2.0]));
        // A huge claimed shape with 8 bytes of content is refused before any allocation.
        let hostile = float_proto(&[1 << 30, 1 << 30], vec![0; 8]);
        let err = decode(&hostile).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::BadConstant);
        assert!(err.message.contains("holds 8 bytes"), "{err}");
        let overflow = float_proto(&[i64::MAX, 4], vec![0; 8]);
        assert!(decode(&overflow).unwrap_err().message.contains("overflows"));
    }

    #[test]
    fn short_value_lists_repeat_the_last_value_within_a_bound() {
        let mut p = TensorProto { dtype: dtype::FLOAT, tensor_shape: shape(&[4]), ..Default::default() };
        p.float_val = vec![1.0, 2.0];
        assert_eq!(decode(&p).unwrap().values, Values::Float(vec![1.0, 2.0, 2.0, 2.0]));
        p.tensor_shape = shape(&[1 << 40]);
        assert_eq!(decode(&p).unwrap_err().kind, CompileErrorKind::Limit);
        p.tensor_shape = shape(&[1]);
        assert!(decode(&p).is_err(), "more values than elements");
    }

    #[test]
    fn integer_widths_and_signs() {
        let p = TensorProto {
            dtype: dtype::INT32,
            tensor_shape: shape(&[2]),
            tensor_content: [-1i32, 7].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>().into(),
            ..Default::default()
        };
        assert_eq!(decode(&p).unwrap().ints(), Some(&[-1i64, 7][..]));
        let scalar = TensorProto { dtype: dtype::INT64, int64_val: vec![-3], ..Default::default() };
        let c = decode(&scalar).unwrap();
        assert!(c.shape.is_empty());
        assert_eq!(c.ints(), Some(&[-3i64][..]));
    }
}
