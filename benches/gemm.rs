//! The matrix products of Inception V3's convolutions, one by one: ncs's packed-panel kernels
//! (the CPU's best family, weights packed once, im2col read in place, bias + ReLU fused) against
//! ndarray/matrixmultiply (what the executor used before: GEMM only, over a precomputed im2col),
//! and numpy/OpenBLAS SGEMM's peak on this machine (benches/sgemm_peak.py), all in one run.
//!
//! Run: `cargo bench --bench gemm` (NCS_BENCH_RUNS=N passes over all shapes, default 7;
//! NCS_KERNELS=avx2|avx512|portable to force a family). Prints per-shape GFLOP/s, the
//! flop-weighted totals and the efficiency against the SGEMM peak.

use std::process::Command;
use std::time::{Duration, Instant};

use ncs::blob::StageType;
use ncs::graph::networks::inception_v3::inception_v3;
use ncs::reference::kernels::{gemm, ConvGeometry, Epilogue, Isa, Lhs, Output, PackedB};
use ncs::reference::ops::elementwise::Activation;
use ncs::window::{Padding, Window};

struct Case {
    name: String,
    geometry: ConvGeometry,
    n: usize,
}

impl Case {
    fn m(&self) -> usize {
        self.geometry.output[0] * self.geometry.output[1]
    }
    fn k(&self) -> usize {
        self.geometry.kernel[0] * self.geometry.kernel[1] * self.geometry.input[2]
    }
    fn flop(&self) -> f64 {
        2.0 * (self.m() * self.k() * self.n) as f64
    }
}

fn cases() -> Vec<Case> {
    let blob = inception_v3(1011).expect("build Inception V3");
    let mut out = Vec::new();
    for s in blob.stages.iter().filter(|s| s.op == StageType::Convolution) {
        let (i, o) = (s.input.dims, s.output.dims);
        let window = Window::resolve(
            [s.kernel_y.max(1) as u32, s.kernel_x.max(1) as u32],
            [u32::from(s.stride_y), u32::from(s.stride_x)],
            1,
            Padding::of_record(s.pad_style, [s.pad_y, s.pad_x]),
            [i.y, i.x],
            [o.y, o.x],
        );
        let geometry = ConvGeometry {
            input: [i.y as usize, i.x as usize, i.z as usize],
            output: [o.y as usize, o.x as usize],
            kernel: window.kernel,
            stride: window.stride,
            pad: window.pad,
            dilation: 1,
        };
        out.push(Case { name: s.name_text().replace("InceptionV3/", ""), geometry, n: o.z as usize });
    }
    out
}

fn im2col(x: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let [h, w, c] = g.input;
    let mut cols = Vec::with_capacity(g.output[0] * g.output[1] * g.kernel[0] * g.kernel[1] * c);
    for oy in 0..g.output[0] {
        for ox in 0..g.output[1] {
            for i in 0..g.kernel[0] {
                for j in 0..g.kernel[1] {
                    let iy = (oy * g.stride[0] + i).checked_sub(g.pad[0]).filter(|&y| y < h);
                    let ix = (ox * g.stride[1] + j).checked_sub(g.pad[1]).filter(|&v| v < w);
                    match (iy, ix) {
                        (Some(y), Some(v)) => cols.extend_from_slice(&x[(y * w + v) * c..][..c]),
                        _ => cols.resize(cols.len() + c, 0.0),
                    }
                }
            }
        }
    }
    cols
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

fn main() {
    let runs: usize = std::env::var("NCS_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let isa = Isa::best();
    let threads = rayon::current_num_threads();
    println!("kernels: {isa} (available: {:?}), {threads} threads", Isa::available());
    let cases = cases();
    let mut ours = vec![Vec::new(); cases.len()];
    let mut theirs = vec![Vec::new(); cases.len()];
    let prepared: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let weights = ncs::graph::samples::Weights::new(i as u64);
            let mut w = weights;
            let x = w.uniform(c.geometry.input.iter().product(), 1.0);
            let b = w.uniform(c.k() * c.n, 0.1);
            let bias = w.uniform(c.n, 0.1);
            let packed = PackedB::new(isa, c.k(), c.n, &b, Some(&bias));
            let cols = im2col(&x, &c.geometry);
            (x, b, packed, cols, vec![0.0f32; c.m() * c.n])
        })
        .collect();
    let epilogue = Epilogue { activation: Activation::Relu, round_fp16: true };
    let mut prepared = prepared;
    for pass in 0..=runs {
        for (i, (c, (x, b, packed, cols, out))) in cases.iter().zip(prepared.iter_mut()).enumerate() {
            let t = Instant::now();
            let lhs = Lhs::Conv { input: x, geometry: c.geometry };
            let target = Output { data: out, offset: 0, cols: c.m(), pixel_stride: c.n, row_stride: 0 };
            gemm(&lhs, packed, target, epilogue);
            let ours_time = t.elapsed();
            let t = Instant::now();
            let a = ndarray::ArrayView2::from_shape((c.m(), c.k()), &cols[..]).unwrap();
            let bm = ndarray::ArrayView2::from_shape((c.k(), c.n), &b[..]).unwrap();
            let mut cm = ndarray::ArrayViewMut2::from_shape((c.m(), c.n), &mut out[..]).unwrap();
            ndarray::linalg::general_mat_mul(1.0, &a, &bm, 0.0, &mut cm);
            let theirs_time = t.elapsed();
            if pass > 0 {
                ours[i].push(ours_time);
                theirs[i].push(theirs_time);
            }
        }
    }
    let peak = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sgemm_peak.py"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()));

    println!("\n{:>10} {:>6} {:>5} {:>5}  {:>7} {:>7}  stage", "m", "k", "n", "MFLOP", "ncs", "mmul");
    let (mut flop, mut t_ours, mut t_theirs) = (0.0, 0.0, 0.0);
    for (i, c) in cases.iter().enumerate() {
        let (o, t) = (median(ours[i].clone()), median(theirs[i].clone()));
        flop += c.flop();
        t_ours += o;
        t_theirs += t;
        println!(
            "{:>10} {:>6} {:>5} {:>5.0}  {:>7.1} {:>7.1}  {}",
            c.m(),
            c.k(),
            c.n,
            c.flop() / 1e6,
            c.flop() / o / 1e9,
            c.flop() / t / 1e9,
            c.name
        );
    }
    let (g_ours, g_theirs) = (flop / t_ours / 1e9, flop / t_theirs / 1e9);
    println!("\nall {} convolutions, {:.2} GFLOP, medians of {runs} passes:", cases.len(), flop / 1e9);
    println!(
        "  ncs {isa} kernels (im2col in place, bias+ReLU+fp16 fused): {:.1} ms, {g_ours:.1} GFLOP/s",
        t_ours * 1e3
    );
    println!(
        "  matrixmultiply (GEMM only, im2col precomputed):            {:.1} ms, {g_theirs:.1} GFLOP/s",
        t_theirs * 1e3
    );
    match peak {
        Some(peak) => println!(
            "  numpy/OpenBLAS SGEMM peak {peak:.1} GFLOP/s: ncs at {:.0} % of it (target >= 80 %), matrixmultiply at {:.0} %",
            100.0 * g_ours / peak,
            100.0 * g_theirs / peak
        ),
        None => println!("  numpy not available (pip install numpy) - no peak"),
    }
}
