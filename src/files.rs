//! Reading input files with a size limit. A size check on `metadata()` alone is not enough:
//! `/dev/zero`, FIFOs and `/proc` files report length 0 and then never end, so the read itself
//! stops one byte past the limit.

use std::io::{self, Read};
use std::path::Path;

/// The whole of `path`, or an [`io::ErrorKind::InvalidData`] error saying the limit
/// when the file holds more than `max` bytes.
pub fn read_at_most(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("larger than the {max} bytes ncs reads")));
    }
    Ok(bytes)
}

/// As [`read_at_most`], as UTF-8 text.
pub fn read_text_at_most(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_at_most(path, max)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_stops_one_byte_past_the_limit() {
        let err = read_at_most(Path::new("/dev/zero"), 1000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("1000 bytes"), "{err}");
        let dir = std::env::temp_dir().join(format!("ncs-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ten");
        std::fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(read_at_most(&path, 10).unwrap(), [7u8; 10]);
        assert!(read_at_most(&path, 9).is_err());
    }
}
