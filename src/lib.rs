//! `ncs`: a native toolkit for the Intel Movidius Neural Compute Stick, first generation.
//!
//! Data flows one way:
//!
//! ```text
//! bytes ──blob::parse──▶ Blob ──graph (stats, builder)──▶ executor / device ──▶ outputs ──▶ report
//! ```
//!
//! - [`blob`]: the NCSDK 1.x graph file, parsed with full validation and written byte-exactly.
//! - [`compile`]: frozen TensorFlow graphs to graph files, as mvNCCompile writes them.
//! - [`graph`]: derived facts about a blob (shapes, MACs, parameters) and a builder for test nets.
//! - [`reference`]: the CPU executor that runs a blob as the stick does.
//! - [`window`]: sliding-window arithmetic (output sizes, padding, tap indices) that builder and
//!   executor share.
//! - [`device`]: the native NCS1 driver over a USB bus, and the software stick.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
pub mod bench;
pub mod blob;
pub mod classify;
pub mod compile;
pub mod device;
pub mod error;
pub mod fp16;
pub mod graph;
pub mod labels;
pub mod npy;
pub mod preprocess;
pub mod profile;
pub mod reference;
pub mod sdk;
pub mod serve;
pub mod splitmix;
pub mod verify;
pub mod window;

pub use error::{Error, Result};
