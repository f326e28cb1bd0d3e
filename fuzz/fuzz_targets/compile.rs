//! Fuzzes `ncs compile`: any bytes, read as a frozen GraphDef, either fail with an error or
//! compile into a graph file that writes, parses back and validates. The input and output
//! names come from the bytes themselves (the first `Placeholder`, the last node), so that
//! inputs which decode as a GraphDef reach the front end instead of stopping at "no node
//! named input".
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncs::compile::{compile, CompileOptions, Graph};

fuzz_target!(|data: &[u8]| {
    let mut options = CompileOptions::default();
    if let Ok(graph) = Graph::decode(data.to_vec().into()) {
        if let Some(input) = graph.nodes.iter().find(|n| n.op == "Placeholder") {
            options.input = input.name.clone();
        }
        if let Some(output) = graph.nodes.last() {
            options.output = output.name.clone();
        }
    }
    if let Ok(compiled) = compile(data.to_vec().into(), &options) {
        let bytes = ncs::blob::write(&compiled.blob).expect("a compiled graph writes");
        let parsed = ncs::blob::parse(&bytes).expect("a compiled graph parses back");
        ncs::blob::validate(&parsed).expect("a compiled graph validates");
    }
});
