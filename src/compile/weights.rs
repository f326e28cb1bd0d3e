//! Weights, biases and parameters of IR stages, and how they become data-section bytes.
//!
//! Taps stay references to the graph's constants until emission, with the per-channel
//! multiplications folded into them (batch norm, `Mul`/`RealDiv` by a constant) kept as a list
//! and applied in order in f32, as mvNCCompile's numpy code applies them: the rounding of each
//! step is then the same, and the fp16 bytes come out identical. A layer is widened to f32
//! only while it is written out, so the compiler never holds all weights as floats.
//!
//! Biases are small and computed eagerly, following numpy's dtype rules as mvNCCompile hit them:
//! a bias added by `BiasAdd`/`Add` is already rounded to fp16 (`astype(np.float16)`), fp16 plus
//! fp16 stays fp16, fp16 times a float32 array becomes float32, fp16 times a scalar stays fp16.

use std::rc::Rc;

use super::error::CompileResult;
use super::graph::Graph;
use super::tensor::Constant;
use crate::fp16;

/// Where taps come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TapsSource {
    /// A `Const` node of the graph (decoded when written).
    Node(usize),
    /// Values computed by the compiler (e.g. a batch norm's scale).
    Values(Vec<f32>),
    /// A folded constant (e.g. reshaped weights), shared with the front end's tensor and
    /// widened to floats only when written.
    Folded(Rc<Constant>),
}

/// How the stored order differs from the constant's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapsLayout {
    /// As stored (TF's HWCK conv kernels and `[in][out]` matrices already are the NCS order).
    Plain,
    /// `Conv2DBackpropInput`: kernel `[kh][kw][out][in]` flipped in both spatial axes and with
    /// the last two axes swapped (the toolkit's `swapaxes(2, 3)[::-1, ::-1]`).
    DeconvFlip {
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
        /// The kernel's third axis (deconvolution output channels).
        c_out: usize,
        /// The kernel's fourth axis (deconvolution input channels).
        c_in: usize,
    },
}

/// A multiplication applied to the taps along their innermost axis.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelOp {
    /// Multiply by one value per output channel (or one value for all).
    Mul(Vec<f32>),
    /// Divide likewise.
    Div(Vec<f32>),
}

/// A stage's weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Taps {
    /// The values.
    pub source: TapsSource,
    /// Reordering on the way out.
    pub layout: TapsLayout,
    /// Rounded to fp16 before the channel ops (MatMul weights: `astype(np.float16)` at once).
    pub round_first: bool,
    /// Folded multiplications, in order.
    pub ops: Vec<ChannelOp>,
}

impl Taps {
    /// Plain weights from a constant node.
    pub fn node(node: usize) -> Self {
        Taps { source: TapsSource::Node(node), layout: TapsLayout::Plain, round_first: false, ops: Vec::new() }
    }

    /// Plain weights from a folded constant, shared.
    pub fn folded(c: Rc<Constant>) -> Self {
        Taps { source: TapsSource::Folded(c), layout: TapsLayout::Plain, round_first: false, ops: Vec::new() }
    }

    /// Plain weights from computed values.
    pub fn values(values: Vec<f32>) -> Self {
        Taps { source: TapsSource::Values(values), layout: TapsLayout::Plain, round_first: false, ops: Vec::new() }
    }

    /// The final values, as f32 holding what the fp16 bytes will hold before rounding.
    pub fn materialise(&self, graph: &Graph) -> CompileResult<Vec<f32>> {
        let mut values = match &self.source {
            TapsSource::Node(node) => graph.constant(*node)?.floats(),
            TapsSource::Values(v) => v.clone(),
            TapsSource::Folded(c) => c.floats(),
        };
        if let TapsLayout::DeconvFlip { kh, kw, c_out, c_in } = self.layout {
            let mut out = vec![0.0; values.len()];
            for i in 0..kh {
                for j in 0..kw {
                    for o in 0..c_out {
                        for n in 0..c_in {
                            let from = ((i * kw + j) * c_out + o) * c_in + n;
                            let to = (((kh - 1 - i) * kw + (kw - 1 - j)) * c_in + n) * c_out + o;
                            out[to] = values[from];
                        }
                    }
                }
            }
            values = out;
        }
        if self.round_first {
            fp16::round(&mut values);
        }
        for op in &self.ops {
            let (factors, divide) = match op {
                ChannelOp::Mul(f) => (f, false),
                ChannelOp::Div(f) => (f, true),
            };
            for (i, v) in values.iter_mut().enumerate() {
                let f = factors[i % factors.len()];
                *v = if divide { *v / f } else { *v * f };
            }
        }
        Ok(values)
    }
}

