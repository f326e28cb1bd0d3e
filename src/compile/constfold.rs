//! Ops on constants only, evaluated at compile time as mvNCCompile's `.eval()` did through
//! TensorFlow: shape arithmetic (`Shape`, `StridedSlice`, `Pack`, `Prod`, … behind a Flatten)
//! and float arithmetic on weights (a batch norm written as `Rsqrt`, `Mul`, `Sub`, …).
//! Everything else is an op the NCS cannot run: the error names the nearest supported op
//! ([`super::hints`]).

use std::rc::Rc;

use super::error::{CompileError, CompileErrorKind, CompileResult};
use super::front::{bad_shape, Front, Val};
use super::graph::Attrs;
use super::hints::unsupported_op;
use super::proto::dtype;
use super::tensor::{Constant, Values, MAX_FILLED_ELEMENTS};

impl Front<'_> {
    /// Evaluates an op whose inputs are all constants, or explains why the op is unsupported.
    pub(super) fn fold_constant(&mut self, n: usize, op: &str) -> CompileResult<()> {
        let inputs: Vec<_> = (0..self.g.inputs[n].len()).map(|i| self.input(n, i)).collect::<CompileResult<_>>()?;
        if op == "Shape" {
            let shape = inputs.first().map(|t| t.shape.clone()).unwrap_or_default();
            let c = Constant { shape: vec![shape.len()], values: Values::Int(shape.into()) };
            return self.set_const(n, c);
        }
        let all_const = !inputs.is_empty() && inputs.iter().all(|t| matches!(t.val, Val::Node(_) | Val::Folded(_)));
        if !all_const || !FOLDABLE.contains(&op) {
            return Err(unsupported_op(op));
        }
        let mut consts: Vec<Rc<Constant>> = Vec::with_capacity(inputs.len());
        for t in &inputs {
            consts.push(self.constant(t)?.ok_or_else(|| unsupported_op(op))?);
        }
        let is_binary =
            matches!(op, "Add" | "AddV2" | "Sub" | "Mul" | "RealDiv" | "Div" | "Maximum" | "Minimum" | "FloorDiv");
        let needed = match op {
            _ if is_binary => 2,
            "Prod" => 2,
            "Slice" => 3,
            "StridedSlice" => 4,
            _ => 1,
        };
        if consts.len() < needed {
            return Err(CompileError::new(
                CompileErrorKind::NotAGraph,
                format!("{op} takes {needed} inputs; this node has {}", consts.len()),
            ));
        }
        // What the result can hold, charged before it is computed.
        let bound = if is_binary && consts.len() == 2 {
            broadcast(&consts[0].shape, &consts[1].shape)?.iter().product::<usize>()
        } else {
            consts.iter().map(|c| c.len()).sum()
        };
        self.charge(bound as u64)?;
        let node = &self.g.nodes[n];
        let folded = match op {
            _ if is_binary => binary(op, &consts[0], &consts[1])?,
            "Rsqrt" | "Sqrt" | "Neg" | "Reciprocal" | "Square" => unary(op, &consts[0]),
            "Cast" => {
                let to = match node.attr_value("DstT") {
                    Some(super::proto::attr_value::Value::Type(t)) => *t,
                    _ => dtype::FLOAT,
                };
                cast(&consts[0], to)
            }
            "Pack" => pack(&consts)?,
            "ConcatV2" | "Concat" => {
                let (axis, values) = if op == "Concat" {
                    (&consts[0], &consts[1..])
                } else {
                    (&consts[consts.len() - 1], &consts[..consts.len() - 1])
                };
                concat(values, axis)?
            }
            "Prod" => prod(&consts[0], &consts[1], node.attr_bool("keep_dims")?.unwrap_or(false))?,
            "StridedSlice" => strided_slice(&consts, |k| node.attr_int(k).map(|v| v.unwrap_or(0)))?,
            "Slice" => slice(&consts)?,
            _ => return Err(unsupported_op(op)),
        };
        self.set_const(n, folded)
    }

    fn set_const(&mut self, n: usize, c: Constant) -> CompileResult<()> {
        let shape = c.shape.iter().map(|&d| d as i64).collect();
        self.set(n, Val::Folded(Rc::new(c)), shape)
    }
}

