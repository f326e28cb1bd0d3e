//! Inception V3 (299×299, batch 1, fp16 mode) on the CPU reference, against TensorFlow's CPU
//! latency for the same network measured in the same run (benches/tf_inception.py).
//!
//! Run: `cargo bench --bench inception` (NCS_BENCH_RUNS=N to change the 30 timed runs).
//! Prints the median latency, GFLOP/s, the ratio to TensorFlow, and the per-stage profile.

use std::process::Command;
use std::time::{Duration, Instant};

use ncs::graph::networks::inception_v3::{inception_v3, inception_v3_input};
use ncs::graph::GraphStats;
use ncs::reference::{Executor, Precision};

fn main() {
    let runs: usize = std::env::var("NCS_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let blob = inception_v3(1011).expect("build Inception V3");
    let stats = GraphStats::of(&blob);
    let names: Vec<String> = blob.stages.iter().map(|s| s.name_text()).collect();
    let mut exec = Executor::new(&blob, Precision::Fp16).expect("plan");
    drop(blob);
    let input = inception_v3_input(1011);

    for _ in 0..3 {
        exec.run(&input).expect("run");
    }
    let mut totals = Vec::with_capacity(runs);
    let mut per_stage = vec![Duration::ZERO; names.len()];
    for _ in 0..runs {
        let t = Instant::now();
        let result = exec.run(&input).expect("run");
        totals.push(t.elapsed());
        per_stage.iter_mut().zip(&result.stage_times).for_each(|(a, b)| *a += *b);
    }
    totals.sort();
    let median = totals[runs / 2].as_secs_f64() * 1e3;
    let gflop = 2.0 * stats.macs as f64 / 1e9;
    println!(
        "Inception V3, fp16 mode, {runs} runs: median {median:.2} ms, min {:.2} ms, {:.0} GFLOP/s ({gflop:.2} GFLOP)",
        totals[0].as_secs_f64() * 1e3,
        gflop / (median / 1e3)
    );

    let tf = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/tf_inception.py"))
        .arg(runs.to_string())
        .output();
    match tf.ok().filter(|o| o.status.success()).and_then(|o| String::from_utf8(o.stdout).ok()) {
        Some(text) => {
            let tf_ms: Option<f64> = text.split_whitespace().nth(1).and_then(|v| v.parse().ok());
            match tf_ms {
                Some(tf_ms) => println!(
                    "TensorFlow ({}) median {tf_ms:.2} ms; ncs / TF = {:.2} (target <= 0.90)",
                    text.split_whitespace().nth(3).unwrap_or("?"),
                    median / tf_ms
                ),
                None => println!("TensorFlow output not understood: {text}"),
            }
        }
        None => println!("TensorFlow not available (pip install tensorflow-cpu) - no ratio"),
    }

    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| per_stage[b].cmp(&per_stage[a]));
    println!("\nslowest stages (mean ms, GFLOP/s):");
    for &i in order.iter().take(15) {
        let ms = per_stage[i].as_secs_f64() * 1e3 / runs as f64;
        let gf = 2.0 * stats.stages[i].macs as f64 / 1e9 / (ms / 1e3);
        println!("{ms:8.3}  {gf:6.0}  {}", names[i]);
    }
}
