//! Max and average pooling (ops 1, 2).

use super::rows::{for_rows, Finish};
use super::Shape;
use crate::reference::kernels::{vectorised, Isa};
use crate::window::Window;

/// What an average divides by when the window overlaps padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvgDivisor {
    /// TensorFlow: only the cells inside the input count (tfsame, tfvalid).
    ValidCells,
    /// Caffe: the window clipped to the padded input [−pad, len + pad) counts, padding included.
    PaddedWindow,
}

/// The pooling function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum over the cells inside the input (padding never wins).
    Max,
    /// Mean with the given divisor convention.
    Average(AvgDivisor),
}

/// Pools each channel independently, runs of output rows in parallel, each run finished
/// (activation, fp16 rounding) as it is done. Each value is accumulated in the same order as
/// the definition's loop — taps row by row, from 0 (average) or −∞ (max) — so the result does
/// not depend on the split. The loops are compiled for the CPU's widest vectors
/// ([`vectorised`]), channels side by side in registers (128 at a time with AVX-512).
pub fn pool2d(
    input: &[f32],
    in_shape: Shape,
    window: &Window,
    kind: PoolKind,
    out_shape: Shape,
    out: &mut [f32],
    finish: &Finish,
) {
    pool2d_with(Isa::best(), input, in_shape, window, kind, out_shape, out, finish);
}

/// [`pool2d`] compiled for `isa` (tests run every family the CPU has).
#[allow(clippy::too_many_arguments)]
fn pool2d_with(
    isa: Isa,
    input: &[f32],
    in_shape: Shape,
    window: &Window,
    kind: PoolKind,
    out_shape: Shape,
    out: &mut [f32],
    finish: &Finish,
) {
    let c = in_shape.channels;
    let row_len = out_shape.cols * c;
    let work = row_len * window.kernel[0] * window.kernel[1];
    for_rows(out, row_len, work, c, finish, |rows, values| {
        let layers = rows.map(|oy| Layer { input, s: in_shape, window, oy });
        let rows = layers.zip(values.chunks_exact_mut(row_len));
        // Channels in registers at once: 8 vectors of AVX-512 (of 32 registers), AVX2 (of 16)
        // or NEON (of 32); 8 SSE2 vectors for the portable build.
        match isa {
            Isa::Avx512 => vectorised(
                isa,
                #[inline(always)]
                || {
                    for (l, row) in rows {
                        pool_row_of::<128>(l, kind, row)
                    }
                },
            ),
            Isa::Avx2 | Isa::Neon => vectorised(
                isa,
                #[inline(always)]
                || {
                    for (l, row) in rows {
                        pool_row_of::<64>(l, kind, row)
                    }
                },
            ),
            Isa::Portable => rows.for_each(|(l, row)| pool_row_of::<32>(l, kind, row)),
        }
    });
}

/// One output row of `kind`, `B` channels at a time.
#[inline(always)]
fn pool_row_of<const B: usize>(l: Layer, kind: PoolKind, row: &mut [f32]) {
    match kind {
        PoolKind::Max => max_row::<B>(l, row),
        PoolKind::Average(divisor) => average_row::<B>(l, divisor, row),
    }
}

/// The input and the output row being computed.
#[derive(Clone, Copy)]
struct Layer<'a> {
    input: &'a [f32],
    s: Shape,
    window: &'a Window,
    oy: usize,
}

/// The input cells output pixel `ox`'s window covers (padding skipped, from
/// [`Window::taps_inside`], so no tap is tested against the border): `rows` × `cols` cells from
/// flat index `first`, `row_step` and `col_step` apart.
#[derive(Clone, Copy, Default)]
struct Cells {
    first: usize,
    rows: usize,
    cols: usize,
    row_step: usize,
    col_step: usize,
}

impl Cells {
    #[inline(always)]
    fn new(l: Layer, ox: usize) -> Self {
        let (s, w) = (l.s, l.window);
        let (rows, cols) = (w.taps_inside(0, l.oy, s.rows), w.taps_inside(1, ox, s.cols));
        let (line_len, d) = (s.cols * s.channels, w.dilation);
        let (row_step, col_step) = (d * line_len, d * s.channels);
        if rows.is_empty() || cols.is_empty() {
            return Cells { row_step, col_step, ..Cells::default() };
        }
        // Inside taps read at position·stride + tap·dilation ≥ pad, so the subtractions hold.
        let y = l.oy * w.stride[0] + rows.start * d - w.pad[0];
        let x = ox * w.stride[1] + cols.start * d - w.pad[1];
        Cells { first: y * line_len + x * s.channels, rows: rows.len(), cols: cols.len(), row_step, col_step }
    }

    /// True when the window covers no input cell.
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.rows == 0 || self.cols == 0
    }

    /// Calls `visit` with channels `[first, first + width)` of every covered cell, row by row.
    #[inline(always)]
    fn for_each<'i>(&self, input: &'i [f32], first: usize, width: usize, mut visit: impl FnMut(&'i [f32])) {
        let mut row = self.first + first;
        for _ in 0..self.rows {
            let mut at = row;
            for _ in 0..self.cols {
                visit(&input[at..at + width]);
                at += self.col_step;
            }
            row += self.row_step;
        }
    }
}

/// What one pooling computes per value: a fold `f` from `start` over the window's cells, stored
/// as `end(factor, fold)` with a factor worked out once per pixel.
#[derive(Clone, Copy)]
struct Fold<F, E> {
    start: f32,
    f: F,
    end: E,
}

/// Output pixels taken together: each one's window is worked out once, then every channel
/// block goes over all of them (a block's slice of the window rows stays in the L1 cache from
/// one pixel to the next).
const PIXELS: usize = 32;

