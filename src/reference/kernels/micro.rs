//! Dispatch from an [`Isa`] to its micro-kernels.

use super::job::TileJob;
use super::Isa;

/// Runs `isa`'s tile kernel on the first `rows` rows of its tile (1..=mr), computing
/// `cols.next_multiple_of(isa.column_step())` columns (≤ nr).
///
/// # Safety
/// `isa` is supported by this CPU and `job` satisfies the [`TileJob`] contract for that part
/// of its tile.
pub(crate) unsafe fn tile(isa: Isa, job: &TileJob, rows: usize, cols: usize) {
    // SAFETY: forwarded from the caller; each arm's feature is what `Isa::available` detected.
    unsafe {
        match isa {
            #[cfg(all(target_arch = "x86_64", ncs_avx512))]
            Isa::Avx512 => super::avx512::tile(job, rows, cols),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => super::avx2::tile(job, rows, cols),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => super::neon::tile(job, rows, cols),
            Isa::Portable => super::portable::tile(job, rows),
            #[allow(unreachable_patterns)]
            other => unreachable!("{other} kernels are not built for this architecture"),
        }
    }
}
