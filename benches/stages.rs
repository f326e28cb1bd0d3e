//! The non-GEMM stages on their own, at the shapes real networks give them: each a one-stage
//! graph run by the CPU reference (fp16 storage), timed on the process's thread pool and on a
//! pool of one thread in the same run, so the ratio shows what the split over cores gives.
//!
//! Run: `cargo bench --bench stages`. `NCS_BENCH_RUNS` (default 30) timed runs per case after
//! 3 warm-up ones; prints the minimum and median stage time of each. The minimum is the figure
//! to compare across runs on a machine shared with other work. `NCS_BENCH_CASES=text` runs only
//! the cases whose name contains `text` (for profiling one of them).

use std::time::Duration;

use ncs::blob::{Blob, StageType};
use ncs::graph::samples::Weights;
use ncs::graph::{Activation, ConvSpec, GraphBuilder, Padding};
use ncs::reference::{Executor, Precision};

type Build = fn() -> ncs::error::Result<Blob>;

/// One-stage graphs named after where the shape comes from.
const CASES: &[(&str, Build)] = &[
    ("max pool 3x3/2 VALID 147x147x64 (Inception MaxPool_3a)", || {
        let mut g = GraphBuilder::new("pool", [147, 147, 64]);
        let y = g.max_pool("pool", g.input(), [3, 3], [2, 2], Padding::Valid)?;
        g.finish(y)
    }),
    ("max pool 3x3/2 VALID 71x71x192 (Inception MaxPool_5a)", || {
        let mut g = GraphBuilder::new("pool", [71, 71, 192]);
        let y = g.max_pool("pool", g.input(), [3, 3], [2, 2], Padding::Valid)?;
        g.finish(y)
    }),
    ("avg pool 3x3/1 SAME 35x35x288 (Inception Mixed_5d)", || {
        let mut g = GraphBuilder::new("pool", [35, 35, 288]);
        let y = g.avg_pool("pool", g.input(), [3, 3], [1, 1], Padding::Same)?;
        g.finish(y)
    }),
    ("avg pool 3x3/1 SAME 17x17x768 (Inception Mixed_6b)", || {
        let mut g = GraphBuilder::new("pool", [17, 17, 768]);
        let y = g.avg_pool("pool", g.input(), [3, 3], [1, 1], Padding::Same)?;
        g.finish(y)
    }),
    ("avg pool 8x8 VALID 8x8x2048 (Inception Logits)", || {
        let mut g = GraphBuilder::new("pool", [8, 8, 2048]);
        let y = g.avg_pool("pool", g.input(), [8, 8], [1, 1], Padding::Valid)?;
        g.finish(y)
    }),
    ("max pool 2x2/2 SAME 108x108x1 (ncs_test)", || {
        let mut g = GraphBuilder::new("pool", [108, 108, 1]);
        let y = g.max_pool("pool", g.input(), [2, 2], [2, 2], Padding::Same)?;
        g.finish(y)
    }),
    ("depthwise 3x3/1 SAME 112x112x32 +bias+relu (MobileNet dw1)", || depthwise(112, 32, 1)),
    ("depthwise 3x3/2 SAME 28x28x256 +bias+relu (MobileNet dw6)", || depthwise(28, 256, 2)),
    ("depthwise 3x3/1 SAME 14x14x512 +bias+relu (MobileNet dw7)", || depthwise(14, 512, 1)),
    ("fully connected 2048 -> 1001 +bias (Inception Logits as FC)", || {
        let mut w = Weights::new(3);
        let mut g = GraphBuilder::new("fc", [1, 1, 2048]);
        let (weights, bias) = (w.uniform(2048 * 1001, 0.05), w.uniform(1001, 0.1));
        let y = g.fully_connected("fc", g.input(), &weights, Some(&bias), Activation::None)?;
        g.finish(y)
    }),
    ("softmax 1x1x1001 (Inception Predictions)", || {
        let mut g = GraphBuilder::new("softmax", [1, 1, 1001]);
        let y = g.softmax("softmax", g.input())?;
        g.finish(y)
    }),
    ("softmax 64x64x21 (segmentation)", || {
        let mut g = GraphBuilder::new("softmax", [64, 64, 21]);
        let y = g.softmax("softmax", g.input())?;
        g.finish(y)
    }),
    ("LRN n=5 55x55x96 (AlexNet norm1)", || {
        let mut g = GraphBuilder::new("lrn", [55, 55, 96]);
        let y = g.lrn("lrn", g.input(), 2, 1.0, 1e-4, 0.75)?;
        g.finish(y)
    }),
    ("eltwise sum 56x56x256 (ResNet-50 res2)", || {
        let mut g = GraphBuilder::new("sum", [56, 56, 256]);
        let x = g.input();
        let y = g.eltwise("sum", StageType::EltwiseSum, x, x)?;
        g.finish(y)
    }),
    ("sigmoid 65x65x65 (conv_deconv output)", || {
        let mut g = GraphBuilder::new("sigmoid", [65, 65, 65]);
        let y = g.unary("sigmoid", StageType::Sigmoid, g.input())?;
        g.finish(y)
    }),
    ("deconv 4x4/2 pad 1 32x32x16 -> 64x64x16 +bias", || {
        let mut w = Weights::new(7);
        let mut g = GraphBuilder::new("deconv", [32, 32, 16]);
        let (taps, bias) = (w.uniform(4 * 4 * 16 * 16, 0.2), w.uniform(16, 0.1));
        let spec = ConvSpec::new([4, 4], &taps).stride([2, 2]).padding(Padding::Explicit([1, 1])).bias(&bias);
        let y = g.deconv("deconv", g.input(), spec)?;
        g.finish(y)
    }),
];

