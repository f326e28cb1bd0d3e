//! The small networks `ncs` ships in `graphs/`, built from fixed seeds.
//!
//! Each is written by [`GraphBuilder`], so the files double as tests of the writer: a test
//! regenerates them and checks the committed bytes (`NCS_UPDATE_GRAPHS=1` rewrites them).

use crate::blob::{Blob, StageType};
use crate::error::Result;
use crate::splitmix::SplitMix64;

use super::{Activation, ConvSpec, GraphBuilder, Padding};

/// A bundled sample network.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// File name under `graphs/`.
    pub file: &'static str,
    /// One line on what it covers.
    pub summary: &'static str,
    /// Builds the blob.
    pub build: fn() -> Result<Blob>,
}

/// Every bundled sample, in the order `graphs/README.md` lists them.
pub const SAMPLES: [Sample; 3] = [
    Sample {
        file: "tiny_cnn.graph",
        summary: "16x16x3 classifier: conv SAME+ReLU, max pool, conv VALID+ReLU6, global avg pool, FC, softmax",
        build: tiny_cnn,
    },
    Sample {
        file: "inception_block.graph",
        summary: "an Inception-style block on 9x9x4: four branches (1x1; 1x1→3x3; 1x1→5x5; avg pool→1x1) concatenated, then 1x1",
        build: inception_block,
    },
    Sample {
        file: "op_zoo.graph",
        summary: "one stage of most other v1 ops on 6x6x4: depthwise, deconv, LRN, PReLU, scale, eltwise, power, sigmoid, tanh, slice",
        build: op_zoo,
    },
];

/// Deterministic test data: [`SplitMix64`] seeded directly, mapped to uniform [-scale, scale).
/// `tests/data/gen_tf_reference.py` draws the same stream for TensorFlow.
#[derive(Debug, Clone)]
pub struct Weights(SplitMix64);

impl Weights {
    /// A stream from a seed.
    pub fn new(seed: u64) -> Self {
        Weights(SplitMix64::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// `count` values uniform in [-scale, scale).
    pub fn uniform(&mut self, count: usize, scale: f32) -> Vec<f32> {
        (0..count).map(|_| (self.0.unit() * 2.0 - 1.0) * scale).collect()
    }
}

fn tiny_cnn() -> Result<Blob> {
    let mut w = Weights::new(1);
    let mut g = GraphBuilder::new("tiny_cnn", [16, 16, 3]);
    let x = g.input();
    let (w1, b1) = (w.uniform(3 * 3 * 3 * 8, 0.3), w.uniform(8, 0.1));
    let c1 = g.conv(
        "conv1/Relu",
        x,
        ConvSpec::new([3, 3], &w1).padding(Padding::Same).bias(&b1).activation(Activation::Relu),
    )?;
    let p1 = g.max_pool("pool1/MaxPool", c1, [2, 2], [2, 2], Padding::Valid)?;
    let (w2, b2) = (w.uniform(3 * 3 * 8 * 16, 0.2), w.uniform(16, 0.1));
    let c2 = g.conv("conv2/Relu6", p1, ConvSpec::new([3, 3], &w2).bias(&b2).activation(Activation::Relu6))?;
    let p2 = g.avg_pool("pool2/AvgPool", c2, [6, 6], [1, 1], Padding::Valid)?;
    let fc =
        g.fully_connected("logits/BiasAdd", p2, &w.uniform(16 * 10, 0.5), Some(&w.uniform(10, 0.1)), Activation::None)?;
    let out = g.softmax("output", fc)?;
    g.finish(out)
}

fn inception_block() -> Result<Blob> {
    let mut w = Weights::new(2);
    let mut g = GraphBuilder::new("inception_block", [9, 9, 4]);
    let x = g.input();
    let mut conv = |g: &mut GraphBuilder, name: &str, input, k: u32, c_in: usize, c_out: usize| {
        let weights = w.uniform(k as usize * k as usize * c_in * c_out, 0.3);
        let bias = w.uniform(c_out, 0.1);
        g.conv(
            name,
            input,
            ConvSpec::new([k, k], &weights).padding(Padding::Same).bias(&bias).activation(Activation::Relu),
        )
    };
    let b0 = conv(&mut g, "Branch_0/Conv2d_0a_1x1/Relu", x, 1, 4, 4)?;
    let b1a = conv(&mut g, "Branch_1/Conv2d_0a_1x1/Relu", x, 1, 4, 3)?;
    let b1 = conv(&mut g, "Branch_1/Conv2d_0b_3x3/Relu", b1a, 3, 3, 6)?;
    let b2a = conv(&mut g, "Branch_2/Conv2d_0a_1x1/Relu", x, 1, 4, 2)?;
    let b2 = conv(&mut g, "Branch_2/Conv2d_0b_5x5/Relu", b2a, 5, 2, 4)?;
    let b3a = g.avg_pool("Branch_3/AvgPool_0a_3x3/AvgPool", x, [3, 3], [1, 1], Padding::Same)?;
    let b3 = conv(&mut g, "Branch_3/Conv2d_0b_1x1/Relu", b3a, 1, 4, 2)?;
    let mixed = g.concat(&[b0, b1, b2, b3])?;
    let out = conv(&mut g, "Mixed/Conv2d_1x1/Relu", mixed, 1, 16, 8)?;
    g.finish(out)
}

fn op_zoo() -> Result<Blob> {
    let mut w = Weights::new(3);
    let mut g = GraphBuilder::new("op_zoo", [6, 6, 4]);
    let x = g.input();
    let (wd, bd) = (w.uniform(3 * 3 * 4, 0.5), w.uniform(4, 0.1));
    let dw = g.depthwise_conv(
        "depthwise/Relu",
        x,
        ConvSpec::new([3, 3], &wd).padding(Padding::Same).bias(&bd).activation(Activation::Relu),
    )?;
    let (taps, bt) = (w.uniform(3 * 3 * 4 * 4, 0.3), w.uniform(4, 0.1));
    let de = g.deconv(
        "deconv/BiasAdd",
        dw,
        ConvSpec::new([3, 3], &taps).stride([2, 2]).padding(Padding::Explicit([1, 1])).bias(&bt),
    )?;
    let pooled = g.max_pool("pool/MaxPool", de, [2, 2], [2, 2], Padding::Same)?;
    let lrn = g.lrn("lrn", pooled, 2, 1.0, 0.05, 0.75)?;
    let pr = g.prelu("prelu", lrn, &w.uniform(4, 0.3))?;
    let sc = g.scale("scale/Elu", pr, &w.uniform(4, 1.0), Some(&w.uniform(4, 0.2)), Activation::Elu(1.0))?;
    let sum = g.eltwise("add", StageType::EltwiseSum, sc, pooled)?;
    let prod = g.eltwise("mul", StageType::EltwiseProd, sum, sc)?;
    let max = g.eltwise("maximum", StageType::EltwiseMax, prod, sum)?;
    let pw = g.power("power", max, 1.0, 0.5, 2.0)?;
    let sg = g.unary("sigmoid", StageType::Sigmoid, pw)?;
    let th = g.unary("tanh", StageType::Tanh, max)?;
    let sl = g.slice_channels("slice", th, 1, 2)?;
    let sg2 = g.slice_channels("slice_1", sg, 0, 2)?;
    let both = g.concat(&[sl, sg2])?;
    let (wo, bo) = (w.uniform(4 * 3, 0.5), w.uniform(3, 0.1));
    let out =
        g.conv("out/BiasAdd", both, ConvSpec::new([1, 1], &wo).bias(&bo).activation(Activation::LeakyRelu(0.1)))?;
    g.finish(out)
}
