//! Elementwise operators and the fused post-ops: unary maps, binary eltwise ops, per-channel
//! scale and PReLU, power, and bias + activation.

/// A parameterless map applied to every element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unary {
    /// 1 / (1 + e^−x) (op 20).
    Sigmoid,
    /// tanh x (op 21).
    Tanh,
    /// x² (op 17).
    Square,
    /// 1 / √x (op 45).
    Rsqrt,
    /// x (copy 19, none 5).
    Identity,
}

impl Unary {
    /// Applies the map in place.
    pub fn apply(self, values: &mut [f32]) {
        // One loop per map (not a call through a function pointer) so the cheap ones vectorise.
        match self {
            Unary::Sigmoid => values.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
            Unary::Tanh => values.iter_mut().for_each(|v| *v = v.tanh()),
            Unary::Square => values.iter_mut().for_each(|v| *v *= *v),
            Unary::Rsqrt => values.iter_mut().for_each(|v| *v = 1.0 / v.sqrt()),
            Unary::Identity => {}
        }
    }

    /// Element operations one value costs, roughly (for splitting work over threads).
    pub fn cost(self) -> usize {
        match self {
            Unary::Sigmoid | Unary::Tanh => 20,
            Unary::Square | Unary::Rsqrt | Unary::Identity => 1,
        }
    }
}

/// A binary elementwise op on two equally shaped tensors (ops 12–14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// a + b.
    Sum,
    /// a · b.
    Prod,
    /// max(a, b).
    Max,
}

impl Binary {
    /// `a ← a ∘ b`.
    pub fn apply(self, a: &mut [f32], b: &[f32]) {
        let pairs = a.iter_mut().zip(b);
        match self {
            Binary::Sum => pairs.for_each(|(x, &y)| *x += y),
            Binary::Prod => pairs.for_each(|(x, &y)| *x *= y),
            Binary::Max => pairs.for_each(|(x, &y)| *x = x.max(y)),
        }
    }
}

/// Multiplies channel c of every pixel by `factors[c]` (or all by `factors[0]` when there is
/// one): scale (op 15), and with a per-pixel second tensor, scale_with_scalar (op 46).
pub fn scale_channels(values: &mut [f32], channels: usize, factors: &[f32]) {
    if factors.len() == 1 {
        values.iter_mut().for_each(|v| *v *= factors[0]);
        return;
    }
    for pixel in values.chunks_mut(channels.max(1)) {
        pixel.iter_mut().zip(factors).for_each(|(v, &f)| *v *= f);
    }
}

/// Multiplies every channel of pixel p by `per_pixel[p]` (scale_with_scalar, op 46).
pub fn scale_pixels(values: &mut [f32], channels: usize, per_pixel: &[f32]) {
    for (pixel, &f) in values.chunks_mut(channels.max(1)).zip(per_pixel) {
        pixel.iter_mut().for_each(|v| *v *= f);
    }
}

/// x > 0 ? x : `slope[c]`·x (op 10).
pub fn prelu(values: &mut [f32], channels: usize, slopes: &[f32]) {
    for pixel in values.chunks_mut(channels.max(1)) {
        // A select, not a branch, so the loop vectorises.
        pixel.iter_mut().zip(slopes).for_each(|(v, &s)| *v = if *v <= 0.0 { *v * s } else { *v });
    }
}

/// (shift + scale·x)^power (op 26).
pub fn power(values: &mut [f32], shift: f32, scale: f32, power: f32) {
    values.iter_mut().for_each(|v| *v = (shift + scale * *v).powf(power));
}

/// max(x, c) with one constant or one per channel (op 44).
pub fn max_with_const(values: &mut [f32], channels: usize, constants: &[f32]) {
    if constants.len() == 1 {
        values.iter_mut().for_each(|v| *v = v.max(constants[0]));
        return;
    }
    for pixel in values.chunks_mut(channels.max(1)) {
        pixel.iter_mut().zip(constants).for_each(|(v, &c)| *v = v.max(c));
    }
}

/// The activation after a stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// Nothing.
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), cap).
    ReluX(f32),
    /// x ≥ 0 ? x : slope·x.
    LeakyRelu(f32),
    /// x > 0 ? x : α(eˣ − 1).
    Elu(f32),
}

