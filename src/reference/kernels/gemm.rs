//! The blocked matrix product `out = act(lhs · B + bias)` over packed weights, with the left-hand
//! rows read in place (a matrix's rows, or a convolution's input pixels: no im2col copy) and the
//! epilogue fused into the store. Safe code: every pointer handed to a micro-kernel is derived
//! here from a slice whose bounds were checked first.

use std::cell::RefCell;

use rayon::prelude::*;

use super::job::{Clamp, Finish, Segment, TileJob, MAX_MR, MAX_NR};
use super::{micro, Isa, PackedB};
use crate::reference::ops::elementwise::{bias_activation, Activation};

/// Reduction values per block. Measured per busy core on Inception V3's convolutions (AVX-512,
/// Zen 4, `cargo bench --bench gemm`, 2026-12-01): KC 128 → 84–86 GFLOP/s, 256 → 87, 384 → 90,
/// 512 → 90–91, 1024 → 92–93; again after the edge-tile kernels and the weight prefetch
/// (medians of 5 alternating runs of 9 passes, load ≈ 2.5–3.5): 512 → 89.9, 1024 → 91.9, the
/// 17×17 1×1 products 84.7 → 87.4 (768 channels in one block: no second pass over C) and the
/// 8×8 ones 81.8 → 84.0. The B block (KC × nr, 128 KiB here) streams from L2 well enough. The
/// segment tables stay as long as a block's taps need (`scratch_bytes` bounds them at ROW_TILES
/// × KC per thread; Inception's longest is 16 tiles × 9 taps).
const KC: usize = 1024;
/// Most row tiles per work item: the item's left-hand block (≤ 16·mr rows × KC) stays in L2.
const ROW_TILES: usize = 16;
/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MACS: usize = 1 << 16;

/// f32 values per 64-byte cache line.
const LINE: usize = 16;

/// What a padded tap reads (a segment is never longer than KC).
static ZEROS: [f32; KC] = [0.0; KC];

/// Where each im2col value of a convolution comes from: row p is output pixel p (row-major),
/// column (tap, channel) reads `input[oy·stride + i·dilation − pad][ox·stride + j·dilation − pad][c]`
/// (zero outside the input) for tap (i, j), in the weights' `[kh][kw][C]` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input `[rows, columns, channels]`, dense HWC.
    pub input: [usize; 3],
    /// Output `[rows, columns]`.
    pub output: [usize; 2],
    /// Kernel `[rows, columns]`.
    pub kernel: [usize; 2],
    /// Stride `[rows, columns]`.
    pub stride: [usize; 2],
    /// Padding before the first row / column.
    pub pad: [usize; 2],
    /// Spacing between taps.
    pub dilation: usize,
}

/// The left-hand matrix of a product (m × k).
#[derive(Debug, Clone, Copy)]
pub enum Lhs<'a> {
    /// `rows` rows of k values; row p starts at `p · stride` (a 1×1 convolution's input pixels).
    Rows {
        /// The values.
        data: &'a [f32],
        /// Row count m.
        rows: usize,
        /// Distance between row starts.
        stride: usize,
    },
    /// A convolution's im2col matrix, read from its dense HWC input in place.
    Conv {
        /// The input.
        input: &'a [f32],
        /// Its geometry (m = output pixels, k = kh·kw·C).
        geometry: ConvGeometry,
    },
}

/// Where the m × n result goes: row p (output pixel p) is n consecutive values at
/// `offset + (p / cols)·row_stride + (p % cols)·pixel_stride` — a dense matrix, or a channel
/// slice of an HWC buffer (a branch of a concatenation) written in place.
#[derive(Debug)]
pub struct Output<'a> {
    /// The buffer written.
    pub data: &'a mut [f32],
    /// Position of row 0.
    pub offset: usize,
    /// Pixels per image row.
    pub cols: usize,
    /// Distance between consecutive pixels of a row.
    pub pixel_stride: usize,
    /// Distance between image rows.
    pub row_stride: usize,
}

/// What happens to each result on its way out: bias (from the [`PackedB`]), activation, and
/// fp16 rounding of the stored value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epilogue {
    /// The activation after the bias.
    pub activation: Activation,
    /// Round every stored value to fp16 (the stick's storage).
    pub round_fp16: bool,
}

