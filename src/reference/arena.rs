//! The executor's memory: the network input, network output, work area and blob data section,
//! each held as f32 elements indexed by byte offset / 2, and strided views into them.
//!
//! Holding f32 lets one layout serve both precisions: in fp16 mode every value written is first
//! rounded to fp16, which is exactly what storing it in the stick's fp16 memory does.

use crate::blob::{Arena, Dims, Tensor};

/// Where a view points: the arena and the element offset of element (0, 0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The region.
    pub arena: Arena,
    /// Element offset (byte pointer / 2).
    pub offset: usize,
    /// Columns, rows, channels.
    pub dims: Dims,
    /// Element strides along X, Y, Z (byte strides / 2).
    pub strides: [usize; 3],
}

impl View {
    /// The view a record descriptor describes (pointer and strides must be even: checked by
    /// the planner).
    pub fn of(tensor: &Tensor, arena: Arena) -> View {
        let s = tensor.strides;
        View {
            arena,
            offset: tensor.pointer as usize / 2,
            dims: tensor.dims,
            strides: [s.x as usize / 2, s.y as usize / 2, s.z as usize / 2],
        }
    }

    /// Element count.
    pub fn len(&self) -> usize {
        self.dims.product() as usize
    }

    /// True for a view of no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One past the last element touched, or the offset for an empty view.
    pub fn end(&self) -> usize {
        if self.is_empty() {
            return self.offset;
        }
        let d = self.dims;
        self.offset
            + (d.x as usize - 1) * self.strides[0]
            + (d.y as usize - 1) * self.strides[1]
            + (d.z as usize - 1) * self.strides[2]
            + 1
    }

    /// True when the elements are packed HWC (channel fastest, no gaps).
    pub fn is_dense(&self) -> bool {
        let d = self.dims;
        self.strides == [d.z as usize, (d.z * d.x) as usize, 1]
    }
}

/// The mutable arenas of one executor (the blob arena is immutable and held separately).
#[derive(Debug)]
pub struct Arenas {
    /// Network input.
    pub input: Vec<f32>,
    /// Network output.
    pub output: Vec<f32>,
    /// Work area.
    pub work: Vec<f32>,
    /// Blob data section as f32 (weights are fp16 there; other bytes decode to junk nobody reads
    /// as floats).
    pub blob: Vec<f32>,
}

impl Arenas {
    /// Zeroed arenas of the given element counts over a decoded data section.
    pub fn new(input: usize, output: usize, work: usize, blob: Vec<f32>) -> Self {
        Arenas { input: vec![0.0; input], output: vec![0.0; output], work: vec![0.0; work], blob }
    }

    /// Element count of one arena.
    pub fn len(&self, arena: Arena) -> usize {
        self.slice(arena).len()
    }

    /// One arena, read-only.
    pub fn slice(&self, arena: Arena) -> &[f32] {
        match arena {
            Arena::Input => &self.input,
            Arena::Output => &self.output,
            Arena::Work => &self.work,
            Arena::Blob => &self.blob,
        }
    }

    fn slice_mut(&mut self, arena: Arena) -> &mut [f32] {
        match arena {
            Arena::Input => &mut self.input,
            Arena::Output => &mut self.output,
            Arena::Work => &mut self.work,
            Arena::Blob => &mut self.blob,
        }
    }

    /// A dense input view's values and the span an output view covers (from its element
    /// (0, 0, 0) to its last), borrowed together; None when the two spans overlap or the output
    /// is in the blob arena.
    pub fn input_and_output(&mut self, input: &View, output: &View) -> Option<(&[f32], &mut [f32])> {
        let (read, write) = (input.offset..input.offset + input.len(), output.offset..output.end());
        if output.arena == Arena::Blob || read.end > self.len(input.arena) || write.end > self.len(output.arena) {
            return None;
        }
        if input.arena != output.arena {
            let Arenas { input: net_in, output: net_out, work, blob } = self;
            let mut slots: [Option<&mut [f32]>; 3] = [Some(net_in), Some(net_out), Some(work)];
            let slot = |arena: Arena| match arena {
                Arena::Input => 0,
                Arena::Output => 1,
                _ => 2,
            };
            let dst = slots[slot(output.arena)].take()?;
            let src: &[f32] = match input.arena {
                Arena::Blob => blob,
                other => slots[slot(other)].take()?,
            };
            return Some((&src[read], &mut dst[write]));
        }
        let buffer = self.slice_mut(output.arena);
        if read.end <= write.start {
            let (low, high) = buffer.split_at_mut(write.start);
            Some((&low[read], &mut high[..write.end - write.start]))
        } else if write.end <= read.start {
            let (low, high) = buffer.split_at_mut(read.start);
            Some((&high[..read.end - read.start], &mut low[write]))
        } else {
            None
        }
    }