const FOLDABLE: &[&str] = &[
    "Add",
    "AddV2",
    "Sub",
    "Mul",
    "RealDiv",
    "Div",
    "Maximum",
    "Minimum",
    "FloorDiv",
    "Rsqrt",
    "Sqrt",
    "Neg",
    "Reciprocal",
    "Square",
    "Cast",
    "Pack",
    "ConcatV2",
    "Concat",
    "Prod",
    "StridedSlice",
    "Slice",
];

/// The values as floats, borrowed when they already are.
fn floats(c: &Constant) -> std::borrow::Cow<'_, [f32]> {
    match &c.values {
        Values::Float(v) => std::borrow::Cow::Borrowed(&v[..]),
        Values::Int(_) => std::borrow::Cow::Owned(c.floats()),
    }
}

/// Right-aligned broadcasting of two shapes.
fn broadcast(a: &[usize], b: &[usize]) -> CompileResult<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(bad_shape(format!("shapes {a:?} and {b:?} do not broadcast"))),
        };
    }
    let total = out.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
    if total > MAX_FILLED_ELEMENTS {
        return Err(CompileError::new(CompileErrorKind::Limit, format!("a constant of shape {out:?} is too large")));
    }
    Ok(out)
}

/// Indices into `shape` (right-aligned under `out`, broadcasting its 1s) for the flat output
/// indices 0, 1, … in order, stepped like an odometer (no division per element).
fn source_indices<'a>(out: &'a [usize], shape: &[usize]) -> impl Iterator<Item = usize> + 'a {
    let rank = out.len();
    let mut strides = vec![0usize; rank];
    let mut step = 1;
    for d in (0..rank).rev() {
        if let Some(k) = (d + shape.len()).checked_sub(rank) {
            if shape[k] != 1 {
                strides[d] = step;
            }
            step *= shape[k];
        }
    }
    let count: usize = out.iter().product();
    let mut coord = vec![0usize; rank];
    let mut index = 0usize;
    (0..count).map(move |i| {
        if i > 0 {
            for d in (0..rank).rev() {
                coord[d] += 1;
                index += strides[d];
                if coord[d] < out[d] {
                    break;
                }
                index -= strides[d] * out[d];
                coord[d] = 0;
            }
        }
        index
    })
}

fn binary(op: &str, a: &Constant, b: &Constant) -> CompileResult<Constant> {
    let shape = broadcast(&a.shape, &b.shape)?;
    let pairs = || source_indices(&shape, &a.shape).zip(source_indices(&shape, &b.shape));
    if let (Some(x), Some(y)) = (a.ints(), b.ints()) {
        let f: fn(i64, i64) -> Option<i64> = match op {
            "Add" | "AddV2" => |p, q| Some(p.wrapping_add(q)),
            "Sub" => |p, q| Some(p.wrapping_sub(q)),
            "Mul" => |p, q| Some(p.wrapping_mul(q)),
            "Maximum" => |p, q| Some(p.max(q)),
            "Minimum" => |p, q| Some(p.min(q)),
            _ => |p: i64, q| p.checked_div_euclid(q),
        };
        let out = pairs()
            .map(|(i, j)| f(x[i], y[j]))
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| bad_shape("integer division by zero (or i64::MIN / -1) in a constant".into()))?;
        return Ok(Constant { shape, values: Values::Int(out.into()) });
    }
    let (x, y) = (floats(a), floats(b));
    let f: fn(f32, f32) -> f32 = match op {
        "Add" | "AddV2" => |p, q| p + q,
        "Sub" => |p, q| p - q,
        "Mul" => |p, q| p * q,
        "Maximum" => f32::max,
        "Minimum" => f32::min,
        "FloorDiv" => |p, q| (p / q).floor(),
        _ => |p, q| p / q,
    };
    let out = pairs().map(|(i, j)| f(x[i], y[j])).collect();
    Ok(Constant { shape, values: Values::Float(out) })
}

