//! The executor's SIMD kernels — its only `unsafe` code — behind a safe interface.
//!
//! A matrix product `out = act(lhs · B + bias)` where B (convolution weights) was packed once
//! at plan time ([`PackedB`]) into the panel layout of the CPU's micro-kernel family ([`Isa`], detected at
//! run time: AVX-512F, AVX2+FMA+F16C, NEON, or portable Rust). The left-hand rows are read in
//! place ([`Lhs`]: a matrix's rows, or a convolution's input pixels tap by tap, so there is no
//! im2col copy); bias, activation, fp16 rounding and the strided store into the arena happen
//! as the tile leaves the registers ([`Epilogue`], [`Output`]). A fully-connected layer's
//! matrix-vector product ([`gemv`]) reads its weights unpacked, streaming whole rows. Work is
//! split over the rayon pool, created once per process. [`vectorised`] compiles other stages'
//! safe loops for the detected family's vectors, and [`round_fp16_prefix`] is the vector path
//! of `crate::fp16::round`.
//!
//! Safety: the micro-kernels take raw pointers; `gemm` derives every one of them from a slice
//! whose bounds it has checked, and each ISA's entry point is only called when `Isa::available`
//! detected the features it is compiled for.
#![allow(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod gemm;
mod gemv;
mod isa;
mod job;
mod micro;
mod pack;
mod round;
mod simd;
mod winograd;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(all(target_arch = "x86_64", ncs_avx512))]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;

#[cfg(test)]
mod tests;

pub use gemm::{gemm, gemm_serial, scratch_bytes, ConvGeometry, Epilogue, Lhs, Output};
pub use gemv::{gemv, gemv_scratch_bytes};
pub use isa::Isa;
pub(crate) use job::{Clamp, MAX_MR};
pub use pack::PackedB;
pub use round::round_fp16_prefix;
pub use simd::vectorised;
pub(crate) use winograd::{has_transform, input_tile, output_tile, TileStore};
pub use winograd::{WinogradAxis, F1_1, F2_5, F3_7, F4_3};
