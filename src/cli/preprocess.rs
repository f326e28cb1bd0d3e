//! `ncs preprocess IMAGE [--graph GRAPH] [--size H,W] [--preprocess SCHEME] --output OUT.npy`.

use std::path::PathBuf;

use ncs::blob::GraphFile;
use ncs::preprocess::{self, NetworkInput, Scheme};
use ncs::{npy, Error, Result};
use serde_json::json;

use super::input::{ImageArgs, Prepared};
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
    super::run::check_writable(&args.output)?;
    let (values, shape, prepared) = match &args.graph {
        Some(path) => {
            let graph = GraphFile::read(path)?;
            let network = NetworkInput::of(graph.blob());
            let (values, prepared) = args.prep.prepare(&args.image, &network)?;
            (values, network.shape.to_vec(), prepared)
        }
        None => {
            let size = args.prep.size.ok_or_else(|| {
                Error::Usage("give --size H,W (or N), or --graph GRAPH to take the network's own".into())
            })?;
            let scheme = match args.prep.preprocess {
                Some(arg) => arg.scheme(args.prep.seed.unwrap_or(0), args.prep.fast_mode),
                None => Scheme::SlimEval,
            };
            args.prep.check(scheme)?;
            let network = NetworkInput { shape: [size[0], size[1], 3], transposed: false };
            let values = preprocess::preprocess_to(&preprocess::open(&args.image)?, size, scheme)?;
            let chosen_because = args.prep.preprocess.is_none().then(|| "the default without --graph".to_owned());
            (
                values.into_raw_vec_and_offset().0,
                network.shape.to_vec(),
                Prepared { scheme, size, chosen_because, network },
            )
        }
    };
    npy::write_f32(&args.output, &shape, &values)?;
    if args.json {
        outln!(
            "{}",
            json!({ "image": args.image.display().to_string(), "graph": args.graph.as_ref().map(|g| g.display().to_string()),
                    "output": args.output.display().to_string(), "shape": shape, "dtype": "float32",
                    "preprocess": prepared.json() })
        );
    } else {
        out::note(&format!("{}: {}", args.image.display(), prepared.line()));
        outln!("{}: {shape:?} float32 written to {}", args.image.display(), args.output.display());
    }
    Ok(Outcome::Success)
}