fn unary(op: &str, c: &Constant) -> Constant {
    let f: fn(f32) -> f32 = match op {
        "Rsqrt" => |v| 1.0 / v.sqrt(),
        "Sqrt" => f32::sqrt,
        "Neg" => |v| -v,
        "Reciprocal" => |v| 1.0 / v,
        _ => |v| v * v,
    };
    let values = floats(c).iter().map(|&v| f(v)).collect();
    Constant { shape: c.shape.clone(), values: Values::Float(values) }
}

fn cast(c: &Constant, to: i32) -> Constant {
    let values = match to {
        dtype::FLOAT | dtype::HALF | dtype::DOUBLE => match &c.values {
            Values::Float(v) => Values::Float(v.clone()),
            Values::Int(_) => Values::Float(c.floats().into()),
        },
        _ => Values::Int(match &c.values {
            Values::Int(v) => v.clone(),
            Values::Float(v) => v.iter().map(|&f| f as i64).collect(),
        }),
    };
    Constant { shape: c.shape.clone(), values }
}

fn ints_of(c: &Constant) -> CompileResult<&[i64]> {
    c.ints().ok_or_else(|| bad_shape("expected an integer constant".into()))
}

fn pack(values: &[Rc<Constant>]) -> CompileResult<Constant> {
    if values.iter().any(|v| !v.shape.is_empty()) {
        return Err(bad_shape("Pack of constants other than scalars".into()));
    }
    if values.iter().all(|v| v.ints().is_some()) {
        let out = values.iter().map(|v| ints_of(v).map(|i| i[0])).collect::<CompileResult<Vec<i64>>>()?;
        return Ok(Constant { shape: vec![values.len()], values: Values::Int(out.into()) });
    }
    let out = values.iter().map(|v| floats(v)[0]).collect();
    Ok(Constant { shape: vec![values.len()], values: Values::Float(out) })
}

fn concat(values: &[Rc<Constant>], axis: &Constant) -> CompileResult<Constant> {
    let axis = ints_of(axis)?.first().copied().unwrap_or(0);
    if values.iter().any(|v| v.shape.len() != 1) || (axis != 0 && axis != -1) {
        return Err(bad_shape("concatenation of constants other than vectors".into()));
    }
    if values.iter().all(|v| v.ints().is_some()) {
        let mut out = Vec::new();
        for v in values {
            out.extend_from_slice(ints_of(v)?);
        }
        return Ok(Constant { shape: vec![out.len()], values: Values::Int(out.into()) });
    }
    let out: Vec<f32> = values.iter().flat_map(|v| v.floats()).collect();
    Ok(Constant { shape: vec![out.len()], values: Values::Float(out.into()) })
}

fn prod(c: &Constant, axes: &Constant, keep: bool) -> CompileResult<Constant> {
    let axes = ints_of(axes)?;
    if c.shape.len() != 1 || !(axes.is_empty() || axes == [0] || axes == [-1]) {
        return Err(bad_shape("Prod of constants other than a vector".into()));
    }
    let shape = if keep { vec![1] } else { vec![] };
    Ok(match &c.values {
        Values::Int(v) => {
            // TensorFlow's int product would wrap; no shape the NCS can use needs that.
            let product = v.iter().try_fold(1i64, |p, &x| p.checked_mul(x));
            let product = product.ok_or_else(|| bad_shape(format!("the product of {v:?} overflows 64 bits")))?;
            Constant { shape, values: Values::Int(vec![product].into()) }
        }
        Values::Float(v) => Constant { shape, values: Values::Float(vec![v.iter().product()].into()) },
    })
}

