//! A graph file, parsed once: the [`Blob`] every consumer reads, and the file's exact bytes for
//! the consumers that send it (a stick, an NCSDK library).
//!
//! The weights are held once: the blob's data section *is* the file's tail (the buffer read
//! from disk is reused), and only the header and stage table — a few KiB — are kept beside it,
//! so `table ++ blob.data` are the file's bytes.

use std::path::{Path, PathBuf};

use super::error::{BlobError, ReadError};
use super::parse::{check_file_len, parse_in_place};
use super::validate::validate;
use super::write::write_table;
use super::Blob;

/// A validated graph and the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphFile {
    blob: Blob,
    /// Every byte before the data section, as in the file.
    table: Vec<u8>,
    path: Option<PathBuf>,
}

impl GraphFile {
    /// Reads and parses a graph file; errors name the file.
    pub fn read(path: &Path) -> Result<GraphFile, ReadError> {
        // Refuse from the size alone a file no graph can be, before allocating for it.
        let io = |source| ReadError::Io { path: path.to_owned(), source };
        let malformed = |source| ReadError::Malformed { path: path.to_owned(), source };
        check_file_len(std::fs::metadata(path).map_err(io)?.len()).map_err(malformed)?;
        let bytes = crate::files::read_at_most(path, super::layout::MAX_FILE_LEN as u64).map_err(io)?;
        let mut file = GraphFile::parse(bytes).map_err(malformed)?;
        file.path = Some(path.to_owned());
        Ok(file)
    }

    /// Parses and validates graph bytes, reusing the buffer for the blob's data section.
    pub fn parse(bytes: Vec<u8>) -> Result<GraphFile, BlobError> {
        let (blob, table) = parse_in_place(bytes)?;
        Ok(GraphFile { blob, table, path: None })
    }

    /// Validates a blob built in memory; its bytes are what [`super::write`] makes of it.
    pub fn from_blob(blob: Blob) -> Result<GraphFile, BlobError> {
        validate(&blob)?;
        let table = write_table(&blob)?;
        Ok(GraphFile { blob, table, path: None })
    }

    /// The parsed graph.
    pub fn blob(&self) -> &Blob {
        &self.blob
    }

    /// The parsed graph, without the bytes.
    pub fn into_blob(self) -> Blob {
        self.blob
    }

    /// The file it was read from, if any (for messages).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Size of the file in bytes.
    pub fn byte_len(&self) -> usize {
        self.table.len() + self.blob.data.len()
    }

    /// The file's bytes, exactly as given (a fresh copy: the weights are not kept twice).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.byte_len());
        bytes.extend_from_slice(&self.table);
        bytes.extend_from_slice(&self.blob.data);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_the_input_and_blob_equals_a_plain_parse() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/graphs/inception_block.graph")).unwrap();
        let file = GraphFile::parse(bytes.clone()).unwrap();
        assert_eq!(file.to_bytes(), bytes);
        assert_eq!(file.byte_len(), bytes.len());
        assert_eq!(file.blob(), &super::super::parse(&bytes).unwrap());
        assert_eq!(GraphFile::from_blob(file.blob().clone()).unwrap().to_bytes(), bytes);
    }

    #[test]
    fn errors_name_the_file_and_the_offset() {
        let dir = std::env::temp_dir().join(format!("ncs-graph-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("short.graph");
        std::fs::write(&path, [0u8; 100]).unwrap();
        let err = GraphFile::read(&path).unwrap_err();
        assert!(matches!(&err, ReadError::Malformed { source, .. } if source.offset == 100), "{err:?}");
        assert!(err.to_string().starts_with(&path.display().to_string()), "{err}");
        let missing = GraphFile::read(&dir.join("missing.graph")).unwrap_err();
        assert!(matches!(missing, ReadError::Io { .. }));
    }
}
