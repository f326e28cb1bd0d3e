//! The crate's error type: one variant per kind of failure, so callers (the CLI's exit codes,
//! the drop-in's MVNC statuses, a server's responses) can branch on it; each names the file,
//! stage, stick or call it concerns.

use std::path::{Path, PathBuf};

use crate::blob::{BlobError, ReadError};
use crate::compile::CompileError;
use crate::device::{DeviceError, UsbError};

/// Anything `ncs` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A graph blob is malformed, unsupported or over a limit (parsing, validation, writing).
    #[error("{}{source}", file_prefix(path.as_deref()))]
    Blob {
        /// The graph file, when the blob came from one.
        path: Option<PathBuf>,
        /// Where (byte offset, stage) and what.
        source: BlobError,
    },
    /// A TensorFlow graph that `ncs compile` cannot turn into a graph file (names the node).
    #[error("{}{source}", file_prefix(path.as_deref()))]
    Compile {
        /// The `.pb` file, when the graph came from one.
        path: Option<PathBuf>,
        /// Which node, and what is wrong.
        source: CompileError,
    },
    /// [`crate::graph::GraphBuilder`] was asked for a network it cannot build.
    #[error("{}{message}", stage.as_ref().map(|s| format!("stage '{s}': ")).unwrap_or_default())]
    Builder {
        /// The stage being added, if the problem is one stage's.
        stage: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A stage the CPU reference cannot execute as its record describes.
    #[error("stage {index} '{name}': {message}")]
    Stage {
        /// Stage index.
        index: usize,
        /// Stage name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A failure while opening or running the graph file `path`, which `source` does not name
    /// (e.g. a [`Error::Stage`]). [`Error::without_context`] reaches the failure itself.
    #[error("{}: {source}", path.display())]
    InGraph {
        /// The graph file.
        path: PathBuf,
        /// The failure.
        source: Box<Error>,
    },
    /// A network input (tensor or image) that cannot be used: unreadable, or the wrong shape.
    #[error("{}{message}", file_prefix(path.as_deref()))]
    Input {
        /// The input file, when there is one.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
    /// A label or truth file that cannot be used with this network.
    #[error("{}: {message}", path.display())]
    Labels {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line when one is at fault.
        message: String,
    },
    /// Options or arguments that do not fit (out of range, or not together).
    #[error("{0}")]
    Usage(String),
    /// This machine has no USB subsystem, so no real stick can be reached.
    #[error("no USB subsystem available: no stick can be reached from this machine (software sticks need no USB)")]
    NoUsbSubsystem,
    /// No stick to run on.
    #[error("no stick found on {bus}")]
    NoStick {
        /// The bus (or library) that was asked.
        bus: String,
    },
    /// The USB stack failed while listing sticks.
    #[error("{bus}: {source}")]
    Bus {
        /// The bus.
        bus: String,
        /// What USB said.
        source: UsbError,
    },
    /// A stick failed or refused a request.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A call into an NCSDK library (`libmvnc.so`) returned a failure status.
    #[error("{call} returned {name} ({status})")]
    Mvnc {
        /// The call, e.g. `mvncAllocateGraph`.
        call: String,
        /// The `mvncStatus` it returned.
        status: i32,
        /// The status's name (`MVNC_BUSY`, …), for messages.
        name: &'static str,
    },
    /// No NCSDK library could be loaded.
    #[error(
        "no usable libmvnc; looked at: {}. Build ncs's drop-in (`cargo build --release -p ncs-libmvnc` makes \
         target/release/libmvnc.so) and pass --mvnc-lib target/release/libmvnc.so (or set NCS_MVNC_LIB); \
         with no stick attached, set NCS_EMULATE=N for N software sticks",
        tried_text(tried)
    )]
    MvncNotFound {
        /// Each place looked at, and why it was not usable.
        tried: Vec<(PathBuf, String)>,
    },
    /// A backend answered something its contract rules out (e.g. output of the wrong length,
    /// a different answer to the same question).
    #[error("{backend}: {message}")]
    BackendFault {
        /// The backend (`cpu`, `emulator`, `usb`, `sdk`, or a library path).
        backend: String,
        /// What it did.
        message: String,
    },
}

impl Error {
    /// Names the graph file a failure happened in, unless the failure names a file already.
    pub fn in_graph(self, path: Option<&Path>) -> Error {
        match (self, path) {
            (Error::Blob { path: None, source }, Some(path)) => Error::Blob { path: Some(path.to_owned()), source },
            (e @ (Error::Stage { .. } | Error::Input { path: None, .. }), Some(path)) => {
                Error::InGraph { path: path.to_owned(), source: Box::new(e) }
            }
            (other, _) => other,
        }
    }

    /// The failure itself, beneath any [`Error::InGraph`] context.
    pub fn without_context(&self) -> &Error {
        match self {
            Error::InGraph { source, .. } => source.without_context(),
            other => other,
        }
    }
}

impl From<BlobError> for Error {
    fn from(source: BlobError) -> Self {
        Error::Blob { path: None, source }
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io { path, source } => Error::Io { path, source },
            ReadError::Malformed { path, source } => Error::Blob { path: Some(path), source },
        }
    }
}

fn file_prefix(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display())).unwrap_or_default()
}

/// Each place once, with the loader's reason without the path it repeats.
fn tried_text(tried: &[(PathBuf, String)]) -> String {
    let mut seen = Vec::new();
    let mut parts = Vec::new();
    for (path, why) in tried {
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let shown = path.display().to_string();
        let why = why.strip_prefix(&format!("{shown}: ")).unwrap_or(why);
        parts.push(format!("{shown} ({why})"));
    }
    parts.join(", ")
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_context_wraps_stage_failures_once_and_fills_blob_paths() {
        let stage = Error::Stage { index: 2, name: "output".into(), message: "not supported".into() };
        let named = stage.in_graph(Some(Path::new("g.graph")));
        assert_eq!(named.to_string(), "g.graph: stage 2 'output': not supported");
        assert!(matches!(named.without_context(), Error::Stage { index: 2, .. }));
        let blob = Error::from(BlobError::new(crate::blob::BlobErrorKind::Truncated, 7, "short"));
        let named = blob.in_graph(Some(Path::new("g.graph")));
        assert!(matches!(&named, Error::Blob { path: Some(_), .. }));
        assert_eq!(named.to_string(), "g.graph: at byte 7 (0x7): short");
        assert!(matches!(Error::Usage("x".into()).in_graph(Some(Path::new("g"))), Error::Usage(_)));
    }
}
