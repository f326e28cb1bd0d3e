//! The operators, one file each, over dense HWC f32 buffers. The executor gathers each stage's
//! operands out of the arenas through the record's descriptors, calls the kernel, applies the
//! post-op, and scatters the result back; kernels never see strides or arenas.
//! Sliding-window kernels ask [`crate::window::Window`] which input cell each tap reads.
//!
//! Every kernel is tested against a naive loop in its own file. The non-GEMM kernels split their
//! output over the thread pool and finish each part (bias, activation, fp16 rounding) with
//! [`rows`].

pub mod conv;
pub mod deconv;
pub mod depthwise;
pub mod elementwise;
pub mod fc;
pub mod layout;
pub mod lrn;
pub mod pool;
#[cfg(test)]
mod proptests;
pub mod rows;
pub mod softmax;
pub mod winograd;

/// A dense HWC tensor shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// Rows (Y).
    pub rows: usize,
    /// Columns (X).
    pub cols: usize,
    /// Channels (Z).
    pub channels: usize,
}

impl Shape {
    /// A shape from rows, columns, channels.
    pub const fn new(rows: usize, cols: usize, channels: usize) -> Self {
        Shape { rows, cols, channels }
    }

    /// Element count.
    pub fn len(&self) -> usize {
        self.rows * self.cols * self.channels
    }

    /// True when it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pixel count (rows · columns).
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// As `[rows, columns, channels]`.
    pub fn to_array(self) -> [usize; 3] {
        [self.rows, self.cols, self.channels]
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Deterministic data and tolerant comparison for kernel tests.

    /// `len` values in [-1, 1) from a seed.
    pub fn random(len: usize, seed: u64) -> Vec<f32> {
        crate::graph::samples::Weights::new(seed).uniform(len, 1.0)
    }

    /// Asserts element-wise |a − b| ≤ tol·max(1, |b|).
    pub fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
        for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
            assert!((a - b).abs() <= tol * b.abs().max(1.0), "{what}: element {i}: {a} vs {b}");
        }
    }
}
