//! `ncs bench GRAPH [--backend B] [-n N] [--warmup W] [--devices all] [--json]`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use ncs::backend::{self as backends, BackendOptions};
use ncs::bench::{self, Latency};
use ncs::blob::GraphFile;
use ncs::device::trace::Tracer;
use ncs::graph::samples::Weights;
use ncs::{Error, Result};
use serde_json::json;

use super::backend::{Backend, PrecisionArg, StickFiles};
use super::preprocess::SchemeArg;
use super::run::{self, InputArgs};
use super::table::{Align, Table};
use super::Outcome;

/// Options of `ncs bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The graph file.
    pub graph: PathBuf,
    /// Where to run it.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
    /// Timed iterations.
    #[arg(short = 'n', long = "iterations", default_value_t = 100)]
    pub iterations: usize,
    /// Untimed warm-up iterations.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// `all`: also measure every stick together, one thread each (stick backends).
    #[arg(long, value_name = "all")]
    pub devices: Option<String>,
    /// Software sticks for --backend emulator --devices all.
    #[arg(long, default_value_t = 4)]
    pub emulate: usize,
    /// Input (.npy or image); default: a fixed uniform [-1, 1) tensor.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// CPU precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Fp16)]
    pub precision: PrecisionArg,
    #[command(flatten)]
    pub files: StickFiles,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BenchArgs, tracer: Option<&Tracer>) -> Result<Outcome> {
    if args.iterations == 0 || args.iterations > 10_000_000 {
        return Err(Error::Usage(format!("-n {}: expected 1..=10000000", args.iterations)));
    }
    let all = match args.devices.as_deref() {
        None => false,
        Some("all") if args.backend == Backend::Emulator || args.backend == Backend::Usb => true,
        Some("all") => return Err(Error::Usage("--devices all applies to stick backends (emulator, usb)".into())),
        Some(other) => return Err(Error::Usage(format!("--devices {other}: only `all` is understood"))),
    };
    let graph = GraphFile::read(&args.graph)?;
    let names: Vec<String> = graph.blob().stages.iter().map(|s| s.name_text()).collect();
    let options = BackendOptions { emulate: args.emulate, ..args.files.options(args.precision, tracer) };
    let mut backend = backends::open(args.backend.into(), &graph, &BackendOptions { emulate: 1, ..options.clone() })?;
    let shape = backend.input_shape();
    let input = match &args.input {
        Some(path) => {
            run::load_input(&InputArgs { input: path, preprocess: SchemeArg::SlimEval, size: None, seed: 0 }, shape)?
        }
        None => Weights::new(0).uniform(shape.iter().product::<u32>() as usize, 1.0),
    };
    let tty = std::io::stderr().is_terminal() && !args.json;
    let n = args.iterations;
    let mut last_line = 0;
    let mut progress = |done: usize| {
        if tty && (done * 50 / n != (done - 1) * 50 / n || done == n) {
            let bar = "#".repeat(done * 30 / n);
            eprint!("\r[{bar:<30}] {done}/{n}");
            let _ = std::io::stderr().flush();
            if done == n {
                eprintln!();
            }
        } else if !tty && !args.json && done * 10 / n != last_line {
            last_line = done * 10 / n;
            eprintln!("{done}/{n} inferences");
        }
    };
    let run = bench::latency(backend.as_mut(), &input, args.warmup, n, &mut progress)?;
    let throughput = bench::throughput(backend.as_mut(), &input, n)?;
    let backend_name = backend.name();
    drop(backend);
    let scaling = if all {
        let mut sticks = backends::open_every_stick(args.backend.into(), &graph, &options)?;
        Some((sticks.len(), bench::parallel_throughput(&mut sticks, &input, n)?))
    } else {
        None
    };
    let latency = Latency::of(&run.samples_ms);
    if args.json {
        let stages: Vec<_> = run
            .stage_ms
            .iter()
            .enumerate()
            .map(|(i, ms)| json!({ "index": i, "name": names.get(i), "ms": ms }))
            .collect();
        println!(
            "{}",
            json!({
                "graph": args.graph.display().to_string(),
                "backend": backend_name,
                "iterations": n,
                "warmup": args.warmup,
                "latency_ms": { "min": latency.min, "median": latency.median, "p90": latency.p90, "p99": latency.p99, "max": latency.max, "mean": latency.mean },
                "percentile_definition": "nearest rank",
                "throughput_per_s": throughput,
                "stages": stages,
                "max_temperature_c": run.max_temperature,
                "max_throttling_level": run.max_throttling,
                "sticks": scaling.as_ref().map(|(count, rate)| json!({ "count": count, "throughput_per_s": rate, "scaling": rate / throughput })),
            })
        );
        return Ok(Outcome::Success);
    }
    println!("{} on {backend_name}: {n} inferences after {} warm-up", args.graph.display(), args.warmup);
    println!(
        "latency ms   min {:.3}  median {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  (nearest-rank percentiles)",
        latency.min, latency.median, latency.p90, latency.p99, latency.max
    );
    let depth = if backend_name == "cpu" { "one at a time" } else { "two in flight" };
    println!("throughput   {throughput:.1} inferences/s ({depth})");
    if let (Some(t), Some(level)) = (run.max_temperature, run.max_throttling) {
        println!("thermal      hottest {t:.1} °C, highest throttling level {level}");
    }
    if let Some((count, rate)) = scaling {
        println!("{count} sticks   {rate:.1} inferences/s together ({:.2}× one stick)", rate / throughput);
    }
    let total: f64 = run.stage_ms.iter().sum();
    let mut table = Table::new(vec![
        ("#", Align::Right),
        ("stage", Align::Left),
        ("mean ms", Align::Right),
        ("share", Align::Right),
    ]);
    for (i, ms) in run.stage_ms.iter().enumerate() {
        table.push(vec![
            i.to_string(),
            names.get(i).cloned().unwrap_or_default(),
            format!("{ms:.4}"),
            format!("{:.1} %", 100.0 * ms / total.max(f64::MIN_POSITIVE)),
        ]);
    }
    print!("\n{}", table.render());
    Ok(Outcome::Success)
}
