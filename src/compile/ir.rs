//! The compiler's intermediate representation: NCS stages as mvNCCompile's TensorFlow front end
//! builds them (its `NetworkStage`/`Network` objects), before memory is laid out.
//!
//! Record geometry (dims, strides, kernel, padding, post-op) is computed here with the
//! toolkit's rules (NCSDK 1.12 `Models/NetworkStage.py`: constructor, `attach`,
//! `attach_several`, `attach_multiple_bottoms`, `concat`; `Models/Network.py`), quirks included.
//! Buffers are symbolic: work buffers are numbered in the order the toolkit allocates them
//! (when the first consumer attaches), and the data section order is the toolkit's tree walk
//! (`Network.finalize`), both recorded here so that emission only assigns byte offsets.
//!
//! One job, though over 400 lines: the toolkit's stage model. Record geometry and buffer
//! assignment stay together because the toolkit's `attach` decides both at once (a consumer's
//! input dims come from the buffer it is given).

use crate::blob::{Dims, PadStyle, PostOp, StageType};
use crate::window::{Axis, Padding, WindowOp};

use super::weights::{Bias, OpParams, Taps};

/// Where a stage reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffer {
    /// Not assigned (yet).
    None,
    /// The network input (location 1).
    Input,
    /// The network output (location 2).
    Output,
    /// A work buffer, by allocation order (0 = first allocated, written as location 4).
    Work(usize),
}

/// A buffer and a byte offset into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The buffer.
    pub buffer: Buffer,
    /// Bytes from the buffer's (guarded) start: channel offsets of concat members and slices.
    pub offset: u32,
}

impl Place {
    const NONE: Place = Place { buffer: Buffer::None, offset: 0 };
}

/// A work buffer as the toolkit sizes it: the `(channels, rows, columns)` array it was
/// allocated for (its guard bands depend on columns and channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkBuffer {
    /// Channels (Z).
    pub z: u32,
    /// Rows (Y).
    pub y: u32,
    /// Columns (X).
    pub x: u32,
}

/// One stage record in the making.
#[derive(Debug, Clone)]
pub struct IrStage {
    /// Record name (the TensorFlow tensor the stage's output currently stands for).
    pub name: String,
    /// The operation.
    pub op: StageType,
    /// `optMask` (0x80000000, or 4 when the toolkit forces im2col_v2).
    pub opt_mask: u32,
    /// Kernel (`radixX`, `radixY`).
    pub radix: [u32; 2],
    /// Stride (X, Y).
    pub stride: [u32; 2],
    /// Explicit padding (X, Y), for caffe-style padding.
    pub pad: [u32; 2],
    /// Padding style.
    pub pad_style: PadStyle,
    /// Input dims and strides.
    pub in_dims: Dims,
    /// Input strides in bytes.
    pub in_strides: Dims,
    /// `tapDim*`.
    pub tap_dims: Dims,
    /// `tapStride*`.
    pub tap_strides: Dims,
    /// Output dims.
    pub out_dims: Dims,
    /// Output strides in bytes.
    pub out_strides: Dims,
    /// The main input.
    pub data: Place,
    /// Weights, or the second operand of an eltwise op.
    pub taps: TapsSlot,
    /// Bias (or LRN parameters).
    pub bias: Option<Bias>,
    /// Typed parameters.
    pub op_params: Option<OpParams>,
    /// Where the output goes.
    pub output: Place,
    /// Fused activation.
    pub post_op: PostOp,
    /// Raw bits of `post_param1`.
    pub post_param: u32,
    /// Byte offset into the input the toolkit adds for slices (`inputOffset`).
    pub input_offset: u32,
    /// The stage in whose `tail` this one hangs (the toolkit's tree), `None` for heads.
    pub parent: Option<usize>,
    /// Stages hanging in this one's tail, in attach order.
    pub tail: Vec<usize>,
    /// True when the output buffer is shared with other producers (a concat member).
    pub concat_member: bool,
    /// The stage the toolkit names first in this one's `top` (its main input's producer):
    /// `inputStrideX` is copied from its final `outputStrideX` (`assign_remnant_buffers`).
    pub top: Option<usize>,
}

/// The taps slot of a record.
#[derive(Debug, Clone)]
pub enum TapsSlot {
    /// Unused.
    None,
    /// Weights in the data section.
    Weights(Taps),
    /// Another tensor (eltwise second operand).
    Tensor(Place),
}

