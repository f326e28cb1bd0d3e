//! Fully connected layer (op 4): the input read as one flat vector, weights `[N][K]`.

use super::gemm::matmul;

/// `out[k] = Σ_n x[n] · W[n][k]`.
pub fn fully_connected(input: &[f32], weights: &[f32], k: usize, out: &mut [f32]) {
    matmul(1, input.len(), k, input, weights, out);
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
        fully_connected(&x, &w, k, &mut out);
        let naive: Vec<f32> = (0..k).map(|j| (0..n).map(|i| x[i] * w[i * k + j]).sum()).collect();
        assert_close(&out, &naive, 1e-5, "fc");
    }
}
