//! The CPU reference's memory stays within `Executor::memory_bound` (arenas, decoded weights,
//! plan and the largest buffers of one stage) plus the caller's input and output copies, for
//! every real graph and our own samples: checked by capping the process-wide allocator.
//!
//! `ncs run` holds the graph file's bytes besides, so its peak is file size + this bound (README,
//! "Memory"); `tests/hostile_graphs_run.rs` runs the CLI under an address-space limit.
//!
//! This binary holds a single test because it caps the process-wide allocator.

mod common;

use std::alloc::System;

use cap::Cap;
use ncs::reference::{Executor, Precision};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Allocations the bound leaves out on purpose: the thread pool's own structures, LRN's and
/// pooling's per-channel accumulators, the timing vector. With matrixmultiply's packing buffers
/// (gone since the packed-panel kernels) 512 KiB aborted on mnist.graph and 1.5 MiB passed every
/// graph (measured 2026-11-30); 2 MiB kept.
const SLACK: usize = 2 << 20;

fn graphs() -> Vec<(String, Vec<u8>)> {
    let mut graphs: Vec<(String, Vec<u8>)> =
        common::REAL_GRAPHS.iter().map(|g| (g.file.to_string(), common::shared_graph(g.file))).collect();
    for name in ["tiny_cnn.graph", "op_zoo.graph", "inception_block.graph"] {
        graphs.push((name.to_string(), std::fs::read(common::own_graphs().join(name)).unwrap()));
    }
    graphs
}

#[test]
fn the_executor_allocates_no_more_than_its_memory_bound() {
    for (name, bytes) in graphs() {
        let blob = ncs::blob::parse(&bytes).unwrap();
        for precision in [Precision::Fp16, Precision::Fp32] {
            let probe = Executor::new(&blob, precision).unwrap();
            let bound = probe.memory_bound() as usize;
            let input_len: usize = probe.input_shape().iter().map(|&d| d as usize).product();
            let output_len: usize = probe.output_shape().iter().map(|&d| d as usize).product();
            drop(probe);
            let input: Vec<f32> = (0..input_len).map(|i| (i % 11) as f32 / 5.0 - 1.0).collect();
            // The input exists already; the output copy and the bound are what may be added.
            let budget = ALLOCATOR.allocated() + bound + 4 * output_len + SLACK;
            ALLOCATOR.set_limit(budget).unwrap();
            let mut executor = Executor::new(&blob, precision).unwrap();
            for _ in 0..2 {
                let result = executor.run(&input).unwrap();
                assert_eq!(result.output.len(), output_len, "{name}");
            }
            drop(executor);
            ALLOCATOR.set_limit(usize::MAX).unwrap();
            eprintln!("{name} {precision:?}: bound {bound} B held");
        }
    }
}
