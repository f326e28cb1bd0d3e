//! Hostile inputs: truncations, bit flips, extreme field values, stage-count overflow and
//! pointers past the end never panic, never allocate beyond a bound set by the file's own size,
//! and whatever is accepted still re-writes byte for byte.
//!
//! This binary holds a single test because it caps the process-wide allocator while parsing.

mod common;

use std::alloc::System;
use std::panic::{catch_unwind, AssertUnwindSafe};

use cap::Cap;
use ncs::blob::{self, layout};

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Parses under an allocation cap of 3× the input plus 64 KiB (records decode to ~1.3× their
/// bytes, the data section is one copy); exceeding it aborts the test process.
fn parse_bounded(bytes: &[u8], what: &str) -> Result<blob::Blob, blob::BlobError> {
    let budget = ALLOCATOR.allocated() + 3 * bytes.len() + (64 << 10);
    ALLOCATOR.set_limit(budget).expect("limit above current use");
    let result = catch_unwind(AssertUnwindSafe(|| blob::parse(bytes)));
    ALLOCATOR.set_limit(usize::MAX).unwrap();
    let parsed = result.unwrap_or_else(|_| panic!("parse panicked on {what}"));
    if let Ok(b) = &parsed {
        let written = blob::write(b).unwrap_or_else(|e| panic!("{what}: accepted but not writable: {e}"));
        assert!(written == bytes, "{what}: accepted but does not re-write identically");
    }
    parsed
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = ["conv8.graph", "conv_deconv.graph", "kwierman_fc.graph", "ncs_test.graph"]
        .iter()
        .map(|f| (f.to_string(), common::shared_graph(f)))
        .collect();
    for sample in ncs::graph::samples::SAMPLES {
        let bytes = blob::write(&(sample.build)().unwrap()).unwrap();
        seeds.push((sample.file.to_string(), bytes));
    }
    seeds
}

#[test]
fn hostile_blobs_are_rejected_cleanly() {
    let mut total = 0usize;
    let mut check = |bytes: &[u8], what: String| {
        total += 1;
        parse_bounded(bytes, &what).is_ok()
    };
    let must_reject = |accepted: bool, what: &str| assert!(!accepted, "{what} was accepted");
    for (name, original) in seeds() {
        assert!(parse_bounded(&original, &name).is_ok(), "{name} must parse unmodified");
        let len = original.len();
        let table_end = layout::data_offset(blob::parse(&original).unwrap().stages.len());

        // Truncations, raw and with the size field patched so parsing goes deeper.
        for cut in (0..len).step_by((len / 512).max(1)) {
            let what = format!("{name} truncated to {cut}");
            must_reject(check(&original[..cut], what.clone()), &what);
            if cut >= layout::header::FILE_SIZE + 4 {
                let mut patched = original[..cut].to_vec();
                put_u32(&mut patched, layout::header::FILE_SIZE, cut as u32);
                check(&patched, format!("{name} truncated to {cut} with size patched"));
            }
        }
        // Every bit of the header and stage table.
        for byte in 0..table_end {
            for bit in 0..8 {
                let mut flipped = original.clone();
                flipped[byte] ^= 1 << bit;
                let what = format!("{name} bit {bit} of byte {byte} flipped");
                let accepted = check(&flipped, what.clone());
                // Reserved bytes, size, version, stage count and data offset admit no change.
                if byte < layout::header::NAME
                    || (layout::header::STAGE_COUNT..layout::header::FIRST_SHAVE).contains(&byte)
                {
                    must_reject(accepted, &what);
                }
            }
        }
        // Extreme values in every u32-aligned field position of every record.
        let stages = (table_end - layout::HEADER_LEN) / layout::RECORD_LEN;
        for stage in 0..stages {
            let base = layout::HEADER_LEN + stage * layout::RECORD_LEN;
            for field in (101..217).step_by(2) {
                for value in [0, 1, 0x7fff_ffff, 0xffff_ffff, len as u32, (len as u32) << 8] {
                    let mut hostile = original.clone();
                    put_u32(&mut hostile, base + field, value);
                    let _ = check(&hostile, format!("{name} stage {stage} field +{field} = {value:#x}"));
                }
            }
        }
        // Stage counts that overflow the file or the host's u16 view.
        for count in [0, stages as u32 + 1, 0xffff, 0x1_0000 + stages as u32, u32::MAX] {
            let mut hostile = original.clone();
            put_u32(&mut hostile, layout::header::STAGE_COUNT, count);
            let what = format!("{name} stage count {count}");
            must_reject(check(&hostile, what.clone()), &what);
        }
        // A huge size field over a short file.
        let mut hostile = original.clone();
        put_u32(&mut hostile, layout::header::FILE_SIZE, u32::MAX);
        must_reject(check(&hostile, format!("{name} size field u32::MAX")), "size field u32::MAX");
        // Every pointer of every stage moved past the end of its arena.
        for stage in 0..stages {
            let base = layout::HEADER_LEN + stage * layout::RECORD_LEN;
            for slot in [187, 193, 199, 205, 211] {
                let index = u16::from_le_bytes([original[base + slot + 4], original[base + slot + 5]]);
                if index == 0 {
                    continue;
                }
                let mut hostile = original.clone();
                put_u32(&mut hostile, base + slot, 0x7fff_0000);
                let what = format!("{name} stage {stage} pointer +{slot} past the end");
                must_reject(check(&hostile, what.clone()), &what);
            }
        }
    }
    assert!(total > 10_000, "mutation count {total} is too small to mean much");
}
