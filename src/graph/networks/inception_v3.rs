//! Inception V3 as mvNCCompile would compile TF-Slim's `inception_v3` (1001 classes, no aux
//! head, batch norm folded into biases), with seeded weights.
//!
//! The ≈ 47 MB blob is generated, not committed. Weights are drawn from [`Weights`] in layer
//! order (each conv: He-uniform weights, then biases in ±0.1), the same order as
//! `tests/data/gen_tf_reference.py`, so TensorFlow's logits for it are a committed fixture.

use crate::blob::Blob;
use crate::error::Result;

use crate::graph::samples::Weights;
use crate::graph::{Activation, ConvSpec, GraphBuilder, Padding, TensorId};

/// Input side length.
pub const INPUT_SIZE: u32 = 299;
/// Output classes (ImageNet's 1000 plus background).
pub const CLASSES: u32 = 1001;

struct Net {
    g: GraphBuilder,
    w: Weights,
}

impl Net {
    fn conv(
        &mut self,
        name: &str,
        x: TensorId,
        cout: u32,
        kernel: [u32; 2],
        stride: u32,
        padding: Padding,
    ) -> Result<TensorId> {
        let cin = self.g.shape(x)[2];
        let fan_in = kernel[0] * kernel[1] * cin;
        let weights = self.w.uniform((fan_in * cout) as usize, (6.0f32 / fan_in as f32).sqrt());
        let bias = self.w.uniform(cout as usize, 0.1);
        let spec = ConvSpec::new(kernel, &weights).stride([stride, stride]).padding(padding);
        self.g.conv(&format!("InceptionV3/{name}/Relu"), x, spec.bias(&bias).activation(Activation::Relu))
    }

    fn same(&mut self, name: &str, x: TensorId, cout: u32, kernel: [u32; 2]) -> Result<TensorId> {
        self.conv(name, x, cout, kernel, 1, Padding::Same)
    }

    fn avg(&mut self, name: &str, x: TensorId) -> Result<TensorId> {
        self.g.avg_pool(&format!("InceptionV3/{name}/AvgPool"), x, [3, 3], [1, 1], Padding::Same)
    }

    fn max(&mut self, name: &str, x: TensorId) -> Result<TensorId> {
        self.g.max_pool(&format!("InceptionV3/{name}/MaxPool"), x, [3, 3], [2, 2], Padding::Valid)
    }
}

/// Builds the network from a weight seed.
pub fn inception_v3(seed: u64) -> Result<Blob> {
    let mut weights = Weights::new(seed);
    // The input is drawn first, as in the TF script.
    weights.uniform((INPUT_SIZE * INPUT_SIZE * 3) as usize, 1.0);
    build(weights)
}

/// The fixed test input for a seed: `[299, 299, 3]` uniform in [-1, 1).
pub fn inception_v3_input(seed: u64) -> Vec<f32> {
    Weights::new(seed).uniform((INPUT_SIZE * INPUT_SIZE * 3) as usize, 1.0)
}