/// The network under construction.
#[derive(Debug, Default)]
pub struct Network {
    /// Stages in creation order (= record order).
    pub stages: Vec<IrStage>,
    /// Heads of the toolkit's tree (stages reading the network input), in attach order.
    pub heads: Vec<usize>,
    /// Work buffers in allocation order.
    pub work: Vec<WorkBuffer>,
    /// Problems the stick is known to have with this network, naming stages.
    pub warnings: Vec<String>,
}

/// Geometry of a new stage, as the TensorFlow parser passes it to `NetworkStage(...)`.
#[derive(Debug, Clone)]
pub struct StageSpec {
    /// Record name.
    pub name: String,
    /// Operation (a 1×1 convolution on a 1×1 input becomes fully connected).
    pub op: StageType,
    /// Explicit padding `[y, x]`.
    pub pad: [u32; 2],
    /// Padding style.
    pub pad_style: PadStyle,
    /// Kernel `[y, x]` (the toolkit's `op_y`, `op_x`).
    pub radix: [u32; 2],
    /// Strides `[y, x]`.
    pub stride: [u32; 2],
    /// Input (x, y, c) as the parser derives it from the TensorFlow shape (quirk 1: x = H).
    /// `x == 0` flags a 2-D input to a fully connected stage.
    pub xyz: [u32; 3],
    /// Filter height and width (`fh`, `fw`).
    pub filter: [u32; 2],
    /// Output channels `k` (quirk 2: some ops pass the input's H).
    pub k: u32,
    /// Weights.
    pub taps: Option<Taps>,
    /// Bias (LRN: its parameters).
    pub bias: Option<Bias>,
    /// Typed parameters.
    pub op_params: Option<OpParams>,
    /// Channel slice `[start, end)` of the input (`slicing`).
    pub slice: Option<[u32; 2]>,
}

impl StageSpec {
    /// A spec with unit kernel and stride, no padding, weights or parameters.
    pub fn simple(name: &str, op: StageType, xyz: [u32; 3], k: u32) -> Self {
        StageSpec {
            name: name.to_owned(),
            op,
            pad: [0, 0],
            pad_style: PadStyle::None,
            radix: [1, 1],
            stride: [1, 1],
            xyz,
            filter: [1, 1],
            k,
            taps: None,
            bias: None,
            op_params: None,
            slice: None,
        }
    }
}

/// What a new stage reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The network input.
    Input,
    /// One stage's output.
    Stage(usize),
    /// The channel concatenation of these stages' outputs (flattened).
    Concat(Vec<usize>),
}

