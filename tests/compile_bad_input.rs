//! `ncs compile` on bad input: every class of issue 14 item 4 gets a clear error of the right
//! kind naming what and where, exit code 2 from the CLI, and never a panic, hang or unbounded
//! allocation. The graphs are a real TensorFlow-written pb (`tests/data/compile/ops/
//! conv_bias_relu.pb`: input → Conv2D → BiasAdd → Relu → output) edited through the message
//! structs, so each case differs from a good graph in exactly one way.
//!
//! Long (~550 lines) as a table is long: one test per class of bad input, each read alone.

mod common;
#[path = "common/graphdef.rs"]
mod graphdef;

use std::path::{Path, PathBuf};
use std::time::Instant;

use bytes::Bytes;
use graphdef::{float_const, int64_const, op_node, shape};
use ncs::compile::proto::{attr_value::Value, dtype, AttrValue, GraphDef, NodeDef, TensorProto};
use ncs::compile::{compile, CompileError, CompileErrorKind, CompileOptions};
use ncs::splitmix::SplitMix64;
use prost::Message;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

fn good_pb() -> Vec<u8> {
    std::fs::read(data("compile/ops/conv_bias_relu.pb")).unwrap()
}

fn good_graph() -> GraphDef {
    GraphDef::decode(&good_pb()[..]).unwrap()
}

fn options() -> CompileOptions {
    CompileOptions { input: "input".into(), output: "output".into(), ..Default::default() }
}

fn compile_bytes(pb: &[u8], options: &CompileOptions) -> Result<(), CompileError> {
    compile(Bytes::copy_from_slice(pb), options).map(|_| ())
}

fn compile_graph(g: &GraphDef, options: &CompileOptions) -> Result<(), CompileError> {
    compile_bytes(&g.encode_to_vec(), options)
}

fn node_mut<'a>(g: &'a mut GraphDef, name: &str) -> &'a mut NodeDef {
    g.node.iter_mut().find(|n| n.name == name).unwrap()
}

fn set_input_shape(g: &mut GraphDef, dims: &[i64]) {
    node_mut(g, "input").attr.insert("shape".into(), AttrValue { value: Some(Value::Shape(shape(dims))) });
}

fn expect_error(result: Result<(), CompileError>, kind: CompileErrorKind, mentions: &[&str]) -> CompileError {
    let err = result.expect_err("compiled a bad graph");
    let text = err.to_string();
    assert_eq!(err.kind, kind, "{text}");
    for m in mentions {
        assert!(text.contains(m), "error does not mention {m:?}: {text}");
    }
    err
}

#[test]
fn the_unedited_graph_compiles() {
    compile_graph(&good_graph(), &options()).unwrap();
}

#[test]
fn files_that_are_not_graphdefs() {
    let not_graphs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("a JPEG photo", std::fs::read(data("photos/coffee.jpg")).unwrap()),
        ("an NCS graph file", common::shared_graph("conv8.graph")),
        ("text", b"node { name: \"input\" op: \"Placeholder\" }\n".to_vec()),
        ("random bytes", {
            let mut rng = SplitMix64::new(14);
            (0..4096).map(|_| rng.next_u64() as u8).collect()
        }),
    ];
    for (what, bytes) in not_graphs {
        let err = compile_bytes(&bytes, &options()).expect_err(what);
        assert_eq!(err.kind, CompileErrorKind::NotAGraph, "{what}: {err}");
        eprintln!("{what}: {err}");
    }
}

/// Reads a protobuf varint: (value, bytes used).
fn varint(bytes: &[u8]) -> (u64, usize) {
    let mut value = 0;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    panic!("bad varint")
}

/// Offsets at which a top-level field of the GraphDef ends, and where its node list (field 1)
/// ends; TensorFlow writes `library` and `versions` after the nodes.
fn field_ends(pb: &[u8]) -> (Vec<usize>, usize) {
    let (mut at, mut ends, mut nodes_end) = (0, Vec::new(), 0);
    while at < pb.len() {
        let (key, n) = varint(&pb[at..]);
        assert_eq!(key & 7, 2, "GraphDef's top-level fields are all length-delimited");
        let (len, m) = varint(&pb[at + n..]);
        at += n + m + len as usize;
        ends.push(at);
        if key >> 3 == 1 {
            nodes_end = at;
        }
    }
    (ends, nodes_end)
}

