//! slim-eval of a 2592×1944 JPEG (the ALL-IDB photo size) to 299×299: decode and transform
//! timed separately, against TensorFlow's decode + preprocess of the same file measured in the
//! same run (benches/tf_preprocess.py). Issue target: ncs total ≤ ½ TensorFlow's.
//! Run: `cargo bench --bench preprocess`.

use std::process::Command;
use std::time::{Duration, Instant};

use image::imageops::FilterType;
use ncs::preprocess::{open, preprocess, Scheme};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let runs = 20;
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/photos/astronaut.jpg");
    let big = image::open(photo).expect("photo").resize_exact(2592, 1944, FilterType::Triangle);
    let path = std::env::temp_dir().join(format!("ncs-bench-{}.jpg", std::process::id()));
    big.to_rgb8().save(&path).expect("write JPEG");
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let (mut decode, mut transform) = (Vec::new(), Vec::new());
    for _ in 0..runs + 3 {
        let t = Instant::now();
        let image = open(&path).expect("decode");
        let d = t.elapsed();
        let t = Instant::now();
        std::hint::black_box(preprocess(&image, 299, Scheme::SlimEval).expect("preprocess"));
        decode.push(d);
        transform.push(t.elapsed());
    }
    let (decode, transform) = (median(decode[3..].to_vec()), median(transform[3..].to_vec()));
    println!("2592x1944 JPEG ({bytes} bytes) -> slim-eval 299x299, medians of {runs}:");
    println!("ncs: decode {decode:.2} ms + transform {transform:.2} ms = {:.2} ms", decode + transform);
    let tf = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/tf_preprocess.py"))
        .arg(&path)
        .arg(runs.to_string())
        .output();
    match tf.ok().filter(|o| o.status.success()).and_then(|o| String::from_utf8(o.stdout).ok()) {
        Some(text) => {
            let f: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            if let [tf_decode, tf_total] = f[..] {
                println!("TensorFlow: decode {tf_decode:.2} ms, decode + preprocess {tf_total:.2} ms");
                println!("ncs / TF = {:.2} (target <= 0.50)", (decode + transform) / tf_total);
            }
        }
        None => println!("TensorFlow not available (pip install tensorflow-cpu) - no ratio"),
    }
    let _ = std::fs::remove_file(&path);
}
