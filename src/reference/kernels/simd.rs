//! Safe loops compiled for the CPU's widest vectors: [`vectorised`] runs a closure inside a
//! function built with the instruction-set features [`Isa`] detected, so the compiler
//! vectorises the closure's loops (and everything it inlines) with AVX-512 or AVX2+FMA instead
//! of the SSE2 baseline every x86-64 build assumes. The operators (pooling, …) stay in safe
//! code in their own files; only the one trampoline per family is `unsafe`.
//!
//! The closure must be `#[inline(always)]`, and so must every function it calls in its hot
//! loop: only code inlined into the trampoline gets the wider features.

use super::Isa;

/// Runs `body` compiled for `isa`'s vector extensions.
///
/// # Panics
/// If this CPU cannot run `isa` (a caller's bug: ask [`Isa::best`]).
#[inline(always)]
pub fn vectorised<R>(isa: Isa, body: impl FnOnce() -> R) -> R {
    assert!(isa.is_supported(), "vectorised: this CPU cannot run {isa} code");
    match isa {
        // SAFETY: `Isa::is_supported` found AVX-512F on this CPU (asserted above).
        #[cfg(all(target_arch = "x86_64", ncs_avx512))]
        Isa::Avx512 => unsafe { avx512(body) },
        // SAFETY: `Isa::is_supported` found AVX2, FMA and F16C on this CPU (asserted above).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2(body) },
        // aarch64's baseline already has Advanced SIMD; anything else runs as built.
        _ => body(),
    }
}

/// `body` with AVX-512F (which implies AVX2, FMA and F16C).
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(all(target_arch = "x86_64", ncs_avx512))]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// `body` with AVX2, FMA and F16C.
///
/// # Safety
/// The CPU has AVX2, FMA and F16C.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}
