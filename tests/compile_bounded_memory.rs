//! `ncs compile` on pbs of a few KB that ask for unbounded constant work (a chain of folds on
//! broadcast constants, a chain of Reshapes over a constant filled from one value): memory and
//! total allocation stay bounded, checked by capping and counting the process-wide allocator.
//! Total allocation is the work measure: every decode, fold or copy of constant values
//! allocates its result, so unbounded work shows as unbounded allocation, without a
//! wall-clock bound that a loaded machine could break.
//!
//! This binary holds a single test because it caps the process-wide allocator.

#[path = "common/graphdef.rs"]
mod graphdef;

use std::alloc::System;

use bytes::Bytes;
use cap::Cap;
use graphdef::{float_const, int64_const, op_node};
use ncs::compile::proto::{GraphDef, NodeDef};
use ncs::compile::{compile, CompileErrorKind, CompileOptions};
use prost::Message;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const MIB: usize = 1 << 20;
/// Most bytes live at once during one compile above what the test held before it. Measured
/// 2026-12-01: 64.1 MiB peak (the 16 Mi-value constant decoded once, as f32); bound 10× that.
/// Before constants were shared, each Reshape of the chain kept another 64 MiB copy.
const LIVE_LIMIT: usize = 640 * MIB;
/// Most bytes allocated in total by one compile (freed or not). Measured 2026-12-01: 64.2 MiB
/// for either refused chain; bound 10× that. Before constants were shared and every use
/// charged, the 200-Reshape chain allocated 200 × 128 MiB.
const TOTAL_LIMIT: usize = 640 * MIB;

/// The committed conv → bias → relu graph, its output reading `Mul(Relu, last)`.
fn scaled_by(nodes: Vec<NodeDef>, last: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compile/ops/conv_bias_relu.pb");
    let mut g = GraphDef::decode(&std::fs::read(path).unwrap()[..]).unwrap();
    g.node.extend(nodes);
    g.node.push(op_node("scaled", "Mul", &["Relu", last]));
    g.node.iter_mut().find(|n| n.name == "output").unwrap().input[0] = "scaled".into();
    g.encode_to_vec()
}

/// `count` Reshapes of `source`, alternating between two shapes.
fn reshape_chain(source: &str, count: usize, shapes: [&str; 2]) -> (Vec<NodeDef>, String) {
    let mut nodes = Vec::new();
    let mut previous = source.to_string();
    for i in 0..count {
        let name = format!("reshape{i}");
        nodes.push(op_node(&name, "Reshape", &[&previous, shapes[i % 2]]));
        previous = name;
    }
    (nodes, previous)
}

#[test]
fn constant_chains_compile_or_are_refused_within_bounded_memory_and_work() {
    let options = CompileOptions { input: "input".into(), output: "output".into(), ..Default::default() };
    let mut cases: Vec<(&str, Vec<u8>, Option<CompileErrorKind>)> = Vec::new();

    // 200 Reshapes over a 4096×4096 constant given by one value: refused by the constant budget.
    let mut nodes = vec![
        float_const("big", &[4096, 4096], vec![0.5]),
        int64_const("flat", &[1 << 24]),
        int64_const("square", &[4096, 4096]),
    ];
    let (chain, last) = reshape_chain("big", 200, ["flat", "square"]);
    nodes.extend(chain);
    cases.push(("200 Reshapes of a 16 Mi constant", scaled_by(nodes, &last), Some(CompileErrorKind::Limit)));

    // The same chain over a scalar: compiles (the scale is folded into the convolution).
    let mut nodes =
        vec![float_const("small", &[1], vec![0.5]), int64_const("one", &[1]), int64_const("one_by_one", &[1, 1])];
    let (chain, last) = reshape_chain("small", 200, ["one_by_one", "one"]);
    nodes.extend(chain);
    nodes.push(int64_const("scalar", &[]));
    nodes.push(op_node("scale", "Reshape", &[&last, "scalar"]));
    cases.push(("200 Reshapes of a scalar", scaled_by(nodes, "scale"), None));

    // 64 Adds growing a 4096×1 and a 1×4096 constant into 16 Mi values each.
    let mut nodes =
        vec![float_const("column", &[4096, 1], vec![1.0; 4096]), float_const("row", &[1, 4096], vec![1.0; 4096])];
    let mut previous = "column".to_string();
    for i in 0..64 {
        let name = format!("grow{i}");
        nodes.push(op_node(&name, "Add", &[&previous, "row"]));
        previous = name;
    }
    cases.push(("64 broadcast Adds", scaled_by(nodes, &previous), Some(CompileErrorKind::Limit)));

    for (what, pb, expected) in cases {
        assert!(pb.len() < 64 << 10, "{what}: {} bytes", pb.len());
        let (live_before, total_before) = (ALLOCATOR.allocated(), ALLOCATOR.total_allocated());
        ALLOCATOR.set_limit(live_before + LIVE_LIMIT).unwrap();
        let result = compile(Bytes::from(pb.clone()), &options);
        ALLOCATOR.set_limit(usize::MAX).unwrap();
        let total = ALLOCATOR.total_allocated() - total_before;
        let peak = ALLOCATOR.max_allocated().saturating_sub(live_before);
        eprintln!(
            "{what}: pb {} B, {} ; allocated {:.1} MiB in total, peak so far {:.1} MiB",
            pb.len(),
            match &result {
                Ok(_) => "compiled".to_string(),
                Err(e) => format!("refused: {e}"),
            },
            total as f64 / MIB as f64,
            peak as f64 / MIB as f64
        );
        match (expected, result) {
            (None, Ok(_)) => {}
            (Some(kind), Err(e)) => assert_eq!(e.kind, kind, "{what}: {e}"),
            (expected, result) => panic!("{what}: expected {expected:?}, got {:?}", result.map(|_| ())),
        }
        assert!(total <= TOTAL_LIMIT, "{what}: {total} bytes allocated in total");
    }
}