/// The pixels of one run: their windows, factors and output values.
struct Run<'a> {
    input: &'a [f32],
    cells: &'a [Cells],
    factors: &'a [f32],
    values: &'a mut [f32],
    channels: usize,
}

impl Run<'_> {
    /// Folds channels `[first, first + N)` of every pixel, the partial results a value (so in
    /// registers, never a memory location updated in place).
    #[inline(always)]
    fn block<const N: usize, F, E>(&mut self, first: usize, fold: Fold<F, E>)
    where
        F: Fn(f32, f32) -> f32 + Copy,
        E: Fn(f32, f32) -> f32 + Copy,
    {
        let c = self.channels;
        for (i, (cells, &factor)) in self.cells.iter().zip(self.factors).enumerate() {
            let mut acc = [fold.start; N];
            cells.for_each(
                self.input,
                first,
                N,
                #[inline(always)]
                |cell| {
                    let cell: &[f32; N] = cell.try_into().expect("N values");
                    acc = std::array::from_fn(|k| (fold.f)(acc[k], cell[k]));
                },
            );
            let dst = &mut self.values[i * c + first..][..N];
            dst.iter_mut().zip(&acc).for_each(|(d, &a)| *d = (fold.end)(factor, a));
        }
    }

    /// Folds channels `[first, channels)` of every pixel in place (fewer than a vector).
    #[inline(always)]
    fn rest<F, E>(&mut self, first: usize, fold: Fold<F, E>)
    where
        F: Fn(f32, f32) -> f32 + Copy,
        E: Fn(f32, f32) -> f32 + Copy,
    {
        let c = self.channels;
        for (i, (cells, &factor)) in self.cells.iter().zip(self.factors).enumerate() {
            let dst = &mut self.values[i * c + first..(i + 1) * c];
            dst.fill(fold.start);
            cells.for_each(
                self.input,
                first,
                dst.len(),
                #[inline(always)]
                |cell| {
                    dst.iter_mut().zip(cell).for_each(|(a, &v)| *a = (fold.f)(*a, v));
                },
            );
            dst.iter_mut().for_each(|a| *a = (fold.end)(factor, *a));
        }
    }
}

/// One output row: for each run of [`PIXELS`] pixels, channel block by channel block (`B`
/// channels, then 64, 32, 16, then one at a time), each value folded by `fold` with the factor
/// `per_pixel(window cells, column)`.
#[inline(always)]
fn pool_row<const B: usize, F, E>(l: Layer, row: &mut [f32], fold: Fold<F, E>, per_pixel: impl Fn(&Cells, usize) -> f32)
where
    F: Fn(f32, f32) -> f32 + Copy,
    E: Fn(f32, f32) -> f32 + Copy,
{
    let c = l.s.channels;
    for (run, values) in row.chunks_mut(PIXELS * c).enumerate() {
        let n = values.len() / c;
        let (mut cells, mut factors) = ([Cells::default(); PIXELS], [0.0; PIXELS]);
        for (i, (cells, factor)) in cells[..n].iter_mut().zip(&mut factors).enumerate() {
            *cells = Cells::new(l, run * PIXELS + i);
            *factor = per_pixel(cells, run * PIXELS + i);
        }
        let mut run = Run { input: l.input, cells: &cells[..n], factors: &factors[..n], values, channels: c };
        let mut first = 0;
        while first + B <= c {
            run.block::<B, F, E>(first, fold);
            first += B;
        }
        if B > 64 && first + 64 <= c {
            run.block::<64, F, E>(first, fold);
            first += 64;
        }
        if B > 32 && first + 32 <= c {
            run.block::<32, F, E>(first, fold);
            first += 32;
        }
        if first + 16 <= c {
            run.block::<16, F, E>(first, fold);
            first += 16;
        }
        if first < c {
            run.rest(first, fold);
        }
    }
}

/// The larger of the running maximum `a` and `v`, keeping `a` when `v` is NaN (as `f32::max`
/// does; `a` starts at −∞ and so is never NaN). Written as a comparison so that it is one
/// vector instruction (`f32::max` also handles a NaN `a`, which costs two more).
#[inline(always)]
fn max(a: f32, v: f32) -> f32 {
    if v > a {
        v
    } else {
        a
    }
}

/// One output row of max pooling: the maximum over the cells inside the input (padding never
/// wins), starting from −∞; a window wholly in padding gives 0.
#[inline(always)]
fn max_row<const B: usize>(l: Layer, row: &mut [f32]) {
    // The factor says whether the window covers any cell.
    let covers = |cells: &Cells, _ox: usize| if cells.is_empty() { 0.0 } else { 1.0 };
    let end = |covers: f32, a: f32| if covers == 0.0 { 0.0 } else { a };
    pool_row::<B, _, _>(l, row, Fold { start: f32::NEG_INFINITY, f: max, end }, covers);
}

/// One output row of average pooling: the sum over the cells inside the input, from 0, times
/// 1/n with n by the divisor convention (0 when n is 0).
#[inline(always)]
fn average_row<const B: usize>(l: Layer, divisor: AvgDivisor, row: &mut [f32]) {
    let (s, w) = (l.s, l.window);
    let scale = |cells: &Cells, ox: usize| {
        let n = match divisor {
            AvgDivisor::ValidCells => cells.rows * cells.cols,
            AvgDivisor::PaddedWindow => w.padded_extent(0, l.oy, s.rows) * w.padded_extent(1, ox, s.cols),
        };
        if n == 0 {
            0.0
        } else {
            1.0 / n as f32
        }
    };
    let fold = Fold { start: 0.0, f: |a: f32, v: f32| a + v, end: |scale: f32, a: f32| a * scale };
    pool_row::<B, _, _>(l, row, fold, scale);
}

#[cfg(test)]
mod tests;
