//! `ncs classify GRAPH --labels FILE [--preprocess SCHEME --size N] IMAGES...|DIR`: the
//! deployment flow of an image classifier — top-k per image and a summary, with accuracy when
//! folder names or a CSV give the truth.

use std::io::IsTerminal;
use std::path::PathBuf;

use ncs::backend;
use ncs::blob::GraphFile;
use ncs::classify::{collect_images, Prediction, Summary, Truth};
use ncs::device::trace::Tracer;
use ncs::labels::{class_count, Labels};
use ncs::{Error, Result};
use serde_json::json;

use super::backend::{Backend, PrecisionArg, StickFiles};
use super::preprocess::{self, SchemeArg};
use super::run::top_k;
use super::Outcome;

/// Options of `ncs classify`.
#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// The graph file (a classifier: output [1, 1, classes]).
    pub graph: PathBuf,
    /// Images, and folders searched recursively for images.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Class names, one per line (a first line reading `classes` is skipped, as NCSDK apps wrote).
    #[arg(long)]
    pub labels: PathBuf,
    /// Preprocessing scheme.
    #[arg(long, value_enum, default_value_t = SchemeArg::SlimEval)]
    pub preprocess: SchemeArg,
    /// Side length (default: the network's input).
    #[arg(long)]
    pub size: Option<usize>,
    /// Where to run it.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
    /// Classes shown per image.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    /// CSV of `path,label` giving the truth (otherwise a parent folder named like a class does).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    #[command(flatten)]
    pub files: StickFiles,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ClassifyArgs, tracer: Option<&Tracer>) -> Result<Outcome> {
    let graph = GraphFile::read(&args.graph)?;
    let labels = Labels::read(&args.labels, class_count(graph.blob()))?;
    let truth = match &args.truth {
        Some(csv) => Truth::read_csv(csv)?,
        None => Truth::from_folders(),
    };
    let mut backend = backend::open(args.backend.into(), &graph, &args.files.options(PrecisionArg::Fp16, tracer))?;
    drop(graph);
    let [rows, cols, channels] = backend.input_shape();
    let size = args.size.unwrap_or(rows as usize);
    if rows != cols || size != rows as usize {
        return Err(Error::Input {
            path: None,
            message: format!(
                "images preprocess to [{size}, {size}, 3]; the network input is [{rows}, {cols}, {channels}]"
            ),
        });
    }
    let images = collect_images(&args.images)?;
    let tty = std::io::stderr().is_terminal() && !args.json;
    let scheme = args.preprocess.scheme(0, false);
    let total = images.len();
    let mut results = Vec::with_capacity(total);
    for (done, path) in images.into_iter().enumerate() {
        let input = preprocess::load_for(&path, size, channels, scheme)?;
        let output = backend.infer(&input)?.output;
        let top = top_k(&output, args.top.max(1));
        let truth = truth.of(&path, &labels);
        results.push(Prediction { path, top, truth });
        if tty && total > 20 {
            eprint!("\r{}/{total} images", done + 1);
        }
    }
    if tty && total > 20 {
        eprintln!();
    }
    let summary = Summary::of(&results, &labels);
    let name = |class: usize| labels.get(class).unwrap_or_default();
    if args.json {
        let list: Vec<_> = results
            .iter()
            .map(|p| {
                json!({
                    "path": p.path.display().to_string(),
                    "top": p.top.iter().map(|&(i, v)| json!({ "index": i, "label": name(i), "score": v })).collect::<Vec<_>>(),
                    "truth": p.truth.map(name),
                })
            })
            .collect();
        println!(
            "{}",
            json!({ "graph": args.graph.display().to_string(), "backend": backend.name(), "images": list,
                    "summary": { "count": summary.count, "predicted": summary.predicted, "evaluated": summary.evaluated, "correct": summary.correct, "accuracy": summary.accuracy() } })
        );
        return Ok(Outcome::Success);
    }
    for p in &results {
        let best: Vec<String> = p.top.iter().map(|&(i, v)| format!("{} {:.4}", name(i), v)).collect();
        let mark = match p.correct() {
            Some(true) => "  ✓",
            Some(false) => "  ✗",
            None => "",
        };
        println!("{}: {}{mark}", p.path.display(), best.join(", "));
    }
    println!("\n{} images on {}", summary.count, backend.name());
    for (label, n) in &summary.predicted {
        println!("  predicted {label}: {n}");
    }
    if let Some(acc) = summary.accuracy() {
        println!("accuracy {:.2} % ({}/{} with known truth)", 100.0 * acc, summary.correct, summary.evaluated);
        for (label, score) in &summary.per_class {
            println!("  {label}: {}/{}", score.correct, score.total);
        }
    }
    Ok(Outcome::Success)
}