/// The left-hand matrix reduced to what the tiles need: `taps` runs of `channels` values per row.
struct Source<'a> {
    data: &'a [f32],
    taps: usize,
    channels: usize,
    conv: Option<ConvGeometry>,
    stride: usize,
}

impl Source<'_> {
    /// Row p's output position `[row, column]` (a matrix row is `[p, 0]`): one division per
    /// tile row, so the per-tap pointers below need none.
    fn position(&self, p: usize) -> [usize; 2] {
        match self.conv {
            Some(g) => [p / g.output[1], p % g.output[1]],
            None => [p, 0],
        }
    }

    /// Tap t as `[kernel row, kernel column]`.
    fn tap(&self, t: usize) -> [usize; 2] {
        match self.conv {
            Some(g) => [t / g.kernel[1], t % g.kernel[1]],
            None => [0, 0],
        }
    }

    /// Pointer to `len` values of the row at `position`, tap `tap`, from channel `c0` (the
    /// slice index checks the start; `gemm` checked that a whole tap's channels follow it).
    fn run(&self, position: [usize; 2], tap: [usize; 2], c0: usize) -> *const f32 {
        let Some(g) = self.conv else { return self.data[position[0] * self.stride + c0..].as_ptr() };
        let iy = (position[0] * g.stride[0] + tap[0] * g.dilation).checked_sub(g.pad[0]).filter(|&y| y < g.input[0]);
        let ix = (position[1] * g.stride[1] + tap[1] * g.dilation).checked_sub(g.pad[1]).filter(|&x| x < g.input[1]);
        match (iy, ix) {
            (Some(y), Some(x)) => self.data[(y * g.input[1] + x) * self.channels + c0..].as_ptr(),
            _ => ZEROS.as_ptr(),
        }
    }

    /// Where each row's window starts in `data` (`(y·W + x)·C`), when every row's whole window
    /// lies inside the input and the taps of a kernel row adjoin there (undilated): the tile's
    /// taps can then be read one kernel row at a time, with no per-tap padding checks.
    fn interior(&self, positions: &[[usize; 2]]) -> Option<[usize; MAX_MR]> {
        let g = self.conv.filter(|g| g.dilation == 1)?;
        let mut starts = [0; MAX_MR];
        for (start, &[oy, ox]) in starts.iter_mut().zip(positions) {
            let y = (oy * g.stride[0]).checked_sub(g.pad[0]).filter(|y| y + g.kernel[0] <= g.input[0])?;
            let x = (ox * g.stride[1]).checked_sub(g.pad[1]).filter(|x| x + g.kernel[1] <= g.input[1])?;
            *start = (y * g.input[1] + x) * self.channels;
        }
        Some(starts)
    }

    /// Appends a tile's segments for `block` when its rows' windows start at `starts` (see
    /// [`Source::interior`]): one per kernel row of the block's taps, which need whole taps.
    fn kernel_rows(&self, starts: &[usize], block: KBlock, segments: &mut Vec<Segment>) {
        let Some(g) = self.conv else { return };
        let end = block.first_tap + block.taps;
        let mut t = block.first_tap;
        while t < end {
            let [i, j] = self.tap(t);
            let taps = (g.kernel[1] - j).min(end - t);
            let offset = (i * g.input[1] + j) * self.channels;
            let mut seg = Segment { len: taps * self.channels, rows: [std::ptr::null(); MAX_MR] };
            for (row, &start) in seg.rows.iter_mut().zip(starts) {
                // In the input: the window's kernel row i, taps j.. of it, lies inside.
                *row = self.data[start + offset..][..seg.len].as_ptr();
            }
            segments.push(seg);
            t += taps;
        }
    }
}

/// One reduction block: `taps` consecutive taps from `first_tap`, channels `[c0, c0 + len)` of each.
#[derive(Debug, Clone, Copy)]
struct KBlock {
    first_tap: usize,
    taps: usize,
    c0: usize,
    len: usize,
}

impl KBlock {
    /// The first k of the block (B row).
    fn k0(&self, channels: usize) -> usize {
        self.first_tap * channels + self.c0
    }
}

