//! Fuzzes the whole CPU path: parse → validate → plan → execute, through the public
//! `ncs::reference::Executor`. Any input either fails with an error or runs to an output of the
//! advertised length.
//!
//! The executor bounds every graph's work itself (`ncs::reference::Limits`); the fuzzer runs it
//! with limits far below the defaults so that each input costs milliseconds, not seconds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncs::reference::{Executor, Limits, Precision};

/// Values per operand, multiply-adds and value visits per inference.
const LIMITS: Limits = Limits { max_operand_elements: 1 << 20, max_macs: 1 << 24, max_visits: 1 << 24 };

fuzz_target!(|data: &[u8]| {
    let Ok(blob) = ncs::blob::parse(data) else { return };
    let Ok(mut exec) = Executor::with_limits(&blob, Precision::Fp16, &LIMITS) else { return };
    let len: usize = exec.input_shape().iter().map(|&d| d as usize).product();
    let input: Vec<f32> = (0..len).map(|i| (i % 17) as f32 / 8.0 - 1.0).collect();
    if let Ok(result) = exec.run(&input) {
        let [y, x, z] = exec.output_shape();
        assert_eq!(result.output.len(), (y * x * z) as usize, "output length differs from the advertised shape");
        assert_eq!(result.stage_times.len(), blob.stages.len());
    }
    assert!(exec.run(&input[..len.saturating_sub(1)]).is_err() || len == 0, "a short input was accepted");
});
