//! `ncs preprocess IMAGE [--graph GRAPH] [--size H,W] [--preprocess SCHEME] --output OUT.npy`.

use std::path::PathBuf;

use ncs::blob::GraphFile;
use ncs::input::ImagePlan;
use ncs::preprocess::NetworkInput;
use ncs::{npy, Error, Result};
use serde_json::json;

use super::input::ImageArgs;
use super::{out, Outcome};

/// Options of `ncs preprocess`.
#[derive(Debug, clap::Args)]
pub struct PreprocessArgs {
    /// Image file (JPEG, PNG, BMP, TIFF, WebP, GIF).
    pub image: PathBuf,
    /// Prepare the image for this network: its size, channels and memory order, and its default
    /// scheme (as `ncs run` would).
    #[arg(long)]
    pub graph: Option<PathBuf>,
    #[command(flatten)]
    pub prep: ImageArgs,
    /// Where to write the float32 tensor ([H, W, 3], or the network's input shape with --graph).
    #[arg(long)]
    pub output: PathBuf,
    /// Print one JSON object describing what was written.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &PreprocessArgs) -> Result<Outcome> {
    super::run::check_writable("--output", &args.output)?;
    let plan = match &args.graph {
        Some(path) => args.prep.plan(&NetworkInput::of(GraphFile::read(path)?.blob()))?,
        None => {
            let size = args.prep.size.ok_or_else(|| {
                Error::Usage("give --size H,W (or N), or --graph GRAPH to take the network's own".into())
            })?;
            let plan = ImagePlan::for_size(size, args.prep.scheme());
            args.prep.check(plan.scheme)?;
            plan
        }
    };
    let values = plan.apply_to_file(&args.image)?;
    let shape = plan.network.shape.to_vec();
    npy::write_f32(&args.output, &shape, &values)?;
    if args.json {
        outln!(
            "{}",
            json!({ "image": args.image.display().to_string(), "graph": args.graph.as_ref().map(|g| g.display().to_string()),
                    "output": args.output.display().to_string(), "shape": shape, "dtype": "float32",
                    "preprocess": plan.json() })
        );
    } else {
        out::note(&format!("{}: {}", args.image.display(), plan.line()));
        outln!("{}: {shape:?} float32 written to {}", args.image.display(), args.output.display());
    }
    Ok(Outcome::Success)
}