impl Network {
    /// Builds a stage from a spec (the toolkit's `NetworkStage.__init__`).
    pub fn make_stage(spec: StageSpec) -> IrStage {
        let [pad_y, pad_x] = spec.pad;
        let [radix_y, radix_x] = spec.radix;
        let [stride_y, stride_x] = spec.stride;
        let [x, y, mut c] = spec.xyz;
        let mut op = spec.op;
        // "mvTensor cannot deal with such convolution, which is equivalent to fc".
        if op == StageType::Convolution && radix_x == 1 && radix_y == 1 && x == 1 && y == 1 {
            op = StageType::FullyConnected;
        }
        let in_strides = Dims::new(2 * c, 2 * c * x, 2);
        let mut input_offset = 0;
        if let Some([start, end]) = spec.slice {
            c = end - start;
            input_offset = start * 2;
        }
        let mut k = spec.k;
        if matches!(op, StageType::EltwiseSum | StageType::EltwiseProd | StageType::EltwiseMax) {
            k = c;
        }
        let mut in_dims = Dims::new(x, y, c);
        let mut tap_dims = Dims::new(spec.filter[0] * spec.filter[1], c, k);
        let mut out = Dims::new(x, y, k);
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        match op {
            StageType::FullyConnected => {
                if x == 0 {
                    in_dims.x = 1;
                    out.x = 1;
                    out.y = y;
                } else {
                    in_dims = Dims::new(1, 1, x * y * c);
                    tap_dims.x = 1;
                    tap_dims.y = x * y * c;
                    out.x = 1;
                    out.y = 1;
                }
            }
            StageType::Convolution
            | StageType::DepthwiseConvolution
            | StageType::MaxPooling
            | StageType::AveragePooling => {
                // The front end writes convolutions with tfsame, tfvalid or caffe padding and
                // pooling with tfsame or tfvalid, where the toolkit's sizes are crate::window's.
                let window_op = if matches!(op, StageType::MaxPooling | StageType::AveragePooling) {
                    WindowOp::Pooling
                } else {
                    WindowOp::Convolution
                };
                // Record order: x with radix_x, stride_x and pad_x (for TF graphs x is H but
                // radix_x is the kernel's width: quirk 1, docs/blob_format.md §8).
                let pads = [pad_x, pad_y].map(|p| u8::try_from(p).unwrap_or(u8::MAX));
                let padding = Padding::of_record(spec.pad_style, pads);
                out.x = clamp(Axis::new(radix_x, stride_x, 1).output_len(x, padding.axis(0), window_op));
                out.y = clamp(Axis::new(radix_y, stride_y, 1).output_len(y, padding.axis(1), window_op));
            }
            StageType::Deconvolution => {
                // Deconvolutions come with caffe padding only (lower.rs derives the pad from the
                // requested output size); any other style is read as pad 0.
                let pads = if spec.pad_style == PadStyle::Caffe { [pad_x, pad_y] } else { [0, 0] };
                out.x = clamp(Axis::new(radix_x, stride_x, 1).deconv_output_len(x, pads[0]).unwrap_or(0));
                out.y = clamp(Axis::new(radix_y, stride_y, 1).deconv_output_len(y, pads[1]).unwrap_or(0));
            }
            _ => {}
        }
        let post_op = if matches!(
            op,
            StageType::Convolution | StageType::DepthwiseConvolution | StageType::FullyConnected | StageType::Scale
        ) && spec.bias.is_some()
        {
            PostOp::Bias
        } else {
            PostOp::None
        };
        IrStage {
            name: spec.name,
            op,
            opt_mask: 0x8000_0000,
            radix: [radix_x, radix_y],
            stride: [stride_x, stride_y],
            pad: [pad_x, pad_y],
            pad_style: spec.pad_style,
            in_dims,
            in_strides,
            tap_dims,
            tap_strides: Dims::new(2 * tap_dims.z, 2 * tap_dims.z, 2),
            out_dims: out,
            // Saturating: the front end refuses a stage whose dims multiply past 2^26 right after
            // this (`Front::add_stage`), before any of these fields is used.
            out_strides: Dims::new(out.z.saturating_mul(2), out.z.saturating_mul(2).saturating_mul(out.x), 2),
            data: Place::NONE,
            taps: spec.taps.map_or(TapsSlot::None, TapsSlot::Weights),
            bias: spec.bias,
            op_params: spec.op_params,
            output: Place::NONE,
            post_op,
            post_param: 0,
            input_offset,
            parent: None,
            tail: Vec::new(),
            concat_member: false,
            top: None,
        }
    }

    /// Adds a stage reading `source` (the toolkit's `Network.attach` with one top).
    pub fn attach(&mut self, mut stage: IrStage, source: &Source) -> usize {
        let index = self.stages.len();
        match source {
            Source::Input => {
                stage.data = Place { buffer: Buffer::Input, offset: stage.input_offset };
                self.heads.push(index);
            }
            Source::Stage(parent) => {
                let parent = *parent;
                let place = self.output_buffer(parent);
                stage.data = Place { buffer: place.buffer, offset: stage.input_offset + place.offset };
                let p = &self.stages[parent];
                if stage.op != StageType::FullyConnected {
                    stage.in_dims = p.out_dims;
                    stage.tap_dims.y = p.out_dims.z;
                }
                stage.parent = Some(parent);
                stage.top = Some(parent);
                self.stages[parent].tail.push(index);
            }
            Source::Concat(members) => {
                let place = self.concat(members, false);
                let z = members.iter().map(|&m| self.stages[m].out_dims.z).sum::<u32>();
                stage.in_dims.z = z;
                stage.in_strides.x = 2 * z;
                stage.tap_dims.y = z;
                stage.data = Place { buffer: place.buffer, offset: stage.input_offset + place.offset };
                let last = *members.last().expect("a concat has members");
                stage.parent = Some(last);
                stage.top = Some(members[0]);
                self.stages[last].tail.push(index);
            }
        }
        self.stages.push(stage);
        index
    }

