//! Fully connected layer (op 4): the input read as one flat vector, weights `[N][K]` (the N×K
//! right-hand matrix) read where they lie in the blob arena, by [`crate::reference::kernels`]'
//! matrix-vector product. Bias and activation follow in the executor's common epilogue.

use crate::reference::kernels::{gemv, Isa};

/// `out[k] = Σ_n x[n] · W[n][k]` for row-major `[N][K]` weights (N = `input.len()`,
/// K = `out.len()`).
pub fn fully_connected(input: &[f32], weights: &[f32], out: &mut [f32]) {
    gemv(Isa::best(), input, weights, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    #[test]
    fn matches_naive() {
        let (n, k) = (37, 11);
        let x = random(n, 1);
        let w = random(n * k, 2);
        let mut out = vec![0.0; k];
        fully_connected(&x, &w, &mut out);
        let naive: Vec<f32> = (0..k).map(|j| (0..n).map(|i| x[i] * w[i * k + j]).sum()).collect();
        assert_close(&out, &naive, 1e-5, "fc");
    }
}
