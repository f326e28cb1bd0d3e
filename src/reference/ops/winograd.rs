//! Winograd convolution (docs/numerics.md §9) for 3×3, 5×5, 1×3, 3×1, 1×7 and 7×1 kernels
//! at stride 1: F(4×4, 3×3) computes a 4×4 tile of outputs with 36 multiplications per
//! input–output channel pair where the direct product needs 144; F(2×2, 5×5) a 2×2 tile with
//! 36 (100); F(4, 3) a 1×4 tile of a 1×3 kernel with 6 (12); F(3, 7) a 1×3 tile of a 1×7
//! kernel with 9 (21).
//!
//! Per tile: the input transform (Bᵀ d B, `kernels::winograd`) gives αy·αx rows of C values;
//! for each of the αy·αx positions one matrix product with the transformed weights
//! (G g Gᵀ, C × K, packed once at load) gives K values; the output transform (Aᵀ M A) turns
//! them into the tile's pixels, which get bias, activation and fp16 rounding and are stored
//! where the output view says. Tiles are processed a block at a time (the block's transformed
//! values stay in L2), and the pool's tasks take equal shares of the tiles (whole tile rows
//! when tiles are taller than one image row), each writing its own part of the output.

use std::cell::RefCell;

use super::rows::Finish;
use super::Shape;
use crate::reference::kernels::{
    self, gemm_serial, Clamp, Epilogue, Isa, Lhs, Output, PackedB, TileStore, WinogradAxis,
};
use crate::reference::ops::elementwise::Activation;
use crate::window::Window;

/// Most tiles transformed together: their values and products (αy·αx·(C + K) each) stay in
/// the core's L2 for Inception's layers.
const BLOCK_TILES: usize = 32;

/// Values (one 64-byte cache line) between consecutive matrices of a block's scratch.
const PLANE_GAP: usize = 16;

/// Most cells an input tile has (F(4×4, 3×3)'s 6×6).
const MAX_POSITIONS: usize = 36;

/// Weights transformed for one Winograd algorithm: αy·αx matrices of C × K, packed for the
/// kernels, and the bias kept apart (it is added to output pixels, not products).
#[derive(Debug, Clone)]
pub struct WinogradWeights {
    axes: [&'static WinogradAxis; 2],
    channels: usize,
    outputs: usize,
    products: Vec<PackedB>,
    bias: Option<Vec<f32>>,
}

impl WinogradWeights {
    /// The algorithm for a window, if it has one: 3×3, 1×3, 3×1 (F(4, 3) per 3-tap axis), 5×5
    /// (F(2, 5) on both axes), 1×7 or 7×1 (F(3, 7)), at stride 1 without dilation.
    pub fn axes_for(window: &Window) -> Option<[&'static WinogradAxis; 2]> {
        let plain = window.stride == [1, 1] && window.dilation == 1;
        let axes: [&'static WinogradAxis; 2] = match window.kernel {
            [3, 3] => [&kernels::F4_3, &kernels::F4_3],
            [5, 5] => [&kernels::F2_5, &kernels::F2_5],
            [1, 3] => [&kernels::F1_1, &kernels::F4_3],
            [3, 1] => [&kernels::F4_3, &kernels::F1_1],
            [1, 7] => [&kernels::F1_1, &kernels::F3_7],
            [7, 1] => [&kernels::F3_7, &kernels::F1_1],
            _ => return None,
        };
        plain.then_some(axes)
    }

