//! Softmax over the channels of each pixel (op 3, axis 1).

/// Softmax of each run of `channels` values, computed stably (max subtracted first).
pub fn softmax_channels(values: &mut [f32], channels: usize) {
    for pixel in values.chunks_mut(channels.max(1)) {
        let max = pixel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for v in pixel.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        pixel.iter_mut().for_each(|v| *v /= sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ops::testing::assert_close;

    #[test]
    fn matches_the_definition_and_survives_large_logits() {
        let mut v = vec![1.0, 2.0, 3.0, 1000.0, 1000.0, 999.0];
        softmax_channels(&mut v, 3);
        let e = |x: f64| x.exp();
        let s = e(1.0) + e(2.0) + e(3.0);
        let want = [e(1.0) / s, e(2.0) / s, e(3.0) / s];
        assert_close(&v[..3], &want.map(|x| x as f32), 1e-6, "softmax");
        let t = 2.0 + e(-1.0);
        assert_close(&v[3..], &[1.0 / t, 1.0 / t, e(-1.0) / t].map(|x| x as f32), 1e-6, "large");
    }
}
