//! Describe a network in a few calls and get the blob mvNCCompile would have written for it.
//!
//! ```
//! use ncs::graph::{Activation, GraphBuilder, Padding};
//! let mut g = GraphBuilder::new("tiny", [8, 8, 1]);
//! let x = g.input();
//! let w = vec![0.5f32; 3 * 3 * 1 * 4];
//! let c = g.conv("conv", x, [3, 3], [1, 1], Padding::Same, &w, Some(&[0.0; 4]), Activation::Relu).unwrap();
//! let p = g.max_pool("pool", c, [2, 2], [2, 2], Padding::Valid).unwrap();
//! let blob = g.finish(p).unwrap();
//! assert_eq!(blob.output_shape(), [4, 4, 4]);
//! ```
//!
//! Conventions follow the toolkit (research/blob_format.md §8): weights fp16 (round to nearest
//! even) in HWCK order, each constant buffer 64-byte aligned in the data section, work buffers
//! with guard bands of 2·(X+1)·Z fp16 values each side, tapDims (kh·kw, C, K) and tapStrides
//! (2K, 2K, 2), concatenation by shared output buffers with channel offsets.
//! Shapes given to and returned by the builder are `[rows, columns, channels]`.

use crate::blob::{
    layout, validate, Blob, BufferRef, Dims, Header, Location, PadStyle, PostOp, Stage, StageType, Tensor,
};
use crate::error::{Error, Result};

/// A tensor of the network under construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorId(usize);

/// Padding of a convolution or pooling stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// TensorFlow SAME: output = ⌈in/stride⌉, the device splits the padding (extra at the end).
    Same,
    /// TensorFlow VALID: no padding.
    Valid,
    /// Caffe-style symmetric explicit padding `[rows, columns]`.
    Explicit([u8; 2]),
}

/// The activation fused after a weighted stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// None (a bias alone still sets post-op "bias").
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// x ≥ 0 ? x : slope·x.
    LeakyRelu(f32),
    /// x > 0 ? x : α(eˣ − 1).
    Elu(f32),
}

#[derive(Debug, Clone, Copy)]
enum Storage {
    NetworkInput,
    Own,
    /// Channels `[offset, offset + z)` of a concatenation.
    Member {
        parent: TensorId,
        channel_offset: u32,
    },
}

#[derive(Debug, Clone, Copy)]
struct TensorInfo {
    dims: Dims,
    storage: Storage,
}

/// A channel window of a tensor, as a stage reads or writes it.
#[derive(Debug, Clone, Copy)]
struct View {
    tensor: TensorId,
    channel_start: u32,
    channels: u32,
}

#[derive(Debug)]
struct Draft {
    stage: Stage,
    input: View,
    /// A second tensor operand (eltwise ops).
    second: Option<TensorId>,
    output: TensorId,
}

/// Builds a [`Blob`] stage by stage.
#[derive(Debug)]
pub struct GraphBuilder {
    name: String,
    shaves: u16,
    tensors: Vec<TensorInfo>,
    drafts: Vec<Draft>,
    data: Vec<u8>,
}

