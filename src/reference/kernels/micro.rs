//! Dispatch from an [`Isa`] to its micro-kernels.

use super::job::TileJob;
use super::Isa;

/// Runs `isa`'s tile kernel.
///
/// # Safety
/// `isa` is supported by this CPU and `job` satisfies the [`TileJob`] contract for its tile.
pub(crate) unsafe fn tile(isa: Isa, job: &TileJob) {
    // SAFETY: forwarded from the caller; each arm's feature is what `Isa::available` detected.
    unsafe {
        match isa {
            #[cfg(all(target_arch = "x86_64", ncs_avx512))]
            Isa::Avx512 => super::avx512::tile(job),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => super::avx2::tile(job),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => super::neon::tile(job),
            Isa::Portable => super::portable::tile(job),
            #[allow(unreachable_patterns)]
            other => unreachable!("{other} kernels are not built for this architecture"),
        }
    }
}