    /// Transforms `[kh][kw][C][K]` weights (K = `outputs`) for `axes`: U(a, b) = G g Gᵀ per
    /// channel pair, in f64.
    ///
    /// # Panics
    /// If `axes` are not a pair [`Self::axes_for`] gives, `weights` holds fewer than r_y·r_x·C·K
    /// values or the bias fewer than K (planner bugs).
    pub fn new(
        axes: [&'static WinogradAxis; 2],
        weights: &[f32],
        channels: usize,
        outputs: usize,
        bias: Option<&[f32]>,
    ) -> Self {
        let ([ry, rx], [ay, ax]) = ([axes[0].r, axes[1].r], [axes[0].alpha, axes[1].alpha]);
        let pair = channels * outputs;
        assert!(kernels::has_transform(axes), "winograd: no transform for these axes (use `axes_for`)");
        assert!(weights.len() >= ry * rx * pair, "winograd: {} weights for {ry}×{rx}×{pair}", weights.len());
        let mut transformed = vec![0.0f32; pair];
        let products = (0..ay * ax)
            .map(|position| {
                let (a, b) = (position / ax, position % ax);
                for (index, value) in transformed.iter_mut().enumerate() {
                    let mut sum = 0.0f64;
                    for i in 0..ry {
                        for j in 0..rx {
                            let g = axes[0].filter[a * ry + i] * axes[1].filter[b * rx + j];
                            sum += g * f64::from(weights[(i * rx + j) * pair + index]);
                        }
                    }
                    *value = sum as f32;
                }
                PackedB::new(Isa::best(), channels, outputs, &transformed, None)
            })
            .collect();
        let bias = bias.map(|b| b[..outputs].to_vec());
        WinogradWeights { axes, channels, outputs, products, bias }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.products.iter().map(PackedB::heap_bytes).sum::<usize>()
            + self.bias.as_ref().map_or(0, |b| b.capacity() * std::mem::size_of::<f32>())
    }

    /// Most scratch bytes one thread keeps for this layer (a block's transformed tiles and
    /// products, its rows rounded up to whole micro-kernel tiles), grown once and reused.
    pub fn scratch_bytes(&self) -> usize {
        let positions = self.axes[0].alpha * self.axes[1].alpha;
        let rows = BLOCK_TILES + crate::reference::kernels::MAX_MR;
        let values = positions * (plane(rows, self.channels) + plane(rows, self.outputs));
        values * std::mem::size_of::<f32>()
    }
}

thread_local! {
    /// Each thread's transform buffers, grown once and reused by every later layer.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out = act(conv(input, weights) + bias)` (rounded to fp16 if asked) for a stride-1 window
/// with `window.pad` padding, stored at `target`, whose `cols` are the output's: pixel (y, x)
/// at `offset + y·row_stride + x·pixel_stride`.
///
/// # Panics
/// If the shapes disagree with the weights or the placement does not fit `out` (planner bugs).
pub fn conv2d_into(
    input: &[f32],
    in_shape: Shape,
    weights: &WinogradWeights,
    window: &Window,
    out_shape: Shape,
    target: Output<'_>,
    epilogue: Epilogue,
) {
    let w = weights;
    assert!(out_shape.rows <= 1 || target.cols == out_shape.cols, "winograd: output placed by image row");
    let Output { data: out, offset, pixel_stride, row_stride, .. } = target;
    let place = Placement { offset, pixel_stride, row_stride };
    let ([my, mx], k) = ([w.axes[0].m, w.axes[1].m], w.outputs);
    assert_eq!((in_shape.channels, out_shape.channels), (w.channels, k), "winograd: channels differ from the weights");
    assert!(input.len() >= in_shape.len(), "winograd: input smaller than its shape");
    if out_shape.is_empty() {
        return;
    }
    let (rows, cols) = (out_shape.rows, out_shape.cols);
    assert!(cols == 1 || place.pixel_stride >= k, "winograd: output pixels overlap");
    assert!(rows == 1 || place.row_stride >= (cols - 1) * place.pixel_stride + k, "winograd: output rows overlap");
    let end = place.offset + (rows - 1) * place.row_stride + (cols - 1) * place.pixel_stride + k;
    assert!(end <= out.len(), "winograd: output exceeds the buffer");
    let [tile_rows, tile_cols] = [rows.div_ceil(my), cols.div_ceil(mx)];
    let per_task = tiles_per_task(tile_rows, tile_cols, my, Isa::best().tile()[0], rayon::current_num_threads());
    // Bias and the clamping activations leave the output transform done; ELU and fp16
    // rounding follow on each stored row.
    let (clamp, elu) = Clamp::of(epilogue.activation);
    let bias = w.bias.as_deref();
    let after = elu.map_or(Activation::None, Activation::Elu);
    let finish = Finish { bias: None, activation: after, round_fp16: epilogue.round_fp16 };
    let tiles = tile_rows * tile_cols;
    let geometry = Geometry { input, in_shape, window, rows, cols, tile: [my, mx], tile_cols, place };
    let context = Tasks { geometry, weights: w, tiles, per_task, bias, clamp, finish };
    context.run(0, tiles.div_ceil(per_task), &mut out[place.offset..end]);
}

/// What the pool's tasks share: task t runs tiles `[t·per_task, (t + 1)·per_task)`.
struct Tasks<'a> {
    geometry: Geometry<'a>,
    weights: &'a WinogradWeights,
    tiles: usize,
    per_task: usize,
    bias: Option<&'a [f32]>,
    clamp: Clamp,
    finish: Finish<'a>,
}

impl Tasks<'_> {
    /// Runs tasks `[first, end)`, `dst` the output from task `first`'s first pixel on, halving
    /// the range over the pool. Each task owns the output up to the next task's first pixel:
    /// tiles are row-major and a task holds whole tile rows unless tiles are one image row
    /// high, so the parts are disjoint and in order.
    fn run(&self, first: usize, end: usize, dst: &mut [f32]) {
        if end - first > 1 {
            let middle = first + (end - first) / 2;
            let g = &self.geometry;
            let at = g.first_pixel(middle * self.per_task) - g.first_pixel(first * self.per_task);
            let (head, tail) = dst.split_at_mut(at);
            rayon::join(|| self.run(first, middle, head), || self.run(middle, end, tail));
            return;
        }
        let start = first * self.per_task;
        let tiles = start..self.tiles.min(start + self.per_task);
        let base = self.geometry.first_pixel(start);
        let (w, bias, clamp, finish) = (self.weights, self.bias, self.clamp, &self.finish);
        SCRATCH
            .with_borrow_mut(|scratch| run_task(&self.geometry, w, tiles, base, dst, (bias, clamp), finish, scratch));
    }
}

/// Tiles (row-major over the tile grid) per pool task. Tiles one image row high (1×3, 1×7)
/// are shared out equally in whole micro-kernel row tiles, wherever a share ends in a row;
/// taller ones go in groups of whole tile rows, so that each task's output is one chunk.
fn tiles_per_task(tile_rows: usize, tile_cols: usize, tile_height: usize, mr: usize, threads: usize) -> usize {
    let per_task = if tile_height == 1 {
        (tile_rows * tile_cols).div_ceil(threads.max(1)).next_multiple_of(mr)
    } else {
        tile_rows_per_task(tile_rows, tile_cols, mr, threads) * tile_cols
    };
    per_task.max(1)
}

/// Tile rows per pool task: fewest rounds of the pool times the padded rows of each task's
/// products (a tile row of 9 tiles fills 2 micro-kernel row tiles of 8; 5 tile rows, 45
/// tiles, fill 6).
fn tile_rows_per_task(tile_rows: usize, tile_cols: usize, mr: usize, threads: usize) -> usize {
    let cost = |group: usize| tile_rows.div_ceil(group).div_ceil(threads.max(1)) * padded_rows(group * tile_cols, mr);
    (1..=tile_rows.max(1)).min_by_key(|&g| (cost(g), usize::MAX - g)).unwrap_or(1)
}

/// Tiles per block of a task of `tiles`: as equal as whole micro-kernel row tiles allow, at
/// most about [`BLOCK_TILES`].
fn block_tiles(tiles: usize, mr: usize) -> usize {
    let blocks = tiles.div_ceil(BLOCK_TILES).max(1);
    tiles.div_ceil(blocks).next_multiple_of(mr)
}

/// Rows the products of a task of `tiles` run, each block's rounded up to whole micro-kernel
/// row tiles.
fn padded_rows(tiles: usize, mr: usize) -> usize {
    let block = block_tiles(tiles, mr);
    tiles / block * block + (tiles % block).next_multiple_of(mr)
}

/// Values from one position's matrix of `rows` rows of `width` to the next: one cache line more
/// than they take, so the αy·αx matrices a tile's transforms read or write across do not all
/// start in the same cache set (a block's matrices are often a multiple of 4 KiB).
fn plane(rows: usize, width: usize) -> usize {
    rows * width + PLANE_GAP
}

/// What every task reads: the input and where output pixels go.
struct Geometry<'a> {
    input: &'a [f32],
    in_shape: Shape,
    window: &'a Window,
    rows: usize,
    cols: usize,
    /// Output pixels per tile `[rows, columns]`.
    tile: [usize; 2],
    tile_cols: usize,
    place: Placement,
}

