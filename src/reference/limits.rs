//! How much the CPU reference agrees to compute for one graph, checked before any allocation
//! or loop, so a hostile record can cost an error but never unbounded time or memory.
//!
//! Three bounds, each reported naming the stage, the record field and the limit:
//! - every stage's input and output: at most [`Limits::max_operand_elements`] values, and no
//!   more than the arena it lives in holds ([`crate::blob::check_operand_counts`]);
//! - the graph's multiply-adds, as [`crate::graph::stats`] counts them (and `ncs info` shows
//!   them): at most [`Limits::max_macs`];
//! - the graph's other value visits (each stage's operands read and written, and the window
//!   cells pooling, LRN and the convolutions' window sweeps visit): at most
//!   [`Limits::max_visits`]. Without it, pooling windows, or many stages copying large operands,
//!   would cost unbounded time at zero multiply-adds.

/// Resource limits of one [`Executor`](super::Executor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Values in any stage's input or output.
    pub max_operand_elements: u64,
    /// Multiply-adds of one inference over all stages.
    pub max_macs: u64,
    /// Values read or written outside multiply-adds in one inference over all stages.
    pub max_visits: u64,
}

impl Limits {
    /// 64 Mi values per operand (256 MiB as the executor's f32): the host library's own output
    /// limit, far above any NCS1 network's tensors.
    pub const MAX_OPERAND_ELEMENTS: u64 = 64 << 20;
    /// 50 G multiply-adds: about 9× Inception V3 (5.7 G), the largest network the NCS1 ran,
    /// and ten-odd seconds of the CPU reference.
    pub const MAX_MACS: u64 = 50_000_000_000;
    /// 16 G value visits: Inception V3 makes about 0.1 G; a visit costs the reference about as
    /// much as a multiply-add, or less.
    pub const MAX_VISITS: u64 = 16_000_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operand_elements: Self::MAX_OPERAND_ELEMENTS,
            max_macs: Self::MAX_MACS,
            max_visits: Self::MAX_VISITS,
        }
    }
}
