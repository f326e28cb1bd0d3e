//! The error a malformed blob produces: where (byte offset, stage) and what was expected.

use std::fmt;
use std::path::PathBuf;

/// What kind of problem a [`BlobError`] reports, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobErrorKind {
    /// An NCSDK 2.x graph, which this format does not describe.
    Ncsdk2,
    /// The file is shorter than a structure it declares, or than the minimum.
    Truncated,
    /// A size limit of the host library or toolkit is exceeded.
    Limit,
    /// A header field disagrees with the file (size, version, offsets, padding).
    Header,
    /// A field holds a value no toolkit assigns.
    UnknownValue,
    /// A tensor or buffer reaches outside the region it lives in.
    OutOfBounds,
    /// The stages do not describe a runnable network (e.g. nothing writes the output).
    Structure,
}

/// The stage an error concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageLabel {
    /// Index in the stage table (execution order).
    pub index: usize,
    /// The stage's name as stored.
    pub name: String,
}

/// A malformed or unsupported graph blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobError {
    /// What went wrong, broadly.
    pub kind: BlobErrorKind,
    /// Byte offset in the file of the offending field.
    pub offset: usize,
    /// The stage whose record holds the field, if any.
    pub stage: Option<StageLabel>,
    /// The field and what was expected, in words.
    pub message: String,
}

impl BlobError {
    pub(crate) fn new(kind: BlobErrorKind, offset: usize, message: impl Into<String>) -> Self {
        BlobError { kind, offset, stage: None, message: message.into() }
    }

    pub(crate) fn in_stage(mut self, index: usize, name: impl Into<String>) -> Self {
        self.stage = Some(StageLabel { index, name: name.into() });
        self
    }
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {} (0x{:x})", self.offset, self.offset)?;
        if let Some(stage) = &self.stage {
            write!(f, ", stage {} '{}'", stage.index, stage.name)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for BlobError {}

/// A graph file that could not be read, or whose contents are not a graph; names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file was read but is malformed or unsupported.
    #[error("{}: {source}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: BlobError,
    },
}
