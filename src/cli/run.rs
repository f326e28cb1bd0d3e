//! `ncs run GRAPH --input IN [...]`: one inference, printed or saved.

use std::path::{Path, PathBuf};

use ncs::backend::{self, Backend as _};
use ncs::blob::GraphFile;
use ncs::input::ImagePlan;
use ncs::labels::{class_count, Labels};
use ncs::preprocess::NetworkInput;
use ncs::reference::StageOutput;
pub use ncs::verify::top_k;
use ncs::{npy, Error, Result};
use serde_json::json;

use super::backend::{Backend, BackendArgs};
use super::input::{self, ImageArgs, RawFormatArg};
use super::{grouped, Outcome};

/// Options of `ncs run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The graph file.
    pub graph: PathBuf,
    /// Network input, told apart by content: a .npy (float32, float16, float64 or uint8; shaped
    /// [H,W,C], [1,H,W,C], flat, or [H,W] for one channel, in the stick's memory order), an image
    /// (preprocessed, see --preprocess), or raw values with --input-format.
    #[arg(long)]
    pub input: PathBuf,
    /// Read the input as raw little-endian values shaped as the network input.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<RawFormatArg>,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Save the output as float32 .npy, shaped [Y, X, Z] of the last stage.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Print the K largest outputs.
    #[arg(long, value_name = "K", value_parser = super::at_least_one)]
    pub top: Option<usize>,
    /// Class names, one per line, for --top.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Write every stage's output as DIR/NNN_name.npy.
    #[arg(long, value_name = "DIR")]
    pub dump_stages: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Most output values printed without --top or --output.
const SHOWN: usize = 16;

pub fn run(args: &RunArgs) -> Result<Outcome> {
    let kind = args.backend.backend()?;
    if args.dump_stages.is_some() && kind != Backend::Cpu {
        return Err(Error::Usage("--dump-stages needs --backend cpu (a stick returns only the output)".into()));
    }
    if args.labels.is_some() && args.top.is_none() {
        return Err(Error::Usage(
            "--labels names the --top K entries; add --top K (the --output file has no names)".into(),
        ));
    }
    if let Some(path) = &args.output {
        check_writable("--output", path)?;
    }
    let graph = GraphFile::read(&args.graph)?;
    let labels = args.labels.as_deref().map(|path| Labels::read(path, class_count(graph.blob()))).transpose()?;
    let network = NetworkInput::of(graph.blob());
    let names: Vec<String> = graph.blob().stages.iter().map(|s| s.name_text()).collect();
    let load = || input::load(&args.input, &args.image, args.input_format, &network);
    let (result, input_shape, shape, (backend_name, simulated), prepared) = if let Some(dir) = &args.dump_stages {
        let mut cpu = backend::Cpu::with_limits(graph.blob(), args.backend.precision.into(), &args.backend.limits())
            .map_err(|e| e.in_graph(graph.path()))?;
        // The executor holds its own copy of the weights.
        drop(graph);
        let (input, prepared) = load()?;
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
        let mut dump_error = None;
        let outcome = cpu.infer_observed(&input, &mut |stage: StageOutput<'_>| {
            if dump_error.is_none() {
                let path = dir.join(format!("{:03}_{}.npy", stage.index, sanitize(stage.name)));
                dump_error = npy::write_f32(&path, &stage.shape, stage.values).err();
            }
        })?;
        if let Some(e) = dump_error {
            return Err(e);
        }
        (outcome, cpu.input_shape(), cpu.output_shape(), ("cpu", false), prepared)
    } else {
        let (input, prepared) = load()?;
        let mut backend = backend::open(kind.into(), &graph, &args.backend.options()?)?;
        // A CPU backend holds its own copy of the weights.
        drop(graph);
        let outcome = backend.infer(&input)?;
        (outcome, backend.input_shape(), backend.output_shape(), (backend.name(), backend.simulated()), prepared)
    };
    let shape = shape.map(|d| d as usize);
    if let Some(path) = &args.output {
        npy::write_f32(path, &shape, &result.output)?;
    }
    let top = args.top.map(|k| top_k(&result.output, k));
    let total: f64 = result.stage_ms.iter().sum();
    let label = |i: usize| labels.as_ref().and_then(|l| l.get(i));
    if args.json {
        // `score` is the key classify uses; `value` stays for scripts written before it.
        let top_json: Vec<_> = top
            .iter()
            .flatten()
            .map(|&(i, v)| json!({ "index": i, "score": v, "value": v, "label": label(i) }))
            .collect();
        let stages: Vec<_> = result
            .stage_ms
            .iter()
            .enumerate()
            .map(|(i, ms)| json!({ "index": i, "name": names.get(i), "ms": ms }))
            .collect();
        let doc = json!({
            "graph": args.graph.display().to_string(),
            "backend": backend_name,
            "precision": args.backend.precision.to_string(),
            "input": args.input.display().to_string(),
            "preprocess": prepared.as_ref().map(ImagePlan::json),
            "input_shape": input_shape,
            "output_shape": shape,
            "output": result.output,
            "top": top_json,
            "stages": stages,
            "total_ms": total,
            "wall_ms": result.wall.as_secs_f64() * 1e3,
            "thermal_c": result.telemetry.as_ref().map(|t| t.thermal.clone()),
            "throttling": result.telemetry.as_ref().map(|t| t.throttling),
            "simulated": result.telemetry.as_ref().map(|_| simulated),
        });
        outln!("{doc}");
        return Ok(Outcome::Success);
    }
    outln!(
        "{}: output {:?} ({} values) in {:.3} ms on {backend_name} ({})",
        args.graph.display(),
        shape,
        grouped(result.output.len() as u64),
        total,
        args.backend.precision
    );
    match top {
        Some(top) => {
            for (rank, (i, v)) in top.into_iter().enumerate() {
                let name = label(i).map(|l| format!("  {l}")).unwrap_or_default();
                outln!("  #{:<2} class {:>5}  {:>12.6}{name}", rank + 1, i, v);
            }
        }
        None if result.output.len() <= SHOWN => outln!("  {:?}", result.output),
        None if args.output.is_none() => outln!(
            "  ({} values not shown: --top K prints the K largest, --output OUT.npy saves them all, --json prints them)",
            grouped(result.output.len() as u64)
        ),
        None => {}
    }
    if let Some(t) = &result.telemetry {
        let hottest = t.thermal.iter().copied().fold(f32::NAN, f32::max);
        let note = if simulated { " (simulated: software stick)" } else { "" };
        outln!("  stick temperature {hottest:.1} °C, throttling level {}{note}", t.throttling);
    }
    if let Some(path) = &args.output {
        outln!("output written to {}", path.display());
    }
    Ok(Outcome::Success)
}

/// Refuses an output path that cannot be written before any work is done: a folder, a missing
/// parent, or no permission. Leaves no file behind.
pub fn check_writable(flag: &str, path: &Path) -> Result<()> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    if path.is_dir() {
        return Err(Error::Usage(format!("{flag} {}: is a folder; give a file name", path.display())));
    }
    let existed = path.exists();
    std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(io)?;
    if !existed {
        std::fs::remove_file(path).map_err(io)?;
    }
    Ok(())
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}