#[test]
fn every_truncation_is_an_error() {
    let pb = good_pb();
    let (ends, nodes_end) = field_ends(&pb);
    assert!(nodes_end < pb.len());
    let mut kinds = std::collections::BTreeMap::new();
    for len in 0..pb.len() {
        let result = compile_bytes(&pb[..len], &options());
        if len >= nodes_end && ends.contains(&len) {
            // Every node is there; only whole trailing fields the compiler does not read are cut.
            result.unwrap();
            continue;
        }
        let err = result.expect_err("a truncated pb compiled");
        *kinds.entry(format!("{:?}", err.kind)).or_insert(0) += 1;
    }
    eprintln!("{} truncations: {kinds:?}", pb.len());
    // Cuts inside a message are protobuf errors; cuts between nodes leave the output missing.
    assert!(kinds.keys().all(|k| k == "NotAGraph" || k == "UnknownNode"), "{kinds:?}");
}

#[test]
fn corrupted_bytes_never_panic_or_hang() {
    let pb = good_pb();
    let mut rng = SplitMix64::new(1414);
    let (mut ok, mut errors) = (0, 0);
    let start = Instant::now();
    for _ in 0..3000 {
        let mut bad = pb.clone();
        for _ in 0..1 + rng.next_u64() % 4 {
            let at = (rng.next_u64() % bad.len() as u64) as usize;
            bad[at] = rng.next_u64() as u8;
        }
        match compile_bytes(&bad, &options()) {
            Ok(()) => ok += 1,
            Err(e) => {
                assert!(!e.message.is_empty());
                errors += 1;
            }
        }
    }
    eprintln!("3000 corrupted pbs: {ok} compiled, {errors} refused, in {:?}", start.elapsed());
    assert!(errors > 0);
}

#[test]
fn graphs_that_were_not_frozen() {
    // What an unfrozen export holds: the weights in a variable, read through Identity.
    let mut g = good_graph();
    let weights = node_mut(&mut g, "Const");
    weights.op = "VariableV2".into();
    weights.name = "conv/weights".into();
    let read = NodeDef {
        name: "conv/weights/read".into(),
        op: "Identity".into(),
        input: vec!["conv/weights".into()],
        ..Default::default()
    };
    g.node.push(read);
    node_mut(&mut g, "Conv2D").input[1] = "conv/weights/read".into();
    expect_error(compile_graph(&g, &options()), CompileErrorKind::NotFrozen, &["conv/weights", "VariableV2", "freeze"]);
}

#[test]
fn unknown_input_or_output_names() {
    let g = good_graph();
    let wrong_input = CompileOptions { input: "image".into(), ..options() };
    expect_error(compile_graph(&g, &wrong_input), CompileErrorKind::UnknownNode, &["'image'", "candidates: input"]);
    let wrong_output = CompileOptions { output: "softmax".into(), ..options() };
    expect_error(compile_graph(&g, &wrong_output), CompileErrorKind::UnknownNode, &["'softmax'"]);
    // mvNCCompile took "name:0" too.
    compile_graph(&g, &CompileOptions { output: "output:0".into(), ..options() }).unwrap();
}

#[test]
fn unsupported_ops_name_the_node_and_the_nearest_alternative() {
    for (node, op, hint) in [
        ("Relu", "Selu", "Elu"),
        ("Conv2D", "Conv3D", "Conv2D"),
        ("Relu", "ResizeBilinear", "Conv2DBackpropInput"),
        ("Relu", "Relu7", "Relu"),
    ] {
        let mut g = good_graph();
        node_mut(&mut g, node).op = op.into();
        let err = expect_error(
            compile_graph(&g, &options()),
            CompileErrorKind::Unsupported,
            &[&format!("node '{node}' ({op})"), "nearest supported"],
        );
        assert!(err.message.contains(&format!("nearest supported: {hint}")), "{err}");
        eprintln!("{err}");
    }
}

#[test]
fn dynamic_and_batched_inputs() {
    // A free batch is the usual export and is taken as 1, as mvNCCompile did.
    let mut g = good_graph();
    set_input_shape(&mut g, &[-1, 8, 8, 3]);
    compile_graph(&g, &options()).unwrap();

    set_input_shape(&mut g, &[4, 8, 8, 3]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadShape, &["batch 4"]);

    set_input_shape(&mut g, &[1, -1, -1, 3]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadShape, &["not fully known", "--input-shape"]);
    let given = CompileOptions { input_shape: Some([8, 8, 3]), ..options() };
    compile_graph(&g, &given).unwrap();
    let contradicting = CompileOptions { input_shape: Some([8, 8, 4]), ..options() };
    expect_error(compile_graph(&g, &contradicting), CompileErrorKind::BadOption, &["contradicts"]);
}

