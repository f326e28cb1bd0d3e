//! NumPy `.npy` files: read float32/float16/float64/uint8 C-order arrays, write float32.
//!
//! Enough of the format (versions 1–3) for tensors moving between `ncs`, NumPy and TensorFlow.
//! Reading is bounded by the file: the header's shape must account for exactly the bytes that
//! follow it.

use std::path::Path;

use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A decoded array: its shape and values as f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub values: Vec<f32>,
}

/// Largest `.npy` file read: 64 Mi float64 values (the largest operand ncs accepts) and a header.
pub const MAX_FILE_BYTES: u64 = (64 << 20) * 8 + (1 << 16);

/// Reads an array from a file; errors name the file.
pub fn read(path: &Path) -> Result<Array> {
    let bytes = crate::files::read_at_most(path, MAX_FILE_BYTES)
        .map_err(|source| Error::Io { path: path.to_owned(), source })?;
    parse(&bytes).map_err(|message| Error::Input { path: Some(path.to_owned()), message })
}

/// Decodes `.npy` bytes.
pub fn parse(bytes: &[u8]) -> std::result::Result<Array, String> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err("not a .npy file (missing \\x93NUMPY magic)".into());
    }
    let (header_len, header_start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or("header runs past the end of the file")?;
    let header = std::str::from_utf8(&bytes[header_start..data_start]).map_err(|_| "header is not text")?;
    let descr = field(header, "descr").ok_or("header has no 'descr'")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if field(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("Fortran-order arrays are not supported; save with np.ascontiguousarray".into());
    }
    let shape = parse_shape(header)?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or("shape overflows")?;
    let data = &bytes[data_start..];
    let width = match descr {
        "<f4" | "<f2" | "<f8" | "|u1" | "u1" | "<u1" => descr_width(descr),
        other => return Err(format!("dtype {other} is not supported (use float32, float16, float64 or uint8)")),
    };
    if count.checked_mul(width) != Some(data.len()) {
        return Err(format!(
            "shape {shape:?} of {descr} needs {} data bytes, the file has {}",
            count.saturating_mul(width),
            data.len()
        ));
    }
    let values = match descr {
        "<f4" => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        "<f2" => crate::fp16::decode(data),
        "<f8" => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect(),
        _ => data.iter().map(|&b| f32::from(b)).collect(),
    };
    Ok(Array { shape, values })
}

fn descr_width(descr: &str) -> usize {
    match descr {
        "<f4" => 4,
        "<f2" => 2,
        "<f8" => 8,
        _ => 1,
    }
}

/// The text after `'key':` up to the next top-level comma or brace.
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = header[at + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn parse_shape(header: &str) -> std::result::Result<Vec<usize>, String> {
    let at = header.find("'shape'").ok_or("header has no 'shape'")?;
    let rest = &header[at..];
    let open = rest.find('(').ok_or("malformed shape")?;
    // The first ')' after the '(' (one before it is not this tuple's).
    let close = rest[open..].find(')').map(|c| open + c).ok_or("malformed shape")?;
    rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| format!("bad dimension '{s}' in shape")))
        .collect()
}

/// Encodes a float32 array.
pub fn encode_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad so the data starts on a 64-byte boundary, header ending in '\n'.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + values.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out
}

/// Writes a float32 array; errors name the file.
pub fn write_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    std::fs::write(path, encode_f32(shape, values)).map_err(|source| Error::Io { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closing_parenthesis_before_the_shape_tuple_is_an_error() {
        // Found by the npy fuzz target (README, Fuzzing): `)` before `(` panicked slicing.
        let header = b"{'descr': '<f4', 'fortran_order': False, 'shape': )28(, }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header);
        assert_eq!(parse(&bytes).unwrap_err(), "malformed shape");
        // The fuzzer's own input (tests/data/fuzz_regressions/).
        let found = include_bytes!("../tests/data/fuzz_regressions/npy_paren_before_shape.npy");
        assert!(parse(found).is_err());
    }

    #[test]
    fn round_trips_and_reads_other_dtypes() {
        let values: Vec<f32> = (0..12).map(|v| v as f32 * 0.5).collect();
        let bytes = encode_f32(&[2, 3, 2], &values);
        assert_eq!((bytes.len() - values.len() * 4) % 64, 0);
        assert_eq!(parse(&bytes).unwrap(), Array { shape: vec![2, 3, 2], values: values.clone() });
        let one_d = encode_f32(&[4], &[1.0; 4]);
        assert_eq!(parse(&one_d).unwrap().shape, vec![4]);

        let mut u8s = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n";
        u8s.extend_from_slice(&(header.len() as u16).to_le_bytes());
        u8s.extend_from_slice(header.as_bytes());
        u8s.extend_from_slice(&[0, 128, 255]);
        assert_eq!(parse(&u8s).unwrap().values, vec![0.0, 128.0, 255.0]);
    }

    #[test]
    fn rejects_malformed_files_with_reasons() {
        assert!(parse(b"hello").unwrap_err().contains("magic"));
        let mut short = encode_f32(&[2, 2], &[1.0; 4]);
        short.truncate(short.len() - 1);
        assert!(parse(&short).unwrap_err().contains("needs 16 data bytes"));
        let huge = encode_f32(&[usize::MAX, 2], &[]);
        assert!(parse(&huge).is_err());
        let mut i8s = encode_f32(&[1], &[0.0]);
        let at = i8s.windows(3).position(|w| w == b"<f4").unwrap();
        i8s[at..at + 3].copy_from_slice(b"<i8");
        assert!(parse(&i8s).unwrap_err().contains("not supported"));
    }
}