/// Adds `bias[c]` (when given) and applies the activation.
pub fn bias_activation(values: &mut [f32], channels: usize, bias: Option<&[f32]>, activation: Activation) {
    if let Some(bias) = bias {
        for pixel in values.chunks_mut(channels.max(1)) {
            pixel.iter_mut().zip(bias).for_each(|(v, &b)| *v += b);
        }
    }
    match activation {
        Activation::None => {}
        Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
        Activation::ReluX(cap) => values.iter_mut().for_each(|v| *v = v.max(0.0).min(cap)),
        Activation::LeakyRelu(slope) => values.iter_mut().for_each(|v| *v = if *v < 0.0 { *v * slope } else { *v }),
        Activation::Elu(alpha) => values.iter_mut().for_each(|v| {
            if *v <= 0.0 {
                *v = alpha * (v.exp() - 1.0)
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_maps_match_their_formulas() {
        let xs = [-2.0f32, -0.5, 0.25, 3.0];
        for (op, f) in [
            (Unary::Sigmoid, (|x: f64| 1.0 / (1.0 + (-x).exp())) as fn(f64) -> f64),
            (Unary::Tanh, f64::tanh),
            (Unary::Square, |x| x * x),
            (Unary::Identity, |x| x),
        ] {
            let mut v = xs;
            op.apply(&mut v);
            for (a, x) in v.iter().zip(xs) {
                assert!((f64::from(*a) - f(f64::from(x))).abs() < 1e-6, "{op:?}({x})");
            }
        }
        let mut v = [4.0f32, 0.25];
        Unary::Rsqrt.apply(&mut v);
        assert_eq!(v, [0.5, 2.0]);
    }

    #[test]
    fn binary_and_channel_ops_match_loops() {
        let mut a = [1.0f32, -2.0, 3.0, -4.0];
        Binary::Max.apply(&mut a, &[0.0, 0.0, 5.0, -5.0]);
        assert_eq!(a, [1.0, 0.0, 5.0, -4.0]);
        let mut a = [1.0f32, 2.0, 3.0, 4.0];
        Binary::Prod.apply(&mut a, &[2.0, 2.0, 0.5, 0.5]);
        assert_eq!(a, [2.0, 4.0, 1.5, 2.0]);
        let mut v = [1.0f32, 1.0, 2.0, 2.0];
        scale_channels(&mut v, 2, &[3.0, -1.0]);
        assert_eq!(v, [3.0, -1.0, 6.0, -2.0]);
        scale_pixels(&mut v, 2, &[2.0, 0.5]);
        assert_eq!(v, [6.0, -2.0, 3.0, -1.0]);
        let mut v = [-1.0f32, -1.0, 2.0, -4.0];
        prelu(&mut v, 2, &[0.5, 0.25]);
        assert_eq!(v, [-0.5, -0.25, 2.0, -1.0]);
        let mut v = [1.0f32, 3.0];
        power(&mut v, 1.0, 0.5, 2.0);
        assert_eq!(v, [2.25, 6.25]);
        let mut v = [1.0f32, -3.0];
        max_with_const(&mut v, 2, &[0.0]);
        assert_eq!(v, [1.0, 0.0]);
    }

    #[test]
    fn post_ops_add_bias_then_activate() {
        let mut v = [-1.0f32, 2.0, 7.0, -8.0];
        bias_activation(&mut v, 2, Some(&[0.5, -1.0]), Activation::Relu);
        assert_eq!(v, [0.0, 1.0, 7.5, 0.0]);
        let mut v = [7.0f32, -1.0];
        bias_activation(&mut v, 2, None, Activation::ReluX(6.0));
        assert_eq!(v, [6.0, 0.0]);
        let mut v = [-10.0f32, 1.0];
        bias_activation(&mut v, 2, None, Activation::LeakyRelu(0.1));
        assert_eq!(v, [-1.0, 1.0]);
        let mut v = [-1.0f32, 1.0];
        bias_activation(&mut v, 2, None, Activation::Elu(2.0));
        assert!((v[0] - 2.0 * ((-1.0f32).exp() - 1.0)).abs() < 1e-7 && v[1] == 1.0);
    }
}
