//! Right-hand matrices (weights) packed once, in the panel layout the micro-kernels read.

use super::Isa;

/// Alignment of every panel, in f32 elements (64 bytes: one cache line, one AVX-512 vector).
const ALIGN: usize = 16;

/// A k × n right-hand matrix (convolution weights `[kh][kw][C][K]` read as (kh·kw·C) × K, or
/// fully-connected weights `[N][K]`) in the layout one [`Isa`]'s kernels read: the n columns in
/// panels of `nr` (the tile width; the last panel zero-padded), each panel k-major — `nr`
/// consecutive values per reduction step — and starting on a 64-byte boundary. The bias, if any,
/// is padded the same way so a kernel can load a whole panel's worth.
#[derive(Debug, Clone)]
pub struct PackedB {
    isa: Isa,
    k: usize,
    n: usize,
    nr: usize,
    stride: usize,
    storage: Vec<f32>,
    start: usize,
    bias: Vec<f32>,
}

impl PackedB {
    /// Packs row-major `b` (k × n) and an optional bias of n values for `isa`'s kernels.
    ///
    /// # Panics
    /// If `b` holds fewer than k·n values or the bias fewer than n (a planner bug).
    pub fn new(isa: Isa, k: usize, n: usize, b: &[f32], bias: Option<&[f32]>) -> PackedB {
        assert!(b.len() >= k * n, "PackedB: {} values for a {k}×{n} matrix", b.len());
        let nr = isa.tile()[1];
        let panels = n.div_ceil(nr);
        let stride = (k * nr).next_multiple_of(ALIGN);
        let len = panels * stride;
        let mut storage = vec![0.0f32; len + ALIGN];
        // Vec<f32> is only 4-byte aligned; start at the first 64-byte boundary inside it.
        let start = storage.as_ptr().align_offset(ALIGN * 4).min(ALIGN);
        let packed = &mut storage[start..start + len];
        for (panel, chunk) in packed.chunks_exact_mut(stride.max(1)).enumerate().take(panels) {
            let first = panel * nr;
            let width = nr.min(n - first);
            for (row, dst) in chunk[..k * nr].chunks_exact_mut(nr).enumerate() {
                dst[..width].copy_from_slice(&b[row * n + first..][..width]);
            }
        }
        let mut padded_bias = vec![0.0f32; panels * nr];
        if let Some(bias) = bias {
            assert!(bias.len() >= n, "PackedB: {} bias values for {n} columns", bias.len());
            padded_bias[..n].copy_from_slice(&bias[..n]);
        }
        PackedB { isa, k, n, nr, stride, storage, start, bias: bias.map(|_| padded_bias).unwrap_or_default() }
    }

    /// The kernel family this layout is for.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Reduction length (rows of the unpacked matrix).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of the unpacked matrix (output channels).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Panel width (the kernel's tile width).
    pub fn nr(&self) -> usize {
        self.nr
    }

    /// Number of column panels.
    pub fn panels(&self) -> usize {
        self.n.div_ceil(self.nr)
    }

    /// Panel `j`: k rows of `nr` values.
    pub fn panel(&self, j: usize) -> &[f32] {
        &self.storage[self.start + j * self.stride..][..self.k * self.nr]
    }

    /// The bias of panel `j` (`nr` values, zero past n), if the matrix has a bias.
    pub fn bias_panel(&self, j: usize) -> Option<&[f32]> {
        (!self.bias.is_empty()).then(|| &self.bias[j * self.nr..][..self.nr])
    }

    /// The bias (n values), if the matrix has one.
    pub fn bias(&self) -> Option<&[f32]> {
        (!self.bias.is_empty()).then(|| &self.bias[..self.n])
    }

    /// Heap bytes held (what packing costs in memory).
    pub fn heap_bytes(&self) -> usize {
        (self.storage.capacity() + self.bias.capacity()) * std::mem::size_of::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_are_k_major_aligned_and_zero_padded() {
        let (k, n) = (3, 11);
        let b: Vec<f32> = (0..k * n).map(|v| v as f32 + 1.0).collect();
        let bias: Vec<f32> = (0..n).map(|v| -(v as f32)).collect();
        for isa in Isa::available() {
            let p = PackedB::new(isa, k, n, &b, Some(&bias));
            let nr = p.nr();
            assert_eq!(p.panels(), n.div_ceil(nr));
            for j in 0..p.panels() {
                let panel = p.panel(j);
                assert_eq!(panel.as_ptr() as usize % 64, 0, "{isa} panel {j} alignment");
                for row in 0..k {
                    for col in 0..nr {
                        let want = if j * nr + col < n { b[row * n + j * nr + col] } else { 0.0 };
                        assert_eq!(panel[row * nr + col], want, "{isa} panel {j} ({row}, {col})");
                    }
                }
                let bias_panel = p.bias_panel(j).unwrap();
                for col in 0..nr {
                    let want = if j * nr + col < n { bias[j * nr + col] } else { 0.0 };
                    assert_eq!(bias_panel[col], want);
                }
            }
            assert!(PackedB::new(isa, k, n, &b, None).bias_panel(0).is_none());
        }
    }
}