#[test]
fn cycles_are_refused() {
    let mut g = good_graph();
    node_mut(&mut g, "Conv2D").input[0] = "Relu".into();
    expect_error(compile_graph(&g, &options()), CompileErrorKind::NotAGraph, &["cycle"]);
}

#[test]
fn huge_constants_are_refused_before_allocation() {
    let start = Instant::now();
    // One value claimed to fill 3·3·3·2^31 elements (TF's repeat-the-last-value rule).
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[3, 3, 3, 1 << 31], vec![0.5]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["node 'Const' (Const)", "elements"]);

    // tensor_content shorter than the shape claims.
    let mut g = good_graph();
    let mut tensor =
        TensorProto { dtype: dtype::FLOAT, tensor_shape: Some(shape(&[3, 3, 3, 1 << 30])), ..Default::default() };
    tensor.tensor_content = Bytes::from(vec![0u8; 64]);
    node_mut(&mut g, "Const").attr.insert("value".into(), AttrValue { value: Some(Value::Tensor(tensor)) });
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadConstant, &["node 'Const' (Const)", "64 bytes"]);

    // Dimensions whose product would overflow 64 bits: each is past the 2^31 bound.
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[1 << 40, 1 << 40, 1 << 40], vec![]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["node 'Const' (Const)", "2^31"]);

    // A chain of folds on broadcast constants, each within the per-constant bound: a few KB of
    // pb asking for gigabytes of folded values.
    let mut g = good_graph();
    g.node.push(float_const("column", &[4096, 1], vec![1.0; 4096]));
    g.node.push(float_const("row", &[1, 4096], vec![1.0; 4096]));
    let mut previous = "column".to_string();
    for i in 0..64 {
        let name = format!("grow{i}");
        let add =
            NodeDef { name: name.clone(), op: "Add".into(), input: vec![previous, "row".into()], ..Default::default() };
        g.node.push(add);
        previous = name;
    }
    let scale =
        NodeDef { name: "scale".into(), op: "Mul".into(), input: vec!["Relu".into(), previous], ..Default::default() };
    g.node.push(scale);
    node_mut(&mut g, "output").input[0] = "scale".into();
    let pb = g.encode_to_vec();
    assert!(pb.len() < 64 << 10);
    expect_error(compile_bytes(&pb, &options()), CompileErrorKind::Limit, &["constant folding"]);
    // No wall-clock bound here (it flakes on a loaded machine): tests/compile_bounded_memory.rs
    // bounds the memory and the total allocation of this chain and of a Reshape chain.
    eprintln!("huge-constant cases refused in {:?}", start.elapsed());
}

#[test]
fn graphs_over_the_sticks_limits() {
    // A 1x1 input through a chain of 4096-wide fully connected layers: each weight tensor
    // (16 Mi values, 32 MiB in fp16) is legal, eleven of them exceed the 320 MiB graph file.
    let mut g = good_graph();
    g.node.retain(|n| n.name == "input" || n.name == "output");
    set_input_shape(&mut g, &[1, 4096]);
    let mut previous = "input".to_string();
    for i in 0..11 {
        g.node.push(float_const(&format!("w{i}"), &[4096, 4096], vec![0.001]));
        let mut matmul = NodeDef {
            name: format!("fc{i}"),
            op: "MatMul".into(),
            input: vec![previous, format!("w{i}")],
            ..Default::default()
        };
        matmul.attr.insert("transpose_a".into(), AttrValue { value: Some(Value::B(false)) });
        matmul.attr.insert("transpose_b".into(), AttrValue { value: Some(Value::B(false)) });
        g.node.push(matmul);
        previous = format!("fc{i}");
    }
    node_mut(&mut g, "output").input[0] = previous;
    let output = g.node.iter().position(|n| n.name == "output").unwrap();
    let out = g.node.remove(output);
    g.node.push(out);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["320", "limit"]);

    // SHAVEs outside the stick's 12.
    let err = compile_graph(&good_graph(), &CompileOptions { shaves: 13, ..options() }).unwrap_err();
    assert_eq!(err.kind, CompileErrorKind::BadOption, "{err}");
}

