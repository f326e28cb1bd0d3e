//! `ncs run GRAPH --input IN [...]`: one inference, printed or saved.

use std::path::{Path, PathBuf};

use ncs::backend::{self, Backend as _};
use ncs::blob::GraphFile;
use ncs::device::trace::Tracer;
use ncs::labels::{class_count, Labels};
use ncs::reference::StageOutput;
pub use ncs::verify::top_k;
use ncs::{npy, Error, Result};
use serde_json::json;

use super::backend::{Backend, PrecisionArg, StickFiles};
use super::preprocess::{self, SchemeArg};
use super::{grouped, Outcome};

/// Options of `ncs run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The graph file.
    pub graph: PathBuf,
    /// Network input: a .npy of float32, float16 or uint8, shaped [H,W,C], [1,H,W,C] or flat,
    /// in the stick's memory order; or an image file, preprocessed with --preprocess.
    #[arg(long)]
    pub input: PathBuf,
    /// How to turn an image input into a tensor.
    #[arg(long, value_enum, value_name = "SCHEME", default_value_t = SchemeArg::SlimEval)]
    pub preprocess: SchemeArg,
    /// Side length for an image input (default: the network's input).
    #[arg(long)]
    pub size: Option<usize>,
    /// Seed for --preprocess slim-train.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to run it.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
    /// How stage outputs are stored: fp16 as on the stick, or fp32.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Fp16)]
    pub precision: PrecisionArg,
    /// Save the output as float32 .npy, shaped [Y, X, Z] of the last stage.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Print the K largest outputs.
    #[arg(long, value_name = "K")]
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
    #[command(flatten)]
    pub files: StickFiles,
}

pub fn run(args: &RunArgs, tracer: Option<&Tracer>) -> Result<Outcome> {
    if args.dump_stages.is_some() && args.backend != Backend::Cpu {
        return Err(Error::Usage("--dump-stages needs --backend cpu (a stick returns only the output)".into()));
    }
    let graph = GraphFile::read(&args.graph)?;
    let labels = args.labels.as_deref().map(|path| Labels::read(path, class_count(graph.blob()))).transpose()?;
    let (result, input_shape, shape, backend_name) = if let Some(dir) = &args.dump_stages {
        let mut cpu = backend::Cpu::with_limits(graph.blob(), args.precision.into(), &args.files.limits())
            .map_err(|e| e.in_graph(graph.path()))?;
        // The executor holds its own copy of the weights.
        drop(graph);
        let input = load_input(&args.input_args(), cpu.input_shape())?;
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
        (outcome, cpu.input_shape(), cpu.output_shape(), "cpu")
    } else {
        let mut backend = backend::open(args.backend.into(), &graph, &args.files.options(args.precision, tracer))?;
        // A CPU backend holds its own copy of the weights.
        drop(graph);
        let input = load_input(&args.input_args(), backend.input_shape())?;
        let outcome = backend.infer(&input)?;
        (outcome, backend.input_shape(), backend.output_shape(), backend.name())
    };
    let shape = shape.map(|d| d as usize);
    if let Some(path) = &args.output {
        npy::write_f32(path, &shape, &result.output)?;
    }
    let top = args.top.map(|k| top_k(&result.output, k));
    let total: f64 = result.stage_ms.iter().sum();
    let label = |i: usize| labels.as_ref().and_then(|l| l.get(i));
    if args.json {
        let top_json: Vec<_> =
            top.iter().flatten().map(|&(i, v)| json!({ "index": i, "value": v, "label": label(i) })).collect();
        let stages: Vec<_> =
            result.stage_ms.iter().enumerate().map(|(i, ms)| json!({ "index": i, "ms": ms })).collect();
        let doc = json!({
            "graph": args.graph.display().to_string(),
            "backend": backend_name,
            "precision": format!("{:?}", args.precision).to_lowercase(),
            "input_shape": input_shape,
            "output_shape": shape,
            "output": result.output,
            "top": top_json,
            "stages": stages,
            "total_ms": total,
            "wall_ms": result.wall.as_secs_f64() * 1e3,
            "thermal_c": result.telemetry.as_ref().map(|t| t.thermal.clone()),
            "throttling": result.telemetry.as_ref().map(|t| t.throttling),
        });
        println!("{doc}");
        return Ok(Outcome::Success);
    }
    println!(
        "{}: output {:?} ({} values) in {:.3} ms on {backend_name} ({:?})",
        args.graph.display(),
        shape,
        grouped(result.output.len() as u64),
        total,
        args.precision
    );
    match top {
        Some(top) => {
            for (rank, (i, v)) in top.into_iter().enumerate() {
                let name = label(i).map(|l| format!("  {l}")).unwrap_or_default();
                println!("  #{:<2} class {:>5}  {:>12.6}{name}", rank + 1, i, v);
            }
        }
        None if result.output.len() <= 16 => println!("  {:?}", result.output),
        None => {}
    }
    if let Some(path) = &args.output {
        println!("output written to {}", path.display());
    }
    Ok(Outcome::Success)
}

/// Where a command's network input comes from.
#[derive(Debug, Clone, Copy)]
pub struct InputArgs<'a> {
    /// .npy tensor or image file.
    pub input: &'a Path,
    /// Scheme for images.
    pub preprocess: SchemeArg,
    /// Side length for images.
    pub size: Option<usize>,
    /// Seed for slim-train.
    pub seed: u64,
}

impl RunArgs {
    fn input_args(&self) -> InputArgs<'_> {
        InputArgs { input: &self.input, preprocess: self.preprocess, size: self.size, seed: self.seed }
    }
}

/// The network input: an image (preprocessed) or a .npy tensor.
pub fn load_input(args: &InputArgs<'_>, expected: [u32; 3]) -> Result<Vec<f32>> {
    let path = args.input;
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !is_npy {
        let size = args.size.unwrap_or(expected[0] as usize);
        if expected[..2] != [size as u32, size as u32] || !matches!(expected[2], 1 | 3) {
            return Err(Error::Input {
                path: Some(path.to_owned()),
                message: format!("an image preprocesses to [{size}, {size}, 3], but the network input is {expected:?}"),
            });
        }
        return preprocess::load_for(path, size, expected[2], args.preprocess.scheme(args.seed, false));
    }
    read_npy_input(path, expected)
}

/// Reads a network input .npy, accepting [H,W,C], [1,H,W,C] or flat of exactly the input size.
fn read_npy_input(path: &Path, expected: [u32; 3]) -> Result<Vec<f32>> {
    let array = npy::read(path)?;
    let want: Vec<usize> = expected.iter().map(|&d| d as usize).collect();
    let count: usize = want.iter().product();
    let ok = array.shape == want
        || (array.shape.len() == 4 && array.shape[0] == 1 && array.shape[1..] == want[..])
        || (array.shape.len() == 1 && array.shape[0] == count);
    if !ok {
        return Err(Error::Input {
            path: Some(path.to_owned()),
            message: format!(
                "input shape {:?} does not match the network input {:?} (rows, columns, channels; also accepted: [1, ...] or flat {count})",
                array.shape, want
            ),
        });
    }
    Ok(array.values)
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect()
}
