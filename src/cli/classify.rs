//! `ncs classify GRAPH --labels FILE [--preprocess SCHEME --size N] IMAGES...|DIR`: the
//! deployment flow of an image classifier — top-k per image and a summary, with accuracy when
//! folder names or a CSV give the truth.

use std::io::IsTerminal;
use std::path::PathBuf;

use ncs::backend;
use ncs::blob::GraphFile;
use ncs::classify::{collect_images, Prediction, Summary, Truth};
use ncs::labels::{class_count, Labels};
use ncs::preprocess::NetworkInput;
use ncs::Result;
use serde_json::json;

use super::backend::BackendArgs;
use super::input::ImageArgs;
use super::run::top_k;
use super::{out, Outcome};

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
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Classes shown per image.
    #[arg(long, value_name = "K", default_value_t = 3, value_parser = super::at_least_one)]
    pub top: usize,
    /// CSV of `path,label` giving the truth (otherwise a parent folder named like a class does).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ClassifyArgs) -> Result<Outcome> {
    let kind = args.backend.kind()?;
    let graph = GraphFile::read(&args.graph)?;
    let labels = Labels::read(&args.labels, class_count(graph.blob()))?;
    let truth = match &args.truth {
        Some(csv) => Truth::read_csv(csv)?,
        None => Truth::from_folders(),
    };
    let plan = args.image.plan(&NetworkInput::of(graph.blob()))?;
    let images = collect_images(&args.images)?;
    truth.check(&images, &labels)?;
    let mut backend = backend::open(kind, &graph, &args.backend.options()?)?;
    drop(graph);
    out::note(&plan.line());
    let tty = std::io::stderr().is_terminal() && !args.json && !out::quiet();
    let total = images.len();
    let mut results = Vec::with_capacity(total);
    for (done, path) in images.into_iter().enumerate() {
        let output = backend.infer(&plan.apply_to_file(&path)?)?.output;
        let top = top_k(&output, args.top);
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
        outln!(
            "{}",
            json!({ "graph": args.graph.display().to_string(), "backend": backend.name(), "preprocess": plan.json(), "images": list,
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
        outln!("{}: {}{mark}", p.path.display(), best.join(", "));
    }
    outln!("\n{} images on {}", summary.count, backend.name());
    for (label, n) in &summary.predicted {
        outln!("  predicted {label}: {n}");
    }
    if let Some(acc) = summary.accuracy() {
        outln!("accuracy {:.2} % ({}/{} with known truth)", 100.0 * acc, summary.correct, summary.evaluated);
        for (label, score) in &summary.per_class {
            outln!("  {label}: {}/{}", score.correct, score.total);
        }
    }
    Ok(Outcome::Success)
}
