//! Blob write → parse round trips over random networks: whatever the builder lays out (random
//! layer sequences, shapes, kernels, strides, paddings, activations, SHAVE counts, names) writes
//! to bytes that parse back to the same blob, and that blob writes the same bytes again.
//! `tests/mutation.rs` covers the other direction: any byte string the parser accepts re-writes
//! identically.

use ncs::blob::{self, Blob};
use ncs::graph::samples::Weights;
use ncs::graph::{Activation, ConvSpec, GraphBuilder, Padding, TensorId};
use proptest::prelude::*;

/// One layer the random network may append.
#[derive(Debug, Clone)]
enum Layer {
    Conv { kernel: [u32; 2], stride: [u32; 2], padding: Padding, out: u32, activation: u8 },
    Depthwise { kernel: [u32; 2], stride: [u32; 2], padding: Padding },
    MaxPool { kernel: [u32; 2], stride: [u32; 2], padding: Padding },
    AvgPool { kernel: [u32; 2], stride: [u32; 2], padding: Padding },
    Power { shift: f32, scale: f32, power: f32 },
    SliceThenConcat { count: u32 },
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Same),
        Just(Padding::Valid),
        (0u8..2, 0u8..2).prop_map(|(r, c)| Padding::Explicit([r, c]))
    ]
}

fn window() -> impl Strategy<Value = ([u32; 2], [u32; 2], Padding)> {
    ([2u32..=4, 2u32..=4], [1u32..=2, 1u32..=2], padding())
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        (window(), 1u32..=6, 0u8..5).prop_map(|((kernel, stride, padding), out, activation)| Layer::Conv {
            kernel,
            stride,
            padding,
            out,
            activation
        }),
        window().prop_map(|(kernel, stride, padding)| Layer::Depthwise { kernel, stride, padding }),
        window().prop_map(|(kernel, stride, padding)| Layer::MaxPool { kernel, stride, padding }),
        window().prop_map(|(kernel, stride, padding)| Layer::AvgPool { kernel, stride, padding }),
        (-1.0f32..1.0, 0.5f32..2.0, 1u8..=3).prop_map(|(shift, scale, power)| Layer::Power {
            shift,
            scale,
            power: f32::from(power)
        }),
        (1u32..=3).prop_map(|count| Layer::SliceThenConcat { count }),
    ]
}

fn activation(code: u8) -> Activation {
    match code {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::Relu6,
        3 => Activation::LeakyRelu(0.125),
        _ => Activation::Elu(1.0),
    }
}

/// Builds the network; `None` when a layer does not fit (the builder refuses it, e.g. a window
/// larger than its input) — such a case is skipped, not counted as a round trip.
fn build(input: [u32; 3], layers: &[Layer], shaves: u16, seed: u64, fc: bool) -> Option<Blob> {
    let mut w = Weights::new(seed);
    let mut g = GraphBuilder::new(&format!("net{seed}"), input).shaves(shaves);
    let mut x: TensorId = g.input();
    for (i, layer) in layers.iter().enumerate() {
        let channels = g.shape(x)[2];
        let name = format!("layer{i}");
        x = match *layer {
            Layer::Conv { kernel, stride, padding, out, activation: code } => {
                let weights = w.uniform((kernel[0] * kernel[1] * channels * out) as usize, 0.5);
                let bias = w.uniform(out as usize, 0.1);
                let spec = ConvSpec::new(kernel, &weights).stride(stride).padding(padding);
                g.conv(&name, x, spec.bias(&bias).activation(activation(code))).ok()?
            }
            Layer::Depthwise { kernel, stride, padding } => {
                let weights = w.uniform((kernel[0] * kernel[1] * channels) as usize, 0.5);
                g.depthwise_conv(&name, x, ConvSpec::new(kernel, &weights).stride(stride).padding(padding)).ok()?
            }
            Layer::MaxPool { kernel, stride, padding } => g.max_pool(&name, x, kernel, stride, padding).ok()?,
            Layer::AvgPool { kernel, stride, padding } => g.avg_pool(&name, x, kernel, stride, padding).ok()?,
            Layer::Power { shift, scale, power } => g.power(&name, x, shift, scale, power).ok()?,
            Layer::SliceThenConcat { count } => {
                let count = count.min(channels);
                let a = g.slice_channels(&format!("{name}a"), x, 0, count).ok()?;
                let b = g.power(&format!("{name}b"), x, 0.0, 2.0, 1.0).ok()?;
                g.concat(&[a, b]).ok()?
            }
        };
    }
    if fc {
        let [r, c, ch] = g.shape(x);
        let weights = w.uniform((r * c * ch * 3) as usize, 0.5);
        x = g.fully_connected("fc", x, &weights, None, Activation::None).ok()?;
        x = g.softmax("prob", x).ok()?;
    }
    g.finish(x).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_networks_write_parse_and_rewrite_identically(
        input in ([4u32..=12, 4u32..=12, 1u32..=4]),
        layers in prop::collection::vec(layer(), 1..6),
        shaves in 1u16..=12,
        seed in 0u64..10_000,
        fc in any::<bool>(),
    ) {
        let Some(built) = build(input, &layers, shaves, seed, fc) else { return Ok(()) };
        let bytes = blob::write(&built).expect("a built blob writes");
        let parsed = blob::parse(&bytes).unwrap_or_else(|e| panic!("{layers:?}: written blob does not parse: {e}"));
        prop_assert_eq!(&parsed, &built);
        prop_assert_eq!(blob::write(&parsed).unwrap(), bytes);
    }
}