fn strided_slice(c: &[Rc<Constant>], attr: impl Fn(&str) -> CompileResult<i64>) -> CompileResult<Constant> {
    let (input, begin, end, strides) = (&c[0], ints_of(&c[1])?, ints_of(&c[2])?, ints_of(&c[3])?);
    if input.shape.len() != 1 || begin.len() != 1 || end.len() != 1 || strides != [1] {
        return Err(bad_shape("StridedSlice of constants other than a unit-stride vector slice".into()));
    }
    if attr("ellipsis_mask")? != 0 || attr("new_axis_mask")? != 0 {
        return Err(bad_shape("StridedSlice with ellipsis or new axes on a constant".into()));
    }
    let len = input.shape[0] as i64;
    let norm = |i: i64| if i < 0 { (i + len).max(0) } else { i.min(len) };
    let b = if attr("begin_mask")? & 1 != 0 { 0 } else { norm(begin[0]) };
    let e = if attr("end_mask")? & 1 != 0 { len } else { norm(end[0]) };
    let shrink = attr("shrink_axis_mask")? & 1 != 0;
    let (b, e) = if shrink { (norm(begin[0]), norm(begin[0]) + 1) } else { (b, e.max(b)) };
    let take = |range: std::ops::Range<usize>| -> Values {
        match &input.values {
            Values::Int(v) => Values::Int(v[range].into()),
            Values::Float(v) => Values::Float(v[range].into()),
        }
    };
    if e > len || b > e {
        return Err(bad_shape(format!("slice {b}..{e} of a vector of {len}")));
    }
    let values = take(b as usize..e as usize);
    let shape = if shrink { vec![] } else { vec![(e - b) as usize] };
    Ok(Constant { shape, values })
}

fn slice(c: &[Rc<Constant>]) -> CompileResult<Constant> {
    let (input, begin, size) = (&c[0], ints_of(&c[1])?, ints_of(&c[2])?);
    if input.shape.len() != 1 || begin.len() != 1 || size.len() != 1 {
        return Err(bad_shape("Slice of constants other than a vector".into()));
    }
    let len = input.shape[0] as i64;
    let (b, size) = (begin[0], size[0]);
    let e = if size == -1 { Some(len) } else { b.checked_add(size) };
    let Some(e) = e.filter(|&e| b >= 0 && e <= len && e >= b) else {
        return Err(bad_shape(format!("slice of {size} from {b} of a vector of {len}")));
    };
    let values = match &input.values {
        Values::Int(v) => Values::Int(v[b as usize..e as usize].into()),
        Values::Float(v) => Values::Float(v[b as usize..e as usize].into()),
    };
    Ok(Constant { shape: vec![(e - b) as usize], values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(shape: &[usize], v: &[i64]) -> Constant {
        Constant { shape: shape.to_vec(), values: Values::Int(v.into()) }
    }

    #[test]
    fn flatten_shape_arithmetic() {
        // Keras' batch_flatten: Pack([-1, Prod(Shape(x)[1:])]).
        let shape = Rc::new(ints(&[4], &[1, 7, 7, 64]));
        let tail = strided_slice(
            &[shape, Rc::new(ints(&[1], &[1])), Rc::new(ints(&[1], &[0])), Rc::new(ints(&[1], &[1]))],
            |k| Ok(if k == "end_mask" { 1 } else { 0 }),
        )
        .unwrap();
        assert_eq!(tail.ints(), Some(&[7i64, 7, 64][..]));
        let p = prod(&tail, &ints(&[1], &[0]), false).unwrap();
        let packed = pack(&[Rc::new(ints(&[], &[-1])), Rc::new(p)]).unwrap();
        assert_eq!(packed.ints(), Some(&[-1i64, 3136][..]));
    }

    #[test]
    fn broadcasting() {
        let a = Constant { shape: vec![2, 3], values: Values::Float(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0].into()) };
        let b = Constant { shape: vec![3], values: Values::Float(vec![10.0, 20.0, 30.0].into()) };
        let sum = binary("Add", &a, &b).unwrap();
        assert_eq!(sum.values, Values::Float(vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0].into()));
        assert!(binary("Add", &a, &Constant { shape: vec![2], values: Values::Float(vec![0.0; 2].into()) }).is_err());
    }
}