/// A bias vector and whether numpy held it as fp16 (values then exactly representable).
#[derive(Debug, Clone, PartialEq)]
pub struct Bias {
    /// The values.
    pub values: Vec<f32>,
    /// Held as fp16 (already rounded).
    pub half: bool,
}

impl Bias {
    /// A bias as `astype(np.float16)` leaves it.
    pub fn rounded(values: &[f32]) -> Self {
        Bias { values: values.iter().map(|&v| fp16::round_one(v)).collect(), half: true }
    }

    /// Raw parameters stored as fp16 (LRN's bias slot).
    pub fn params(values: &[f32]) -> Self {
        Bias::rounded(values)
    }

    /// `addBias`: a second fp16 bias added to this one.
    pub fn add(&mut self, other: &Bias) {
        for (v, o) in self.values.iter_mut().zip(other.values.iter().cycle()) {
            *v += *o;
            if self.half && other.half {
                *v = fp16::round_one(*v);
            }
        }
        self.half = self.half && other.half;
    }

    /// `bias * scale + shift` with float32 arrays (batch norm folding): the result is float32.
    pub fn scale_shift(&mut self, scale: &[f32], shift: &[f32]) {
        for (i, v) in self.values.iter_mut().enumerate() {
            *v = *v * scale[i % scale.len()] + shift[i % shift.len()];
        }
        self.half = false;
    }

    /// `np.multiply`/`np.divide` by a constant: an array promotes fp16 to float32; a scalar
    /// keeps the bias's type (numpy's value-based casting), computing in that type.
    pub fn apply(&mut self, factors: &[f32], scalar: bool, divide: bool) {
        let keep_half = self.half && scalar;
        for (i, v) in self.values.iter_mut().enumerate() {
            let mut f = factors[i % factors.len()];
            if keep_half {
                f = fp16::round_one(f);
            }
            *v = if divide { *v / f } else { *v * f };
            if keep_half {
                *v = fp16::round_one(*v);
            }
        }
        self.half = keep_half;
    }
}

/// Typed operation parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum OpParams {
    /// int32 values.
    I32(Vec<i32>),
    /// Values stored as fp16.
    F16(Vec<f32>),
}

impl OpParams {
    /// Little-endian bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            OpParams::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            OpParams::F16(v) => fp16::encode(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_follows_numpy_dtypes() {
        let mut b = Bias::rounded(&[0.1, 0.2]);
        assert!(b.half && b.values[0] == fp16::round_one(0.1));
        b.add(&Bias::rounded(&[0.3, 0.3]));
        assert_eq!(b.values[0], fp16::round_one(fp16::round_one(0.1) + fp16::round_one(0.3)));
        let mut scalar = b.clone();
        scalar.apply(&[1.1], true, false);
        assert!(scalar.half);
        assert_eq!(scalar.values[0], fp16::round_one(b.values[0] * fp16::round_one(1.1)));
        let mut array = b.clone();
        array.apply(&[1.1, 1.1], false, false);
        assert!(!array.half);
        assert_eq!(array.values[0], b.values[0] * 1.1);
    }

    #[test]
    fn deconv_taps_are_flipped_and_swapped() {
        // kh = 1, kw = 2, out = 2, in = 1: W[0][j][o][0] = 10j + o.
        let t = Taps {
            source: TapsSource::Values(vec![0.0, 1.0, 10.0, 11.0]),
            layout: TapsLayout::DeconvFlip { kh: 1, kw: 2, c_out: 2, c_in: 1 },
            round_first: false,
            ops: vec![ChannelOp::Mul(vec![1.0, 2.0])],
        };
        let dummy = Graph::empty();
        // T[0][j][0][o] = W[0][1-j][o][0], then channel o scaled by (1, 2).
        assert_eq!(t.materialise(&dummy).unwrap(), vec![10.0, 22.0, 0.0, 2.0]);
    }
}
