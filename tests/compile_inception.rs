//! TF-Slim Inception V3 as users froze it for mvNCCompile (`tf_slim`'s `inception_v3`, 1001
//! classes, real `FusedBatchNormV3` nodes with seeded moving statistics), compiled with the
//! leukaemia-classifier command `-s 12 -in=input -on=InceptionV3/Predictions/Softmax` and run on
//! the CPU reference on real photos: the top-5 must be TensorFlow's.
//!
//! The frozen pb is 95 MB and generated, not committed:
//!
//! ```sh
//! pip install tensorflow-cpu tf_slim tf_keras numpy
//! python3 tests/data/gen_compile.py inception     # target/compile/inception_v3_slim.pb
//! cargo test --test compile_inception -- --ignored
//! ```
//!
//! TensorFlow's top-5 and probabilities for the photos are committed
//! (`tests/data/compile/inception_v3_top5.json`, from the same generator run).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use ncs::compile::{compile, CompileOptions};
use ncs::preprocess::{preprocess_file, Scheme};
use ncs::reference::{Executor, Precision};
use ncs::verify::top_k;

/// Largest |ours − TF| over the five top probabilities of every photo, fp32 and fp16 mode.
/// Measured: 1.3e-4 and 1.9e-4 (the weights are fp16 in both modes); 10× those.
const PROBABILITY_TOLERANCE: [f32; 2] = [1.3e-3, 1.9e-3];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn frozen_pb() -> PathBuf {
    std::env::var_os("NCS_INCEPTION_PB")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/compile/inception_v3_slim.pb"))
}

#[test]
#[ignore = "needs the generated 95 MB frozen pb: python3 tests/data/gen_compile.py inception (see the file's docs)"]
fn slim_inception_v3_compiles_and_classifies_photos_as_tensorflow() {
    let path = frozen_pb();
    let pb = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; generate it with `python3 tests/data/gen_compile.py inception` \
             (or point NCS_INCEPTION_PB at it)",
            path.display()
        )
    });
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/compile/inception_v3_top5.json")).unwrap(),
    )
    .unwrap();
    let options = CompileOptions {
        input: "input".into(),
        output: "InceptionV3/Predictions/Softmax".into(),
        shaves: 12,
        input_shape: None,
    };
    let compiled = compile(Bytes::from(pb), &options).unwrap();
    assert!(compiled.warnings.is_empty(), "{:?}", compiled.warnings);
    let blob = &compiled.blob;
    // 94 convolutions, 4 max and 10 average pools, the logits' 1x1 convolution as FC, softmax.
    assert_eq!(blob.stages.len(), 110);
    assert_eq!(blob.stages.last().unwrap().name.to_string(), "InceptionV3/Predictions/Softmax");

    let photos = expected["photos"].as_object().unwrap();
    assert!(photos.len() >= 3);
    let mut worst = [0.0f32; 2];
    for (photo, want) in photos {
        let want_top: Vec<usize> =
            want["top5"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let want_p: Vec<f32> =
            want["probabilities"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let input = preprocess_file(&root().join("tests/data/photos").join(photo), 299, Scheme::SlimEval).unwrap();
        let input: Vec<f32> = input.iter().copied().collect();
        for (m, precision) in [Precision::Fp32, Precision::Fp16].into_iter().enumerate() {
            let out = Executor::new(blob, precision).unwrap().run(&input).unwrap().output;
            assert_eq!(out.len(), 1001);
            let top = top_k(&out, 5);
            let ours: Vec<usize> = top.iter().map(|&(i, _)| i).collect();
            assert_eq!(ours, want_top, "{photo} {precision:?}: top-5 differs from TensorFlow's");
            let error = top.iter().zip(&want_p).map(|(&(_, p), &q)| (p - q).abs()).fold(0.0, f32::max);
            eprintln!("{photo:22} {precision:?}: top-5 {ours:?}, max |p − p_TF| {error:.2e}");
            assert!(error <= PROBABILITY_TOLERANCE[m], "{photo} {precision:?}: probability error {error}");
            worst[m] = worst[m].max(error);
        }
    }
    eprintln!("worst |p − p_TF|: fp32 {:.2e}, fp16 {:.2e}", worst[0], worst[1]);
}