/// Splits k = taps × channels into blocks of about KC: whole taps when a tap is short, else
/// equal channel chunks of one tap.
fn k_blocks(taps: usize, channels: usize) -> impl Iterator<Item = KBlock> {
    let chunks = channels.div_ceil(KC).max(1);
    let size = channels.div_ceil(chunks).max(1);
    let per_block = if channels >= KC { 1 } else { (KC / channels.max(1)).max(1) };
    let whole = channels < KC;
    let blocks = if whole { taps.div_ceil(per_block) } else { taps * chunks };
    (0..blocks).map(move |b| match whole {
        true => KBlock { first_tap: b * per_block, taps: per_block.min(taps - b * per_block), c0: 0, len: channels },
        false => {
            let c0 = (b % chunks) * size;
            KBlock { first_tap: b / chunks, taps: 1, c0, len: size.min(channels - c0) }
        }
    })
}

/// A raw output pointer shared by the work items, which write disjoint tiles.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: work items write disjoint rectangles (rows × panels) of rows that do not overlap
// (checked in `gemm`), so no two threads touch the same element.
unsafe impl Send for SharedOut {}
// SAFETY: as above.
unsafe impl Sync for SharedOut {}

thread_local! {
    /// Each thread's segment table, grown once and reused by every later product.
    static SEGMENTS: RefCell<Vec<Segment>> = const { RefCell::new(Vec::new()) };
}

/// Most heap bytes the products keep between calls: one segment table per thread that runs
/// them (the pool's and the caller's), each at most ROW_TILES row tiles × KC taps long.
pub fn scratch_bytes() -> usize {
    (rayon::current_num_threads() + 1) * ROW_TILES * KC * std::mem::size_of::<Segment>()
}

/// `out = act(lhs · b + bias)`, rounded to fp16 if asked, over both cores.
///
/// # Panics
/// If the operands' sizes disagree or a row would fall outside `out.data` (planner bugs, not
/// bad input: the planner checks every view first).
pub fn gemm(lhs: &Lhs<'_>, b: &PackedB, out: Output<'_>, epilogue: Epilogue) {
    product(lhs, b, out, epilogue, true);
}

/// [`gemm`] on the calling thread only: for callers that already split their work over the
/// pool (one small product per work item).
///
/// # Panics
/// As [`gemm`].
pub fn gemm_serial(lhs: &Lhs<'_>, b: &PackedB, out: Output<'_>, epilogue: Epilogue) {
    product(lhs, b, out, epilogue, false);
}

fn product(lhs: &Lhs<'_>, b: &PackedB, out: Output<'_>, epilogue: Epilogue, parallel: bool) {
    let isa = b.isa();
    assert!(isa.is_supported(), "gemm: this CPU cannot run {isa} kernels");
    let (source, m) = match *lhs {
        Lhs::Rows { data, rows, stride } => {
            assert!(rows == 0 || (rows - 1) * stride + b.k() <= data.len(), "gemm: rows exceed the data");
            (Source { data, taps: 1, channels: b.k(), conv: None, stride }, rows)
        }
        Lhs::Conv { input, geometry: g } => {
            let [h, w, c] = g.input;
            assert!(input.len() >= h * w * c, "gemm: input smaller than its geometry");
            assert_eq!(g.kernel[0] * g.kernel[1] * c, b.k(), "gemm: k differs from kh·kw·C");
            let source = Source { data: input, taps: g.kernel[0] * g.kernel[1], channels: c, conv: Some(g), stride: 0 };
            (source, g.output[0] * g.output[1])
        }
    };
    let n = b.n();
    if m == 0 || n == 0 {
        return;
    }
    let cols = out.cols.max(1);
    let image_rows = m.div_ceil(cols);
    let last = out.offset + (image_rows - 1) * out.row_stride + (cols.min(m) - 1) * out.pixel_stride + n;
    assert!(last <= out.data.len(), "gemm: output rows exceed the buffer");
    assert!(cols.min(m) == 1 || out.pixel_stride >= n, "gemm: output pixels overlap");
    assert!(image_rows == 1 || out.row_stride >= (cols - 1) * out.pixel_stride + n, "gemm: output rows overlap");

    let mr = isa.tile()[0];
    let tiles = m.div_ceil(mr);
    let threads = if !parallel || m * n * b.k() < PARALLEL_MACS { 1 } else { rayon::current_num_threads() };
    let split = Split::choose(tiles, b.panels(), threads, isa.tile());
    let shared = SharedOut(out.data.as_mut_ptr());
    let geometry = Placement { offset: out.offset, cols, pixel_stride: out.pixel_stride, row_stride: out.row_stride };
    let item = |index: usize| {
        let (chunk, group) = (index / split.groups, index % split.groups);
        let tiles = split.tiles_of(chunk);
        let rows = tiles.start * mr..m.min(tiles.end * mr);
        run_item(&source, b, rows, split.panels_of(group), shared, geometry, epilogue);
    };
    if threads == 1 || split.items() == 1 {
        (0..split.items()).for_each(item);
    } else {
        // One item per task, so an idle thread can take any item still waiting (rayon would
        // otherwise run a half of the range as one sequential task).
        (0..split.items()).into_par_iter().with_max_len(1).for_each(item);
    }
}

