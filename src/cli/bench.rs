//! `ncs bench GRAPH [--backend B] [-n N] [--warmup W] [--devices all] [--json]`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use ncs::backend::{self as backends, BackendOptions};
use ncs::bench::{self, Latency};
use ncs::blob::GraphFile;
use ncs::graph::samples::Weights;
use ncs::preprocess::NetworkInput;
use ncs::{Error, Result};
use serde_json::json;

use super::backend::{Backend, BackendArgs};
use super::input::{self, ImageArgs, RawFormatArg};
use super::table::{Align, Table};
use super::{out, Outcome};

/// Options of `ncs bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The graph file.
    pub graph: PathBuf,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Timed iterations.
    #[arg(short = 'n', long = "iterations", default_value_t = 100)]
    pub iterations: usize,
    /// Untimed warm-up iterations.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// `all`: also measure every stick together, one thread each (stick backends; with
    /// --backend emulator, --emulate N sticks, default 4).
    #[arg(long, value_name = "all")]
    pub devices: Option<String>,
    /// Input (.npy, image or raw values, as for `ncs run`); default: a fixed uniform [-1, 1) tensor.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Read the input as raw little-endian values shaped as the network input.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<RawFormatArg>,
    #[command(flatten)]
    pub image: ImageArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &BenchArgs) -> Result<Outcome> {
    let kind = args.backend.backend()?;
    if args.iterations == 0 || args.iterations > 10_000_000 {
        return Err(Error::Usage(format!("-n {}: expected 1..=10000000", args.iterations)));
    }
    let all = match args.devices.as_deref() {
        None => false,
        Some("all") if kind == Backend::Emulator || kind == Backend::Usb => true,
        Some("all") => return Err(Error::Usage("--devices all applies to stick backends (emulator, usb)".into())),
        Some(other) => return Err(Error::Usage(format!("--devices {other}: only `all` is understood"))),
    };
    let graph = GraphFile::read(&args.graph)?;
    let names: Vec<String> = graph.blob().stages.iter().map(|s| s.name_text()).collect();
    let defaults = args.backend.options()?;
    let options = BackendOptions { emulate: args.backend.emulate.unwrap_or(if all { 4 } else { 1 }), ..defaults };
    let network = NetworkInput::of(graph.blob());
    let input = match &args.input {
        Some(path) => input::load(path, &args.image, args.input_format, &network)?.0,
        None => {
            if args.input_format.is_some() {
                return Err(Error::Usage("--input-format describes --input; give --input FILE".into()));
            }
            if let Some(flag) = args.image.given() {
                return Err(Error::Usage(format!(
                    "{flag} prepares an image --input; without --input the input is a fixed random tensor"
                )));
            }
            Weights::new(0).uniform(network.shape.iter().product::<usize>(), 1.0)
        }
    };
    let mut backend = backends::open(kind.into(), &graph, &BackendOptions { emulate: 1, ..options.clone() })?;
    let tty = std::io::stderr().is_terminal() && !args.json && !out::quiet();
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
        } else if !tty && !args.json && !out::quiet() && done * 10 / n != last_line {
            last_line = done * 10 / n;
            eprintln!("{done}/{n} inferences");
        }
    };
    let run = bench::latency(backend.as_mut(), &input, args.warmup, n, &mut progress)?;
    let throughput = bench::throughput(backend.as_mut(), &input, n)?;
    let backend_name = backend.name();
    let simulated = backend.simulated();
    drop(backend);
    let scaling = if all {
        let mut sticks = backends::open_every_stick(kind.into(), &graph, &options)?;
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
        outln!(
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
                "thermal_simulated": run.max_temperature.map(|_| simulated),
                "sticks": scaling.as_ref().map(|(count, rate)| json!({ "count": count, "throughput_per_s": rate, "scaling": rate / throughput })),
            })
        );
        return Ok(Outcome::Success);
    }
    outln!("{} on {backend_name}: {n} inferences after {} warm-up", args.graph.display(), args.warmup);
    outln!(
        "latency ms   min {:.3}  median {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  (nearest-rank percentiles)",
        latency.min,
        latency.median,
        latency.p90,
        latency.p99,
        latency.max
    );
    let depth = if backend_name == "cpu" { "one at a time" } else { "two in flight" };
    outln!("throughput   {throughput:.1} inferences/s ({depth})");
    if let (Some(t), Some(level)) = (run.max_temperature, run.max_throttling) {
        let note = if simulated { " (simulated: software stick)" } else { "" };
        outln!("thermal      hottest {t:.1} °C, highest throttling level {level}{note}");
    }
    if let Some((count, rate)) = scaling {
        outln!("{count} sticks   {rate:.1} inferences/s together ({:.2}× one stick)", rate / throughput);
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
    out!("\n{}", table.render());
    Ok(Outcome::Success)
}
