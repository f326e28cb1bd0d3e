//! One method per kind of stage: each checks its parameters, stores its constants, sizes its
//! output with [`crate::window`] and records a draft stage.

use crate::blob::{Dims, Stage, StageType};
use crate::error::Result;
use crate::window::{Axis, Padding, WindowOp};

use super::{i8_of, invalid, u32_of, u8_of, Activation, ConvSpec, GraphBuilder, TensorId, View};

impl GraphBuilder {
    /// 2-D convolution; `spec.weights` are HWCK (`[kh][kw][C][K]`, K fastest), the bias has K values.
    pub fn conv(&mut self, name: &str, x: TensorId, spec: ConvSpec<'_>) -> Result<TensorId> {
        self.weighted(name, StageType::Convolution, x, &spec)
    }

    /// Depthwise convolution with channel multiplier M; `spec.weights` are `[kh][kw][C·M]`.
    pub fn depthwise_conv(&mut self, name: &str, x: TensorId, spec: ConvSpec<'_>) -> Result<TensorId> {
        self.weighted(name, StageType::DepthwiseConvolution, x, &spec)
    }

    /// Transposed convolution with [`Padding::Explicit`] padding; `spec.weights` are the taps as
    /// the blob holds them: already flipped and in/out swapped, `[kh][kw][C][K]`.
    pub fn deconv(&mut self, name: &str, x: TensorId, spec: ConvSpec<'_>) -> Result<TensorId> {
        if !matches!(spec.padding, Padding::Explicit(_)) {
            return Err(invalid(Some(name), format!("a deconvolution takes explicit padding, not {:?}", spec.padding)));
        }
        self.weighted(name, StageType::Deconvolution, x, &spec)
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
            return Err(invalid(
                Some(name),
                format!("{} weights do not divide into rows of {n} inputs", weights.len()),
            ));
        }
        let k = u32_of(name, weights.len() as u64 / n)?;
        let n = u32_of(name, n)?;
        let mut stage = Stage::with_defaults(name, StageType::FullyConnected);
        stage.input.dims = Dims::new(1, 1, n);
        let out = self.new_tensor(Dims::new(1, 1, k));
        self.set_weights(&mut stage, name, k, weights, bias, activation)?;
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
        self.pool(name, StageType::MaxPooling, x, [kernel, stride], padding)
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
        self.pool(name, StageType::AveragePooling, x, [kernel, stride], padding)
    }

    /// Softmax over channels (opParams axis 1, as the 1.12 TF parser writes).
    pub fn softmax(&mut self, name: &str, x: TensorId) -> Result<TensorId> {
        let mut stage = Stage::with_defaults(name, StageType::SoftMax);
        stage.op_params = self.constant_buffer(&1i32.to_le_bytes());
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// A parameterless elementwise op: sigmoid, tanh, square, rsqrt, copy or none. ReLU, ELU
    /// and leaky ReLU are post-ops of the stage before (the `activation` of a layer), not stages.
    pub fn unary(&mut self, name: &str, op: StageType, x: TensorId) -> Result<TensorId> {
        use StageType as Op;
        if !matches!(op, Op::Sigmoid | Op::Tanh | Op::Square | Op::Rsqrt | Op::Copy | Op::None) {
            return Err(invalid(Some(name), format!("{op} is not a parameterless elementwise op")));
        }
        let out = self.new_tensor(self.dims(x));
        Ok(self.push(Stage::with_defaults(name, op), self.full(x), None, out))
    }

    /// Elementwise sum, product or max of two tensors of equal shape.
    pub fn eltwise(&mut self, name: &str, op: StageType, a: TensorId, b: TensorId) -> Result<TensorId> {
        if !matches!(op, StageType::EltwiseSum | StageType::EltwiseProd | StageType::EltwiseMax) {
            return Err(invalid(Some(name), format!("{op} is not an eltwise op")));
        }
        if self.dims(a) != self.dims(b) {
            return Err(invalid(Some(name), format!("shapes {:?} and {:?} differ", self.shape(a), self.shape(b))));
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
            return Err(invalid(Some(name), format!("{} multipliers for {} channels", multipliers.len(), dims.z)));
        }
        let mut stage = Stage::with_defaults(name, StageType::Scale);
        let count = multipliers.len() as u32;
        self.set_weights(&mut stage, name, count, multipliers, bias, activation)?;
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
            return Err(invalid(Some(name), format!("{} slopes for {} channels", slopes.len(), self.dims(x).z)));
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
            let end = u64::from(start) + u64::from(count);
            return Err(invalid(Some(name), format!("channels {start}..{end} of a {}-channel tensor", dims.z)));
        }
        let view = View { tensor: x, channel_start: start, channels: count };
        let out = self.new_tensor(Dims::new(dims.x, dims.y, count));
        Ok(self.push(Stage::with_defaults(name, StageType::Copy), view, None, out))
    }

    /// Convolution, depthwise convolution or deconvolution: weights per output channel, window
    /// fields, output size.
    fn weighted(&mut self, name: &str, op: StageType, x: TensorId, spec: &ConvSpec<'_>) -> Result<TensorId> {
        let input = self.dims(x);
        let [kh, kw] = spec.kernel;
        let area = u64::from(kh) * u64::from(kw);
        let per_k = if op == StageType::DepthwiseConvolution { area } else { area * u64::from(input.z) };
        if per_k == 0 || spec.weights.len() as u64 % per_k != 0 {
            return Err(invalid(
                Some(name),
                format!("{} weights do not fit kernel {:?} over {} channels", spec.weights.len(), spec.kernel, input.z),
            ));
        }
        let k = u32_of(name, spec.weights.len() as u64 / per_k)?;
        let mut stage = Stage::with_defaults(name, op);
        set_geometry(&mut stage, name, spec.kernel, spec.stride, spec.padding)?;
        let out_len = |a: usize, len: u32| {
            let axis = Axis::new(spec.kernel[a], spec.stride[a], 1);
            let out = match spec.padding {
                Padding::Explicit(pads) if op == StageType::Deconvolution => {
                    let pad = u32::from(pads[a]);
                    let (k, s) = (axis.kernel, axis.stride);
                    axis.deconv_output_len(len, pad).ok_or_else(|| {
                        invalid(
                            Some(name),
                            format!("deconvolving {len} inputs (kernel {k}, stride {s}, pad {pad}) has no output"),
                        )
                    })?
                }
                padding => axis.output_len(len, padding.axis(a), WindowOp::Convolution),
            };
            u32_of(name, out)
        };
        let (rows, cols) = (out_len(0, input.y)?, out_len(1, input.x)?);
        self.set_weights(&mut stage, name, k, spec.weights, spec.bias, spec.activation)?;
        let out = self.new_tensor(Dims::new(cols, rows, k));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Max or average pooling over `[kernel, stride]`.
    fn pool(
        &mut self,
        name: &str,
        op: StageType,
        x: TensorId,
        [kernel, stride]: [[u32; 2]; 2],
        padding: Padding,
    ) -> Result<TensorId> {
        let input = self.dims(x);
        let mut stage = Stage::with_defaults(name, op);
        set_geometry(&mut stage, name, kernel, stride, padding)?;
        let out_len = |a: usize, len: u32| {
            let out = Axis::new(kernel[a], stride[a], 1).output_len(len, padding.axis(a), WindowOp::Pooling);
            u32_of(name, out)
        };
        let (rows, cols) = (out_len(0, input.y)?, out_len(1, input.x)?);
        let out = self.new_tensor(Dims::new(cols, rows, input.z));
        Ok(self.push(stage, self.full(x), None, out))
    }

    /// Stores taps and bias, and sets post-op fields as the toolkit's fusion rules do.
    fn set_weights(
        &mut self,
        stage: &mut Stage,
        name: &str,
        k: u32,
        weights: &[f32],
        bias: Option<&[f32]>,
        activation: Activation,
    ) -> Result<()> {
        stage.taps.location = crate::blob::Location::Blob;
        stage.taps.pointer = self.constant_buffer(&crate::fp16::encode(weights)).pointer;
        if let Some(bias) = bias {
            if bias.len() as u64 != u64::from(k) {
                return Err(invalid(Some(name), format!("{} bias values for {k} outputs", bias.len())));
            }
            stage.bias = self.constant_buffer(&crate::fp16::encode(bias));
        }
        (stage.post_op, stage.post_param) = activation.post_op(bias.is_some());
        Ok(())
    }
}

