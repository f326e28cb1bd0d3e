//! Ops that rearrange a tensor without computing: `Reshape`, `Squeeze` and `ExpandDims`
//! (no stage; on constants the values are shared with a new shape), channel `Slice` (a copy
//! stage reading at a channel offset) and channel concatenation (no stage: the members write
//! into one buffer at channel offsets).

use std::rc::Rc;

use crate::blob::StageType;

use super::super::error::{CompileError, CompileErrorKind, CompileResult};
use super::super::front::{bad_shape, unsupported, Front, Tensor, Val};
use super::super::graph::Attrs;
use super::super::ir::StageSpec;
use super::super::tensor::{self, Constant};
use super::{four, xyz};

impl Front<'_> {
    pub(super) fn reshape(&mut self, n: usize, op: &str) -> CompileResult<()> {
        let t = self.input(n, 0)?;
        // Every recorded shape multiplies to at most 2^40 (constants) or 2^26 (tensors).
        let total: i64 = t.shape.iter().product();
        let shape = match op {
            "Reshape" => {
                let wanted = self.require_constant(n, 1, "the new shape")?;
                let mut dims = wanted.ints().ok_or_else(|| bad_shape("the new shape is not integer".into()))?.to_vec();
                let unknown = dims.iter().filter(|&&d| d == -1).count();
                if unknown > 1 || dims.len() > tensor::MAX_RANK || dims.iter().any(|&d| d < -1) {
                    return Err(bad_shape(format!("reshape to {dims:?}")));
                }
                let known = dims.iter().filter(|&&d| d != -1).try_fold(1i64, |p, &d| p.checked_mul(d));
                let known = known.filter(|&k| k <= total || total == 0).ok_or_else(|| {
                    bad_shape(format!("reshape of {:?} to {dims:?} changes the number of elements", t.shape))
                })?;
                if unknown == 1 && known > 0 {
                    let i = dims.iter().position(|&d| d == -1).unwrap_or(0);
                    dims[i] = total / known;
                }
                dims
            }
            "Squeeze" => {
                let axes = self.g.nodes[n].attr_ints("squeeze_dims")?.unwrap_or_default();
                let rank = t.shape.len() as i64;
                let axes: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
                t.shape
                    .iter()
                    .enumerate()
                    .filter(|&(i, &d)| !(d == 1 && (axes.is_empty() || axes.contains(&(i as i64)))))
                    .map(|(_, &d)| d)
                    .collect()
            }
            _ => {
                let axis = self.require_constant(n, 1, "the axis")?;
                let axis = axis.ints().and_then(|a| a.first().copied()).ok_or_else(|| bad_shape("bad axis".into()))?;
                let rank = t.shape.len() as i64 + 1;
                let axis = if axis < 0 { axis + rank } else { axis };
                if !(0..rank).contains(&axis) {
                    return Err(bad_shape(format!("axis {axis} for rank {}", rank - 1)));
                }
                let mut s = t.shape.clone();
                s.insert(axis as usize, 1);
                s
            }
        };
        let product = shape.iter().try_fold(1i64, |p, &d| p.checked_mul(d));
        if product != Some(total) || shape.iter().any(|&d| d < 0) {
            return Err(bad_shape(format!("{op} of {:?} to {shape:?} changes the number of elements", t.shape)));
        }
        let val = match &t.val {
            Val::Node(_) | Val::Folded(_) => {
                // The values are shared, not copied; the use is charged by `constant`.
                let c = self.constant(&t)?.ok_or_else(|| unsupported("a constant without a value".into()))?;
                let shape = shape.iter().map(|&d| d as usize).collect();
                Val::Folded(Rc::new(Constant { shape, values: c.values.clone() }))
            }
            other => other.clone(),
        };
        self.set(n, val, shape)
    }

    pub(super) fn slice(&mut self, n: usize) -> CompileResult<()> {
        let x = self.input(n, 0)?;
        let begin = self.require_constant(n, 1, "the begin")?;
        let size = self.require_constant(n, 2, "the size")?;
        let (b, s) = (begin.ints().unwrap_or(&[]), size.ints().unwrap_or(&[]));
        let shape = &x.shape;
        let whole = |i: usize| b.get(i) == Some(&0) && (s.get(i) == Some(&shape[i]) || s.get(i) == Some(&-1));
        if shape.len() != 4 || b.len() != 4 || s.len() != 4 || !(0..3).all(whole) {
            return Err(unsupported(format!("Slice begin {b:?} size {s:?}: only channel slices of a 4-D tensor")));
        }
        let count = if s[3] == -1 { shape[3].checked_sub(b[3]) } else { Some(s[3]) };
        let Some(count) = count.filter(|&k| b[3] >= 0 && k > 0 && b[3].checked_add(k).is_some_and(|e| e <= shape[3]))
        else {
            return Err(bad_shape(format!("{} channels from {} of {}", s[3], b[3], shape[3])));
        };
        let [_, h, w, c] = four(shape)?;
        let spec = StageSpec {
            slice: Some([b[3] as u32, (b[3] + count) as u32]),
            ..StageSpec::simple(&self.out_name(n), StageType::Copy, xyz(h, w, c)?, count as u32)
        };
        self.add_stage(n, spec, &x.val, vec![1, h, w, count])?;
        Ok(())
    }

    pub(super) fn concat(&mut self, n: usize, axis_first: bool) -> CompileResult<()> {
        let count = self.g.inputs[n].len();
        if count < 2 {
            return Err(CompileError::new(CompileErrorKind::NotAGraph, "a concatenation needs an axis and values"));
        }
        let (axis_at, values): (usize, Vec<usize>) =
            if axis_first { (0, (1..count).collect()) } else { (count - 1, (0..count - 1).collect()) };
        let tensors: Vec<Tensor> = values.iter().map(|&i| self.input(n, i)).collect::<CompileResult<_>>()?;
        if tensors.iter().all(|t| !Front::is_tensor(&t.val)) {
            return self.fold_constant(n, self.g.nodes[n].op.clone().as_str());
        }
        let axis = self.require_constant(n, axis_at, "the axis")?;
        let rank = tensors[0].shape.len() as i64;
        let axis = axis.ints().and_then(|a| a.first().copied()).unwrap_or(-99);
        if axis != -1 && axis != rank - 1 {
            return Err(unsupported(format!("concatenation along axis {axis}; only along channels (the last axis)")));
        }
        let mut members = Vec::new();
        let mut channels = 0;
        for t in &tensors {
            // Ranks first: a scalar member (rank 0) has no leading dimensions to compare.
            if rank == 0
                || t.shape.len() as i64 != rank
                || t.shape[..t.shape.len() - 1] != tensors[0].shape[..tensors[0].shape.len() - 1]
            {
                return Err(bad_shape(format!("concatenating {:?} and {:?}", tensors[0].shape, t.shape)));
            }
            channels += t.shape[t.shape.len() - 1];
            match &t.val {
                Val::Stage { .. } => {
                    let s = self.fusable(&t.val, "a concatenation member")?;
                    members.push(s);
                }
                Val::Concat(inner) => members.extend(inner.iter().copied()),
                _ => {
                    return Err(unsupported(
                        "a concatenation of the network input or a constant (mvNCCompile's explicit concat) \
                         is not supported; concatenate stage outputs"
                            .into(),
                    ))
                }
            }
        }
        for &m in &members {
            self.consumed[m] = true;
        }
        let mut shape = tensors[0].shape.clone();
        *shape.last_mut().expect("rank ≥ 1") = channels;
        self.set(n, Val::Concat(members), shape)
    }
}
