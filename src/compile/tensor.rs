//! Constant tensors of a GraphDef, decoded with bounds: a claimed shape is checked against the
//! bytes that back it before anything is allocated, so a hostile file cannot make the
//! compiler allocate more than a small multiple of its own size. Values are reference-counted
//! so that reshaping a constant (or handing it to several consumers) shares them.

use std::rc::Rc;

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::proto::{dtype, TensorProto, TensorShapeProto};

/// Most elements a constant may expand to from a short value list (TensorFlow repeats the last
/// value to fill the shape). 16 Mi floats = 64 MiB: above any single layer that fits a graph
/// file's 320 MiB limit in practice, yet bounded whatever the file claims.
pub const MAX_FILLED_ELEMENTS: u64 = 1 << 24;
/// Most dimensions a tensor may have here (TensorFlow allows 254; NCS graphs use ≤ 4).
pub const MAX_RANK: usize = 8;
/// Largest single dimension a shape may state (2^31: TensorFlow's own kernels index with
/// int32 along one axis; NCS records hold far less).
pub const MAX_DIM: i64 = 1 << 31;
/// Most elements a stated shape may have (2^40), so that every product of dimensions fits in
/// 64 bits with room to spare; constants are bounded further by the bytes that back them.
pub const MAX_ELEMENTS: u64 = 1 << 40;

/// A decoded constant: shape (outermost first) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Values,
}

/// The values of a constant, widened to one float and one integer type; shared, so cloning a
/// constant (to reshape it) copies no values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// float32, float16 and float64 constants (float64 rounded to f32, as TF's cast would).
    Float(Rc<[f32]>),
    /// Integer and bool constants.
    Int(Rc<[i64]>),
}

