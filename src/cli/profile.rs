//! `ncs profile GRAPH [--backend B] [-n N] [--html REPORT.html] [--json]`.

use std::path::PathBuf;

use ncs::backend;
use ncs::bench;
use ncs::blob::GraphFile;
use ncs::graph::samples::Weights;
use ncs::profile::{html_report, profile};
use ncs::{Error, Result};
use serde_json::json;

use super::backend::BackendArgs;
use super::table::{Align, Table};
use super::{grouped, Outcome};

/// Options of `ncs profile`.
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The graph file.
    pub graph: PathBuf,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Inferences averaged.
    #[arg(short = 'n', long = "iterations", default_value_t = 10)]
    pub iterations: usize,
    /// Also write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ProfileArgs) -> Result<Outcome> {
    let kind = args.backend.kind()?;
    if args.iterations == 0 || args.iterations > 100_000 {
        return Err(Error::Usage(format!("-n {}: expected 1..=100000", args.iterations)));
    }
    let graph = GraphFile::read(&args.graph)?;
    if let Some(path) = &args.html {
        super::run::check_writable("--html", path)?;
    }
    let mut backend = backend::open(kind, &graph, &args.backend.options()?)?;
    let blob = graph.into_blob();
    let input = Weights::new(0).uniform(backend.input_shape().iter().product::<u32>() as usize, 1.0);
    let measured = bench::latency(backend.as_mut(), &input, 1, args.iterations, &mut |_| {})?;
    let stages = profile(&blob, &measured.stage_ms);
    let title =
        args.graph.file_name().map_or_else(|| args.graph.display().to_string(), |f| f.to_string_lossy().into_owned());
    if let Some(path) = &args.html {
        std::fs::write(path, html_report(&title, backend.name(), &stages))
            .map_err(|source| Error::Io { path: path.clone(), source })?;
    }
    if args.json {
        let list: Vec<_> = stages
            .iter()
            .map(|s| json!({ "index": s.index, "name": s.name, "op": s.op, "ms": s.ms, "share_pct": s.share, "macs": s.macs, "gflops": s.gflops(), "bytes": s.bytes }))
            .collect();
        outln!(
            "{}",
            json!({ "graph": args.graph.display().to_string(), "backend": backend.name(), "iterations": args.iterations, "stages": list })
        );
        return Ok(Outcome::Success);
    }
    let mut table = Table::new(vec![
        ("#", Align::Right),
        ("stage", Align::Left),
        ("op", Align::Left),
        ("ms", Align::Right),
        ("%", Align::Right),
        ("MACs", Align::Right),
        ("GFLOP/s", Align::Right),
        ("bytes", Align::Right),
    ]);
    for s in &stages {
        table.push(vec![
            s.index.to_string(),
            s.name.clone(),
            s.op.clone(),
            format!("{:.4}", s.ms),
            format!("{:.1}", s.share),
            grouped(s.macs),
            format!("{:.1}", s.gflops()),
            grouped(s.bytes),
        ]);
    }
    let total: f64 = stages.iter().map(|s| s.ms).sum();
    outln!(
        "{} on {}, mean of {} inferences: {total:.3} ms of stage time",
        args.graph.display(),
        backend.name(),
        args.iterations
    );
    out!("{}", table.render());
    if let Some(path) = &args.html {
        outln!("report written to {}", path.display());
    }
    Ok(Outcome::Success)
}