#[test]
fn the_cli_exits_2_naming_the_file_and_the_node() {
    let dir = common::temp_dir("compile-bad-input");
    let out = dir.join("out.graph");
    let out = out.to_str().unwrap();

    let truncated = dir.join("truncated.pb");
    std::fs::write(&truncated, &good_pb()[..700]).unwrap();
    let run = common::ncs(&["compile", truncated.to_str().unwrap(), "-in=input", "-on=output", "-o", out]);
    let stderr = common::stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("truncated.pb") && stderr.contains("GraphDef"), "{stderr}");

    let mut g = good_graph();
    node_mut(&mut g, "Relu").op = "Selu".into();
    let unsupported = dir.join("selu.pb");
    std::fs::write(&unsupported, g.encode_to_vec()).unwrap();
    let run =
        common::ncs(&["compile", unsupported.to_str().unwrap(), "--input", "input", "--output", "output", "-o", out]);
    let stderr = common::stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("selu.pb") && stderr.contains("node 'Relu' (Selu)"), "{stderr}");
    assert!(!Path::new(out).exists(), "no graph file is written on failure");

    let missing = common::ncs(&["compile", dir.join("missing.pb").to_str().unwrap(), "-o", out]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The good graph with `nodes` added and `output` reading `last` instead of the ReLU.
fn with_tail(nodes: Vec<NodeDef>, last: &str) -> GraphDef {
    let mut g = good_graph();
    g.node.extend(nodes);
    node_mut(&mut g, "output").input[0] = last.into();
    g
}

// Shapes, pads, kernels and folded integers at and past the record's and 64-bit arithmetic's
// limits: each is refused with an error naming the node (before these checks some panicked on
// an overflow, wrote a kernel size its signed byte cannot hold, or sized buffers past u32).

#[test]
fn shape_dimensions_and_products_are_bounded() {
    // A shape dimension past 2^31, and dimensions within it whose product passes 2^40.
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[1 << 32, 1, 1, 1], vec![]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["node 'Const' (Const)", "2^31"]);
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[1 << 30, 1 << 30, 1, 1], vec![]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["node 'Const' (Const)", "2^40"]);
}

#[test]
fn tensors_on_the_stick_are_bounded() {
    // An input whose values pass what the stick's memory could hold.
    let mut g = good_graph();
    set_input_shape(&mut g, &[1, 65535, 65535, 3]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["node 'input'", "values"]);

    // A convolution whose output passes it: 8·8 positions × 2^22 filters from one value.
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[1, 1, 3, 1 << 22], vec![0.5]);
    g.node.retain(|n| n.op != "BiasAdd");
    node_mut(&mut g, "Relu").input[0] = "Conv2D".into();
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Limit, &["node 'Conv2D' (Conv2D)", "values"]);
}

#[test]
fn kernels_past_the_records_signed_byte_are_refused() {
    // A kernel wider than the record's signed byte (128..=255 used to be written negative).
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[200, 1, 3, 8], vec![0.5]);
    set_input_shape(&mut g, &[1, 256, 8, 3]);
    expect_error(compile_graph(&g, &options()), CompileErrorKind::Unsupported, &["node 'Conv2D'", "kernel 200×1"]);
}

#[test]
fn a_reshape_whose_product_overflows_is_refused() {
    let g = with_tail(
        vec![int64_const("to", &[i64::MAX, 4, -1]), op_node("reshaped", "Reshape", &["Relu", "to"])],
        "reshaped",
    );
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadShape, &["node 'reshaped' (Reshape)"]);
}

#[test]
fn pads_past_the_records_byte_or_negative_are_refused() {
    for pads in [[0, 0, 256, 256, 0, 0, 0, 0], [0, 0, i64::MAX, i64::MAX, 0, 0, 0, 0], [0, 0, -1, -1, 0, 0, 0, 0]] {
        let mut g = good_graph();
        let paddings = TensorProto {
            dtype: dtype::INT64,
            tensor_shape: Some(shape(&[4, 2])),
            int64_val: pads.to_vec(),
            ..Default::default()
        };
        let mut pad_const = NodeDef { name: "paddings".into(), op: "Const".into(), ..Default::default() };
        pad_const.attr.insert("value".into(), AttrValue { value: Some(Value::Tensor(paddings)) });
        g.node.push(pad_const);
        g.node.push(op_node("pad", "Pad", &["input", "paddings"]));
        node_mut(&mut g, "Conv2D").input[0] = "pad".into();
        expect_error(compile_graph(&g, &options()), CompileErrorKind::Unsupported, &["node 'pad' (Pad)", "0 to 255"]);
    }
}