impl Constant {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.values {
            Values::Float(v) => v.len(),
            Values::Int(v) => v.len(),
        }
    }

    /// The values as floats (integers converted).
    pub fn floats(&self) -> Vec<f32> {
        match &self.values {
            Values::Float(v) => v.to_vec(),
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
/// unknown dimension. Each dimension is at most [`MAX_DIM`] and the known ones multiply to at
/// most [`MAX_ELEMENTS`]. Errors carry no node; callers add it.
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
    if let Some(d) = dims.iter().find(|&&d| d > MAX_DIM) {
        return Err(limit(format!("dimension {d} in shape {dims:?} exceeds 2^31")));
    }
    let mut elements: u64 = 1;
    for &d in dims.iter().filter(|&&d| d >= 0) {
        elements = elements.saturating_mul(d as u64);
        if elements > MAX_ELEMENTS {
            return Err(limit(format!("shape {dims:?} has more than 2^40 elements")));
        }
    }
    Ok(Some(dims))
}

/// A constant's shape, checked against what backs it (the element count against
/// `tensor_content`'s length, or a value list against the repeat-fill bound) without decoding
/// a value: what the front end needs of a `Const` it may never read.
pub fn checked_shape(proto: &TensorProto) -> CompileResult<Vec<usize>> {
    let dims = match &proto.tensor_shape {
        Some(shape) => shape_of(shape)?.ok_or_else(|| bad("constant of unknown rank".into()))?,
        None => Vec::new(),
    };
    if dims.contains(&-1) {
        return Err(bad(format!("constant with an unknown dimension {dims:?}")));
    }
    // shape_of bounded the product by 2^40.
    let count: u64 = dims.iter().map(|&d| d as u64).product();
    let width = match proto.dtype {
        dtype::FLOAT => 4,
        dtype::HALF => 2,
        dtype::DOUBLE => 8,
        dtype::INT32 | dtype::INT16 | dtype::INT8 | dtype::UINT8 | dtype::INT64 | dtype::BOOL => int_width(proto.dtype),
        other => return Err(bad(format!("constants of type {} are not supported", dtype::name(other)))),
    };
    if !proto.tensor_content.is_empty() {
        if proto.tensor_content.len() as u64 != count * width as u64 {
            return Err(bad(format!(
                "shape claims {count} elements ({} bytes) but the tensor holds {} bytes",
                count * width as u64,
                proto.tensor_content.len()
            )));
        }
    } else {
        let listed = match proto.dtype {
            dtype::FLOAT => proto.float_val.len(),
            dtype::HALF => proto.half_val.len(),
            dtype::DOUBLE => proto.double_val.len(),
            dtype::INT64 => proto.int64_val.len(),
            dtype::BOOL => proto.bool_val.len(),
            _ => proto.int_val.len(),
        } as u64;
        if listed > count {
            return Err(bad(format!("{listed} values for a shape of {count} elements")));
        }
        if listed < count && count > MAX_FILLED_ELEMENTS {
            return Err(CompileError::new(
                CompileErrorKind::Limit,
                format!(
                    "a constant of {count} elements given by {listed} value(s); more than \
                     {MAX_FILLED_ELEMENTS} elements must be stored in full"
                ),
            ));
        }
    }
    Ok(dims.iter().map(|&d| d as usize).collect())
}

/// Decodes a `TensorProto`. Errors carry no node; callers add it.
pub fn decode(proto: &TensorProto) -> CompileResult<Constant> {
    let shape = checked_shape(proto)?;
    let count = shape.iter().product::<usize>();
    let values = match proto.dtype {
        dtype::FLOAT => Values::Float(floats(proto, count, &proto.float_val, |content| {
            content.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        })),
        dtype::HALF => {
            // `half_val` holds each value's 16 bits in an int32.
            let bits: Vec<u8> = proto.half_val.iter().flat_map(|&h| (h as u16).to_le_bytes()).collect();
            Values::Float(floats(proto, count, &crate::fp16::decode(&bits), |content| {
                crate::fp16::decode(content).into()
            }))
        }
        dtype::DOUBLE => {
            let narrowed: Vec<f32> = proto.double_val.iter().map(|&d| d as f32).collect();
            Values::Float(floats(proto, count, &narrowed, |content| {
                content
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                    .collect()
            }))
        }
        // checked_shape refused every other type.
        _ => Values::Int(ints(proto, count)),
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

/// The values of a float constant whose length [`checked_shape`] has checked.
fn floats(proto: &TensorProto, count: usize, listed: &[f32], decode: impl Fn(&[u8]) -> Rc<[f32]>) -> Rc<[f32]> {
    if !proto.tensor_content.is_empty() {
        return decode(&proto.tensor_content);
    }
    fill(listed, count, 0.0)
}

/// The values of an integer constant whose length [`checked_shape`] has checked.
fn ints(proto: &TensorProto, count: usize) -> Rc<[i64]> {
    if !proto.tensor_content.is_empty() {
        let width = int_width(proto.dtype);
        let signed = proto.dtype != dtype::UINT8 && proto.dtype != dtype::BOOL;
        return proto
            .tensor_content
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
            .collect();
    }
    let listed: Vec<i64> = match proto.dtype {
        dtype::INT64 => proto.int64_val.clone(),
        dtype::BOOL => proto.bool_val.iter().map(|&b| i64::from(b)).collect(),
        _ => proto.int_val.iter().map(|&i| i64::from(i)).collect(),
    };
    fill(&listed, count, 0)
}

/// TensorFlow's rule for value lists: exactly `count` values, or fewer with the last one
/// repeated (none = zeros). [`checked_shape`] bounded `count` and refused longer lists.
fn fill<T: Copy>(listed: &[T], count: usize, zero: T) -> Rc<[T]> {
    let last = listed.last().copied().unwrap_or(zero);
    let listed = &listed[..listed.len().min(count)];
    // An iterator of known length: collected into the `Rc` with one allocation, no Vec first.
    listed.iter().copied().chain(std::iter::repeat(last).take(count - listed.len())).collect()
}

fn bad(message: String) -> CompileError {
    CompileError::new(CompileErrorKind::BadConstant, message)
}

fn limit(message: String) -> CompileError {
    CompileError::new(CompileErrorKind::Limit, message)
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
        assert_eq!(decode(&ok).unwrap().values, Values::Float(vec![1.5, -2.0].into()));
        // A huge claimed shape with 8 bytes of content is refused before any allocation.
        let hostile = float_proto(&[1 << 20, 1 << 19], vec![0; 8]);
        let err = decode(&hostile).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::BadConstant);
        assert!(err.message.contains("holds 8 bytes"), "{err}");
        let overflow = float_proto(&[i64::MAX, 4], vec![0; 8]);
        assert!(decode(&overflow).unwrap_err().message.contains("exceeds 2^31"));
        // Dimensions each within 2^31 whose product passes 2^40.
        let big = float_proto(&[1 << 31, 1 << 31], vec![0; 8]);
        let err = decode(&big).unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::Limit);
        assert!(err.message.contains("more than 2^40 elements"), "{err}");
        // At the bounds exactly: accepted by shape_of (and refused here by the bytes).
        assert!(shape_of(&shape(&[1 << 31, 1 << 9]).unwrap()).is_ok());
    }

    #[test]
    fn short_value_lists_repeat_the_last_value_within_a_bound() {
        let mut p = TensorProto { dtype: dtype::FLOAT, tensor_shape: shape(&[4]), ..Default::default() };
        p.float_val = vec![1.0, 2.0];
        assert_eq!(decode(&p).unwrap().values, Values::Float(vec![1.0, 2.0, 2.0, 2.0].into()));
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
