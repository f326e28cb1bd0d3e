//! Which micro-kernel family this CPU runs, decided once at run time.

use std::sync::OnceLock;

/// An instruction-set family with its own micro-kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// x86-64 AVX-512F (8×32 tiles).
    Avx512,
    /// x86-64 AVX2 + FMA + F16C (6×16 tiles).
    Avx2,
    /// aarch64 Advanced SIMD (8×8 tiles); always present on aarch64.
    Neon,
    /// Plain Rust, for any other CPU (4×8 tiles).
    Portable,
}

impl Isa {
    /// The fastest family this CPU supports, detected once. `NCS_KERNELS=portable|avx2|avx512|neon`
    /// picks another (when the CPU has it): for measuring one family against another.
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            let available = Isa::available();
            let wanted = std::env::var("NCS_KERNELS").ok();
            wanted.and_then(|w| available.iter().copied().find(|isa| isa.name() == w)).unwrap_or(available[0])
        })
    }

    /// Every family this CPU can run, fastest first (always ends with [`Isa::Portable`]).
    pub fn available() -> Vec<Isa> {
        let mut found = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if cfg!(ncs_avx512) && std::arch::is_x86_feature_detected!("avx512f") {
                found.push(Isa::Avx512);
            }
            let avx2 = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c");
            if avx2 {
                found.push(Isa::Avx2);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") {
                found.push(Isa::Neon);
            }
        }
        found.push(Isa::Portable);
        found
    }

    /// True when this CPU can run the family's kernels.
    pub fn is_supported(self) -> bool {
        static AVAILABLE: OnceLock<Vec<Isa>> = OnceLock::new();
        AVAILABLE.get_or_init(Isa::available).contains(&self)
    }

    /// True when the family's kernels round to fp16 in registers (a vector conversion exists);
    /// otherwise the driver rounds each stored tile.
    pub fn rounds_in_kernel(self) -> bool {
        matches!(self, Isa::Avx512 | Isa::Avx2)
    }

    /// Lower-case name, as `NCS_KERNELS` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Neon => "neon",
            Isa::Portable => "portable",
        }
    }

    /// Columns a kernel computes at a time: a call for `c` columns of a tile computes and
    /// stores `c` rounded up to a multiple of this (a half tile in the SIMD families).
    pub(crate) fn column_step(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 => 8,
            Isa::Neon => 4,
            Isa::Portable => 8,
        }
    }

    /// Micro-tile `[rows, columns]`: output pixels × output channels one kernel call produces.
    pub fn tile(self) -> [usize; 2] {
        match self {
            Isa::Avx512 => [8, 32],
            Isa::Avx2 => [6, 16],
            Isa::Neon => [8, 8],
            Isa::Portable => [4, 8],
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
