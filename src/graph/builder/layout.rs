//! Where every tensor lives: concatenation by shared buffers, and the memory layout
//! [`GraphBuilder::finish`] gives the stages — the network input and output arenas, work
//! buffers with the toolkit's guard bands, and each stage's operand descriptors.

use crate::blob::{layout::work_buffer_bytes, validate, Blob, Dims, Header, Location, StageType, Tensor};
use crate::error::Result;

use super::{invalid, u32_of, GraphBuilder, Storage, TensorId, View};

impl GraphBuilder {
    /// Concatenates tensors along channels without a stage: their producers write into one
    /// buffer at channel offsets. Members must be stage outputs (or concatenations) of equal
    /// rows and columns, each used in at most one concatenation.
    pub fn concat(&mut self, members: &[TensorId]) -> Result<TensorId> {
        let first = members.first().ok_or_else(|| invalid(None, "concat of no tensors"))?;
        let (x, y) = (self.dims(*first).x, self.dims(*first).y);
        let mut channels: u64 = 0;
        for &m in members {
            let info = self.tensors[m.0];
            if !matches!(info.storage, Storage::Own) || members.iter().filter(|&&o| o == m).count() > 1 {
                return Err(invalid(
                    None,
                    format!("tensor {} cannot join this concat: only stage outputs not already concatenated can", m.0),
                ));
            }
            if (info.dims.x, info.dims.y) != (x, y) {
                return Err(invalid(None, "concat members differ in rows or columns"));
            }
            channels += u64::from(info.dims.z);
        }
        let parent = self.new_tensor(Dims::new(x, y, u32_of("concat", channels)?));
        let mut offset = 0;
        for &m in members {
            self.tensors[m.0].storage = Storage::Member { parent, channel_offset: offset };
            offset += self.tensors[m.0].dims.z;
        }
        Ok(parent)
    }

    /// Lays out memory and returns the validated blob whose network output is `output`.
    /// The last stage added must write (part of) `output`.
    pub fn finish(self, output: TensorId) -> Result<Blob> {
        let last = self.drafts.last().ok_or_else(|| invalid(None, "a graph needs at least one stage"))?;
        let output_root = self.root(output).0 .0;
        if self.root(last.output).0 .0 != output_root {
            return Err(invalid(Some(&last.stage.name_text()), "the last stage must produce the network output"));
        }
        if matches!(self.tensors[output.0].storage, Storage::NetworkInput) {
            return Err(invalid(None, "the network output cannot be the network input"));
        }
        let places = self.allocate(output_root);
        let mut stages = Vec::with_capacity(self.drafts.len());
        for draft in &self.drafts {
            let mut stage = draft.stage.clone();
            let input = self.locate(&places, draft.input);
            let (dims, strides) = if stage.op == StageType::FullyConnected {
                if !input.is_dense_hwc() {
                    return Err(invalid(
                        Some(&stage.name_text()),
                        "a fully connected stage needs a dense input (not a concat member)",
                    ));
                }
                (stage.input.dims, stage.input.dims.hwc_strides())
            } else {
                (input.dims, input.strides)
            };
            stage.input = Tensor { dims, strides, ..input };
            if let Some(second) = draft.second {
                let t = self.locate(&places, self.full(second));
                // The record has no strides of its own for the second operand: it is read
                // through the first operand's, so both must be laid out alike.
                if t.strides != stage.input.strides {
                    return Err(invalid(
                        Some(&stage.name_text()),
                        format!(
                            "the operands are laid out differently (strides {:?} and {:?}); \
                             an eltwise record reads both with the first's",
                            stage.input.strides, t.strides
                        ),
                    ));
                }
                stage.taps.location = t.location;
                stage.taps.pointer = t.pointer;
            }
            stage.output = self.locate(&places, self.full(draft.output));
            let (kx, ky) = (stage.kernel_x.max(0) as u32, stage.kernel_y.max(0) as u32);
            if stage.op != StageType::Scale {
                let k = stage.output.dims.z;
                stage.taps.dims = Dims::new(kx * ky, stage.input.dims.z, k);
                stage.taps.strides = Dims::new(2 * k, 2 * k, 2);
            } else {
                stage.taps.strides = Dims::new(2 * stage.output.dims.z, 2 * stage.output.dims.z, 2);
            }
            stages.push(stage);
        }
        let blob = Blob { header: Header::new(&self.name, self.shaves), stages, data: self.data };
        validate(&blob)?;
        Ok(blob)
    }

    /// Follows concat membership to the buffer a tensor lives in: (root, channel offset).
    fn root(&self, t: TensorId) -> (TensorId, u32) {
        let mut current = t;
        let mut offset = 0;
        while let Storage::Member { parent, channel_offset } = self.tensors[current.0].storage {
            offset += channel_offset;
            current = parent;
        }
        (current, offset)
    }

    /// Places every root tensor: the input at location 1, the output root at location 2, the
    /// rest in work buffers in order of first production, each with the toolkit's guard bands.
    fn allocate(&self, output_root: usize) -> Vec<Option<(Location, u32)>> {
        let mut places = vec![None; self.tensors.len()];
        places[0] = Some((Location::Input, 0));
        places[output_root] = Some((Location::Output, 0));
        let mut next_index = 4u16;
        let mut cursor: u64 = 0;
        for draft in &self.drafts {
            let root = self.root(draft.output).0 .0;
            if places[root].is_some() {
                continue;
            }
            let dims = self.tensors[root].dims;
            let (guard, block) = work_buffer_bytes(dims.x, dims.y, dims.z);
            places[root] = Some((Location::Work(next_index), (cursor + guard) as u32));
            next_index = next_index.saturating_add(1);
            cursor += block;
        }
        places
    }

    fn locate(&self, places: &[Option<(Location, u32)>], view: View) -> Tensor {
        let (root, offset) = self.root(view.tensor);
        let (location, base) = places[root.0].unwrap_or((Location::None, 0));
        let root_dims = self.tensors[root.0].dims;
        let dims = self.tensors[view.tensor.0].dims;
        Tensor {
            location,
            pointer: base + 2 * (offset + view.channel_start),
            dims: Dims::new(dims.x, dims.y, view.channels),
            strides: root_dims.hwc_strides(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{ConvSpec, Padding};

    #[test]
    fn eltwise_operands_must_share_a_layout() {
        let mut g = GraphBuilder::new("mixed_layouts", [4, 4, 2]);
        let x = g.input();
        let w = [0.5f32; 2 * 2];
        let spec = ConvSpec::new([1, 1], &w).padding(Padding::Same);
        let a = g.conv("a", x, spec).unwrap();
        let b = g.conv("b", x, spec).unwrap();
        let plain = g.conv("c", x, spec).unwrap();
        // `a` becomes channels 0..2 of a 4-channel buffer: its channel stride differs from `plain`'s.
        let joined = g.concat(&[a, b]).unwrap();
        let sum = g.eltwise("sum", StageType::EltwiseSum, a, plain).unwrap();
        let out = g.concat(&[sum, joined]);
        let err = g.finish(out.unwrap()).unwrap_err().to_string();
        assert!(err.contains("'sum'") && err.contains("laid out differently"), "{err}");
    }
}