    /// Copies a view out as a dense HWC buffer (rows, columns, channels).
    pub fn gather(&self, view: &View, out: &mut Vec<f32>) {
        out.clear();
        // Exact, not amortised, growth: the executor's memory bound counts these buffers once.
        out.reserve_exact(view.len());
        let src = self.slice(view.arena);
        let d = view.dims;
        if view.is_dense() {
            out.extend_from_slice(&src[view.offset..view.offset + view.len()]);
            return;
        }
        let [sx, sy, sz] = view.strides;
        for y in 0..d.y as usize {
            for x in 0..d.x as usize {
                let base = view.offset + y * sy + x * sx;
                if sz == 1 {
                    out.extend_from_slice(&src[base..base + d.z as usize]);
                } else {
                    out.extend((0..d.z as usize).map(|z| src[base + z * sz]));
                }
            }
        }
    }

    /// Writes a dense HWC buffer through a view, rounding to fp16 first when `round` is set.
    pub fn scatter(&mut self, view: &View, values: &[f32], round: bool) {
        debug_assert_eq!(values.len(), view.len());
        let dst = self.slice_mut(view.arena);
        let d = view.dims;
        if view.is_dense() {
            let target = &mut dst[view.offset..view.offset + view.len()];
            target.copy_from_slice(values);
            if round {
                crate::fp16::round(target);
            }
            return;
        }
        let [sx, sy, sz] = view.strides;
        let mut src = values.iter();
        for y in 0..d.y as usize {
            for x in 0..d.x as usize {
                let base = view.offset + y * sy + x * sx;
                for z in 0..d.z as usize {
                    let v = *src.next().expect("length checked");
                    dst[base + z * sz] = if round { crate::fp16::round_one(v) } else { v };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_scatter_follow_strides() {
        let mut arenas = Arenas::new(0, 0, 64, Vec::new());
        // A 2x2x2 member of a 4-channel buffer at channel offset 1.
        let view = View { arena: Arena::Work, offset: 1, dims: Dims::new(2, 2, 2), strides: [4, 8, 1] };
        let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        arenas.scatter(&view, &values, false);
        assert_eq!(&arenas.work[..16], &[0., 1., 2., 0., 0., 3., 4., 0., 0., 5., 6., 0., 0., 7., 8., 0.]);
        let mut back = Vec::new();
        arenas.gather(&view, &mut back);
        assert_eq!(back, values);
        assert_eq!(view.end(), 1 + 4 + 8 + 1 + 1);
    }

    #[test]
    fn input_and_output_are_lent_together_only_when_apart() {
        let mut arenas = Arenas::new(4, 0, 64, vec![7.0; 8]);
        arenas.work.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
        let dense =
            |arena, offset, n| View { arena, offset, dims: Dims::new(1, 1, n), strides: [n as usize, n as usize, 1] };
        // Input at work[0..8), output at work[10..14): apart, either order.
        let (input, output) = arenas.input_and_output(&dense(Arena::Work, 0, 8), &dense(Arena::Work, 10, 4)).unwrap();
        assert_eq!(input, &[0., 1., 2., 3., 4., 5., 6., 7.]);
        output.copy_from_slice(&[-1.0; 4]);
        let (input, output) = arenas.input_and_output(&dense(Arena::Work, 10, 4), &dense(Arena::Work, 2, 2)).unwrap();
        assert_eq!((input, &output[..]), (&[-1.0; 4][..], &[2.0, 3.0][..]));
        // Overlapping spans, or an output in the blob, are refused.
        assert!(arenas.input_and_output(&dense(Arena::Work, 0, 8), &dense(Arena::Work, 7, 2)).is_none());
        assert!(arenas.input_and_output(&dense(Arena::Work, 0, 8), &dense(Arena::Blob, 0, 2)).is_none());
        // Different arenas: the blob as input, the network input as output.
        let (input, output) = arenas.input_and_output(&dense(Arena::Blob, 4, 4), &dense(Arena::Input, 0, 4)).unwrap();
        output.copy_from_slice(input);
        assert_eq!(arenas.input, vec![7.0; 4]);
        // Past an arena's end: refused.
        assert!(arenas.input_and_output(&dense(Arena::Blob, 6, 4), &dense(Arena::Work, 0, 4)).is_none());
    }
}
