//! Every real mvNCCompile graph parses, matches its golden facts, and re-writes byte for byte.

mod common;

use common::{shared_graph, REAL_GRAPHS};
use ncs::blob::{self, Location, PadStyle, PostOp, StageType};

#[test]
fn real_graphs_round_trip_byte_identically() {
    for common::RealGraph { file, bytes: size, input, output, stages } in REAL_GRAPHS {
        let bytes = shared_graph(file);
        assert_eq!(bytes.len(), size, "{file}: size");
        let blob = blob::parse(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(blob.stages.len(), stages, "{file}: stage count");
        assert_eq!(blob.input_shape(), input, "{file}: input shape");
        assert_eq!(blob.output_shape(), output, "{file}: output shape");
        let written = blob::write(&blob).unwrap();
        assert!(written == bytes, "{file}: re-written bytes differ");
        assert_eq!(blob::parse(&written).unwrap(), blob, "{file}: parse(write(g)) != g");
    }
}

#[test]
fn conv8_matches_the_worked_example() {
    // docs/blob_format.md §11, worked example.
    let blob = blob::parse(&shared_graph("conv8.graph")).unwrap();
    assert_eq!(blob.header.name.text(), "TensorFlow Network");
    assert_eq!((blob.header.first_shave, blob.header.last_shave), (0, 11));
    let s0 = &blob.stages[0];
    assert_eq!(s0.name.text(), "e1/Relu");
    assert_eq!(s0.op, StageType::Convolution);
    assert_eq!((s0.kernel_x, s0.kernel_y, s0.stride_x, s0.stride_y), (3, 3, 2, 2));
    assert_eq!(s0.pad_style, PadStyle::TfSame);
    assert_eq!(s0.post_op, PostOp::Relu);
    assert_eq!((s0.output.location, s0.output.pointer), (Location::Work(4), 1056));
    assert_eq!((s0.bias.location, s0.bias.pointer), (Location::Blob, 448));
    let s1 = &blob.stages[1];
    assert_eq!(s1.op, StageType::FullyConnected);
    assert_eq!(s1.taps.dims.y, 8192);
    assert_eq!(s1.post_op, PostOp::Bias);
    assert_eq!(blob.stages[2].op, StageType::Sigmoid);
    assert_eq!(blob.stages[2].output.location, Location::Output);
}

#[test]
fn quirks_are_kept_as_the_records_say() {
    // Quirk 3: the eltwise add of ncs_test reads its second operand from the network input.
    let blob = blob::parse(&shared_graph("ncs_test.graph")).unwrap();
    let add = &blob.stages[9];
    assert_eq!(add.op, StageType::EltwiseSum);
    assert_eq!(add.taps.location, Location::Input);
    // Quirk 2: conv_deconv's sigmoid claims 65 output channels from a 1-channel input.
    let blob = blob::parse(&shared_graph("conv_deconv.graph")).unwrap();
    let sigmoid = blob.stages.last().unwrap();
    assert_eq!((sigmoid.input.dims.z, sigmoid.output.dims.z), (1, 65));
    assert_eq!(blob.layout().unwrap().output_elements, 274_625);
}
