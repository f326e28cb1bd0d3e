//! What can go wrong turning a TensorFlow graph into a graph file, and where.

use std::fmt;

/// The class of a compile failure (tests and callers match on it; the message says the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileErrorKind {
    /// The file is not a TensorFlow GraphDef (not protobuf, truncated, wrong messages).
    NotAGraph,
    /// The graph still has variables or other training-time state: freeze it first.
    NotFrozen,
    /// `--input` or `--output` names no node of the graph.
    UnknownNode,
    /// An op (or an op in this configuration) mvNCCompile's TensorFlow front end cannot lower.
    Unsupported,
    /// Shapes are unknown, dynamic, inconsistent, or have a batch other than 1.
    BadShape,
    /// A constant is malformed (claimed shape vs. contents, type, non-finite size).
    BadConstant,
    /// The network exceeds what the stick or the graph format can hold.
    Limit,
    /// Command-line options are inconsistent.
    BadOption,
}

/// A compile failure naming the node, its op, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The class of failure.
    pub kind: CompileErrorKind,
    /// The TensorFlow node concerned, if any.
    pub node: Option<String>,
    /// Its op type, if known.
    pub op: Option<String>,
    /// What is wrong, and what to do about it where there is something to do.
    pub message: String,
}

impl CompileError {
    /// A failure not tied to one node.
    pub fn new(kind: CompileErrorKind, message: impl Into<String>) -> Self {
        CompileError { kind, node: None, op: None, message: message.into() }
    }

    /// A failure at a node.
    pub fn at(kind: CompileErrorKind, node: &str, op: &str, message: impl Into<String>) -> Self {
        CompileError { kind, node: Some(node.to_owned()), op: Some(op.to_owned()), message: message.into() }
    }

    /// Attaches a node and op to an error that has none yet.
    pub fn or_at(mut self, node: &str, op: &str) -> Self {
        if self.node.is_none() {
            self.node = Some(node.to_owned());
            self.op = Some(op.to_owned());
        }
        self
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.node, &self.op) {
            (Some(node), Some(op)) => write!(f, "node '{node}' ({op}): {}", self.message),
            (Some(node), None) => write!(f, "node '{node}': {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for CompileError {}

/// The one conversion into the crate's error.
impl From<CompileError> for crate::Error {
    fn from(source: CompileError) -> Self {
        crate::Error::Compile { path: None, source }
    }
}

/// Shorthand for results of the compiler.
pub type CompileResult<T> = Result<T, CompileError>;
