//! The stick's number format in one place: IEEE binary16, stored little-endian.
//!
//! Weights in a graph file, tensors sent to and read from a stick, `.npy` `<f2` data and the
//! CPU reference's fp16 storage all go through these functions. Conversion uses `half`'s slice
//! routines (F16C / NEON where the CPU has them) — except [`round`], whose whole vectors go
//! through the CPU reference's kernel module (the crate's one place for `unsafe` SIMD); byte order uses `byteorder`'s bulk readers
//! and writers. Work is done in fixed blocks on the stack, so no call allocates more than its
//! result.

use byteorder::{ByteOrder, LittleEndian};
use half::f16;
use half::slice::HalfFloatSliceExt;

/// Values converted per block: large enough to amortise the call, small enough for the stack.
const BLOCK: usize = 1024;

/// Decodes little-endian fp16 bytes to f32 (a trailing odd byte is ignored).
pub fn decode(bytes: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; bytes.len() / 2];
    decode_into(&bytes[..out.len() * 2], &mut out);
    out
}

/// Decodes `2·out.len()` little-endian fp16 bytes into `out`.
///
/// # Panics
/// If `bytes` is not exactly twice as long as `out` (a caller's sizing bug, not bad input).
pub fn decode_into(bytes: &[u8], out: &mut [f32]) {
    assert_eq!(bytes.len(), out.len() * 2, "fp16::decode_into: byte and value counts disagree");
    let mut bits = [0u16; BLOCK];
    for (dst, src) in out.chunks_mut(BLOCK).zip(bytes.chunks(2 * BLOCK)) {
        let bits = &mut bits[..dst.len()];
        LittleEndian::read_u16_into(src, bits);
        halves_of(bits).convert_to_f32_slice(dst);
    }
}

/// Encodes f32 values as little-endian fp16 bytes, rounding to nearest even (as numpy's
/// `astype(float16)` and the toolkit do).
pub fn encode(values: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; values.len() * 2];
    encode_into(values, &mut out);
    out
}

/// Encodes `values` into `out` (exactly two bytes per value).
///
/// # Panics
/// If `out` is not exactly twice as long as `values`.
pub fn encode_into(values: &[f32], out: &mut [u8]) {
    assert_eq!(out.len(), values.len() * 2, "fp16::encode_into: byte and value counts disagree");
    let mut halves = [f16::ZERO; BLOCK];
    let mut bits = [0u16; BLOCK];
    for (src, dst) in values.chunks(BLOCK).zip(out.chunks_mut(2 * BLOCK)) {
        let halves = &mut halves[..src.len()];
        halves.convert_from_f32_slice(src);
        let bits = &mut bits[..src.len()];
        bits.iter_mut().zip(halves.iter()).for_each(|(b, h)| *b = h.to_bits());
        LittleEndian::write_u16_into(bits, dst);
    }
}

/// Rounds every value to the nearest fp16 (ties to even), in place: what storing a value on
/// the stick and reading it back does.
pub fn round(values: &mut [f32]) {
    // Whole vectors with the CPU's own conversions (one instruction pair per 8 or 16 values;
    // `half` makes a call per 8 behind a feature check), the rest here.
    let rest = crate::reference::kernels::round_fp16_prefix(values);
    if rest.len() <= 16 {
        // Often so (whole vectors of channels, or a vector's tail): one by one, without the
        // buffer below and its memset per call.
        rest.iter_mut().for_each(|v| *v = round_one(*v));
        return;
    }
    let mut halves = [f16::ZERO; BLOCK];
    for chunk in rest.chunks_mut(BLOCK) {
        let h = &mut halves[..chunk.len()];
        h.convert_from_f32_slice(chunk);
        h.convert_to_f32_slice(chunk);
    }
}

/// One value rounded to fp16 and back.
pub fn round_one(value: f32) -> f32 {
    f16::from_f32(value).to_f32()
}

/// fp16 values from little-endian bytes (a trailing odd byte is ignored).
pub fn halves_from_bytes(bytes: &[u8]) -> Vec<f16> {
    let mut bits = vec![0u16; bytes.len() / 2];
    LittleEndian::read_u16_into(&bytes[..bits.len() * 2], &mut bits);
    bits.into_iter().map(f16::from_bits).collect()
}

/// fp16 values as little-endian bytes.
pub fn halves_to_bytes(values: &[f16]) -> Vec<u8> {
    let bits: Vec<u16> = values.iter().map(|h| h.to_bits()).collect();
    let mut out = vec![0u8; bits.len() * 2];
    LittleEndian::write_u16_into(&bits, &mut out);
    out
}

/// f32 values rounded to fp16.
pub fn halves_from_f32(values: &[f32]) -> Vec<f16> {
    let mut out = vec![f16::ZERO; values.len()];
    out.convert_from_f32_slice(values);
    out
}

/// fp16 values widened to f32.
pub fn halves_to_f32(values: &[f16]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    values.convert_to_f32_slice(&mut out);
    out
}

fn halves_of(bits: &[u16]) -> &[f16] {
    use half::slice::HalfBitsSliceExt;
    bits.reinterpret_cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_through_every_path() {
        let values = [0.0f32, -0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 65504.0, 6.0e-8, f32::INFINITY];
        let bytes = encode(&values);
        assert_eq!(bytes.len(), 2 * values.len());
        // 1.0 is 0x3c00, stored little-endian.
        assert_eq!(&bytes[4..6], &[0x00, 0x3c]);
        let decoded = decode(&bytes);
        for (d, v) in decoded.iter().zip(values) {
            assert_eq!(d.to_bits(), round_one(v).to_bits(), "{v}");
        }
        assert_eq!(halves_to_bytes(&halves_from_bytes(&bytes)), bytes);
        assert_eq!(halves_to_f32(&halves_from_f32(&values)), decoded);
        let mut rounded = values;
        round(&mut rounded);
        assert_eq!(rounded.to_vec(), decoded);
    }

    #[test]
    fn blocks_and_odd_lengths_are_handled() {
        let values: Vec<f32> = (0..2 * BLOCK + 7).map(|i| i as f32 * 0.37 - 300.0).collect();
        let decoded = decode(&encode(&values));
        assert!(decoded.iter().zip(&values).all(|(d, v)| *d == round_one(*v)));
        let mut odd = encode(&[0.5]);
        odd.push(0xff);
        assert_eq!(decode(&odd), vec![0.5]);
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        // 2049 lies halfway between the fp16 neighbours 2048 and 2050: ties go to 2048 (even).
        assert_eq!(round_one(2049.0), 2048.0);
        assert_eq!(round_one(2051.0), 2052.0);
    }
}