/// The work items of a product: `row_chunks` runs of row tiles (the tiles spread evenly, at
/// most ROW_TILES in a run so its left-hand block stays in L2) × `groups` runs of panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split {
    tiles: usize,
    row_chunks: usize,
    panels: usize,
    groups: usize,
    /// The kernel's tile `[rows, columns]`.
    tile: [usize; 2],
}

impl Split {
    /// The split whose items the threads finish soonest, counting tile × panel kernel calls.
    /// Items are taken by whichever thread is free, in an order we do not control, so the
    /// estimate is the pessimistic one (every thread's items as large as the largest), then
    /// fewer items. A fixed cut of 16 tiles gave 17×17 Inception layers (37 tiles × 6 panels)
    /// items of 48, 48, 48, 48, 15 and 15 calls, which two threads share evenly only if they
    /// happen to take them in the right order.
    fn choose(tiles: usize, panels: usize, threads: usize, tile: [usize; 2]) -> Split {
        let least = tiles.div_ceil(ROW_TILES).max(1);
        let plain = Split { tiles, row_chunks: least, panels, groups: 1, tile };
        if threads <= 1 {
            return plain;
        }
        // Rows that fit one chunk stay whole and the panels are cut, at least two groups per
        // thread where there are panels enough: with 64 rows (Inception's 8×8 layers) each
        // thread then reads only its part of the weights, and a thread that wakes late still
        // finds items left (two items, or cutting the rows, measured 5–20 % slower there).
        let (most_chunks, fewest_groups) =
            if least == 1 { (1, panels.min(2 * threads)) } else { (tiles.min(least + 2 * threads), 1) };
        let mut best = (usize::MAX, usize::MAX, usize::MAX);
        let mut chosen = plain;
        for groups in fewest_groups..=panels.min(4 * threads) {
            for row_chunks in least..=most_chunks {
                let split = Split { tiles, row_chunks, panels, groups, tile };
                let cost = split.cost(threads);
                if cost < best {
                    (best, chosen) = (cost, split);
                }
            }
        }
        chosen
    }

    fn items(&self) -> usize {
        self.row_chunks * self.groups
    }

    /// Row tiles of chunk `c`.
    fn tiles_of(&self, c: usize) -> std::ops::Range<usize> {
        c * self.tiles / self.row_chunks..(c + 1) * self.tiles / self.row_chunks
    }

    /// Panels of group `g`.
    fn panels_of(&self, g: usize) -> std::ops::Range<usize> {
        g * self.panels / self.groups..(g + 1) * self.panels / self.groups
    }

    /// What a split costs, compared in order: the longest share in kernel calls if every
    /// thread's items were the largest one; the values streamed per reduction step (each row
    /// chunk reads every panel of its groups, each panel group every row of its chunks); then
    /// fewer items.
    fn cost(&self, threads: usize) -> (usize, usize, usize) {
        let [mr, nr] = self.tile;
        let largest = self.tiles.div_ceil(self.row_chunks) * self.panels.div_ceil(self.groups);
        let streamed = self.row_chunks * self.panels * nr + self.groups * self.tiles * mr;
        (largest * self.items().div_ceil(threads), streamed, self.items())
    }
}

/// Output addressing, copied into each work item.
#[derive(Debug, Clone, Copy)]
struct Placement {
    offset: usize,
    cols: usize,
    pixel_stride: usize,
    row_stride: usize,
}

