//! Local response normalisation across channels (op 11) and its within-channel helper (op 18).

/// Across-channel LRN with the blob's parameters `[k, α', β]` and window `n` (radixX):
/// `y = x / (k + α'/n · Σ_{c'} x_{c'}²)^β`, window `[c − ⌊(n−1)/2⌋, c + ⌈(n−1)/2⌉]`, from
/// `input` into `out` (equal lengths, whole pixels of `channels` values). Each window's
/// squares are summed in channel order, as the definition reads.
pub fn lrn(input: &[f32], out: &mut [f32], channels: usize, n: usize, k: f32, alpha: f32, beta: f32) {
    let before = (n.max(1) - 1) / 2;
    let after = (n.max(1) - 1) - before;
    let scale = alpha / n.max(1) as f32;
    let c = channels.max(1);
    for (x, y) in input.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
        for (ch, (y, &xv)) in y.iter_mut().zip(x).enumerate() {
            let window = &x[ch.saturating_sub(before)..=(ch + after).min(c - 1)];
            let sum: f32 = window.iter().map(|&v| v * v).sum();
            *y = xv / (k + scale * sum).powf(beta);
        }
    }
}

/// Within-channel LRN's elementwise step: `y = (k + α·x)^(−β)`.
pub fn inner_lrn(values: &mut [f32], k: f32, alpha: f32, beta: f32) {
    values.iter_mut().for_each(|v| *v = (k + alpha * *v).powf(-beta));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::testing::{assert_close, random};

    #[test]
    fn matches_tensorflow_formula() {
        // TF: sqr_sum[c] = Σ_{|c'−c| ≤ r} x²; y = x / (bias + alpha · sqr_sum)^beta.
        // The blob stores α' = alpha · (2r+1) and n = 2r+1, so α'/n = alpha.
        let (channels, r, bias, alpha, beta) = (7usize, 2usize, 1.5f32, 0.3f32, 0.75f32);
        let x = random(3 * channels, 4);
        let mut y = vec![0.0; x.len()];
        lrn(&x, &mut y, channels, 2 * r + 1, bias, alpha * (2 * r + 1) as f32, beta);
        let mut want = vec![0.0; x.len()];
        for p in 0..3 {
            for c in 0..channels {
                let lo = c.saturating_sub(r);
                let hi = (c + r).min(channels - 1);
                let s: f32 = (lo..=hi).map(|d| x[p * channels + d].powi(2)).sum();
                want[p * channels + c] = x[p * channels + c] / (bias + alpha * s).powf(beta);
            }
        }
        assert_close(&y, &want, 1e-5, "lrn");
        let mut v = [1.0f32];
        inner_lrn(&mut v, 1.0, 3.0, 0.5);
        assert_eq!(v, [0.5]);
    }
}
