//! The fixed 100-byte, NUL-padded name fields of header and records.

use std::borrow::Cow;
use std::fmt;

use super::layout::NAME_LEN;

/// A name field, kept byte for byte so a blob re-writes identically.
///
/// The toolkit NUL-pads short names and truncates long ones to exactly 100 bytes (then with no
/// terminator); both read back correctly here.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name([u8; NAME_LEN]);

impl Name {
    /// Builds a field from text, truncating to 100 bytes as the toolkit does.
    pub fn new(text: &str) -> Self {
        let mut bytes = [0u8; NAME_LEN];
        let len = text.len().min(NAME_LEN);
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        Name(bytes)
    }

    /// Wraps raw field bytes.
    pub fn from_bytes(bytes: [u8; NAME_LEN]) -> Self {
        Name(bytes)
    }

    /// The raw field.
    pub fn as_bytes(&self) -> &[u8; NAME_LEN] {
        &self.0
    }

    /// The text up to the first NUL, with invalid UTF-8 replaced.
    pub fn text(&self) -> Cow<'_, str> {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        String::from_utf8_lossy(&self.0[..end])
    }
}

impl Default for Name {
    fn default() -> Self {
        Name([0; NAME_LEN])
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_truncates_and_reads_back() {
        assert_eq!(Name::new("conv1/Relu").text(), "conv1/Relu");
        let long = "x".repeat(150);
        let name = Name::new(&long);
        assert_eq!(name.text().len(), NAME_LEN);
        assert!(name.as_bytes().iter().all(|&b| b == b'x'));
        assert_eq!(Name::default().text(), "");
    }
}
