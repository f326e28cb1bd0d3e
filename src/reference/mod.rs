//! The reference executor: runs any NCS v1 graph on the CPU the way the stick does.
//!
//! Four arenas (network input, network output, blob data, work area); stages run in file order
//! and every read and write goes through the record's (location, pointer, dims, strides), so
//! concatenation, channel slices and the toolkit's quirks come out as the records say.
//!
//! Precision: in [`Precision::Fp16`] (the default, as on the stick) the input and every stage
//! output are rounded to fp16 when stored; arithmetic inside a stage is f32. [`Precision::Fp32`]
//! stores without rounding. Weights are fp16 in the blob either way.
//! Where the firmware's semantics are unknown, the choices are listed in [`semantics`].
//!
//! Speed: convolution weights are packed once, when the executor is built, into the panel
//! layout of the CPU's micro-kernels ([`kernels`]); convolutions then store their results with
//! bias, activation and fp16 rounding fused into the product, straight into the arena when the
//! output view allows.

pub mod arena;
pub mod kernels;
mod limits;
pub mod ops;
mod plan;
pub mod semantics;

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::blob::{Arena, Blob, BlobError, BlobErrorKind, Location, StageType};
use crate::error::{Error, Result};

use arena::{Arenas, View};
use kernels::Epilogue;
pub use limits::Limits;
use ops::conv::ConvWeights;
use ops::elementwise;
use ops::rows::{self, Finish};
use ops::{conv, deconv, depthwise, fc, layout, lrn, pool, softmax};
use plan::{ArenaSizes, Kernel, Step};

/// How stage outputs are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Rounded to fp16, as the stick stores them.
    #[default]
    Fp16,
    /// Kept in f32.
    Fp32,
}

/// The result of one inference.
#[derive(Debug, Clone)]
pub struct Inference {
    /// What the host reads: the first `output_len` elements of the output arena.
    pub output: Vec<f32>,
    /// Wall time of each stage, in order.
    pub stage_times: Vec<Duration>,
}

/// One stage's result, as shown to an observer.
#[derive(Debug)]
pub struct StageOutput<'a> {
    /// Stage index.
    pub index: usize,
    /// Stage name.
    pub name: &'a str,
    /// `[rows, columns, channels]` of `values`.
    pub shape: [usize; 3],
    /// The values as stored (rounded in fp16 mode).
    pub values: &'a [f32],
}

/// A graph prepared for repeated inference on the CPU.
#[derive(Debug)]
pub struct Executor {
    steps: Vec<Step>,
    arenas: Arenas,
    precision: Precision,
    input_view: View,
    output_len: usize,
    output_shape: [u32; 3],
    scratch: Scratch,
}

#[derive(Debug, Default)]
struct Scratch {
    input: Vec<f32>,
    output: Vec<f32>,
    second: Vec<f32>,
}

impl Executor {
    /// Plans a validated blob for execution within the default [`Limits`]; fails naming the
    /// stage if one cannot run.
    pub fn new(blob: &Blob, precision: Precision) -> Result<Executor> {
        Self::with_limits(blob, precision, &Limits::default())
    }

    /// Plans a validated blob for execution, refusing before any allocation a graph whose
    /// operands or work exceed `limits`.
    pub fn with_limits(blob: &Blob, precision: Precision, limits: &Limits) -> Result<Executor> {
        let layout = blob.layout()?;
        crate::blob::check_operand_counts(blob, &layout, limits.max_operand_elements)?;
        let input = blob.network_input().ok_or_else(|| {
            Error::from(BlobError::new(BlobErrorKind::Structure, 0, "no stage reads the network input"))
        })?;
        // The toolkit leaves a guard band after each work buffer (2·(X+1)·Z values); reads
        // that the records make past a buffer's end land there, in zeroed memory. The dims
        // were bounded just above (reshape's are the requested ones, and it writes flat).
        let guard = blob
            .stages
            .iter()
            .filter(|s| matches!(s.output.location, Location::Work(_)) && s.op != StageType::Reshape)
            .map(|s| 2 * (u64::from(s.output.dims.x) + 1) * u64::from(s.output.dims.z))
            .max()
            .unwrap_or(0);
        let sizes = ArenaSizes {
            input: (layout.input_bytes / 2) as usize,
            output: (layout.output_bytes / 2) as usize,
            work: (layout.work_bytes / 2 + guard) as usize,
            blob: blob.data.len() / 2,
        };
        let mut steps = plan::plan(blob, &sizes, limits)?;
        let input_view = View::of(input, Arena::Input);
        let arenas = Arenas::new(sizes.input, sizes.output, sizes.work, decode_blob(&blob.data, &steps));
        for step in &mut steps {
            step.packed = pack_weights(step, &blob.data, &arenas.blob);
        }
        Ok(Executor {
            steps,
            arenas,
            precision,
            input_view,
            output_len: layout.output_elements as usize,
            output_shape: blob.output_shape(),
            scratch: Scratch::default(),
        })
    }

