//! Row-major single-precision matrix products through ndarray (matrixmultiply's blocked,
//! multi-threaded kernels), reached only through safe views.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// `c = a · b` for row-major `a` (m×k), `b` (k×n), `c` (m×n).
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let a = ArrayView2::from_shape((m, k), &a[..m * k]).expect("a is m×k");
    let b = ArrayView2::from_shape((k, n), &b[..k * n]).expect("b is k×n");
    let mut c = ArrayViewMut2::from_shape((m, n), &mut c[..m * n]).expect("c is m×n");
    general_mat_mul(1.0, &a, &b, 0.0, &mut c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![0.0; m * n];
        matmul(m, k, n, &a, &b, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                assert!((c[i * n + j] - want).abs() < 1e-5);
            }
        }
    }
}
