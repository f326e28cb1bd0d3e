//! How the non-GEMM stages spread their work over the cores and finish their values: the
//! output is cut into runs of whole rows (a row is whatever unit the operator computes
//! independently — an output image row, or one pixel), the runs go to the rayon pool that the
//! GEMM kernels also use (one pool per process, no thread started per stage), and each run gets
//! its bias, activation and fp16 rounding while it is still in cache.
//!
//! Splitting never changes a value: every row is computed by the same code in the same order
//! whichever thread runs it.

use std::ops::Range;

use rayon::prelude::*;

use super::elementwise::{bias_activation, Activation};

/// Element operations (about one multiply-add or comparison each) one task should at least
/// do: a rayon task costs a few microseconds to hand over, which this much work amortises.
const MIN_TASK_WORK: usize = 1 << 15;

/// Tasks per pool thread: more than one, so a core slowed by other processes on the machine
/// does not hold the whole stage back.
const TASKS_PER_THREAD: usize = 4;

/// What is done to stored values after the operator: bias per channel, activation, fp16
/// rounding (docs/numerics.md §1, §3 "Bias and activation"), in that order.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    /// One value per output channel, added first.
    pub bias: Option<&'a [f32]>,
    /// Applied after the bias.
    pub activation: Activation,
    /// Round each value to fp16 last (the stick's storage).
    pub round_fp16: bool,
}

impl Finish<'_> {
    /// Nothing: values stay as the operator computed them.
    pub const NONE: Finish<'static> = Finish { bias: None, activation: Activation::None, round_fp16: false };

    /// Finishes a run of whole pixels of `channels` values.
    pub fn apply(&self, values: &mut [f32], channels: usize) {
        if self.bias.is_some() || self.activation != Activation::None {
            bias_activation(values, channels, self.bias, self.activation);
        }
        if self.round_fp16 {
            crate::fp16::round(values);
        }
    }
}

/// Computes `out` in runs of whole rows of `row_len` values (each row a whole number of pixels
/// of `channels` values): `compute(rows, run)` fills the values of `rows`, then `finish` is
/// applied to the run. `work_per_row` estimates a row's element operations; a stage with
/// less than two tasks' worth runs on the calling thread.
pub fn for_rows<F>(out: &mut [f32], row_len: usize, work_per_row: usize, channels: usize, finish: &Finish, compute: F)
where
    F: Fn(Range<usize>, &mut [f32]) + Sync,
{
    if out.is_empty() || row_len == 0 {
        return;
    }
    debug_assert_eq!(out.len() % row_len, 0, "for_rows: output is not whole rows");
    let rows = out.len() / row_len;
    let run = |first: usize, values: &mut [f32]| {
        compute(first..first + values.len() / row_len, values);
        finish.apply(values, channels);
    };
    let work = work_per_row.max(row_len);
    let threads = rayon::current_num_threads();
    if threads < 2 || rows < 2 || rows.saturating_mul(work) < 2 * MIN_TASK_WORK {
        run(0, out);
        return;
    }
    let per_task = MIN_TASK_WORK.div_ceil(work).max(rows.div_ceil(threads * TASKS_PER_THREAD));
    out.par_chunks_mut(per_task * row_len).enumerate().for_each(|(task, values)| run(task * per_task, values));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_computed_once_and_finished_in_order() {
        for rows in [1, 2, 7, 1000, 4099] {
            let mut out = vec![0.0f32; rows * 3];
            let bias = [0.5f32, -10.0, 1.0 / 3.0];
            let finish = Finish { bias: Some(&bias), activation: Activation::Relu, round_fp16: true };
            // Heavy rows force the parallel split on any pool of two or more threads.
            for_rows(&mut out, 3, 1 << 14, 3, &finish, |range, values| {
                for (row, v) in range.zip(values.chunks_exact_mut(3)) {
                    v.fill(row as f32);
                }
            });
            for (row, v) in out.chunks_exact(3).enumerate() {
                let want = [row as f32 + 0.5, (row as f32 - 10.0).max(0.0), row as f32 + 1.0 / 3.0]
                    .map(crate::fp16::round_one);
                assert_eq!(v, want, "row {row} of {rows}");
            }
        }
    }
}