/// Writes kernel, stride and padding into the record's fields, checking they fit them.
fn set_geometry(stage: &mut Stage, name: &str, kernel: [u32; 2], stride: [u32; 2], padding: Padding) -> Result<()> {
    stage.kernel_y = i8_of(name, kernel[0])?;
    stage.kernel_x = i8_of(name, kernel[1])?;
    stage.stride_y = u8_of(name, stride[0])?;
    stage.stride_x = u8_of(name, stride[1])?;
    if stride.contains(&0) {
        return Err(invalid(Some(name), "stride 0"));
    }
    (stage.pad_style, [stage.pad_y, stage.pad_x]) = padding.to_record();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deconvolution_takes_explicit_padding_only() {
        let mut g = GraphBuilder::new("deconv_padding", [4, 4, 1]);
        let x = g.input();
        let taps = [1.0f32; 9];
        let err = g.deconv("up", x, ConvSpec::new([3, 3], &taps).padding(Padding::Same)).unwrap_err().to_string();
        assert!(err.contains("'up'") && err.contains("explicit padding"), "{err}");
        // stride·(len − 1) + kernel − 2·pad = 2·3 + 3 − 2 = 7.
        let y = g.deconv("up", x, ConvSpec::new([3, 3], &taps).stride([2, 2]).padding(Padding::Explicit([1, 1])));
        assert_eq!(g.shape(y.unwrap()), [7, 7, 1]);
        let none = g.deconv("none", x, ConvSpec::new([1, 1], &taps[..1]).padding(Padding::Explicit([2, 2])));
        assert!(none.unwrap_err().to_string().contains("has no output"));
    }
}
