//! The real pairs: frozen TensorFlow graphs compiled by `ncs compile` against the files Intel's
//! mvNCCompile made from them (`tests/data/compile/real/README.md` has the provenance and the
//! command each repository used).

mod common;

use std::path::Path;

use bytes::Bytes;
use common::shared_graph;
use ncs::blob::{self, layout, Location, PostOp, StageType};
use ncs::compile::{compile, CompileOptions};

fn real_pb(name: &str) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compile/real").join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn options(input: &str, output: &str, shaves: u16) -> CompileOptions {
    CompileOptions { input: input.into(), output: output.into(), shaves, input_shape: None }
}

/// The first differing byte, described, for a readable failure.
fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    if ours.len() != theirs.len() {
        return format!("sizes {} vs {}", ours.len(), theirs.len());
    }
    match ours.iter().zip(theirs).position(|(a, b)| a != b) {
        None => "identical".into(),
        Some(at) if at < layout::HEADER_LEN => format!("header byte {at}"),
        Some(at) => {
            let record = (at - layout::HEADER_LEN) / layout::RECORD_LEN;
            format!("byte {at} (record {record}, offset {})", (at - layout::HEADER_LEN) % layout::RECORD_LEN)
        }
    }
}

#[test]
fn matpalm_and_deeppicar_graphs_compile_byte_identically() {
    let cases = [
        ("conv8.pb", "conv8.graph", "imgs", "output"),
        ("conv6.pb", "conv6.graph", "imgs", "output"),
        ("conv_deconv.pb", "conv_deconv.graph", "imgs", "output"),
        ("conv_regression.pb", "conv_regression.graph", "imgs", "output/BiasAdd"),
        ("deeppicar.pb", "deeppicar.graph", "input_x", "output_y"),
    ];
    for (pb, graph, input, output) in cases {
        let compiled = compile(real_pb(pb), &options(input, output, 12)).unwrap_or_else(|e| panic!("{pb}: {e}"));
        let ours = blob::write(&compiled.blob).unwrap();
        let theirs = shared_graph(graph);
        assert!(ours == theirs, "{pb} vs {graph}: {}", first_difference(&ours, &theirs));
    }
}

#[test]
fn known_firmware_problems_are_warned_about_by_stage() {
    let conv6 = compile(real_pb("conv6.pb"), &options("imgs", "output", 12)).unwrap();
    assert_eq!(conv6.warnings.len(), 1, "{:?}", conv6.warnings);
    assert!(conv6.warnings[0].contains("'e1/Relu'") && conv6.warnings[0].contains("6 output channels"));
    let conv8 = compile(real_pb("conv8.pb"), &options("imgs", "output", 12)).unwrap();
    assert!(conv8.warnings.is_empty(), "{:?}", conv8.warnings);
    // Quirk 2: the sigmoid's output descriptor has H = 65 channels.
    let deconv = compile(real_pb("conv_deconv.pb"), &options("imgs", "output", 12)).unwrap();
    assert!(deconv.warnings.iter().any(|w| w.contains("'output'") && w.contains("quirk 2")), "{:?}", deconv.warnings);
}

/// NCS_test was compiled from its training checkpoint by a pre-1.12 toolkit, so two things
/// differ from compiling the frozen graph, and one unused field; all explained here; everything else is identical.
#[test]
fn ncs_test_matches_except_the_unfrozen_bias_and_the_old_softmax() {
    let compiled = compile(real_pb("ncs_test.pb"), &options("input", "output", 1)).unwrap();
    let ours = &compiled.blob;
    let theirs = blob::parse(&shared_graph("ncs_test.graph")).unwrap();
    assert_eq!((ours.stages.len(), theirs.stages.len()), (10, 11));
    // Stages 0-7 (conv + BN folded + ReLU, pools, FC, BN as scale + ReLU): records equal but for
    // one field. 3. The first FC's inputStrideY: the 1.12 parser flags a 2-D MatMul input with
    // x = 0, so 2·c·x = 0 (as in conv8/conv_regression, compiled by 1.12); the older one wrote
    // 2·648·1 = 1296. A fully connected stage reads its input contiguously: the field is unused.
    let mut expected = theirs.stages[..8].to_vec();
    assert_eq!(expected[6].input.strides.y, 1296);
    expected[6].input.strides.y = 0;
    assert_eq!(ours.stages[..8], expected[..]);
    // Their weights come first in the data section, byte for byte.
    let ours_fc2_taps = ours.stages[8].taps.pointer as usize;
    assert_eq!(ours.data[..ours_fc2_taps], theirs.data[..ours_fc2_taps]);
    // 1. `matmul + b_fc2` with b_fc2 still a Variable: the old toolkit made an eltwise sum whose
    //    second operand is the network input (quirk 3, a wrong result on the stick); frozen, it is
    //    the fully connected stage's bias.
    let (fc, sum) = (&theirs.stages[8], &theirs.stages[9]);
    assert_eq!(
        (fc.op, fc.post_op, sum.op, sum.taps.location),
        (StageType::FullyConnected, PostOp::None, StageType::EltwiseSum, Location::Input)
    );
    let ours_fc = &ours.stages[8];
    assert_eq!(
        (ours_fc.op, ours_fc.post_op, ours_fc.name.text().as_ref()),
        (StageType::FullyConnected, PostOp::Bias, "add")
    );
    let fc_len = 64 * 10 * 2;
    let (a, b) = (ours_fc.taps.pointer as usize, fc.taps.pointer as usize);
    assert_eq!(ours.data[a..a + fc_len], theirs.data[b..b + fc_len], "the same FC weights");
    // 2. Softmax: the 1.12 toolkit adds opParams [axis 1]; the older one wrote none.
    let (our_softmax, their_softmax) = (&ours.stages[9], &theirs.stages[10]);
    assert_eq!((our_softmax.op, their_softmax.op), (StageType::SoftMax, StageType::SoftMax));
    assert_eq!((our_softmax.op_params.location, their_softmax.op_params.location), (Location::Blob, Location::None));
}