    /// Adds a stage with two tensor operands (`attach_multiple_bottoms`): the first is read
    /// through `data`, the second through `taps`.
    pub fn attach_two(&mut self, mut stage: IrStage, first: &Source, second: &Source) -> usize {
        let index = self.stages.len();
        let place_of = |net: &mut Network, source: &Source| match source {
            Source::Input => (Place { buffer: Buffer::Input, offset: 0 }, None),
            Source::Stage(s) => (net.output_buffer(*s), Some(*s)),
            Source::Concat(members) => {
                let place = net.concat(members, false);
                (place, Some(members[0]))
            }
        };
        let (a, pa) = place_of(self, first);
        let (b, pb) = place_of(self, second);
        stage.data = Place { buffer: a.buffer, offset: stage.input_offset + a.offset };
        stage.taps = TapsSlot::Tensor(b);
        stage.top = pa;
        let owner = pb.or(pa);
        stage.parent = owner;
        match owner {
            Some(p) => self.stages[p].tail.push(index),
            None => self.heads.push(index),
        }
        self.stages.push(stage);
        index
    }

    /// The output place of a stage, allocating its work buffer on first use (`get_zero_buffer`
    /// at attach time).
    fn output_buffer(&mut self, stage: usize) -> Place {
        if self.stages[stage].output.buffer == Buffer::None {
            let d = self.stages[stage].out_dims;
            self.stages[stage].output = Place { buffer: self.new_work(d.z, d.y, d.x), offset: 0 };
        }
        self.stages[stage].output
    }

    fn new_work(&mut self, z: u32, y: u32, x: u32) -> Buffer {
        self.work.push(WorkBuffer { z, y, x });
        Buffer::Work(self.work.len() - 1)
    }

    /// Makes `members` write into one buffer at channel offsets (`NetworkStage.concat`);
    /// `last_layer` puts that buffer at the network output. Returns the place of the whole.
    pub fn concat(&mut self, members: &[usize], last_layer: bool) -> Place {
        // Saturating: members' channels add up to the concatenation's, which the front end
        // bounded (2^26 values); a sum past that only yields a record `validate` refuses.
        let z: u32 = members.iter().fold(0u32, |z, &m| z.saturating_add(self.stages[m].out_dims.z));
        let first = &self.stages[members[0]];
        let (x, y) = (first.out_dims.x, first.out_dims.y);
        let base = if last_layer {
            Place { buffer: Buffer::Output, offset: 0 }
        } else if first.output.buffer == Buffer::None {
            Place { buffer: self.new_work(z, y, x), offset: 0 }
        } else {
            first.output
        };
        let mut channel: u32 = 0;
        for &m in members {
            let s = &mut self.stages[m];
            // A member already placed (by an earlier consumer of the same concat) keeps its
            // place; the front end refuses members that have a buffer of their own.
            if s.output.buffer == Buffer::None {
                s.output = Place { buffer: base.buffer, offset: base.offset.saturating_add(channel.saturating_mul(2)) };
            }
            s.concat_member = true;
            channel = channel.saturating_add(s.out_dims.z);
            s.out_strides.x = z.saturating_mul(2);
            s.out_strides.y = z.saturating_mul(2).saturating_mul(s.out_dims.x);
            s.tap_strides.y = s.out_dims.z.saturating_mul(2);
        }
        base
    }

    /// Gives every stage without a consumer the network output (`assign_remnant_buffers`) and
    /// applies the toolkit's im2col_v2 rule (`check_algo`): a convolution over ≥ 200 channels
    /// whose output buffer another stage also writes gets optMask 4.
    pub fn finish(&mut self) {
        for i in 0..self.stages.len() {
            if let Some(t) = self.stages[i].top {
                self.stages[i].in_strides.x = self.stages[t].out_strides.x;
            }
        }
        for s in &mut self.stages {
            if s.output.buffer == Buffer::None {
                s.output = Place { buffer: Buffer::Output, offset: 0 };
            }
        }
        let outputs: Vec<Buffer> = self.stages.iter().map(|s| s.output.buffer).collect();
        for (i, s) in self.stages.iter_mut().enumerate() {
            if s.op == StageType::Convolution && s.in_dims.z >= 200 {
                let shared = outputs.iter().enumerate().any(|(j, &b)| j != i && b == s.output.buffer);
                if shared && s.opt_mask & 0x8000_0000 != 0 {
                    s.opt_mask = (s.opt_mask & 0x7fff_ffff) | 4;
                }
            }
        }
    }

    /// Stages in the toolkit's tree order (heads in order, each followed depth-first by its
    /// tail): the order in which `finalize` appends weights to the data section.
    pub fn tree_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.stages.len());
        let mut stack: Vec<usize> = self.heads.iter().rev().copied().collect();
        while let Some(s) = stack.pop() {
            order.push(s);
            stack.extend(self.stages[s].tail.iter().rev().copied());
        }
        order
    }
}
