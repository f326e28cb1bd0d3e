//! Derived views of a blob: per-stage statistics, a builder for small networks, and the
//! sample networks bundled in `graphs/`.

mod builder;
pub mod inception_v3;
pub mod samples;
mod stats;

pub use builder::{Activation, GraphBuilder, Padding, TensorId};
pub use stats::{stage_stats, GraphStats, StageStats};
