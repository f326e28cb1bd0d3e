//! The matrix products of Inception V3's convolutions, one by one, on ncs's packed-panel kernels
//! (the CPU's best family, weights packed once, im2col read in place, bias + ReLU + fp16
//! rounding fused), against numpy/OpenBLAS SGEMM's peak on this machine (benches/sgemm_peak.py).
//!
//! Run: `cargo bench --bench gemm` (NCS_BENCH_RUNS=N passes over all shapes, default 7;
//! NCS_KERNELS=avx2|avx512|portable to force a family; NCS_BENCH_FILTER=TEXT keeps the shapes whose
//! stage name starts with TEXT). Prints per-shape GFLOP/s by wall time
//! and per busy core (by the CPU time of all the process's threads, from
//! /proc/self/task/*/schedstat: on a machine shared with other work the wall figure measures the
//! load, the per-core one the code), the flop-weighted totals and the efficiency against the
//! SGEMM peak measured the same two ways.

#[path = "common/cpu_time.rs"]
mod cpu_time;

use std::process::Command;
use std::time::{Duration, Instant};

use cpu_time::cpu_time;
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

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

/// The peers' Python when benches/peers_setup.sh made it, else python3.
fn python() -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers-venv/bin/python");
    std::env::var_os("NCS_PEERS_PYTHON").map(Into::into).unwrap_or(if venv.exists() { venv } else { "python3".into() })
}

fn main() {
    let runs: usize = std::env::var("NCS_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let isa = Isa::best();
    let threads = rayon::current_num_threads();
    println!("kernels: {isa} (available: {:?}), {threads} threads", Isa::available());
    let filter = std::env::var("NCS_BENCH_FILTER").unwrap_or_default();
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.name.starts_with(&filter)).collect();
    let mut wall = vec![Vec::new(); cases.len()];
    let mut cpu = vec![Vec::new(); cases.len()];
    let mut prepared: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut w = ncs::graph::samples::Weights::new(i as u64);
            let x = w.uniform(c.geometry.input.iter().product(), 1.0);
            let b = w.uniform(c.k() * c.n, 0.1);
            let bias = w.uniform(c.n, 0.1);
            (x, PackedB::new(isa, c.k(), c.n, &b, Some(&bias)), vec![0.0f32; c.m() * c.n])
        })
        .collect();
    let epilogue = Epilogue { activation: Activation::Relu, round_fp16: true };
    for pass in 0..=runs {
        for (i, (c, (x, packed, out))) in cases.iter().zip(prepared.iter_mut()).enumerate() {
            let (t, busy) = (Instant::now(), cpu_time());
            let lhs = Lhs::Conv { input: x, geometry: c.geometry };
            let target = Output { data: out, offset: 0, cols: c.m(), pixel_stride: c.n, row_stride: 0 };
            gemm(&lhs, packed, target, epilogue);
            if pass > 0 {
                wall[i].push(t.elapsed());
                cpu[i].push(cpu_time().saturating_sub(busy));
            }
        }
    }
    let peak = Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/sgemm_peak.py"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok());
    let field = |name: &str| -> Option<f64> {
        let text = peak.as_deref()?;
        let mut words = text.split_whitespace();
        words.find(|w| *w == name)?;
        words.next()?.parse().ok()
    };

    println!("\n{:>10} {:>6} {:>5} {:>5}  {:>7} {:>8}  stage", "m", "k", "n", "MFLOP", "wall", "per core");
    let (mut flop, mut t_wall, mut t_cpu) = (0.0, 0.0, 0.0);
    for (i, c) in cases.iter().enumerate() {
        let (w, b) = (median(wall[i].clone()), median(cpu[i].clone()));
        flop += c.flop();
        t_wall += w;
        t_cpu += b;
        println!(
            "{:>10} {:>6} {:>5} {:>5.0}  {:>7.1} {:>8.1}  {}",
            c.m(),
            c.k(),
            c.n,
            c.flop() / 1e6,
            c.flop() / w / 1e9,
            c.flop() / b / 1e9,
            c.name
        );
    }
    let (g_wall, g_core) = (flop / t_wall / 1e9, flop / t_cpu / 1e9);
    println!("\nall {} convolutions, {:.2} GFLOP, medians of {runs} passes:", cases.len(), flop / 1e9);
    println!(
        "  ncs {isa} kernels (im2col in place, bias+ReLU+fp16 fused): {:.1} ms, {g_wall:.1} GFLOP/s wall, {g_core:.1} GFLOP/s per busy core",
        t_wall * 1e3
    );
    match (field("sgemm_peak_gflops"), field("per_core_gflops")) {
        (Some(peak), Some(per_core)) => println!(
            "  numpy/OpenBLAS SGEMM peak {peak:.1} GFLOP/s wall, {per_core:.1} per busy core: ncs at {:.0} % by wall, {:.0} % per core (target >= 80 %)",
            100.0 * g_wall / peak,
            100.0 * g_core / per_core
        ),
        _ => println!("  numpy not available (sh benches/peers_setup.sh, or pip install numpy) - no peak"),
    }
    if let Some(line) = peak {
        print!("  {line}");
    }
}
