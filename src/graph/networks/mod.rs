//! Full-size networks with seeded weights, built on demand: too big to commit (Inception V3's
//! blob is ≈ 47 MB), small to describe. Each draws its weights from
//! [`Weights`](super::samples::Weights) in the order a committed script feeds TensorFlow, so
//! TensorFlow's outputs for them can be committed fixtures.

pub mod inception_v3;