    /// Network input shape `[rows, columns, channels]`.
    pub fn input_shape(&self) -> [u32; 3] {
        self.input_view.dims.shape_yxz()
    }

    /// Network output shape `[rows, columns, channels]` as the host reads it.
    pub fn output_shape(&self) -> [u32; 3] {
        self.output_shape
    }

    /// The precision mode.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Bytes this executor holds at most while loading and running: its arenas, decoded data
    /// section and plan and packed weights (all held now), plus the largest buffer of each kind
    /// a stage gathers or computes into (input, second operand, output), the kernels' per-thread
    /// tables and partial sums, which are kept between inferences, and one convolution's weights
    /// as decoded for packing.
    /// Not counted: the caller's input and the [`Inference`] output copy.
    pub fn memory_bound(&self) -> u64 {
        let arenas: usize =
            [Arena::Input, Arena::Output, Arena::Work, Arena::Blob].map(|a| self.arenas.len(a)).iter().sum();
        let largest = |size: &dyn Fn(&Step) -> usize| self.steps.iter().map(size).max().unwrap_or(0);
        let gathered = largest(&|s| if s.input.is_dense() { 0 } else { s.input.len() });
        let second = largest(&|s| match &s.kernel {
            Kernel::Binary { second, .. } | Kernel::ScaleWithScalar { second } => second.len(),
            _ => 0,
        });
        let output = largest(&|s| s.out_shape.len());
        let plan: usize = self.steps.iter().map(|s| std::mem::size_of::<Step>() + s.name.len()).sum();
        let packed: usize = self.steps.iter().filter_map(|s| s.packed.as_ref()).map(ConvWeights::heap_bytes).sum();
        let values = arenas + gathered + second + output;
        // Winograd's per-thread buffers, one per thread that runs products (as the kernels').
        let transforms = self.steps.iter().filter_map(|s| s.packed.as_ref()).map(ConvWeights::scratch_bytes).max();
        let transforms = transforms.unwrap_or(0) * (rayon::current_num_threads() + 1);
        // A fully-connected layer's partial sums, kept by the thread that runs it.
        let partials = largest(&|s| match s.kernel {
            Kernel::FullyConnected { .. } => kernels::gemv_scratch_bytes(s.in_shape.len(), s.out_shape.len()),
            _ => 0,
        });
        // At load, one convolution's weights decoded for packing and, for Winograd, one
        // transformed C × K matrix beside them.
        let loading = largest(&|s| match &s.kernel {
            Kernel::Conv { weights, .. } => weights.len() + s.in_shape.channels * s.out_shape.channels,
            _ => 0,
        }) * std::mem::size_of::<f32>();
        let kept = kernels::scratch_bytes() + transforms + partials + loading;
        (values * std::mem::size_of::<f32>() + plan + packed + kept) as u64
    }

    /// Heap bytes of the convolution weights packed for the kernels (what packing costs in
    /// memory, beside the blob's own copy of the weights).
    pub fn packed_weight_bytes(&self) -> u64 {
        self.steps.iter().filter_map(|s| s.packed.as_ref()).map(|p| p.heap_bytes() as u64).sum()
    }

    /// Runs one inference on a dense HWC input of [`Executor::input_shape`].
    pub fn run(&mut self, input: &[f32]) -> Result<Inference> {
        self.execute(input, None)
    }