impl Placement {
    fn row(&self, p: usize) -> usize {
        self.offset + (p / self.cols) * self.row_stride + (p % self.cols) * self.pixel_stride
    }
}

/// Rows × panels of the product, all reduction blocks.
fn run_item(
    source: &Source<'_>,
    b: &PackedB,
    rows: std::ops::Range<usize>,
    panels: std::ops::Range<usize>,
    out: SharedOut,
    place: Placement,
    epilogue: Epilogue,
) {
    let isa = b.isa();
    let [mr, nr] = isa.tile();
    let n = b.n();
    let (clamp, elu) = Clamp::of(epilogue.activation);
    // Rounding happens after ELU, so with ELU (or without vector fp16 conversions) it is scalar.
    let round_in_kernel = epilogue.round_fp16 && isa.rounds_in_kernel() && elu.is_none();
    let scalar_after = elu.is_some() || (epilogue.round_fp16 && !round_in_kernel);
    let block_count = k_blocks(source.taps, source.channels).count();
    // Each tile's rows as output positions and as offsets into `out`, worked out once for
    // all blocks and panels (each takes a division).
    let mut positions = [[[0; 2]; MAX_MR]; ROW_TILES];
    let mut targets = [[0; MAX_MR]; ROW_TILES];
    for (tile, r0) in rows.clone().step_by(mr).enumerate() {
        let valid = mr.min(rows.end - r0);
        for r in 0..mr {
            positions[tile][r] = source.position(r0 + r.min(valid - 1));
            targets[tile][r] = place.row(r0 + r.min(valid - 1));
        }
    }
    SEGMENTS.with_borrow_mut(|segments| {
        for (index, block) in k_blocks(source.taps, source.channels).enumerate() {
            let (first, last) = (index == 0, index + 1 == block_count);
            segments.clear();
            // At most what this block needs (≤ ROW_TILES × KC), so `scratch_bytes` bounds it.
            segments.reserve_exact(rows.len().div_ceil(mr) * block.taps);
            // Segments of tile i: starts[i]..starts[i + 1].
            let mut starts = [0; ROW_TILES + 1];
            let whole = block.len == source.channels;
            for (tile, positions) in positions.iter().enumerate().take(rows.len().div_ceil(mr)) {
                match source.interior(&positions[..mr]).filter(|_| whole) {
                    Some(windows) => source.kernel_rows(&windows[..mr], block, segments),
                    None => {
                        for t in block.first_tap..block.first_tap + block.taps {
                            let tap = source.tap(t);
                            let mut seg = Segment { len: block.len, rows: [std::ptr::null(); MAX_MR] };
                            for (row, &position) in seg.rows.iter_mut().zip(positions).take(mr) {
                                *row = source.run(position, tap, block.c0);
                            }
                            segments.push(seg);
                        }
                    }
                }
                starts[tile + 1] = segments.len();
            }
            let (k0, steps) = (block.k0(source.channels), block.taps * block.len);
            let next = k_blocks(source.taps, source.channels).nth(index + 1);
            for j in panels.clone() {
                let panel = &b.panel(j)[k0 * nr..];
                // What the tiles of this panel bring into L2 for later (weights come from
                // memory once per inference): the next panel's block, after the last panel
                // the first panel's next block; each tile one cache line per reduction step.
                let ahead = match next {
                    _ if j + 1 < panels.end => &b.panel(j + 1)[k0 * nr..][..steps * nr],
                    Some(nb) => &b.panel(panels.start)[nb.k0(source.channels) * nr..][..nb.taps * nb.len * nr],
                    None => &[],
                };
                let bias = b.bias_panel(j).map_or(std::ptr::null(), <[f32]>::as_ptr);
                let finish = last.then_some(Finish { bias, clamp, round: round_in_kernel });
                let width = nr.min(n - j * nr);
                for (tile, r0) in rows.clone().step_by(mr).enumerate() {
                    let valid = mr.min(rows.end - r0);
                    let segs = &segments[starts[tile]..starts[tile + 1]];
                    let mut c = [std::ptr::null_mut(); MAX_MR];
                    for (slot, &target) in c.iter_mut().zip(&targets[tile]).take(valid) {
                        // SAFETY: target is row r0 + r < m, and `gemm` checked that every row's
                        // n values (from column j·nr, width ≤ n − j·nr) lie inside the buffer.
                        *slot = unsafe { out.0.add(target + j * nr) };
                    }
                    let prefetch = ahead.get(tile * steps * LINE..).unwrap_or_default();
                    let job = TileJob { segments: segs, b: panel.as_ptr(), c, accumulate: !first, finish, prefetch };
                    store_tile(isa, job, valid, width);
                    if last && scalar_after {
                        for &row in &c[..valid] {
                            // SAFETY: as above; this thread owns the tile.
                            let values = unsafe { std::slice::from_raw_parts_mut(row, width) };
                            if let Some(alpha) = elu {
                                bias_activation(values, width, None, Activation::Elu(alpha));
                            }
                            if epilogue.round_fp16 {
                                crate::fp16::round(values);
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Runs one tile's first `rows` rows and `cols` columns. The kernel computes only those rows,
/// and whole column steps (`Isa::column_step`): a tile whose width is not one goes through a
/// stack tile, so the kernel never writes past the item's columns.
fn store_tile(isa: Isa, mut job: TileJob<'_>, rows: usize, cols: usize) {
    let nr = isa.tile()[1];
    if cols % isa.column_step() == 0 {
        // SAFETY: every segment row points at `len` readable values (Source::run), the panel
        // has nr values per k of the block, and c holds `rows` rows of `cols` writable values
        // owned by this work item, `cols` a whole number of the kernel's column steps.
        unsafe { micro::tile(isa, &job, rows, cols) };
        return;
    }
    let mut tile = [0.0f32; MAX_MR * MAX_NR];
    let real = job.c;
    for (r, row) in tile.chunks_exact_mut(nr).take(rows).enumerate() {
        if job.accumulate {
            // SAFETY: real[r] points at this item's `cols` values of row r.
            row[..cols].copy_from_slice(unsafe { std::slice::from_raw_parts(real[r], cols) });
        }
        job.c[r] = row.as_mut_ptr();
    }
    // SAFETY: as above, with c now the stack tile's rows of nr values.
    unsafe { micro::tile(isa, &job, rows, cols) };
    for (r, row) in tile.chunks_exact(nr).take(rows).enumerate() {
        // SAFETY: real[r] points at this item's `cols` writable values of row r.
        unsafe { std::slice::from_raw_parts_mut(real[r], cols) }.copy_from_slice(&row[..cols]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_every_tile_and_panel_once_in_small_items() {
        for threads in 1..=4 {
            for tiles in 1..80 {
                for panels in 1..14 {
                    let split = Split::choose(tiles, panels, threads, [8, 32]);
                    let mut seen = vec![0u8; tiles * panels];
                    for i in 0..split.items() {
                        let rows = split.tiles_of(i / split.groups);
                        assert!(rows.len() <= ROW_TILES, "{tiles}×{panels}: {} tiles in an item", rows.len());
                        for t in rows {
                            for p in split.panels_of(i % split.groups) {
                                seen[t * panels + p] += 1;
                            }
                        }
                    }
                    assert!(seen.iter().all(|&v| v == 1), "{tiles}×{panels} on {threads} threads: {split:?}");
                }
            }
        }
    }

    #[test]
    fn inception_17x17_layers_split_within_a_tenth_of_even_over_two_threads() {
        // 289 rows = 37 tiles of 8; 192, 160 and 128 outputs = 6, 5 and 4 panels of 32. The
        // share is the pessimistic estimate (each thread's items as large as the largest).
        for panels in [6, 5, 4] {
            let split = Split::choose(37, panels, 2, [8, 32]);
            let even = 37 * panels / 2;
            assert!(split.cost(2).0 * 10 <= even * 11, "{panels} panels: {split:?}, cost {:?}", split.cost(2));
        }
    }

    #[test]
    fn inception_8x8_layers_split_their_panels_not_their_rows() {
        // 64 rows = 8 tiles; 192–448 outputs = 6–14 panels: each thread reads half the weights.
        for panels in [6, 10, 12, 14] {
            let split = Split::choose(8, panels, 2, [8, 32]);
            assert_eq!(split.row_chunks, 1, "{panels} panels: {split:?}");
            assert!(split.groups >= 4, "{panels} panels: {split:?}");
        }
    }
}
