//! What the driver hands a micro-kernel: raw pointers, prepared by safe code that has checked
//! every one of them against its slice. The contract each ISA's `tile` relies on
//! is written here once.

use crate::reference::ops::elementwise::Activation;

/// Most rows any micro-kernel's tile has.
pub(crate) const MAX_MR: usize = 8;
/// Most columns any micro-kernel's tile has.
pub(crate) const MAX_NR: usize = 32;

/// One run of the reduction: `len` consecutive values read from each tile row's pointer (one
/// convolution tap's channels, or a stretch of a matrix row). Rows past the tile's valid ones
/// repeat a valid pointer; their results are never stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    /// Values per row.
    pub len: usize,
    /// Start of each row's run; each points at `len` readable values.
    pub rows: [*const f32; MAX_MR],
}

/// What follows the last reduction block, in the kernel's registers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Clamp {
    /// Nothing.
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), cap).
    ReluX(f32),
    /// x < 0 ? slope·x : x.
    Leaky(f32),
}

impl Clamp {
    /// The part of `activation` done in registers, and ELU's alpha, which is done after the
    /// store (it needs an exponential).
    pub(crate) fn of(activation: Activation) -> (Clamp, Option<f32>) {
        match activation {
            Activation::None => (Clamp::None, None),
            Activation::Relu => (Clamp::Relu, None),
            Activation::ReluX(cap) => (Clamp::ReluX(cap), None),
            Activation::LeakyRelu(slope) => (Clamp::Leaky(slope), None),
            Activation::Elu(alpha) => (Clamp::None, Some(alpha)),
        }
    }
}

/// The fused epilogue of the last reduction block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finish {
    /// `nr` bias values to add, or null.
    pub bias: *const f32,
    /// The activation done in registers.
    pub clamp: Clamp,
    /// Round to fp16 before storing (kernels with a vector fp16 conversion only; see
    /// `Isa::rounds_in_kernel`).
    pub round: bool,
}

/// One `mr × nr` tile, or its first rows and columns (see `micro::tile`).
///
/// Contract: `b` points at Σ`segments.len` × `nr` readable values (the k-block of one packed
/// panel); `c[r]` for each row r the kernel is asked for points at the writable values of
/// the columns it computes (`nr`, or a multiple of the family's column step), rows not
/// overlapping; when `accumulate` is set those values are the partial sums of earlier blocks
/// and are added to.
#[derive(Debug)]
pub(crate) struct TileJob<'a> {
    /// Reduction runs, in k order.
    pub segments: &'a [Segment],
    /// Packed right-hand panel, at this block's first k.
    pub b: *const f32,
    /// Output row pointers.
    pub c: [*mut f32; MAX_MR],
    /// Add to what `c` holds instead of overwriting it.
    pub accumulate: bool,
    /// Present on the last block only.
    pub finish: Option<Finish>,
    /// Values to bring into the cache while the tile runs, one 64-byte line per reduction
    /// step from its start, as far as the steps reach (a hint: kernels may ignore it).
    pub prefetch: &'a [f32],
}

/// `$kernel::<R, 2>($job)` when `$wide`, else `$kernel::<R, 1>($job)`, for the tile's `$rows`
/// = R among the listed row counts: each family's table of its const-generic tile kernels (R
/// rows, one or two column vectors), so that an edge tile costs what it computes.
macro_rules! by_shape {
    ($kernel:ident($job:expr), $rows:expr, $wide:expr, [$($r:literal),+]) => {
        match ($rows, $wide) {
            $(
                ($r, true) => $kernel::<$r, 2>($job),
                ($r, false) => $kernel::<$r, 1>($job),
            )+
            (rows, _) => unreachable!("a tile of {rows} rows"),
        }
    };
}
pub(crate) use by_shape;

/// Finishes the first R rows of a tile from its accumulators: `$finish!(job, acc, row, half,
/// zero)` for each listed row below `$rows` (R) and each of its `$halves` (H) column vectors,
/// every accumulator by constant index so that they stay in registers through the kernel's
/// loop (a loop here would make the compiler keep them in memory, stored on every step).
macro_rules! finish_rows {
    ($finish:ident($job:expr, $acc:ident, $zero:expr), $rows:expr, $halves:expr, [$($r:literal),+]) => {
        $(
            if $rows > $r {
                $finish!($job, $acc[2 * $r], $r, 0, $zero);
                if $halves > 1 {
                    $finish!($job, $acc[2 * $r + 1], $r, 1, $zero);
                }
            }
        )+
    };
}
pub(crate) use finish_rows;