impl Geometry<'_> {
    /// Where `tile`'s first pixel lies, past the placement's offset.
    fn first_pixel(&self, tile: usize) -> usize {
        let (ty, tx) = (tile / self.tile_cols, tile % self.tile_cols);
        ty * self.tile[0] * self.place.row_stride + tx * self.tile[1] * self.place.pixel_stride
    }
}

/// An [`Output`]'s addressing by image row, shared by the tasks.
#[derive(Debug, Clone, Copy)]
struct Placement {
    offset: usize,
    pixel_stride: usize,
    row_stride: usize,
}

/// Tiles `tiles` (row-major over the tile grid), with `dst` the output from `base` past the
/// placement's offset (the first tile's first pixel).
#[allow(clippy::too_many_arguments)]
fn run_task(
    g: &Geometry<'_>,
    w: &WinogradWeights,
    tiles: std::ops::Range<usize>,
    base: usize,
    dst: &mut [f32],
    (bias, clamp): (Option<&[f32]>, Clamp),
    finish: &Finish<'_>,
    scratch: &mut Vec<f32>,
) {
    let isa = Isa::best();
    let (axes, c, k) = (w.axes, w.channels, w.outputs);
    let ([ay, ax], [my, mx]) = ([axes[0].alpha, axes[1].alpha], [axes[0].m, axes[1].m]);
    let positions = ay * ax;
    // Whole micro-kernel row tiles: the rows past a block's tiles hold earlier (finite) values,
    // multiplied and never read. (Since the kernels run a partial row tile at the cost of its
    // rows, running only `count` rows may now pay; not yet measured.)
    let mr = isa.tile()[0];
    let block = block_tiles(tiles.len(), mr);
    let planes = [plane(block, c), plane(block, k)];
    let sizes = [positions * planes[0], positions * planes[1]];
    if scratch.len() < sizes[0] + sizes[1] {
        scratch.resize(sizes[0] + sizes[1], 0.0);
    }
    let (v, m) = scratch.split_at_mut(sizes[0]);
    let [h, wd, _] = g.in_shape.to_array();
    let place = g.place;
    let mut cells: [Option<&[f32]>; MAX_POSITIONS] = [None; MAX_POSITIONS];
    let cells = &mut cells[..positions];
    let plain = Epilogue { activation: Activation::None, round_fp16: false };
    let after = finish.activation != Activation::None || finish.round_fp16;
    for start in tiles.clone().step_by(block) {
        let count = block.min(tiles.end - start);
        for (row, tile) in (start..start + count).enumerate() {
            let (y0, x0) = ((tile / g.tile_cols) * my, (tile % g.tile_cols) * mx);
            for (index, cell) in cells.iter_mut().enumerate() {
                // Stride 1: tap t of output y0 reads input y0 + t − pad, like the tile's cell t.
                let iy = g.window.source(0, y0, index / ax, h);
                let ix = g.window.source(1, x0, index % ax, wd);
                *cell = iy.zip(ix).map(|(y, x)| &g.input[(y * wd + x) * c..][..c]);
            }
            kernels::input_tile(isa, axes, cells, c, v, row, planes[0]);
        }
        let rows = count.next_multiple_of(mr);
        for (position, packed) in w.products.iter().enumerate() {
            let lhs = Lhs::Rows { data: &v[position * planes[0]..][..rows * c], rows, stride: c };
            let data = &mut m[position * planes[1]..][..rows * k];
            let out = Output { data, offset: 0, cols: rows, pixel_stride: k, row_stride: 0 };
            gemm_serial(&lhs, packed, out, plain);
        }
        for (row, tile) in (start..start + count).enumerate() {
            let (y0, x0) = ((tile / g.tile_cols) * my, (tile % g.tile_cols) * mx);
            let (tile_rows, tile_cols) = (my.min(g.rows - y0), mx.min(g.cols - x0));
            let offset = y0 * place.row_stride + x0 * place.pixel_stride - base;
            let to = TileStore {
                k,
                offset,
                row_stride: place.row_stride,
                pixel_stride: place.pixel_stride,
                rows: tile_rows,
                cols: tile_cols,
                bias,
                clamp,
            };
            kernels::output_tile(isa, axes, m, row, planes[1], &to, dst);
            if after {
                for i in 0..tile_rows {
                    let at = offset + i * place.row_stride;
                    if place.pixel_stride == k {
                        finish.apply(&mut dst[at..][..tile_cols * k], k);
                    } else {
                        for j in 0..tile_cols {
                            finish.apply(&mut dst[at + j * place.pixel_stride..][..k], k);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::conv::tests::naive_conv;
    use crate::reference::ops::testing::random;

    fn run(
        s: Shape,
        kernel: [usize; 2],
        pad: [usize; 2],
        k: usize,
        seed: u64,
        epilogue: Epilogue,
    ) -> (Vec<f32>, Vec<f32>) {
        let win = Window { kernel, stride: [1, 1], pad, dilation: 1 };
        let o = Shape::new(s.rows + 2 * pad[0] + 1 - kernel[0], s.cols + 2 * pad[1] + 1 - kernel[1], k);
        let x = random(s.len(), seed);
        let wt = random(kernel[0] * kernel[1] * s.channels * k, seed + 50);
        let bias = random(k, seed + 99);
        let axes = WinogradWeights::axes_for(&win).unwrap();
        let weights = WinogradWeights::new(axes, &wt, s.channels, k, Some(&bias));
        let mut out = vec![0.0; o.len()];
        let target = Output { data: &mut out, offset: 0, cols: o.cols, pixel_stride: k, row_stride: o.cols * k };
        conv2d_into(&x, s, &weights, &win, o, target, epilogue);
        let mut want = naive_conv(&x, s, &wt, &win, o);
        Finish { bias: Some(&bias), activation: epilogue.activation, round_fp16: epilogue.round_fp16 }
            .apply(&mut want, k);
        (out, want)
    }

    /// Largest |a − b| / max(1, |b|) allowed against the exact (f64) definition on these small
    /// layers (≤ 40 channels, values in [−1, 1)): seen up to 6.2e-5 (F(2×2, 5×5), 35×35×20 →
    /// 24; F(4×4, 3×3) 5.2e-5, F(3, 7) 5.4e-5), about 8× that. The direct product's is 1e-5:
    /// the transforms scale values by up to 17.5 and sum with cancellation; full-size layers
    /// reach more (6.9e-4, its own test below; docs/numerics.md §9).
    const TOLERANCE: f32 = 5e-4;

    /// Largest |a − b| / max(1, |b|).
    fn worst(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(0.0, f32::max)
    }

    #[test]
    fn matches_naive_over_shapes_pads_and_partial_tiles() {
        let plain = Epilogue { activation: Activation::None, round_fp16: false };
        let cases = [
            // (rows, cols, C), kernel, pad, K
            ((7, 9, 3), [3, 3], [1, 1], 4),
            ((10, 10, 16), [3, 3], [0, 0], 33),
            ((35, 35, 20), [3, 3], [1, 1], 40),
            ((6, 5, 5), [3, 3], [2, 2], 7),
            ((17, 17, 12), [1, 3], [0, 1], 9),
            ((9, 8, 6), [3, 1], [1, 0], 70),
            ((17, 17, 24), [1, 7], [0, 3], 20),
            ((35, 35, 20), [5, 5], [2, 2], 24),
            ((7, 6, 3), [5, 5], [0, 1], 5),
            ((17, 15, 24), [7, 1], [3, 0], 33),
            ((5, 6, 3), [1, 7], [2, 3], 2),
            ((1, 1, 4), [3, 3], [1, 1], 3),
            ((3, 3, 2), [3, 3], [0, 0], 1),
        ];
        for (seed, ((h, w, c), kernel, pad, k)) in cases.into_iter().enumerate() {
            let (got, want) = run(Shape::new(h, w, c), kernel, pad, k, seed as u64, plain);
            let err = worst(&got, &want);
            assert!(err <= TOLERANCE, "case {seed}: error {err}");
        }
    }

    #[test]
    fn a_full_size_one_by_seven_layer_keeps_its_measured_error() {
        // Inception's 17²×192→192 1×7 with values in [−1, 1): F(3, 7) was seen at 6.9e-4
        // (docs/numerics.md §9); 10× that, so that a further loss of precision fails here.
        let plain = Epilogue { activation: Activation::None, round_fp16: false };
        let (got, want) = run(Shape::new(17, 17, 192), [1, 7], [0, 3], 192, 5, plain);
        let err = worst(&got, &want);
        assert!(err <= 7e-3, "error {err}");
    }

    #[test]
    fn fuses_activation_and_rounding_into_the_store() {
        let epilogue = Epilogue { activation: Activation::ReluX(0.5), round_fp16: true };
        let (got, want) = run(Shape::new(12, 11, 8), [3, 3], [1, 1], 19, 7, epilogue);
        assert!(got.iter().all(|&v| (0.0..=0.5).contains(&v) && crate::fp16::round_one(v) == v));
        // A value next to a rounding boundary may round the other way: one fp16 step (2^-11
        // at 0.5) at most.
        assert!(worst(&got, &want) <= 4.9e-4);
    }

    #[test]
    fn elu_and_leaky_follow_the_bias_as_in_the_direct_product() {
        for activation in [Activation::Elu(0.7), Activation::LeakyRelu(0.1)] {
            for round_fp16 in [false, true] {
                let epilogue = Epilogue { activation, round_fp16 };
                let (got, want) = run(Shape::new(10, 9, 6), [3, 3], [1, 1], 21, 11, epilogue);
                // As above: transform rounding, and with fp16 one step either way near 1.
                let limit = if round_fp16 { 9.8e-4 } else { TOLERANCE };
                assert!(worst(&got, &want) <= limit, "{activation:?} fp16 {round_fp16}: {}", worst(&got, &want));
            }
        }
    }

    #[test]
    fn writes_only_its_pixels_of_a_strided_view() {
        // 14 columns: 1×7 has 5 tiles of three pixels per row, so three threads' equal shares
        // (whole micro-kernel row tiles of 4, 6 or 8) end inside an image row; 3×3 and 7×1 go
        // in whole tile rows.
        let (rows, cols, k): (usize, usize, usize) = (9, 14, 3);
        let mr = Isa::best().tile()[0];
        assert_ne!(tiles_per_task(rows, cols.div_ceil(3), 1, mr, 3) % cols.div_ceil(3), 0, "a task ends mid-row");
        let cases = [([3, 3], [1, 1]), ([1, 7], [0, 3]), ([7, 1], [3, 0]), ([5, 5], [2, 2])];
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        for (seed, (kernel, pad)) in cases.into_iter().enumerate() {
            let s = Shape::new(rows, cols, 5);
            let win = Window { kernel, stride: [1, 1], pad, dilation: 1 };
            let wt = random(kernel[0] * kernel[1] * s.channels * k, seed as u64 + 3);
            let weights = WinogradWeights::new(WinogradWeights::axes_for(&win).unwrap(), &wt, s.channels, k, None);
            let x = random(s.len(), seed as u64 + 4);
            // A channel slice [2, 5) of 8-channel pixels, rows 120 apart (a concatenation's
            // branch).
            let mut out = vec![f32::NAN; rows * 120 + 10];
            let target = Output { data: &mut out, offset: 2, cols, pixel_stride: 8, row_stride: 120 };
            let plain = Epilogue { activation: Activation::None, round_fp16: false };
            pool.install(|| conv2d_into(&x, s, &weights, &win, Shape::new(rows, cols, k), target, plain));
            let want = naive_conv(&x, s, &wt, &win, Shape::new(rows, cols, k));
            for (index, value) in out.iter().enumerate() {
                let (y, rest) = (index.wrapping_sub(2) / 120, index.wrapping_sub(2) % 120);
                let (x, ch) = (rest / 8, rest % 8);
                if index >= 2 && y < rows && x < cols && ch < k {
                    let w = want[(y * cols + x) * k + ch];
                    assert!(
                        (value - w).abs() <= TOLERANCE * w.abs().max(1.0),
                        "{kernel:?} pixel ({y}, {x}) channel {ch}: {value} vs {w}"
                    );
                } else {
                    assert!(value.is_nan(), "{kernel:?}: element {index} outside the view was written");
                }
            }
        }
    }

    #[test]
    fn one_row_tiles_are_shared_equally_in_whole_row_tiles() {
        // Inception's 17×17 1×7 layers: 102 tiles on two threads, 56 + 46 (not 9 + 8 rows);
        // 7×1: 6 tile rows of 17, 3 + 3.
        assert_eq!(tiles_per_task(17, 6, 1, 8, 2), 56);
        assert_eq!(tiles_per_task(6, 17, 3, 8, 2), 3 * 17);
        // Blocks of whole row tiles: 81 tiles run 32 + 32 + 24 rows, 72 run 3 × 24.
        assert_eq!((block_tiles(81, 8), padded_rows(81, 8)), (32, 88));
        assert_eq!((block_tiles(72, 8), padded_rows(72, 8)), (24, 72));
        assert_eq!(padded_rows(1, 6), 6);
    }

    #[test]
    fn tasks_cover_the_tile_rows_with_few_rounds() {
        // 35×35 outputs: 9 tile rows of 9 tiles; one row per task would fill 2 row tiles of 8
        // for 9 tiles.
        assert!(tile_rows_per_task(9, 9, 8, 2) > 1);
        assert_eq!(tile_rows_per_task(1, 5, 8, 2), 1);
        for (rows, cols) in [(37, 37), (18, 18), (9, 9), (5, 3)] {
            let g = tile_rows_per_task(rows, cols, 8, 2);
            assert!((1..=rows).contains(&g));
        }
    }
}