impl GraphBuilder {
    /// Starts a network whose input is `[rows, columns, channels]`.
    pub fn new(name: &str, input_shape: [u32; 3]) -> Self {
        let [rows, cols, channels] = input_shape;
        GraphBuilder {
            name: name.to_owned(),
            shaves: 1,
            tensors: vec![TensorInfo { dims: Dims::new(cols, rows, channels), storage: Storage::NetworkInput }],
            drafts: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Sets the SHAVE count recorded in the header (mvNCCompile `-s`).
    pub fn shaves(mut self, shaves: u16) -> Self {
        self.shaves = shaves.max(1);
        self
    }

    /// The network input.
    pub fn input(&self) -> TensorId {
        TensorId(0)
    }

    /// Shape `[rows, columns, channels]` of a tensor.
    pub fn shape(&self, t: TensorId) -> [u32; 3] {
        self.dims(t).shape_yxz()
    }

    /// 2-D convolution; `weights` are HWCK (`[kh][kw][C][K]`, K fastest), `bias` has K values.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<TensorId> {
        self.weighted(name, StageType::Convolution, x, kernel, stride, padding, weights, bias, activation)
    }

    /// Depthwise convolution with channel multiplier M; `weights` are `[kh][kw][C·M]`.
    #[allow(clippy::too_many_arguments)]
    pub fn depthwise_conv(
        &mut self,
        name: &str,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<TensorId> {
        self.weighted(name, StageType::DepthwiseConvolution, x, kernel, stride, padding, weights, bias, activation)
    }

    /// Transposed convolution with explicit padding; `taps` are stored as the blob holds them:
    /// already flipped and in/out swapped, `[kh][kw][C][K]`.
    #[allow(clippy::too_many_arguments)]
    pub fn deconv(
        &mut self,
        name: &str,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        pad: [u8; 2],
        taps: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<TensorId> {
        let padding = Padding::Explicit(pad);
        self.weighted(name, StageType::Deconvolution, x, kernel, stride, padding, taps, bias, activation)
    }

    /// Fully connected layer over the whole input, read contiguously; `weights` are `[N][K]`.
    pub fn fully_connected(
        &mut self,
        name: &str,
        x: TensorId,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<TensorId> {
        let n = self.dims(x).product();
        if n == 0 || weights.len() as u64 % n != 0 {
            return Err(invalid(name, format!("{} weights do not divide into rows of {n} inputs", weights.len())));
        }
        let k = u32_of(name, weights.len() as u64 / n)?;
        let n = u32_of(name, n)?;
        let mut stage = Stage::with_defaults(name, StageType::FullyConnected);
        stage.input.dims = Dims::new(1, 1, n);
        let out = self.new_tensor(Dims::new(1, 1, k));
        self.set_weights(&mut stage, k, weights, bias, activation, name)?;
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Max pooling.
    pub fn max_pool(
        &mut self,
        name: &str,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    ) -> Result<TensorId> {
        self.pool(name, StageType::MaxPooling, x, kernel, stride, padding)
    }

    /// Average pooling.
    pub fn avg_pool(
        &mut self,
        name: &str,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    ) -> Result<TensorId> {
        self.pool(name, StageType::AveragePooling, x, kernel, stride, padding)
    }

    /// Softmax over channels (opParams axis 1, as the 1.12 TF parser writes).
    pub fn softmax(&mut self, name: &str, x: TensorId) -> Result<TensorId> {
        let mut stage = Stage::with_defaults(name, StageType::SoftMax);
        stage.op_params = self.constant_buffer(&1i32.to_le_bytes());
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// A parameterless elementwise op: sigmoid, tanh, square, rsqrt, copy, none, or the
    /// post-op-only types relu/elu/leaky relu as standalone stages.
    pub fn unary(&mut self, name: &str, op: StageType, x: TensorId) -> Result<TensorId> {
        use StageType as Op;
        if !matches!(op, Op::Sigmoid | Op::Tanh | Op::Square | Op::Rsqrt | Op::Copy | Op::None) {
            return Err(invalid(name, format!("{op} is not a parameterless elementwise op")));
        }
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(Stage::with_defaults(name, op), self.full(x), None, out))
    }

    /// Elementwise sum, product or max of two tensors of equal shape.
    pub fn eltwise(&mut self, name: &str, op: StageType, a: TensorId, b: TensorId) -> Result<TensorId> {
        if !matches!(op, StageType::EltwiseSum | StageType::EltwiseProd | StageType::EltwiseMax) {
            return Err(invalid(name, format!("{op} is not an eltwise op")));
        }
        if self.dims(a) != self.dims(b) {
            return Err(invalid(name, format!("shapes {:?} and {:?} differ", self.shape(a), self.shape(b))));
        }
        let out = self.new_tensor(self.dims(a));
        Ok(self.push(Stage::with_defaults(name, op), self.full(a), Some(b), out))
    }

    /// Per-channel scale (one multiplier per channel, or one for all), optional bias and activation.
    pub fn scale(
        &mut self,
        name: &str,
        x: TensorId,
        multipliers: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<TensorId> {
        let dims = self.dims(x);
        if multipliers.len() as u64 != u64::from(dims.z) && multipliers.len() != 1 {
            return Err(invalid(name, format!("{} multipliers for {} channels", multipliers.len(), dims.z)));
        }
        let mut stage = Stage::with_defaults(name, StageType::Scale);
        let count = multipliers.len() as u32;
        self.set_weights(&mut stage, count, multipliers, bias, activation, name)?;
        // The toolkit writes tapDims (0, n, n) for scale; its taps are n multipliers.
        stage.taps.dims = Dims::new(0, count, count);
        let out = self.new_tensor(dims);
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Local response normalisation across channels, TensorFlow parameters
    /// (`depth_radius`, `bias`, `alpha`, `beta`): window n = 2r+1, stored α' = α·n.
    pub fn lrn(
        &mut self,
        name: &str,
        x: TensorId,
        depth_radius: u8,
        bias: f32,
        alpha: f32,
        beta: f32,
    ) -> Result<TensorId> {
        let n = 2 * u32::from(depth_radius) + 1;
        let mut stage = Stage::with_defaults(name, StageType::Lrn);
        stage.kernel_x = i8_of(name, n)?;
        stage.bias = self.constant_buffer(&crate::fp16::encode(&[bias, alpha * n as f32, beta, 0.0]));
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Parametric ReLU with one slope per channel.
    pub fn prelu(&mut self, name: &str, x: TensorId, slopes: &[f32]) -> Result<TensorId> {
        if slopes.len() as u64 != u64::from(self.dims(x).z) {
            return Err(invalid(name, format!("{} slopes for {} channels", slopes.len(), self.dims(x).z)));
        }
        let mut stage = Stage::with_defaults(name, StageType::PRelu);
        stage.bias = self.constant_buffer(&crate::fp16::encode(slopes));
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// `(shift + scale·x)^power`, parameters stored as f32.
    pub fn power(&mut self, name: &str, x: TensorId, shift: f32, scale: f32, power: f32) -> Result<TensorId> {
        let mut stage = Stage::with_defaults(name, StageType::Power);
        let params: Vec<u8> = [shift, scale, power].iter().flat_map(|v| v.to_le_bytes()).collect();
        stage.op_params = self.constant_buffer(&params);
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Channels `[start, start + count)` of a tensor, copied out (a TF Slice on channels).
    pub fn slice_channels(&mut self, name: &str, x: TensorId, start: u32, count: u32) -> Result<TensorId> {
        let dims = self.dims(x);
        if count == 0 || u64::from(start) + u64::from(count) > u64::from(dims.z) {
            return Err(invalid(
                name,
                format!("channels {start}..{} of a {}-channel tensor", u64::from(start) + u64::from(count), dims.z),
            ));
        }
        let view = View { tensor: x, channel_start: start, channels: count };
        let out = self.new_tensor(Dims::new(dims.x, dims.y, count));
        Ok(self.push(Stage::with_defaults(name, StageType::Copy), view, None, out))
    }

    /// Concatenates tensors along channels without a stage: their producers write into one
    /// buffer at channel offsets. Members must be stage outputs (or concatenations) of equal
    /// rows and columns, each used in at most one concatenation.
    pub fn concat(&mut self, members: &[TensorId]) -> Result<TensorId> {
        let first = members.first().ok_or_else(|| Error::InvalidInput("concat of no tensors".into()))?;
        let (x, y) = (self.dims(*first).x, self.dims(*first).y);
        let mut channels: u64 = 0;
        for &m in members {
            let info = self.tensors[m.0];
            if !matches!(info.storage, Storage::Own) || members.iter().filter(|&&o| o == m).count() > 1 {
                return Err(Error::InvalidInput(format!(
                    "tensor {} cannot join this concat: only stage outputs not already concatenated can",
                    m.0
                )));
            }
            if (info.dims.x, info.dims.y) != (x, y) {
                return Err(Error::InvalidInput("concat members differ in rows or columns".into()));
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
        let last = self.drafts.last().ok_or_else(|| Error::InvalidInput("a graph needs at least one stage".into()))?;
        let output_root = self.root(output).0 .0;
        if self.root(last.output).0 .0 != output_root {
            return Err(invalid(&last.stage.name_text(), "the last stage must produce the network output".to_owned()));
        }
        if matches!(self.tensors[output.0].storage, Storage::NetworkInput) {
            return Err(Error::InvalidInput("the network output cannot be the network input".into()));
        }
        let places = self.allocate(output_root);
        let mut stages = Vec::with_capacity(self.drafts.len());
        for draft in &self.drafts {
            let mut stage = draft.stage.clone();
            let input = self.locate(&places, draft.input);
            let (dims, strides) = if stage.op == StageType::FullyConnected {
                if !input.is_dense_hwc() {
                    return Err(invalid(
                        &stage.name_text(),
                        "a fully connected stage needs a dense input (not a concat member)".into(),
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
                        &stage.name_text(),
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

    // ---- internals -------------------------------------------------------------------------

    fn dims(&self, t: TensorId) -> Dims {
        self.tensors[t.0].dims
    }

    fn full(&self, t: TensorId) -> View {
        View { tensor: t, channel_start: 0, channels: self.dims(t).z }
    }

    fn new_tensor(&mut self, dims: Dims) -> TensorId {
        self.tensors.push(TensorInfo { dims, storage: Storage::Own });
        TensorId(self.tensors.len() - 1)
    }

    fn push(&mut self, stage: Stage, input: View, second: Option<TensorId>, output: TensorId) -> TensorId {
        self.drafts.push(Draft { stage, input, second, output });
        output
    }

    /// Appends a constant buffer to the data section, 64-byte aligned.
    fn constant_buffer(&mut self, bytes: &[u8]) -> BufferRef {
        let pointer = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        self.data.resize(self.data.len().next_multiple_of(layout::DATA_ALIGN), 0);
        BufferRef { location: Location::Blob, pointer }
    }

    #[allow(clippy::too_many_arguments)]
    fn weighted(
        &mut self,
        name: &str,
        op: StageType,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<TensorId> {
        let input = self.dims(x);
        let area = u64::from(kernel[0]) * u64::from(kernel[1]);
        let per_k = if op == StageType::DepthwiseConvolution { area } else { area * u64::from(input.z) };
        if per_k == 0 || weights.len() as u64 % per_k != 0 {
            return Err(invalid(
                name,
                format!("{} weights do not fit kernel {kernel:?} over {} channels", weights.len(), input.z),
            ));
        }
        let k = u32_of(name, weights.len() as u64 / per_k)?;
        let mut stage = Stage::with_defaults(name, op);
        set_geometry(&mut stage, kernel, stride, padding, name)?;
        let (rows, cols) = if op == StageType::Deconvolution {
            let pad = stage_pads(&stage);
            (
                deconv_out(input.y, kernel[0], stride[0], pad[0], name)?,
                deconv_out(input.x, kernel[1], stride[1], pad[1], name)?,
            )
        } else {
            (
                window_out(input.y, kernel[0], stride[0], padding, 0, false),
                window_out(input.x, kernel[1], stride[1], padding, 1, false),
            )
        };
        self.set_weights(&mut stage, k, weights, bias, activation, name)?;
        let out = self.new_tensor(Dims::new(cols, rows, k));
        Ok(self.push(stage, self.full(x), None, out))
    }

    fn pool(
        &mut self,
        name: &str,
        op: StageType,
        x: TensorId,
        kernel: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    ) -> Result<TensorId> {
        let input = self.dims(x);
        let mut stage = Stage::with_defaults(name, op);
        set_geometry(&mut stage, kernel, stride, padding, name)?;
        let rows = window_out(input.y, kernel[0], stride[0], padding, 0, true);
        let cols = window_out(input.x, kernel[1], stride[1], padding, 1, true);
        let out = self.new_tensor(Dims::new(cols, rows, input.z));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Stores taps and bias, and sets post-op fields as the toolkit's fusion rules do.
    fn set_weights(
        &mut self,
        stage: &mut Stage,
        k: u32,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
        name: &str,
    ) -> Result<()> {
        stage.taps.location = Location::Blob;
        stage.taps.pointer = self.constant_buffer(&crate::fp16::encode(weights)).pointer;
        if let Some(bias) = bias {
            if bias.len() as u64 != u64::from(k) {
                return Err(invalid(name, format!("{} bias values for {k} outputs", bias.len())));
            }
            stage.bias = self.constant_buffer(&crate::fp16::encode(bias));
        }
        let (post_op, param) = match activation {
            Activation::None if bias.is_some() => (PostOp::Bias, 0),
            Activation::None => (PostOp::None, 0),
            Activation::Relu => (PostOp::Relu, 0),
            Activation::Relu6 => (PostOp::ReluX, 6.0f32.to_bits()),
            Activation::LeakyRelu(slope) => (PostOp::LeakyRelu, slope.to_bits()),
            Activation::Elu(alpha) => (PostOp::Elu, alpha.to_bits()),
        };
        stage.post_op = post_op;
        stage.post_param = param;
        Ok(())
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
            let guard = 2 * (u64::from(dims.x) + 1) * u64::from(dims.z) * 2;
            let block = (dims.product() * 2 + 2 * guard).next_multiple_of(layout::DATA_ALIGN as u64);
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

fn set_geometry(stage: &mut Stage, kernel: [u32; 2], stride: [u32; 2], padding: Padding, name: &str) -> Result<()> {
    stage.kernel_y = i8_of(name, kernel[0])?;
    stage.kernel_x = i8_of(name, kernel[1])?;
    stage.stride_y = u8_of(name, stride[0])?;
    stage.stride_x = u8_of(name, stride[1])?;
    if stride.contains(&0) {
        return Err(invalid(name, "stride 0".into()));
    }
    stage.pad_style = match padding {
        Padding::Same => PadStyle::TfSame,
        Padding::Valid => PadStyle::TfValid,
        Padding::Explicit([py, px]) => {
            stage.pad_y = py;
            stage.pad_x = px;
            PadStyle::Caffe
        }
    };
    Ok(())
}

fn stage_pads(stage: &Stage) -> [u32; 2] {
    [u32::from(stage.pad_y), u32::from(stage.pad_x)]
}

/// Output length of a sliding window along one axis (`axis` 0 = rows, 1 = columns).
fn window_out(len: u32, kernel: u32, stride: u32, padding: Padding, axis: usize, pooling: bool) -> u32 {
    let (len, kernel, stride) = (i64::from(len), i64::from(kernel), i64::from(stride));
    let out = match padding {
        Padding::Same => (len + stride - 1) / stride,
        Padding::Valid => (len - kernel + stride).max(0) / stride,
        Padding::Explicit(pad) => {
            let p = i64::from(pad[axis]);
            if pooling {
                // Caffe pooling rounds up, but the last window must start inside the padded input.
                let ceil = |a: i64, b: i64| (a + b - 1).div_euclid(b);
                (ceil(len + 2 * p - kernel, stride) + 1).min(ceil(len + p, stride))
            } else {
                (len + 2 * p - kernel).div_euclid(stride) + 1
            }
        }
    };
    out.max(0) as u32
}

fn deconv_out(len: u32, kernel: u32, stride: u32, pad: u32, name: &str) -> Result<u32> {
    let out = i64::from(stride) * (i64::from(len) - 1) + i64::from(kernel) - 2 * i64::from(pad);
    u32::try_from(out)
        .ok()
        .filter(|&o| o > 0)
        .ok_or_else(|| invalid(name, format!("deconvolution output length {out}")))
}

fn invalid(stage: &str, message: String) -> Error {
    Error::InvalidInput(format!("stage '{stage}': {message}"))
}

fn u32_of(name: &str, value: u64) -> Result<u32> {
    u32::try_from(value).map_err(|_| invalid(name, format!("{value} does not fit a u32 record field")))
}

fn u8_of(name: &str, value: u32) -> Result<u8> {
    u8::try_from(value).map_err(|_| invalid(name, format!("{value} does not fit a u8 record field")))
}

fn i8_of(name: &str, value: u32) -> Result<i8> {
    i8::try_from(value).map_err(|_| invalid(name, format!("kernel {value} does not fit the i8 radix field")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eltwise_operands_must_share_a_layout() {
        let mut g = GraphBuilder::new("mixed_layouts", [4, 4, 2]);
        let x = g.input();
        let w = [0.5f32; 2 * 2];
        let a = g.conv("a", x, [1, 1], [1, 1], Padding::Same, &w, None, Activation::None).unwrap();
        let b = g.conv("b", x, [1, 1], [1, 1], Padding::Same, &w, None, Activation::None).unwrap();
        let plain = g.conv("c", x, [1, 1], [1, 1], Padding::Same, &w, None, Activation::None).unwrap();
        // `a` becomes channels 0..2 of a 4-channel buffer: its channel stride differs from `plain`'s.
        let joined = g.concat(&[a, b]).unwrap();
        let sum = g.eltwise("sum", StageType::EltwiseSum, a, plain).unwrap();
        let out = g.concat(&[sum, joined]);
        let err = g.finish(out.unwrap()).unwrap_err().to_string();
        assert!(err.contains("'sum'") && err.contains("laid out differently"), "{err}");
    }
}