#[test]
fn folded_integer_overflow_is_refused() {
    let g = with_tail(
        vec![
            int64_const("dims", &[1 << 40, 1 << 40]),
            int64_const("axis", &[0]),
            op_node("product", "Prod", &["dims", "axis"]),
            op_node("packed", "Pack", &["product"]),
            op_node("reshaped", "Reshape", &["Relu", "packed"]),
        ],
        "reshaped",
    );
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadShape, &["node 'product' (Prod)", "overflows"]);
    let g = with_tail(
        vec![
            int64_const("dims", &[1, 8, 8, 8]),
            int64_const("begin", &[i64::MAX]),
            int64_const("size", &[2]),
            op_node("part", "Slice", &["dims", "begin", "size"]),
            op_node("reshaped", "Reshape", &["Relu", "part"]),
        ],
        "reshaped",
    );
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadShape, &["node 'part' (Slice)"]);
}

#[test]
fn a_channel_slice_past_i64_is_refused() {
    let g = with_tail(
        vec![
            int64_const("begin", &[0, 0, 0, i64::MAX]),
            int64_const("size", &[-1, -1, -1, 2]),
            op_node("channels", "Slice", &["Relu", "begin", "size"]),
        ],
        "channels",
    );
    expect_error(compile_graph(&g, &options()), CompileErrorKind::BadShape, &["node 'channels' (Slice)"]);
}

/// A transposed convolution asked for an output size whose pad arithmetic overflows, or that
/// needs a pad past the record's byte.
#[test]
fn hostile_transposed_convolution_sizes() {
    let pb = std::fs::read(data("compile/ops/deconv_bias.pb")).unwrap();
    let good = GraphDef::decode(&pb[..]).unwrap();
    compile_graph(&good, &options()).unwrap();
    let sizes = good.node.iter().find(|n| n.op == "Conv2DBackpropInput").unwrap().input[0].clone();
    let channels = match good.node.iter().find(|n| n.name == sizes).unwrap().attr["value"].value.as_ref() {
        // TensorFlow stores the int32 vector as raw bytes or as a value list.
        Some(Value::Tensor(t)) => match t.int_val.last() {
            Some(&c) => i64::from(c),
            None => i64::from(i32::from_le_bytes(t.tensor_content[t.tensor_content.len() - 4..].try_into().unwrap())),
        },
        _ => panic!("the output sizes are a tensor"),
    };
    for out in [[1, i64::MIN, 4, channels], [1, i64::MAX, 4, channels], [1, 4000, 4000, channels], [2, 4, 4, channels]]
    {
        let mut g = good.clone();
        let name = sizes.clone();
        *g.node.iter_mut().find(|n| n.name == name).unwrap() = int64_const(&name, &out);
        let err = compile_graph(&g, &options()).expect_err("a hostile output size compiled");
        assert!(err.to_string().contains("(Conv2DBackpropInput)"), "{out:?}: {err}");
        assert!(matches!(err.kind, CompileErrorKind::Unsupported | CompileErrorKind::BadShape), "{err}");
    }
}

/// `ncs compile` checks everything before it touches the output: a refused graph leaves an
/// existing file as it was (and creates none), and a closed stdout ends the summary quietly.
#[test]
fn the_cli_leaves_the_output_alone_on_failure_and_survives_a_closed_pipe() {
    let dir = common::temp_dir("compile-output");
    let good = dir.join("good.pb");
    std::fs::write(&good, good_pb()).unwrap();
    let out = dir.join("out.graph");
    let (good, out_s) = (good.to_str().unwrap(), out.to_str().unwrap());

    // A refused graph (a constant over the fill bound): the file already at the output path
    // is not truncated or replaced.
    std::fs::write(&out, b"previous contents").unwrap();
    let mut g = good_graph();
    *node_mut(&mut g, "Const") = float_const("Const", &[3, 3, 3, 1 << 22], vec![0.5]);
    let over = dir.join("over.pb");
    std::fs::write(&over, g.encode_to_vec()).unwrap();
    let run = common::ncs(&["compile", over.to_str().unwrap(), "-o", out_s]);
    assert_eq!(run.status.code(), Some(2), "{}", common::stderr(&run));
    assert_eq!(std::fs::read(&out).unwrap(), b"previous contents");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "no partial file beside the output: {leftovers:?}");

    // `ncs compile … | head -c 0`: the reader is gone before the summary is printed.
    let mut child = common::ncs_command(&["compile", good, "-o", out_s])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", common::stderr(&run));
    assert!(!common::stderr(&run).contains("panicked"), "{}", common::stderr(&run));
    assert!(ncs::blob::parse(&std::fs::read(&out).unwrap()).is_ok(), "the graph file is complete");
    std::fs::remove_dir_all(&dir).unwrap();
}
