//! What a step costs the CPU reference, charged against the graph's [`Limits`] while planning:
//! multiply-adds as [`crate::graph::stats`] counts them (the one definition, also shown by
//! `ncs info`), and value visits — everything else the kernels' loops touch.

use crate::error::Result;
use crate::graph::stats::stage_stats;
use crate::reference::limits::Limits;
use crate::reference::ops::Shape;

use super::{Kernel, Planner, Step};

/// Work of the stages planned so far.
#[derive(Debug, Default)]
pub(super) struct Spent {
    macs: u64,
    visits: u64,
}

/// Elements a loop nest over `shape` runs through: a zero dimension counts as 1, since the
/// loops over the other dimensions still run.
fn loops(shape: Shape) -> u64 {
    [shape.rows, shape.cols, shape.channels].iter().fold(1u64, |n, &d| n.saturating_mul(d.max(1) as u64))
}

/// Values a step reads and writes outside its multiply-adds: its input, second operand and
/// output, and the window cells its sliding loops visit (every cell for pooling and LRN; one
/// lookup per output pixel and tap for the convolutions, whose per-channel work is MACs).
fn visits(step: &Step) -> (u64, u64) {
    let out = loops(step.out_shape);
    let pixels = loops(Shape { channels: 1, ..step.out_shape });
    let area = |kernel: [usize; 2]| (kernel[0] as u64).saturating_mul(kernel[1] as u64);
    let window = match &step.kernel {
        Kernel::Conv { window, .. } | Kernel::Depthwise { window, .. } | Kernel::Deconv { window, .. } => {
            pixels.saturating_mul(area(window.kernel))
        }
        Kernel::Pool { window, .. } => out.saturating_mul(area(window.kernel)),
        Kernel::Lrn { size, .. } => out.saturating_mul(*size as u64),
        _ => 0,
    };
    let second = match &step.kernel {
        Kernel::Binary { second, .. } | Kernel::ScaleWithScalar { second } => second.len() as u64,
        _ => 0,
    };
    let moved = loops(step.in_shape).saturating_add(second).saturating_add(out);
    (moved, window)
}

impl Planner<'_> {
    /// Adds the stage's multiply-adds to `spent`, before its step is planned (the planner's own
    /// weight counts multiply the same fields); an error names the stage and the limit.
    pub(super) fn charge_macs(&self, spent: &mut Spent, limits: &Limits) -> Result<()> {
        let s = self.stage;
        let macs = stage_stats(s).macs;
        spent.macs = spent.macs.saturating_add(macs);
        if spent.macs <= limits.max_macs {
            return Ok(());
        }
        Err(self.fail(format!(
            "multiply-adds: {macs} here (output {}×{}×{}, kernel {}×{}, {} input channels), {} for the graph so far, \
             past the limit of {} per inference (raise it with --max-macs)",
            s.output.dims.x,
            s.output.dims.y,
            s.output.dims.z,
            s.kernel_x,
            s.kernel_y,
            s.input.dims.z,
            spent.macs,
            limits.max_macs
        )))
    }

    /// Adds the planned step's value visits to `spent`; an error names the stage and the limit.
    pub(super) fn charge_visits(&self, step: &Step, spent: &mut Spent, limits: &Limits) -> Result<()> {
        let (moved, window) = visits(step);
        let here = moved.saturating_add(window);
        spent.visits = spent.visits.saturating_add(here);
        if spent.visits <= limits.max_visits {
            return Ok(());
        }
        Err(self.fail(format!(
            "value visits: {here} here ({moved} values read and written, {window} window cells for radixX·radixY \
             {}×{}), {} for the graph so far, past the limit of {} per inference",
            self.stage.kernel_x, self.stage.kernel_y, spent.visits, limits.max_visits
        )))
    }
}
