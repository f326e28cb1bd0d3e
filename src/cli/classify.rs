//! `ncs classify GRAPH --labels FILE [--preprocess SCHEME --size N] IMAGES...|DIR`: the
//! deployment flow of an image classifier — top-k per image and a summary, with accuracy when
//! folder names or a CSV give the truth.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use ncs::device::trace::Tracer;
use ncs::{Error, Result};
use serde_json::json;

use super::backend::{Backend, PrecisionArg, StickFiles};
use super::preprocess::{self, SchemeArg};
use super::run::top_k;
use super::Outcome;

const IMAGE_EXTENSIONS: [&str; 9] = ["jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp", "gif", "jpe"];

/// Options of `ncs classify`.
#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// The graph file (a classifier: output [1, 1, classes]).
    pub graph: PathBuf,
    /// Images, and folders searched recursively for images.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Class names, one per line (a line reading `classes` is skipped, as NCSDK apps did).
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
    let labels = read_labels(&args.labels)?;
    let graph = ncs::blob::GraphFile::read(&args.graph)?;
    let mut backend = ncs::backend::open(args.backend.into(), &graph, &args.files.options(PrecisionArg::Fp16, tracer))?;
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
    let classes = backend.output_shape().iter().product::<u32>() as usize;
    if labels.len() != classes {
        return Err(Error::Labels {
            path: args.labels.clone(),
            message: format!("{} labels for {classes} classes", labels.len()),
        });
    }
    let images = collect_images(&args.images)?;
    let truth_csv = args.truth.as_deref().map(read_truth).transpose()?;
    let tty = std::io::stderr().is_terminal() && !args.json;
    let scheme = args.preprocess.scheme(0, false);
    let mut results = Vec::with_capacity(images.len());
    for (done, path) in images.iter().enumerate() {
        let input = preprocess::load_for(path, size, channels, scheme)?;
        let output = backend.infer(&input)?.output;
        let top = top_k(&output, args.top.max(1));
        let truth = truth_of(path, truth_csv.as_ref(), &labels);
        results.push((path.clone(), top, truth));
        if tty && images.len() > 20 {
            eprint!("\r{}/{} images", done + 1, images.len());
        }
    }
    if tty && images.len() > 20 {
        eprintln!();
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut evaluated, mut correct) = (0usize, 0usize);
    let mut per_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (_, top, truth) in &results {
        *counts.entry(labels[top[0].0].as_str()).or_default() += 1;
        if let Some(t) = truth {
            evaluated += 1;
            let hit = top[0].0 == *t;
            correct += usize::from(hit);
            let entry = per_class.entry(labels[*t].as_str()).or_default();
            entry.0 += usize::from(hit);
            entry.1 += 1;
        }
    }
    let accuracy = (evaluated > 0).then(|| correct as f64 / evaluated as f64);
    if args.json {
        let list: Vec<_> = results
            .iter()
            .map(|(p, top, truth)| {
                json!({
                    "path": p.display().to_string(),
                    "top": top.iter().map(|&(i, v)| json!({ "index": i, "label": labels[i], "score": v })).collect::<Vec<_>>(),
                    "truth": truth.map(|t| labels[t].clone()),
                })
            })
            .collect();
        println!(
            "{}",
            json!({ "graph": args.graph.display().to_string(), "backend": backend.name(), "images": list,
                    "summary": { "count": results.len(), "predicted": counts, "evaluated": evaluated, "correct": correct, "accuracy": accuracy } })
        );
        return Ok(Outcome::Success);
    }
    for (path, top, truth) in &results {
        let best: Vec<String> = top.iter().map(|&(i, v)| format!("{} {:.4}", labels[i], v)).collect();
        let mark = match truth {
            Some(t) if *t == top[0].0 => "  ✓",
            Some(_) => "  ✗",
            None => "",
        };
        println!("{}: {}{mark}", path.display(), best.join(", "));
    }
    println!("\n{} images on {}", results.len(), backend.name());
    for (label, n) in &counts {
        println!("  predicted {label}: {n}");
    }
    if let Some(acc) = accuracy {
        println!("accuracy {:.2} % ({correct}/{evaluated} with known truth)", 100.0 * acc);
        for (label, (hit, total)) in &per_class {
            println!("  {label}: {hit}/{total}");
        }
    }
    Ok(Outcome::Success)
}

fn read_labels(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "classes").map(str::to_owned).collect())
}

fn read_truth(path: &Path) -> Result<BTreeMap<PathBuf, String>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    let mut truth = BTreeMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (file, label) = line.rsplit_once(',').ok_or_else(|| Error::Labels {
            path: path.to_owned(),
            message: format!("line {}: expected `path,label`", n + 1),
        })?;
        truth.insert(PathBuf::from(file.trim()), label.trim().to_owned());
    }
    Ok(truth)
}

/// The truth for an image: from the CSV, else its parent folder's name (a label or an index).
fn truth_of(path: &Path, csv: Option<&BTreeMap<PathBuf, String>>, labels: &[String]) -> Option<usize> {
    let name = match csv {
        Some(map) => map.get(path).or_else(|| path.file_name().and_then(|f| map.get(Path::new(f))))?.clone(),
        None => path.parent()?.file_name()?.to_string_lossy().into_owned(),
    };
    labels.iter().position(|l| *l == name).or_else(|| name.parse::<usize>().ok().filter(|&i| i < labels.len()))
}

fn collect_images(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, &mut found)?;
        } else if input.exists() {
            found.push(input.clone());
        } else {
            return Err(Error::Input { path: Some(input.clone()), message: "no such file or folder".into() });
        }
    }
    if found.is_empty() {
        return Err(Error::Input { path: None, message: "no images found".into() });
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io { path: dir.to_owned(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
    Ok(())
}