fn depthwise(size: u32, channels: u32, stride: u32) -> ncs::error::Result<Blob> {
    let mut w = Weights::new(5);
    let mut g = GraphBuilder::new("depthwise", [size, size, channels]);
    let (taps, bias) = (w.uniform(9 * channels as usize, 0.3), w.uniform(channels as usize, 0.1));
    let spec = ConvSpec::new([3, 3], &taps)
        .stride([stride, stride])
        .padding(Padding::Same)
        .bias(&bias)
        .activation(Activation::Relu);
    let y = g.depthwise_conv("depthwise", g.input(), spec)?;
    g.finish(y)
}

/// Minimum and median of the first stage's time over `runs` inferences, after 3 warm-up ones.
fn time(exec: &mut Executor, input: &[f32], runs: usize) -> (Duration, Duration) {
    for _ in 0..3 {
        exec.run(input).expect("run");
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| exec.run(input).expect("run").stage_times[0]).collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let runs = std::env::var("NCS_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(30usize).max(1);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a one-thread pool");
    println!(
        "stage time in ms, fp16 storage, {runs} runs: min and median on the pool ({} threads) and on one thread",
        rayon::current_num_threads()
    );
    println!("{:<62} {:>9} {:>9} {:>9} {:>9} {:>7}", "case", "min", "median", "1t min", "1t med", "1t/pool");
    let only = std::env::var("NCS_BENCH_CASES").unwrap_or_default();
    for (name, build) in CASES.iter().filter(|(name, _)| name.contains(only.as_str())) {
        let blob = build().expect("build");
        let mut exec = Executor::new(&blob, Precision::Fp16).expect("plan");
        let [r, c, z] = exec.input_shape();
        let input = Weights::new(11).uniform((r * c * z) as usize, 2.0);
        let (min, median) = time(&mut exec, &input, runs);
        let (min1, median1) = one.install(|| time(&mut exec, &input, runs));
        println!(
            "{name:<62} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>7.2}",
            ms(min),
            ms(median),
            ms(min1),
            ms(median1),
            ms(min1) / ms(min)
        );
    }
}