fn build(w: Weights) -> Result<Blob> {
    let g = GraphBuilder::new("TensorFlow Network", [INPUT_SIZE, INPUT_SIZE, 3]).shaves(12);
    let mut n = Net { g, w };
    let x = n.g.input();
    let x = n.conv("Conv2d_1a_3x3", x, 32, [3, 3], 2, Padding::Valid)?;
    let x = n.conv("Conv2d_2a_3x3", x, 32, [3, 3], 1, Padding::Valid)?;
    let x = n.same("Conv2d_2b_3x3", x, 64, [3, 3])?;
    let x = n.max("MaxPool_3a_3x3", x)?;
    let x = n.conv("Conv2d_3b_1x1", x, 80, [1, 1], 1, Padding::Valid)?;
    let x = n.conv("Conv2d_4a_3x3", x, 192, [3, 3], 1, Padding::Valid)?;
    let mut x = n.max("MaxPool_5a_3x3", x)?;
    for (block, pool_features) in [("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)] {
        let b0 = n.same(&format!("{block}/Branch_0/Conv2d_0a_1x1"), x, 64, [1, 1])?;
        let b1 = n.same(&format!("{block}/Branch_1/Conv2d_0a_1x1"), x, 48, [1, 1])?;
        let b1 = n.same(&format!("{block}/Branch_1/Conv2d_0b_5x5"), b1, 64, [5, 5])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0a_1x1"), x, 64, [1, 1])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0b_3x3"), b2, 96, [3, 3])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0c_3x3"), b2, 96, [3, 3])?;
        let b3 = n.avg(&format!("{block}/Branch_3/AvgPool_0a_3x3"), x)?;
        let b3 = n.same(&format!("{block}/Branch_3/Conv2d_0b_1x1"), b3, pool_features, [1, 1])?;
        x = n.g.concat(&[b0, b1, b2, b3])?;
    }
    let b0 = n.conv("Mixed_6a/Branch_0/Conv2d_1a_1x1", x, 384, [3, 3], 2, Padding::Valid)?;
    let b1 = n.same("Mixed_6a/Branch_1/Conv2d_0a_1x1", x, 64, [1, 1])?;
    let b1 = n.same("Mixed_6a/Branch_1/Conv2d_0b_3x3", b1, 96, [3, 3])?;
    let b1 = n.conv("Mixed_6a/Branch_1/Conv2d_1a_1x1", b1, 96, [3, 3], 2, Padding::Valid)?;
    let b2 = n.max("Mixed_6a/Branch_2/MaxPool_1a_3x3", x)?;
    x = n.g.concat(&[b0, b1, b2])?;
    for (block, width) in [("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)] {
        let b0 = n.same(&format!("{block}/Branch_0/Conv2d_0a_1x1"), x, 192, [1, 1])?;
        let b1 = n.same(&format!("{block}/Branch_1/Conv2d_0a_1x1"), x, width, [1, 1])?;
        let b1 = n.same(&format!("{block}/Branch_1/Conv2d_0b_1x7"), b1, width, [1, 7])?;
        let b1 = n.same(&format!("{block}/Branch_1/Conv2d_0c_7x1"), b1, 192, [7, 1])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0a_1x1"), x, width, [1, 1])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0b_7x1"), b2, width, [7, 1])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0c_1x7"), b2, width, [1, 7])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0d_7x1"), b2, width, [7, 1])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0e_1x7"), b2, 192, [1, 7])?;
        let b3 = n.avg(&format!("{block}/Branch_3/AvgPool_0a_3x3"), x)?;
        let b3 = n.same(&format!("{block}/Branch_3/Conv2d_0b_1x1"), b3, 192, [1, 1])?;
        x = n.g.concat(&[b0, b1, b2, b3])?;
    }
    let b0 = n.same("Mixed_7a/Branch_0/Conv2d_0a_1x1", x, 192, [1, 1])?;
    let b0 = n.conv("Mixed_7a/Branch_0/Conv2d_1a_3x3", b0, 320, [3, 3], 2, Padding::Valid)?;
    let b1 = n.same("Mixed_7a/Branch_1/Conv2d_0a_1x1", x, 192, [1, 1])?;
    let b1 = n.same("Mixed_7a/Branch_1/Conv2d_0b_1x7", b1, 192, [1, 7])?;
    let b1 = n.same("Mixed_7a/Branch_1/Conv2d_0c_7x1", b1, 192, [7, 1])?;
    let b1 = n.conv("Mixed_7a/Branch_1/Conv2d_1a_3x3", b1, 192, [3, 3], 2, Padding::Valid)?;
    let b2 = n.max("Mixed_7a/Branch_2/MaxPool_1a_3x3", x)?;
    x = n.g.concat(&[b0, b1, b2])?;
    for block in ["Mixed_7b", "Mixed_7c"] {
        let b0 = n.same(&format!("{block}/Branch_0/Conv2d_0a_1x1"), x, 320, [1, 1])?;
        let b1 = n.same(&format!("{block}/Branch_1/Conv2d_0a_1x1"), x, 384, [1, 1])?;
        let b1a = n.same(&format!("{block}/Branch_1/Conv2d_0b_1x3"), b1, 384, [1, 3])?;
        let b1b = n.same(&format!("{block}/Branch_1/Conv2d_0b_3x1"), b1, 384, [3, 1])?;
        let b1 = n.g.concat(&[b1a, b1b])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0a_1x1"), x, 448, [1, 1])?;
        let b2 = n.same(&format!("{block}/Branch_2/Conv2d_0b_3x3"), b2, 384, [3, 3])?;
        let b2a = n.same(&format!("{block}/Branch_2/Conv2d_0c_1x3"), b2, 384, [1, 3])?;
        let b2b = n.same(&format!("{block}/Branch_2/Conv2d_0d_3x1"), b2, 384, [3, 1])?;
        let b2 = n.g.concat(&[b2a, b2b])?;
        let b3 = n.avg(&format!("{block}/Branch_3/AvgPool_0a_3x3"), x)?;
        let b3 = n.same(&format!("{block}/Branch_3/Conv2d_0b_1x1"), b3, 192, [1, 1])?;
        x = n.g.concat(&[b0, b1, b2, b3])?;
    }
    let x = n.g.avg_pool("InceptionV3/Logits/AvgPool_1a_8x8/AvgPool", x, [8, 8], [1, 1], Padding::Valid)?;
    let logits_w = n.w.uniform(2048 * CLASSES as usize, (6.0f32 / 2048.0).sqrt());
    let logits_b = n.w.uniform(CLASSES as usize, 0.1);
    // A 1×1 conv on a 1×1 input: mvNCCompile emits a fully connected stage.
    let logits = n.g.fully_connected(
        "InceptionV3/Logits/Conv2d_1c_1x1/BiasAdd",
        x,
        &logits_w,
        Some(&logits_b),
        Activation::None,
    )?;
    let out = n.g.softmax("InceptionV3/Predictions/Softmax", logits)?;
    n.g.finish(out)
}
