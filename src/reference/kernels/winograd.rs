//! The data transforms of Winograd convolution (docs/numerics.md §9): a tile of input pixels
//! into the transformed domain (Bᵀ d B), and a tile of element-wise products back to output
//! pixels (Aᵀ M A), each over whole channel vectors. Safe code compiled once per instruction
//! set (`target_feature` wrappers of one body, as in `gemv`), so the channel loops use that
//! set's widest vectors.

use super::job::Clamp;
use super::Isa;

/// One axis of a minimal filtering algorithm F(m, r): m outputs of an r-tap correlation from
/// α = m + r − 1 inputs, as three row-major matrices. Only this module's constants exist (the
/// transforms are written out for them, and chosen by (m, r)).
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub struct WinogradAxis {
    /// Outputs per tile along the axis.
    pub m: usize,
    /// Kernel taps along the axis.
    pub r: usize,
    /// Inputs per tile along the axis (m + r − 1).
    pub alpha: usize,
    /// Bᵀ (α × α): input values to the transformed domain.
    pub input: &'static [f32],
    /// G (α × r): kernel taps to the transformed domain (applied once, at load, in f64).
    pub filter: &'static [f64],
    /// Aᵀ (m × α): products back to outputs.
    pub output: &'static [f32],
}

/// F(4, 3) with interpolation points 0, ±1, ±2 and ∞ (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2015, §4.2).
pub const F4_3: WinogradAxis = WinogradAxis {
    m: 4,
    r: 3,
    alpha: 6,
    #[rustfmt::skip]
    input: &[
        4.0, 0.0, -5.0, 0.0, 1.0, 0.0,
        0.0, -4.0, -4.0, 1.0, 1.0, 0.0,
        0.0, 4.0, -4.0, -1.0, 1.0, 0.0,
        0.0, -2.0, -1.0, 2.0, 1.0, 0.0,
        0.0, 2.0, -1.0, -2.0, 1.0, 0.0,
        0.0, 4.0, 0.0, -5.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    filter: &[
        1.0 / 4.0, 0.0, 0.0,
        -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0,
        -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0,
        1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0,
        1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0,
        0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    output: &[
        1.0, 1.0, 1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, 2.0, -2.0, 0.0,
        0.0, 1.0, 1.0, 4.0, 4.0, 0.0,
        0.0, 1.0, -1.0, 8.0, -8.0, 1.0,
    ],
};

/// F(2, 5) on the points of [`F4_3`] (0, ±1, ±2, ∞), for 5×5 kernels: 6 multiplications per
/// axis for 2 outputs where the direct product needs 10. The input transform depends only on
/// the points, so it is F(4, 3)'s; G's rows are F(4, 3)'s scaled powers of each point carried
/// to the fourth, and Aᵀ evaluates at each point the first two powers (docs/numerics.md §9).
pub const F2_5: WinogradAxis = WinogradAxis {
    m: 2,
    r: 5,
    alpha: 6,
    input: F4_3.input,
    #[rustfmt::skip]
    filter: &[
        1.0 / 4.0, 0.0, 0.0, 0.0, 0.0,
        -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0,
        -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0,
        1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0, 1.0 / 3.0, 2.0 / 3.0,
        1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0, -1.0 / 3.0, 2.0 / 3.0,
        0.0, 0.0, 0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    output: &[
        1.0, 1.0, 1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, 2.0, -2.0, 1.0,
    ],
};

/// F(1, 1): the identity, for the axis of a 1×n or n×1 kernel that has a single tap.
pub const F1_1: WinogradAxis = WinogradAxis { m: 1, r: 1, alpha: 1, input: &[1.0], filter: &[1.0], output: &[1.0] };

/// F(3, 7) with interpolation points 0, ±1, ±1/2, ±2, −3 and ∞, for 1×7 and 7×1 kernels: 9
/// multiplications for 3 outputs where the direct product needs 21. Derived by the Cook–Toom
/// construction (Aᵀ(i, j) = p_jⁱ, G(j, k) = p_jᵏ / Π_{l≠j}(p_j − p_l), the ∞ point taking the
/// leading coefficient, Bᵀ solved exactly so that the identity holds; docs/numerics.md §9);
/// the test checks the identity.
pub const F3_7: WinogradAxis = WinogradAxis {
    m: 3,
    r: 7,
    alpha: 9,
    input: &F3_7_INPUT,
    #[rustfmt::skip]
    filter: &[
        -1.0 / 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        -1.0 / 18.0, -1.0 / 18.0, -1.0 / 18.0, -1.0 / 18.0, -1.0 / 18.0, -1.0 / 18.0, -1.0 / 18.0,
        -1.0 / 9.0, 1.0 / 9.0, -1.0 / 9.0, 1.0 / 9.0, -1.0 / 9.0, 1.0 / 9.0, -1.0 / 9.0,
        64.0 / 315.0, 32.0 / 315.0, 16.0 / 315.0, 8.0 / 315.0, 4.0 / 315.0, 2.0 / 315.0, 1.0 / 315.0,
        64.0 / 225.0, -32.0 / 225.0, 16.0 / 225.0, -8.0 / 225.0, 4.0 / 225.0, -2.0 / 225.0, 1.0 / 225.0,
        1.0 / 450.0, 1.0 / 225.0, 2.0 / 225.0, 4.0 / 225.0, 8.0 / 225.0, 16.0 / 225.0, 32.0 / 225.0,
        1.0 / 90.0, -1.0 / 45.0, 2.0 / 45.0, -4.0 / 45.0, 8.0 / 45.0, -16.0 / 45.0, 32.0 / 45.0,
        -1.0 / 1050.0, 1.0 / 350.0, -3.0 / 350.0, 9.0 / 350.0, -27.0 / 350.0, 81.0 / 350.0, -243.0 / 350.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    output: &[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, -3.0, 0.0,
        0.0, 1.0, 1.0, 0.25, 0.25, 4.0, 4.0, 9.0, 1.0,
    ],
};

/// Bᵀ of [`F3_7`], row-major (a constant of its own so that [`input_3_7`] folds it in).
#[rustfmt::skip]
const F3_7_INPUT: [f32; 81] = [
    -3.0, -1.0, 15.75, 5.25, -15.75, -5.25, 3.0, 1.0, 0.0,
    0.0, 3.0, 4.0, -11.75, -17.0, -1.25, 4.0, 1.0, 0.0,
    0.0, -3.0, 2.0, 13.75, -8.5, -7.25, 2.0, 1.0, 0.0,
    0.0, 6.0, 14.0, -3.5, -17.5, -3.5, 3.5, 1.0, 0.0,
    0.0, -6.0, 10.0, 11.5, -12.5, -6.5, 2.5, 1.0, 0.0,
    0.0, 1.5, 1.25, -7.25, -6.25, 4.75, 5.0, 1.0, 0.0,
    0.0, -1.5, 0.25, 7.75, -1.25, -7.25, 1.0, 1.0, 0.0,
    0.0, -1.0, 0.0, 5.25, 0.0, -5.25, 0.0, 1.0, 0.0,
    0.0, -3.0, -1.0, 15.75, 5.25, -15.75, -5.25, 3.0, 1.0,
];

/// Channels transformed together: one AVX-512 vector, two AVX2 ones.
const LANES: usize = 16;

/// A channel chunk.
type Lanes = [f32; LANES];

/// `[e(n₀), e(n₁), …]` for an expression `e` of `$i` over the listed indices, written out: a
/// closure here stays a call per element in `target_feature` code, moving its 64-byte result
/// through memory.
macro_rules! each {
    ([$($n:literal),*] $i:ident => $e:expr) => {
        [$({
            let $i = $n;
            $e
        }),*]
    };
}

#[inline(always)]
fn add(a: Lanes, b: Lanes) -> Lanes {
    let mut r = a;
    r.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    r
}

#[inline(always)]
fn sub(a: Lanes, b: Lanes) -> Lanes {
    let mut r = a;
    r.iter_mut().zip(b).for_each(|(x, y)| *x -= y);
    r
}

#[inline(always)]
fn scale(w: f32, a: Lanes) -> Lanes {
    let mut r = a;
    r.iter_mut().for_each(|x| *x *= w);
    r
}

/// Bᵀ d of F(4, 3) (the rows of [`F4_3`]`.input`, written out so only the non-zero terms run).
#[inline(always)]
fn input_4_3(d: [Lanes; 6]) -> [Lanes; 6] {
    let (d42, d3m1) = (sub(d[4], d[2]), sub(d[3], d[1]));
    [
        add(sub(scale(4.0, d[0]), scale(5.0, d[2])), d[4]),
        sub(add(d[3], d[4]), scale(4.0, add(d[1], d[2]))),
        add(sub(d[4], d[3]), scale(4.0, sub(d[1], d[2]))),
        add(scale(2.0, d3m1), d42),
        sub(d42, scale(2.0, d3m1)),
        add(sub(scale(4.0, d[1]), scale(5.0, d[3])), d[5]),
    ]
}

/// Aᵀ m of F(4, 3) (the rows of [`F4_3`]`.output`).
#[inline(always)]
fn output_4_3(m: [Lanes; 6]) -> [Lanes; 4] {
    let (s12, d12, s34, d34) = (add(m[1], m[2]), sub(m[1], m[2]), add(m[3], m[4]), sub(m[3], m[4]));
    [
        add(add(m[0], s12), s34),
        add(d12, scale(2.0, d34)),
        add(s12, scale(4.0, s34)),
        add(add(d12, scale(8.0, d34)), m[5]),
    ]
}

/// Aᵀ m of F(2, 5) (the rows of [`F2_5`]`.output`).
#[inline(always)]
fn output_2_5(m: [Lanes; 6]) -> [Lanes; 2] {
    let (s12, d12, s34, d34) = (add(m[1], m[2]), sub(m[1], m[2]), add(m[3], m[4]), sub(m[3], m[4]));
    [add(add(m[0], s12), s34), add(add(d12, scale(2.0, d34)), m[5])]
}

/// Σ w[x] · v[x] over the non-zero coefficients: with `w` a constant, the branches fold away
/// and ±1 cost no multiplication.
#[inline(always)]
fn combine(w: &[f32], v: &[Lanes]) -> Lanes {
    // From zero: starting from the first term instead (saving one add per row) ran 25 % slower
    // here, the optimiser no longer folding the coefficients.
    let mut acc = [0.0; LANES];
    for (&w, &v) in w.iter().zip(v) {
        if w == 1.0 {
            acc = add(acc, v);
        } else if w == -1.0 {
            acc = sub(acc, v);
        } else if w != 0.0 {
            acc = add(acc, scale(w, v));
        }
    }
    acc
}

/// Bᵀ d of F(3, 7) (the rows of [`F3_7_INPUT`]).
#[inline(always)]
fn input_3_7(d: [Lanes; 9]) -> [Lanes; 9] {
    each!([0, 1, 2, 3, 4, 5, 6, 7, 8] a => combine(&F3_7_INPUT[a * 9..a * 9 + 9], &d))
}

/// Aᵀ m of F(3, 7) (the rows of [`F3_7`]`.output`).
#[inline(always)]
fn output_3_7(m: [Lanes; 9]) -> [Lanes; 3] {
    let (s12, d12, s34, d34, s56, d56) =
        (add(m[1], m[2]), sub(m[1], m[2]), add(m[3], m[4]), sub(m[3], m[4]), add(m[5], m[6]), sub(m[5], m[6]));
    [
        add(add(add(m[0], s12), add(s34, s56)), m[7]),
        sub(add(add(d12, scale(0.5, d34)), scale(2.0, d56)), scale(3.0, m[7])),
        add(add(add(s12, scale(0.25, s34)), add(scale(4.0, s56), scale(9.0, m[7]))), m[8]),
    ]
}

/// Channels `[c0, c0 + width)` of a cell (zeros past the width, or for a padding cell).
#[inline(always)]
fn load(cell: Option<&[f32]>, c0: usize, width: usize) -> Lanes {
    match cell {
        // A whole chunk as one fixed-size copy: a single vector load.
        Some(values) if width == LANES => values[c0..c0 + LANES].try_into().expect("a whole chunk"),
        Some(values) => {
            let mut lanes = [0.0; LANES];
            lanes[..width].copy_from_slice(&values[c0..c0 + width]);
            lanes
        }
        None => [0.0; LANES],
    }
}

/// Stores the first `width` lanes at `dst`.
#[inline(always)]
fn store(dst: &mut [f32], lanes: &Lanes, width: usize) {
    if width == LANES {
        dst[..LANES].copy_from_slice(lanes);
    } else {
        dst[..width].copy_from_slice(&lanes[..width]);
    }
}

/// The input transform of one tile (see [`input_tile`]).
#[inline(always)]
fn input_body(form: Form, cells: &[Option<&[f32]>], c: usize, v: &mut [f32], row: usize, plane: usize) {
    for c0 in (0..c).step_by(LANES) {
        let width = LANES.min(c - c0);
        match form {
            Form::Square | Form::Square5 => {
                // Along y for each column x, then along x for each transformed row a (F(2, 5)
                // shares F(4, 3)'s input transform).
                let columns = each!([0, 1, 2, 3, 4, 5] x => input_4_3(each!([0, 1, 2, 3, 4, 5] y => load(cells[y * 6 + x], c0, width))));
                for a in 0..6 {
                    let t = input_4_3(each!([0, 1, 2, 3, 4, 5] x => columns[x][a]));
                    for (b, lanes) in t.iter().enumerate() {
                        store(&mut v[(a * 6 + b) * plane + row * c + c0..], lanes, width);
                    }
                }
            }
            Form::Line4x3 { .. } => {
                let t = input_4_3(each!([0, 1, 2, 3, 4, 5] i => load(cells[i], c0, width)));
                for (position, lanes) in t.iter().enumerate() {
                    store(&mut v[position * plane + row * c + c0..], lanes, width);
                }
            }
            Form::Line3x7 { .. } => {
                let t = input_3_7(each!([0, 1, 2, 3, 4, 5, 6, 7, 8] i => load(cells[i], c0, width)));
                for (position, lanes) in t.iter().enumerate() {
                    store(&mut v[position * plane + row * c + c0..], lanes, width);
                }
            }
        }
    }
}

/// Bias and clamp of `lanes` (output channels `[k0, k0 + LANES)`).
#[inline(always)]
fn finish(lanes: Lanes, bias: Lanes, clamp: Clamp) -> Lanes {
    let mut r = add(lanes, bias);
    r.iter_mut().for_each(|x| *x = clamp.apply(*x));
    r
}

/// The output transform of one tile (see [`output_tile`]). Macros, not closures, read the
/// products and store the pixels: a closure stays a call in `target_feature` code.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // `i` indexes the inner arrays of `columns`
fn output_body(form: Form, m: &[f32], row: usize, plane: usize, to: &TileStore<'_>, y: &mut [f32]) {
    let (k, clamp) = (to.k, to.clamp);
    for k0 in (0..k).step_by(LANES) {
        let width = LANES.min(k - k0);
        let bias = load(to.bias, k0, width);
        macro_rules! product {
            ($position:expr) => {
                load(Some(&m[$position * plane + row * k..]), k0, width)
            };
        }
        macro_rules! put {
            ($i:expr, $j:expr, $lanes:expr) => {
                if $i < to.rows && $j < to.cols {
                    let at = to.offset + $i * to.row_stride + $j * to.pixel_stride + k0;
                    store(&mut y[at..], &finish($lanes, bias, clamp), width);
                }
            };
        }
        match form {
            Form::Square => {
                // Along y for each column b, then along x for each output row i.
                let columns =
                    each!([0, 1, 2, 3, 4, 5] b => output_4_3(each!([0, 1, 2, 3, 4, 5] a => product!(a * 6 + b))));
                for i in 0..4 {
                    let t = output_4_3(each!([0, 1, 2, 3, 4, 5] b => columns[b][i]));
                    for (j, lanes) in t.into_iter().enumerate() {
                        put!(i, j, lanes);
                    }
                }
            }
            Form::Square5 => {
                let columns =
                    each!([0, 1, 2, 3, 4, 5] b => output_2_5(each!([0, 1, 2, 3, 4, 5] a => product!(a * 6 + b))));
                for i in 0..2 {
                    let t = output_2_5(each!([0, 1, 2, 3, 4, 5] b => columns[b][i]));
                    for (j, lanes) in t.into_iter().enumerate() {
                        put!(i, j, lanes);
                    }
                }
            }
            Form::Line4x3 { along_x } => {
                for (p, lanes) in output_4_3(each!([0, 1, 2, 3, 4, 5] a => product!(a))).into_iter().enumerate() {
                    let (i, j) = if along_x { (0, p) } else { (p, 0) };
                    put!(i, j, lanes);
                }
            }
            Form::Line3x7 { along_x } => {
                let t = output_3_7(each!([0, 1, 2, 3, 4, 5, 6, 7, 8] a => product!(a)));
                for (q, lanes) in t.into_iter().enumerate() {
                    let (i, j) = if along_x { (0, q) } else { (q, 0) };
                    put!(i, j, lanes);
                }
            }
        }
    }
}

/// Which transform code a pair of axes runs.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// F(4, 3) on both axes, written out.
    Square,
    /// F(2, 5) on both axes, written out.
    Square5,
    /// F(4, 3) on one axis (the other F(1, 1)), written out; along x (a 1×3 kernel) or y.
    Line4x3 { along_x: bool },
    /// F(3, 7) on one axis (the other F(1, 1)); along x (a 1×7 kernel) or y.
    Line3x7 { along_x: bool },
}

impl Form {
    /// By the axes' sizes, which name the algorithms (comparing the axes themselves would
    /// compare their matrices, once per tile).
    fn of(axes: [&'static WinogradAxis; 2]) -> Option<Form> {
        Some(match [(axes[0].m, axes[0].r), (axes[1].m, axes[1].r)] {
            [(4, 3), (4, 3)] => Form::Square,
            [(2, 5), (2, 5)] => Form::Square5,
            [(1, 1), (4, 3)] => Form::Line4x3 { along_x: true },
            [(4, 3), (1, 1)] => Form::Line4x3 { along_x: false },
            [(1, 1), (3, 7)] => Form::Line3x7 { along_x: true },
            [(3, 7), (1, 1)] => Form::Line3x7 { along_x: false },
            _ => return None,
        })
    }

    /// [`Form::of`] for a pair the caller has checked with [`has_transform`].
    fn checked(axes: [&'static WinogradAxis; 2]) -> Form {
        Form::of(axes).unwrap_or_else(|| {
            panic!("winograd: no transform for F({}, {}) × F({}, {})", axes[0].m, axes[0].r, axes[1].m, axes[1].r)
        })
    }
}

/// Whether the transforms are written out for this pair of axes (rows, columns).
pub(crate) fn has_transform(axes: [&'static WinogradAxis; 2]) -> bool {
    Form::of(axes).is_some()
}

/// Transforms one input tile: `cells[y·αx + x]` (y < αy, x < αx) is the tile's input pixel
/// (its `c` channels) or None where the tile reaches into padding; writes (Bᵀ d B)[a][b] as
/// row `row` of matrix a·αx + b in `v`, which holds αy·αx matrices of rows of c values, each
/// `plane` values after the one before (more than its rows take, so that the matrices do not
/// start in the same cache set).
///
/// # Panics
/// If the axes have no transform here (see [`Form`]), or a cell or `v` is too short (driver
/// bugs).
pub(crate) fn input_tile(
    isa: Isa,
    axes: [&'static WinogradAxis; 2],
    cells: &[Option<&[f32]>],
    c: usize,
    v: &mut [f32],
    row: usize,
    plane: usize,
) {
    let form = Form::checked(axes);
    assert_eq!(cells.len(), axes[0].alpha * axes[1].alpha, "winograd: cells per tile");
    let positions = cells.len();
    assert!(
        positions > 0 && (row + 1) * c <= plane && (positions - 1) * plane + (row + 1) * c <= v.len(),
        "winograd: transformed tiles exceed the buffer"
    );
    match isa {
        // SAFETY: the arm runs only where the CPU has the family's features (`is_supported`);
        // the body is safe code.
        #[cfg(all(target_arch = "x86_64", ncs_avx512))]
        Isa::Avx512 if isa.is_supported() => unsafe { input_avx512(form, cells, c, v, row, plane) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if isa.is_supported() => unsafe { input_avx2(form, cells, c, v, row, plane) },
        _ => input_body(form, cells, c, v, row, plane),
    }
}

/// Where and how the output transform stores a tile's pixels: pixel (i, j) of the tile, for
/// i < `rows` and j < `cols` (the rest of the tile lies past the image's edge), gets `bias`
/// and `clamp` and goes to `offset + i·row_stride + j·pixel_stride`, k values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TileStore<'a> {
    /// Values per pixel (output channels).
    pub k: usize,
    /// Position of pixel (0, 0).
    pub offset: usize,
    /// Distance between image rows.
    pub row_stride: usize,
    /// Distance between pixels of a row.
    pub pixel_stride: usize,
    /// Tile rows inside the image.
    pub rows: usize,
    /// Tile columns inside the image.
    pub cols: usize,
    /// K values added first, if any.
    pub bias: Option<&'a [f32]>,
    /// Then this activation.
    pub clamp: Clamp,
}

/// Transforms one tile of products back: row `row` of each of the αy·αx matrices in `m`
/// (k values per row, `plane` values apart) becomes the tile's my·mx output pixels, stored in `y` as
/// `to` says.
///
/// # Panics
/// As [`input_tile`], for `m`; if a stored pixel would fall outside `y` or the bias has fewer
/// than k values.
pub(crate) fn output_tile(
    isa: Isa,
    axes: [&'static WinogradAxis; 2],
    m: &[f32],
    row: usize,
    plane: usize,
    to: &TileStore<'_>,
    y: &mut [f32],
) {
    let form = Form::checked(axes);
    let k = to.k;
    let positions = axes[0].alpha * axes[1].alpha;
    assert!(
        (row + 1) * k <= plane && (positions - 1) * plane + (row + 1) * k <= m.len(),
        "winograd: products exceed the buffer"
    );
    assert!(to.bias.map_or(true, |b| b.len() >= k), "winograd: bias shorter than the outputs");
    let (last_row, last_col) = (to.rows.min(axes[0].m), to.cols.min(axes[1].m));
    if last_row == 0 || last_col == 0 {
        return;
    }
    let end = to.offset + (last_row - 1) * to.row_stride + (last_col - 1) * to.pixel_stride + k;
    assert!(end <= y.len(), "winograd: the tile's pixels exceed the output");
    match isa {
        // SAFETY: the arm runs only where the CPU has the family's features (`is_supported`);
        // the body is safe code.
        #[cfg(all(target_arch = "x86_64", ncs_avx512))]
        Isa::Avx512 if isa.is_supported() => unsafe { output_avx512(form, m, row, plane, to, y) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if isa.is_supported() => unsafe { output_avx2(form, m, row, plane, to, y) },
        _ => output_body(form, m, row, plane, to, y),
    }
}

/// [`input_body`] with AVX-512F vectors.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(all(target_arch = "x86_64", ncs_avx512))]
#[target_feature(enable = "avx512f")]
unsafe fn input_avx512(form: Form, cells: &[Option<&[f32]>], c: usize, v: &mut [f32], row: usize, plane: usize) {
    input_body(form, cells, c, v, row, plane);
}

/// [`input_body`] with AVX2 vectors.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn input_avx2(form: Form, cells: &[Option<&[f32]>], c: usize, v: &mut [f32], row: usize, plane: usize) {
    input_body(form, cells, c, v, row, plane);
}

/// [`output_body`] with AVX-512F vectors.
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(all(target_arch = "x86_64", ncs_avx512))]
#[target_feature(enable = "avx512f")]
unsafe fn output_avx512(form: Form, m: &[f32], row: usize, plane: usize, to: &TileStore<'_>, y: &mut [f32]) {
    output_body(form, m, row, plane, to, y);
}

/// [`output_body`] with AVX2 vectors.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn output_avx2(form: Form, m: &[f32], row: usize, plane: usize, to: &TileStore<'_>, y: &mut [f32]) {
    output_body(form, m, row, plane, to, y);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each axis's matrices compute a correlation: Aᵀ[(G g) ⊙ (Bᵀ d)] = Σ_j g_j d_{i+j}.
    #[test]
    fn axes_compute_one_dimensional_correlation() {
        for axis in [&F4_3, &F2_5, &F3_7, &F1_1] {
            let (m, r, alpha) = (axis.m, axis.r, axis.alpha);
            assert_eq!(alpha, m + r - 1);
            let d: Vec<f64> = (0..alpha).map(|i| (i as f64 * 0.37 - 0.8).sin()).collect();
            let g: Vec<f64> = (0..r).map(|i| (i as f64 * 1.3 + 0.2).cos()).collect();
            let gt: Vec<f64> = (0..alpha).map(|a| (0..r).map(|j| axis.filter[a * r + j] * g[j]).sum()).collect();
            let dt: Vec<f64> =
                (0..alpha).map(|a| (0..alpha).map(|x| f64::from(axis.input[a * alpha + x]) * d[x]).sum()).collect();
            for i in 0..m {
                let got: f64 = (0..alpha).map(|a| f64::from(axis.output[i * alpha + a]) * gt[a] * dt[a]).sum();
                let want: f64 = (0..r).map(|j| g[j] * d[i + j]).sum();
                assert!((got - want).abs() < 1e-12, "F({m},{r}) output {i}: {got} vs {want}");
            }
        }
    }

    /// Bᵀ d B and Aᵀ M A by the matrices, in f64: what the written-out transforms must give.
    fn by_matrices(axes: [&WinogradAxis; 2], d: &[f64], inverse: bool) -> Vec<f64> {
        let (ay, ax) = (axes[0].alpha, axes[1].alpha);
        let (rows_y, rows_x) = if inverse { (axes[0].m, axes[1].m) } else { (ay, ax) };
        let matrix = |axis: &WinogradAxis, i: usize, j: usize| {
            f64::from(if inverse { axis.output[i * axis.alpha + j] } else { axis.input[i * axis.alpha + j] })
        };
        let mut out = vec![0.0; rows_y * rows_x];
        for i in 0..rows_y {
            for j in 0..rows_x {
                for y in 0..ay {
                    for x in 0..ax {
                        out[i * rows_x + j] += matrix(axes[0], i, y) * matrix(axes[1], j, x) * d[y * ax + x];
                    }
                }
            }
        }
        out
    }

    /// The written-out transforms agree with the matrices, on every instruction set and for
    /// every tile shape, with channel counts that leave a partial chunk.
    #[test]
    fn transforms_match_the_matrices_on_every_isa() {
        for axes in [[&F4_3, &F4_3], [&F2_5, &F2_5], [&F1_1, &F4_3], [&F4_3, &F1_1], [&F1_1, &F3_7], [&F3_7, &F1_1]] {
            let positions = axes[0].alpha * axes[1].alpha;
            let pixels = axes[0].m * axes[1].m;
            // Three rows of 37 channels per matrix, 5 values of padding between matrices.
            let (c, rows, row) = (37, 3, 1);
            let plane = rows * c + 5;
            let data: Vec<f32> = (0..positions * c).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
            let cells: Vec<Option<&[f32]>> =
                (0..positions).map(|i| (i % 7 != 3).then(|| &data[i * c..(i + 1) * c])).collect();
            let products: Vec<f32> =
                (0..positions * plane).map(|i| ((i * 104_729) % 997) as f32 / 400.0 - 1.2).collect();
            for isa in Isa::available() {
                let mut v = vec![f32::NAN; positions * plane];
                input_tile(isa, axes, &cells, c, &mut v, row, plane);
                let mut y = vec![f32::NAN; pixels * c];
                let [my, mx] = [axes[0].m, axes[1].m];
                let to = TileStore {
                    k: c,
                    offset: 0,
                    row_stride: mx * c,
                    pixel_stride: c,
                    rows: my,
                    cols: mx,
                    bias: None,
                    clamp: Clamp::None,
                };
                output_tile(isa, axes, &products, row, plane, &to, &mut y);
                for channel in 0..c {
                    let d: Vec<f64> = cells.iter().map(|cell| cell.map_or(0.0, |x| f64::from(x[channel]))).collect();
                    let want = by_matrices(axes, &d, false);
                    for (position, w) in want.iter().enumerate() {
                        let got = f64::from(v[position * plane + row * c + channel]);
                        assert!((got - w).abs() < 1e-5, "{isa} input {position} channel {channel}: {got} vs {w}");
                    }
                    let m: Vec<f64> =
                        (0..positions).map(|p| f64::from(products[p * plane + row * c + channel])).collect();
                    let want = by_matrices(axes, &m, true);
                    for (pixel, w) in want.iter().enumerate() {
                        let got = f64::from(y[pixel * c + channel]);
                        assert!((got - w).abs() < 1e-4, "{isa} output {pixel} channel {channel}: {got} vs {w}");
                    }
                }
            }
        }
    }
}
