//! `ncs`: a native toolkit for the Intel Movidius Neural Compute Stick, first generation.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ─▶ blob::GraphFile ─▶ backend (reference::Executor | device::Device | sdk) ─▶ outputs ─▶ reports
//! ```
//!
//! - [`blob`]: the NCSDK 1.x graph file, parsed once with full validation and written byte-exactly.
//! - [`compile`]: frozen TensorFlow graphs to graph files, as mvNCCompile writes them.
//! - [`graph`]: derived facts about a blob (shapes, MACs, parameters) and a builder for test nets.
//! - [`window`]: sliding-window arithmetic (output sizes, padding, tap indices) that builder,
//!   compiler and executor share.
//! - [`reference`](mod@reference): the CPU executor that runs a blob as the stick does.
//! - [`device`]: the native NCS1 driver over a USB bus, and the strict software stick.
//! - [`sdk`]: Intel's C library (or our drop-in) through bindgen, and the status table.
//! - [`backend`]: one [`backend::Backend`] trait over all of these, and the factory that opens one.
//! - [`input`]: a network's input from a file, its kind told by content (`.npy`, image, raw),
//!   and how images are prepared for a network ([`input::ImagePlan`]); [`preprocess`] does the
//!   image arithmetic, [`npy`] the files; [`labels`]: label files.
//! - [`verify`], [`profile`], [`bench`](mod@bench), [`classify`]: the reports built on backends.
//! - `serve` (cargo feature `serve`, on by default): an image classifier over HTTP on a pool of
//!   sticks. The `ncs` binary (feature `cli`) is a thin layer of flags over these modules.
//! - [`fp16`], [`splitmix`], [`files`]: the one fp16 codec, the one seeded random stream, and
//!   file reading with a size limit.
//! - [`error`]: one error type, a variant per kind of failure.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
pub mod bench;
pub mod blob;
pub mod classify;
pub mod compile;
pub mod device;
pub mod error;
pub mod files;
pub mod fp16;
pub mod graph;
pub mod input;
pub mod labels;
pub mod npy;
pub mod preprocess;
pub mod profile;
pub mod reference;
pub mod sdk;
#[cfg(feature = "serve")]
pub mod serve;
pub mod splitmix;
pub mod verify;
pub mod window;

pub use error::{Error, Result};
