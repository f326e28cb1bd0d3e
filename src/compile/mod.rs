//! `ncs compile`: a frozen TensorFlow GraphDef to an NCS v1 graph file, as NCSDK 1.12's
//! `mvNCCompile` writes it.
//!
//! ```text
//! .pb bytes ──graph (prost, bounded)──▶ Graph ──front (TF ops → stages)──▶ ir::Network ──emit──▶ Blob
//! ```
//!
//! The front end follows mvNCCompile v1's TensorFlow parser op by op, including the toolkit's
//! quirks (docs/blob_format.md §8) so that the files match Intel's; where mvNCCompile
//! produced a blob known to compute wrongly, the file format is kept and a warning names the
//! stage. Deliberate differences are listed in README ("ncs compile").

mod constfold;
mod emit;
mod error;
mod front;
mod fuse;
mod graph;
mod hints;
mod ir;
mod lower;
/// Public: tests and the fuzz target build GraphDefs with these structs.
pub mod proto;
mod tensor;
mod weights;

use std::path::Path;

use bytes::Bytes;

use crate::blob::Blob;

pub use emit::{MAX_GRAPH_FILE, TF_NETWORK_NAME};
pub use error::{CompileError, CompileErrorKind, CompileResult};
pub use graph::{Graph, TensorRef};

/// What to compile and how (mvNCCompile's `-in`, `-on`, `-s`, `-is`).
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// The input placeholder (mvNCCompile's default: `input`).
    pub input: String,
    /// The output node (mvNCCompile's default: `output`).
    pub output: String,
    /// SHAVE cores the graph may use (`-s`, default 1): the header's last SHAVE is this − 1.
    pub shaves: u16,
    /// `[H, W, C]` for an input placeholder whose shape is not fully known.
    pub input_shape: Option<[u32; 3]>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { input: "input".into(), output: "output".into(), shaves: 1, input_shape: None }
    }
}

/// A compiled graph and what the compiler has to say about it.
#[derive(Debug)]
pub struct Compiled {
    /// The graph file, ready for `blob::write`.
    pub blob: Blob,
    /// Known problems of the stick with this network, each naming a stage.
    pub warnings: Vec<String>,
}

/// Compiles a frozen GraphDef held in memory.
pub fn compile(pb: Bytes, options: &CompileOptions) -> CompileResult<Compiled> {
    if !(1..=12).contains(&options.shaves) {
        return Err(CompileError::new(
            CompileErrorKind::BadOption,
            format!("{} SHAVEs: the NCS1 has 12 (give 1 to 12)", options.shaves),
        ));
    }
    let graph = Graph::decode(pb)?;
    let front_options = front::FrontOptions {
        input: options.input.clone(),
        output: options.output.clone(),
        input_shape: options.input_shape,
    };
    let net = front::lower(&graph, &front_options)?;
    if net.stages.is_empty() {
        return Err(CompileError::new(CompileErrorKind::Unsupported, "the graph has no stage to run on the NCS"));
    }
    let blob = emit::emit(&net, &graph, options.shaves)?;
    Ok(Compiled { blob, warnings: net.warnings })
}

/// Compiles a frozen `.pb` file; errors name the file.
pub fn compile_file(path: &Path, options: &CompileOptions) -> crate::Result<Compiled> {
    // Protocol buffers cannot exceed 2 GiB.
    let bytes = crate::files::read_at_most(path, (2 << 30) - 1)
        .map_err(|source| crate::Error::Io { path: path.to_owned(), source })?;
    compile(Bytes::from(bytes), options).map_err(|source| crate::Error::Compile { path: Some(path.to_owned()), source })
}
