//! The crate's error type: every failure carries the file (or option) it concerns.

use std::path::PathBuf;

use crate::blob::BlobError;

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
    /// A graph file is malformed or unsupported.
    #[error("{}: {source}", path.display())]
    Blob {
        /// The graph file.
        path: PathBuf,
        /// Where and what.
        source: BlobError,
    },
    /// A graph could not be built or written (builder misuse, limits).
    #[error("{0}")]
    Build(#[from] BlobError),
    /// A stage cannot be executed as its record describes.
    #[error("stage {index} '{name}': {message}")]
    Stage {
        /// Stage index.
        index: usize,
        /// Stage name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A stick failed or refused a request.
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    /// An argument or option value is unusable.
    #[error("{0}")]
    InvalidInput(String),
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
