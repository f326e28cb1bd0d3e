//! Fully connected layer (op 4): the input read as one flat vector, weights `[N][K]` (the N×K
//! right-hand matrix), on the packed-panel kernels of [`crate::reference::kernels`].

use crate::reference::kernels::{gemv, Epilogue, Isa, PackedB};

/// Packs `[N][K]` weights (`inputs` = N, `outputs` = K) and an optional bias of K values for
/// this CPU's kernels: done once, when the executor is built.
pub fn pack(weights: &[f32], inputs: usize, outputs: usize, bias: Option<&[f32]>) -> PackedB {
    PackedB::new(Isa::best(), inputs, outputs, weights, bias)
}

/// `out[k] = act(Σ_n x[n] · W[n][k] + bias[k])`, rounded as `epilogue` says.
pub fn fully_connected(input: &[f32], weights: &PackedB, out: &mut [f32], epilogue: Epilogue) {
    gemv(input, weights, out, epilogue);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::elementwise::Activation;
    use crate::reference::ops::testing::{assert_close, random};

    #[test]
    fn matches_naive() {
        let (n, k) = (37, 11);
        let x = random(n, 1);
        let w = random(n * k, 2);
        let mut out = vec![0.0; k];
        let epilogue = Epilogue { activation: Activation::None, round_fp16: false };
        fully_connected(&x, &pack(&w, n, k, None), &mut out, epilogue);
        let naive: Vec<f32> = (0..k).map(|j| (0..n).map(|i| x[i] * w[i * k + j]).sum()).collect();
        assert_close(&out, &naive, 1e-5, "fc");
    }
}
