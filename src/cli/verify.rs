//! `ncs verify GRAPH --input IN --backend B [--against cpu] [--bisect]`: mvNCCheck's metrics
//! for one input, and on failure the first stage that diverges.

use std::path::PathBuf;

use ncs::backend::{self as backends, BackendKind};
use ncs::blob::GraphFile;
use ncs::input::ImagePlan;
use ncs::preprocess::NetworkInput;
use ncs::reference::{Executor, Precision};
use ncs::verify::{self, Comparison, Criteria};
use ncs::{Error, Result};
use serde_json::json;

use super::backend::BackendArgs;
use super::input::{self, ImageArgs, RawFormatArg};
use super::Outcome;

/// Options of `ncs verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The graph file.
    pub graph: PathBuf,
    /// Input: .npy tensor, image or raw values (see `ncs run`).
    #[arg(long)]
    pub input: PathBuf,
    /// Read the input as raw little-endian values shaped as the network input.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<RawFormatArg>,
    /// The backend under test (--backend, --emulate, --precision, ...).
    #[command(flatten)]
    pub backend: BackendArgs,
    /// What to compare against (the CPU reference, fp16 storage as on the stick).
    #[arg(long, value_enum, default_value_t = Against::Cpu)]
    pub against: Against,
    /// On failure, find the first stage whose output diverges (runs prefix graphs on the backend).
    #[arg(long)]
    pub bisect: bool,
    /// Largest error allowed, % of the reference's largest magnitude.
    #[arg(long, default_value_t = 2.0)]
    pub max_error: f64,
    /// Mean error allowed, %.
    #[arg(long, default_value_t = 1.0)]
    pub mean_error: f64,
    /// RMS error allowed, %.
    #[arg(long, default_value_t = 1.0)]
    pub l2_error: f64,
    /// A value off by more than this % counts as beyond.
    #[arg(long, default_value_t = 2.0)]
    pub value_threshold: f64,
    /// Share of values allowed beyond the threshold, %.
    #[arg(long, default_value_t = 0.0)]
    pub beyond: f64,
    #[command(flatten)]
    pub image: ImageArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Reference implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Against {
    /// The CPU reference executor.
    Cpu,
}

pub fn run(args: &VerifyArgs) -> Result<Outcome> {
    let kind = args.backend.kind()?;
    let criteria = Criteria {
        max_error_pct: args.max_error,
        mean_error_pct: args.mean_error,
        l2_error_pct: args.l2_error,
        value_threshold_pct: args.value_threshold,
        beyond_allowed_pct: args.beyond,
    };
    for (name, v) in [
        ("max-error", args.max_error),
        ("mean-error", args.mean_error),
        ("l2-error", args.l2_error),
        ("value-threshold", args.value_threshold),
        ("beyond", args.beyond),
    ] {
        if !(0.0..=100.0).contains(&v) {
            return Err(Error::Usage(format!("--{name} {v}: expected a percentage 0..=100")));
        }
    }
    let graph = GraphFile::read(&args.graph)?;
    let mut reference = Executor::with_limits(graph.blob(), Precision::Fp16, &args.backend.limits())
        .map_err(|e| e.in_graph(graph.path()))?;
    let (input, prepared) = input::load(&args.input, &args.image, args.input_format, &NetworkInput::of(graph.blob()))?;
    // Both sides see the same fp16 tensor.
    let mut input = input;
    ncs::fp16::round(&mut input);
    let expected = reference.run(&input)?.output;
    let options = args.backend.options()?;
    let mut backend = backends::open(kind, &graph, &options)?;
    let tested = backend.infer(&input)?.output;
    drop(backend);
    let comparison = verify::compare(&tested, &expected, &criteria)?;
    let divergence = if !comparison.pass && args.bisect {
        let mut open = |prefix: &GraphFile| backends::open(kind, prefix, &options);
        verify::bisect(graph.blob(), &input, &criteria, &mut open)?
    } else {
        None
    };
    if args.json {
        let d = divergence.as_ref().map(|d| json!({ "stage": d.stage, "name": d.name, "comparison": comparison_json(&d.comparison), "prefixes_run": d.probes }));
        outln!(
            "{}",
            json!({ "graph": args.graph.display().to_string(), "backend": kind.name(), "preprocess": prepared.as_ref().map(ImagePlan::json), "against": "cpu", "pass": comparison.pass, "comparison": comparison_json(&comparison), "first_divergent_stage": d })
        );
    } else {
        print_report(args, kind, &comparison, &criteria);
        match (&divergence, args.bisect && !comparison.pass) {
            (Some(d), _) => outln!(
                "first divergent stage: {} '{}' (max error {:.3} %, {} prefix graphs run: {:?})",
                d.stage,
                d.name,
                d.comparison.max_error_pct,
                d.probes.len(),
                d.probes
            ),
            (None, true) => {
                outln!("bisect: every prefix passes on its own; the difference appears only in the full graph")
            }
            _ => {}
        }
    }
    Ok(if comparison.pass { Outcome::Success } else { Outcome::CheckFailed })
}

fn comparison_json(c: &Comparison) -> serde_json::Value {
    json!({
        "values": c.count, "reference_max": c.reference_max, "max_error_pct": c.max_error_pct,
        "mean_error_pct": c.mean_error_pct, "l2_error_pct": c.l2_error_pct, "beyond_pct": c.beyond_pct,
        "non_finite": c.non_finite, "top1_agrees": c.top1_agrees, "top5_overlap": c.top5_overlap, "pass": c.pass,
    })
}

fn print_report(args: &VerifyArgs, kind: BackendKind, c: &Comparison, k: &Criteria) {
    let mark = |ok: bool| if ok { "ok" } else { "FAIL" };
    outln!(
        "{} on {} vs cpu reference: {} values, largest |reference| {:.6}",
        args.graph.display(),
        kind.name(),
        c.count,
        c.reference_max
    );
    outln!(
        "  max error      {:>9.4} %   (limit {} %)  {}",
        c.max_error_pct,
        k.max_error_pct,
        mark(c.max_error_pct <= k.max_error_pct)
    );
    outln!(
        "  mean error     {:>9.4} %   (limit {} %)  {}",
        c.mean_error_pct,
        k.mean_error_pct,
        mark(c.mean_error_pct <= k.mean_error_pct)
    );
    outln!(
        "  RMS error      {:>9.4} %   (limit {} %)  {}",
        c.l2_error_pct,
        k.l2_error_pct,
        mark(c.l2_error_pct <= k.l2_error_pct)
    );
    outln!(
        "  beyond {} %     {:>9.4} %   (limit {} %)  {}",
        k.value_threshold_pct,
        c.beyond_pct,
        k.beyond_allowed_pct,
        mark(c.beyond_pct <= k.beyond_allowed_pct)
    );
    if c.non_finite > 0 {
        outln!("  non-finite values: {}  FAIL", c.non_finite);
    }
    if let Some(agree) = c.top1_agrees {
        outln!(
            "  top-1 {}{}",
            if agree { "agrees" } else { "differs" },
            c.top5_overlap.map(|o| format!(", top-5 overlap {o}/5")).unwrap_or_default()
        );
    }
    outln!("{}", if c.pass { "PASS" } else { "FAIL" });
}
