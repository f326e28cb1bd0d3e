//! Networks as graphs: facts derived from a blob, and ways to make blobs.
//!
//! - [`stats`]: per-stage and total multiply-accumulates, parameters and weight bytes of any
//!   blob (what `ncs info` and the profile report show);
//! - [`builder`]: [`GraphBuilder`] describes a network stage by stage and writes the blob
//!   mvNCCompile would have written for it;
//! - [`samples`]: the small networks committed in `graphs/`, and [`samples::Weights`], the seeded
//!   test data every generated network, test and benchmark draws from;
//! - [`networks`]: full-size networks (Inception V3) built with seeded weights on demand, too big
//!   to commit, for benchmarks and the TensorFlow comparison.
//!
//! The data flows one way: builder → [`Blob`](crate::blob::Blob) → stats; nothing here runs a
//! graph. Window arithmetic (output sizes, padding) is shared with the executor in
//! [`crate::window`]; its [`Padding`] is re-exported here for builder callers.

pub mod builder;
pub mod networks;
pub mod samples;
pub mod stats;

pub use crate::window::Padding;
pub use builder::{Activation, ConvSpec, GraphBuilder, TensorId};
pub use stats::{stage_stats, GraphStats, StageStats};
