//! Checked access to a stage's operands: tensor views (by [`Role`]) proven to lie inside their
//! arena, constant ranges in the blob data section, operation parameters, and the window.

use std::fmt;
use std::ops::Range;

use crate::blob::{Arena, Dims, Location, Tensor};
use crate::error::Result;
use crate::window::{Padding, Window};

use super::Planner;
use crate::reference::arena::View;

/// Which tensor operand of a stage a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The main input.
    Input,
    /// The result (never in the blob data section: a stage cannot write its constants).
    Output,
    /// The second tensor of an eltwise op, addressed by the taps slot.
    Second,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Input => "input",
            Role::Output => "output",
            Role::Second => "second operand (taps)",
        })
    }
}

impl Planner<'_> {
    /// A view of a descriptor (optionally with other dims), checked against its arena.
    pub(super) fn view(&self, tensor: &Tensor, dims: Option<Dims>, role: Role) -> Result<View> {
        let arena = tensor.location.arena().ok_or_else(|| self.fail(format!("{role} has no location (index 0)")))?;
        if arena == Arena::Blob && role == Role::Output {
            return Err(self.fail(format!("{role} points into the blob data section")));
        }
        let s = tensor.strides;
        if tensor.pointer % 2 != 0 || s.x % 2 != 0 || s.y % 2 != 0 || s.z % 2 != 0 {
            return Err(self.fail(format!("{role} pointer or strides are not whole fp16 elements")));
        }
        let view = View::of(&Tensor { dims: dims.unwrap_or(tensor.dims), ..*tensor }, arena);
        let limit = self.sizes.of(arena);
        let end = crate::blob::span_bytes(view.dims, tensor.strides) / 2 + view.offset as u64;
        if end > limit as u64 {
            return Err(self.fail(format!("{role} reaches element {end} of the {} ({limit} elements)", arena.name())));
        }
        Ok(view)
    }

    /// `count` f32 elements of the blob arena at a byte pointer.
    pub(super) fn blob_range(
        &self,
        location: &Location,
        pointer: u32,
        count: usize,
        what: &str,
    ) -> Result<Range<usize>> {
        if *location != Location::Blob {
            return Err(self.fail(format!("{what} must be in the blob data section, not {location}")));
        }
        if pointer % 2 != 0 {
            return Err(self.fail(format!("{what} pointer {pointer} is not fp16-aligned")));
        }
        let start = pointer as usize / 2;
        let end = start.saturating_add(count);
        if end > self.sizes.blob {
            return Err(self.fail(format!(
                "{what} needs {count} values at byte {pointer}, past the {}-byte data section",
                self.data.len()
            )));
        }
        Ok(start..end)
    }

    /// The stage's window; `dilated` ops read their dilation from opParams word 0.
    pub(super) fn window(&self, dilated: bool) -> Result<Window> {
        let s = self.stage;
        if s.kernel_x < 1 || s.kernel_y < 1 || s.stride_x < 1 || s.stride_y < 1 {
            return Err(self.fail(format!(
                "kernel {}x{} and stride {}x{} must be positive",
                s.kernel_y, s.kernel_x, s.stride_y, s.stride_x
            )));
        }
        let dilation = if dilated && s.op_params.is_used() { self.param_i32(0)? } else { 1 };
        if !(1..=64).contains(&dilation) {
            return Err(self.fail(format!("dilation {dilation} outside 1..=64")));
        }
        let (i, o) = (s.input.dims, s.output.dims);
        Ok(Window::resolve(
            [s.kernel_y as u32, s.kernel_x as u32],
            [u32::from(s.stride_y), u32::from(s.stride_x)],
            dilation as u32,
            Padding::of_record(s.pad_style, [s.pad_y, s.pad_x]),
            [i.y, i.x],
            [o.y, o.x],
        ))
    }

    /// `width` little-endian bytes of operation parameter `index`.
    fn param_bytes(&self, index: usize, width: usize) -> Result<[u8; 4]> {
        let p = &self.stage.op_params;
        if p.location != Location::Blob {
            return Err(self.fail(format!("operation parameters must be in the blob data section, not {}", p.location)));
        }
        let at = p.pointer as usize + index * width;
        let bytes = self
            .data
            .get(at..at + width)
            .ok_or_else(|| self.fail(format!("parameter {index} at byte {at} is past the data section")))?;
        let mut out = [0u8; 4];
        out[..width].copy_from_slice(bytes);
        Ok(out)
    }

    /// Operation parameter `index` as an i32.
    pub(super) fn param_i32(&self, index: usize) -> Result<i32> {
        Ok(i32::from_le_bytes(self.param_bytes(index, 4)?))
    }

    /// Operation parameter `index` as a u32.
    pub(super) fn param_u32(&self, index: usize) -> Result<u32> {
        Ok(u32::from_le_bytes(self.param_bytes(index, 4)?))
    }

    /// Operation parameter `index` as an f32.
    pub(super) fn param_f32(&self, index: usize) -> Result<f32> {
        Ok(f32::from_le_bytes(self.param_bytes(index, 4)?))
    }

    /// LRN parameters `[k, α, β]` stored as fp16 in the bias slot.
    pub(super) fn lrn_params(&self) -> Result<[f32; 3]> {
        let r = self.blob_range(&self.stage.bias.location, self.stage.bias.pointer, 3, "LRN parameters (bias slot)")?;
        let bytes = &self.data[r.start * 2..r.end * 2];
        let v = crate::fp16::decode(bytes);
        Ok([v[0], v[1], v[2]])
    }
}