    /// Runs one inference, showing each stage's stored output to `observer` as it is produced.
    pub fn run_observed(&mut self, input: &[f32], observer: &mut dyn FnMut(StageOutput<'_>)) -> Result<Inference> {
        self.execute(input, Some(observer))
    }

    /// One inference; stages the kernels wrote straight into the arena are read back only for
    /// an observer.
    fn execute(&mut self, input: &[f32], mut observer: Option<&mut dyn FnMut(StageOutput<'_>)>) -> Result<Inference> {
        if input.len() != self.input_view.len() {
            return Err(Error::Input {
                path: None,
                message: format!(
                    "input has {} values; the network expects {:?} = {} (rows, columns, channels)",
                    input.len(),
                    self.input_shape(),
                    self.input_view.len()
                ),
            });
        }
        let round = self.precision == Precision::Fp16;
        self.arenas.scatter(&self.input_view, input, round);
        let mut stage_times = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let started = Instant::now();
            let in_place = conv_in_place(step, &mut self.arenas, round) || pool_in_place(step, &mut self.arenas, round);
            if !in_place {
                let finished = run_step(step, &self.arenas, &mut self.scratch, round);
                if round && !finished {
                    crate::fp16::round(&mut self.scratch.output);
                }
                self.arenas.scatter(&step.output, &self.scratch.output, false);
            }
            stage_times.push(started.elapsed());
            let Some(observer) = observer.as_mut() else { continue };
            if in_place {
                self.arenas.gather(&step.output, &mut self.scratch.output);
            }
            observer(StageOutput {
                index: step.index,
                name: &step.name,
                shape: step.out_shape.to_array(),
                values: &self.scratch.output,
            });
        }
        Ok(Inference { output: self.arenas.output[..self.output_len].to_vec(), stage_times })
    }
}

/// Prepares a convolution's weights and bias for the kernels, decoding the weights from the
/// blob's fp16 `data` for the occasion (a fully-connected layer reads its weights in place in
/// the decoded arena `blob`: each is used once per inference).
fn pack_weights(step: &Step, data: &[u8], blob: &[f32]) -> Option<ConvWeights> {
    let bias = step.bias.as_ref().map(|r| &blob[r.clone()]);
    match &step.kernel {
        Kernel::Conv { weights, window } => {
            let mut values = vec![0.0; weights.len()];
            crate::fp16::decode_into(&data[2 * weights.start..2 * weights.end], &mut values);
            Some(ConvWeights::new(&values, window, step.in_shape, step.out_shape, bias))
        }
        _ => None,
    }
}

/// The blob data section decoded to f32 wherever a stage reads it while running. Convolution
/// weights are read once, at load, to be packed ([`pack_weights`] decodes them itself), so their
/// stretches stay the zeroed allocation's untouched pages — no resident memory: about 87 MB of
/// Inception V3's 95 — unless some other operand reads the same values.
fn decode_blob(data: &[u8], steps: &[Step]) -> Vec<f32> {
    let mut values = vec![0.0f32; data.len() / 2];
    let read = disjoint(steps.iter().flat_map(run_time_reads).collect());
    // A weight stretch overlaps a read one iff the last read starting before its end ends
    // after its start (the read stretches are disjoint and sorted): linear in the stages.
    let overlaps = |w: &Range<usize>| {
        let before = read.partition_point(|r| r.start < w.end);
        before > 0 && read[before - 1].end > w.start
    };
    let mut skipped: Vec<Range<usize>> = steps
        .iter()
        .filter_map(|s| match &s.kernel {
            Kernel::Conv { weights, .. } => Some(weights.clone()),
            _ => None,
        })
        .filter(|w| !overlaps(w))
        .collect();
    skipped.sort_by_key(|r| r.start);
    let mut next = 0;
    for gap in skipped.iter().chain(std::iter::once(&(values.len()..values.len()))) {
        if gap.start > next {
            crate::fp16::decode_into(&data[2 * next..2 * gap.start], &mut values[next..gap.start]);
        }
        next = next.max(gap.end);
    }
    values
}

/// `ranges` sorted and merged into disjoint stretches.
fn disjoint(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.retain(|r| !r.is_empty());
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// The stretches of the blob arena a step reads while running (its constants, and its tensor
/// operands where they lie in the data section).
fn run_time_reads(step: &Step) -> Vec<Range<usize>> {
    let view = |v: &View| (v.arena == Arena::Blob).then(|| v.offset..v.end());
    let mut reads: Vec<Range<usize>> = step.bias.iter().cloned().chain(view(&step.input)).collect();
    match &step.kernel {
        // Packed at load: read from the encoded data then, not from the arena.
        Kernel::Conv { .. } => {}
        Kernel::Depthwise { weights, .. } | Kernel::FullyConnected { weights } => reads.push(weights.clone()),
        Kernel::Deconv { taps, .. } => reads.push(taps.clone()),
        Kernel::Scale { factors } => reads.push(factors.clone()),
        Kernel::PRelu { slopes } => reads.push(slopes.clone()),
        Kernel::MaxWithConst { constants } => reads.push(constants.clone()),
        Kernel::Binary { second, .. } | Kernel::ScaleWithScalar { second } => reads.extend(view(second)),
        Kernel::Pool { .. }
        | Kernel::Softmax
        | Kernel::Unary(_)
        | Kernel::Power { .. }
        | Kernel::Lrn { .. }
        | Kernel::InnerLrn { .. }
        | Kernel::ToPlaneMajor
        | Kernel::Crop { .. }
        | Kernel::SumReduce => {}
    }
    reads
}

/// Runs a convolution whose input is dense and whose output view can take the product's rows
/// (channels contiguous, pixels and rows not overlapping, apart from the input) straight into
/// the arena, the epilogue storing each tile where the record says: no scratch buffer, no
/// scatter. Returns false, having done nothing, for any other step.
fn conv_in_place(step: &Step, arenas: &mut Arenas, round: bool) -> bool {
    let (Kernel::Conv { window, .. }, Some(packed)) = (&step.kernel, &step.packed) else { return false };
    if !step.input.is_dense() || step.out_shape.is_empty() {
        return false;
    }
    let (out, n) = (&step.output, step.out_shape.channels);
    let [sx, sy, sz] = out.strides;
    let (cols, rows) = (step.out_shape.cols, step.out_shape.rows);
    let separate = sz == 1 && (cols == 1 || sx >= n) && (rows == 1 || sy >= (cols - 1) * sx + n);
    if !separate {
        return false;
    }
    let Some((input, output)) = arenas.input_and_output(&step.input, out) else { return false };
    let epilogue = Epilogue { activation: step.activation, round_fp16: round };
    let target = kernels::Output { data: output, offset: 0, cols, pixel_stride: sx, row_stride: sy };
    conv::conv2d_into(input, step.in_shape, packed, window, step.out_shape, target, epilogue);
    true
}

/// Runs a pooling stage without bias whose input and output views are dense and apart straight
/// into the arena: no scratch buffer, no copy. Returns false, having done nothing, for any
/// other step.
fn pool_in_place(step: &Step, arenas: &mut Arenas, round: bool) -> bool {
    let Kernel::Pool { window, kind } = &step.kernel else { return false };
    let (input, output) = (&step.input, &step.output);
    if step.bias.is_some() || !input.is_dense() || !output.is_dense() || step.out_shape.is_empty() {
        return false;
    }
    let Some((values, out)) = arenas.input_and_output(input, output) else { return false };
    let finish = Finish { bias: None, activation: step.activation, round_fp16: round };
    pool::pool2d(values, step.in_shape, window, *kind, step.out_shape, out, &finish);
    true
}

/// Gathers a step's operands and computes into `scratch.output`, with bias and activation. A
/// dense input is read in place; only strided views are copied out. Returns true when the
/// kernel also rounded the stored values to fp16 as `round` asks (the fused epilogue), so the
/// caller need not: always, except for a GEMM stage whose bias could not be packed.
fn run_step(step: &Step, arenas: &Arenas, scratch: &mut Scratch, round: bool) -> bool {
    let Scratch { input: gathered, output, second } = scratch;
    if step.out_shape.is_empty() {
        // Nothing to compute; the kernels' loops over the other dimensions would still run.
        output.clear();
        return false;
    }
    let input: &[f32] = if step.input.is_dense() {
        &arenas.slice(step.input.arena)[step.input.offset..step.input.offset + step.input.len()]
    } else {
        arenas.gather(&step.input, gathered);
        gathered
    };
    let blob = &arenas.blob;
    let (in_shape, out_shape) = (step.in_shape, step.out_shape);
    let channels = out_shape.channels;
    if let (Kernel::Conv { window, .. }, Some(packed)) = (&step.kernel, &step.packed) {
        // The product overwrites every value, so the buffer needs no zeroing; the bias (one
        // per output channel) was packed with the weights.
        output.reserve_exact(out_shape.len().saturating_sub(output.len()));
        output.resize(out_shape.len(), 0.0);
        let epilogue = Epilogue { activation: step.activation, round_fp16: round };
        conv::conv2d(input, in_shape, packed, window, out_shape, output, epilogue);
        return true;
    }
    // Every kernel below writes every value, so the buffer is only sized, not cleared.
    output.reserve_exact(out_shape.len().saturating_sub(output.len()));
    output.resize(out_shape.len(), 0.0);
    let finish =
        Finish { bias: step.bias.as_ref().map(|r| &blob[r.clone()]), activation: step.activation, round_fp16: round };
    let f = &finish;
    match &step.kernel {
        Kernel::Conv { .. } => unreachable!("stage {}: weights are packed at load", step.index),
        Kernel::FullyConnected { weights } => {
            fc::fully_connected(input, &blob[weights.clone()], output);
            f.apply(output, channels);
        }
        Kernel::Depthwise { weights, window } => {
            depthwise::depthwise_conv2d(input, in_shape, &blob[weights.clone()], window, out_shape, output, f)
        }
        Kernel::Deconv { taps, window } => {
            deconv::deconv2d(input, in_shape, &blob[taps.clone()], window, out_shape, output, f)
        }
        Kernel::Pool { window, kind } => pool::pool2d(input, in_shape, window, *kind, out_shape, output, f),
        Kernel::Softmax => per_pixel(input, output, channels, 20, f, |x, y| {
            y.copy_from_slice(x);
            softmax::softmax_channels(y, channels);
        }),
        Kernel::Unary(op) => per_pixel(input, output, channels, op.cost(), f, |x, y| {
            y.copy_from_slice(x);
            op.apply(y);
        }),
        Kernel::Binary { op, second: view } => {
            arenas.gather(view, second);
            per_pixel_with(input, second, channels, output, channels, 1, f, |x, t, y| {
                y.copy_from_slice(x);
                op.apply(y, t);
            })
        }
        Kernel::ScaleWithScalar { second: view } => {
            arenas.gather(view, second);
            per_pixel_with(input, second, 1, output, channels, 1, f, |x, t, y| {
                y.copy_from_slice(x);
                elementwise::scale_pixels(y, channels, t);
            })
        }
        Kernel::Scale { factors } => per_pixel(input, output, channels, 1, f, |x, y| {
            y.copy_from_slice(x);
            elementwise::scale_channels(y, channels, &blob[factors.clone()]);
        }),
        Kernel::PRelu { slopes } => per_pixel(input, output, channels, 1, f, |x, y| {
            y.copy_from_slice(x);
            elementwise::prelu(y, channels, &blob[slopes.clone()]);
        }),
        Kernel::MaxWithConst { constants } => per_pixel(input, output, channels, 1, f, |x, y| {
            y.copy_from_slice(x);
            elementwise::max_with_const(y, channels, &blob[constants.clone()]);
        }),
        Kernel::Power { shift, scale, power } => per_pixel(input, output, channels, 20, f, |x, y| {
            y.copy_from_slice(x);
            elementwise::power(y, *shift, *scale, *power);
        }),
        Kernel::Lrn { size, k, alpha, beta } => per_pixel(input, output, channels, size + 20, f, |x, y| {
            lrn::lrn(x, y, channels, *size, *k, *alpha, *beta);
        }),
        Kernel::InnerLrn { k, alpha, beta } => per_pixel(input, output, channels, 20, f, |x, y| {
            y.copy_from_slice(x);
            lrn::inner_lrn(y, *k, *alpha, *beta);
        }),
        Kernel::ToPlaneMajor => layout::to_plane_major(input, in_shape, output, f),
        Kernel::Crop { offset } => layout::crop(input, in_shape, *offset, out_shape, output, f),
        Kernel::SumReduce => layout::sum_channels(input, in_shape.channels, output, f),
    }
    true
}

/// Runs a per-pixel operator over runs of whole pixels in parallel: `op(x, y)` computes the
/// run `y` of the output from the same run `x` of the input. `cost` is the element operations
/// of one value.
fn per_pixel(
    input: &[f32],
    output: &mut [f32],
    channels: usize,
    cost: usize,
    finish: &Finish,
    op: impl Fn(&[f32], &mut [f32]) + Sync,
) {
    per_pixel_with(input, &[], 0, output, channels, cost, finish, |x, _, y| op(x, y));
}

/// [`per_pixel`] with a second operand of `second_channels` values per pixel.
#[allow(clippy::too_many_arguments)]
fn per_pixel_with(
    input: &[f32],
    second: &[f32],
    second_channels: usize,
    output: &mut [f32],
    channels: usize,
    cost: usize,
    finish: &Finish,
    op: impl Fn(&[f32], &[f32], &mut [f32]) + Sync,
) {
    rows::for_rows(output, channels, channels * cost, channels, finish, |pixels, y| {
        let x = &input[pixels.start * channels..pixels.end * channels];
        let t = second.get(pixels.start * second_channels..pixels.end * second_channels).unwrap_or(&[]);
        op(x, t, y)
    });
}
