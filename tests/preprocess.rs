//! Preprocessing against TensorFlow's own ops (outputs from tests/data/gen_preprocess.py):
//! every scheme on real photos of several sizes and aspects, every primitive with fixed
//! parameters, the distorted-crop sampler's distribution, and bad files.

mod common;

use std::path::{Path, PathBuf};

use common::ncs;
use ncs::preprocess::color::{adjust_brightness, adjust_contrast, adjust_hue, adjust_saturation, flip_left_right};
use ncs::preprocess::crop::DistortedBox;
use ncs::preprocess::resize::{resize, Method};
use ncs::preprocess::rng::Rng;
use ncs::preprocess::{open, preprocess, train_with_draws, Scheme};
use ndarray::Array3;

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

fn expected(name: &str) -> Array3<f32> {
    let a = ncs::npy::read(&data(&format!("preprocess/{name}.npy"))).unwrap();
    Array3::from_shape_vec((a.shape[0], a.shape[1], a.shape[2]), a.values).unwrap()
}

fn max_error(a: &Array3<f32>, b: &Array3<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// PNG photos must match TensorFlow to 1e-5; JPEGs within the decoder difference stated here
/// (ours: the image crate's decoder; TF's: libjpeg-turbo with INTEGER_ACCURATE DCT).
const PNG_TOLERANCE: f32 = 1e-5;
const JPEG_TOLERANCE: f32 = 0.035;

#[test]
fn schemes_match_tensorflow_on_real_photos() {
    let photos = [
        "chelsea.png",
        "coffee.jpg",
        "rocket.jpg",
        "astronaut.jpg",
        "rocket_portrait.png",
        "chelsea_grey.png",
        "chelsea_16bit.png",
        "chelsea_rgba.png",
    ];
    for photo in photos {
        let image = open(&data(&format!("photos/{photo}"))).unwrap();
        let stem = photo.rsplit_once('.').unwrap().0;
        let tolerance = if photo.ends_with(".jpg") { JPEG_TOLERANCE } else { PNG_TOLERANCE };
        let eval =
            max_error(&preprocess(&image, 80, Scheme::SlimEval).unwrap(), &expected(&format!("slim_eval_{stem}")));
        assert!(eval <= tolerance, "{photo}: slim-eval max error {eval}");
        eprintln!("{photo}: slim-eval max |error| {eval:.2e}");
        if !photo.contains("16bit") {
            let ncsdk = max_error(&preprocess(&image, 80, Scheme::Ncsdk).unwrap(), &expected(&format!("ncsdk_{stem}")));
            assert!(ncsdk <= tolerance, "{photo}: ncsdk max error {ncsdk}");
            eprintln!("{photo}: ncsdk max |error| {ncsdk:.2e}");
        }
    }
}

#[test]
fn primitives_match_tensorflow_for_fixed_parameters() {
    let input = expected("prim_input");
    let check = |name: &str, out: Array3<f32>| {
        let err = max_error(&out, &expected(&format!("prim_{name}")));
        assert!(err <= 1e-5, "{name}: max error {err}");
    };
    let with = |f: &dyn Fn(&mut Array3<f32>)| {
        let mut a = input.clone();
        f(&mut a);
        a
    };
    check("brightness_p0.1", with(&|a| adjust_brightness(a, 0.1)));
    check("saturation_1.3", with(&|a| adjust_saturation(a, 1.3)));
    check("saturation_0.6", with(&|a| adjust_saturation(a, 0.6)));
    check("hue_0.15", with(&|a| adjust_hue(a, 0.15)));
    check("hue_m0.3", with(&|a| adjust_hue(a, -0.3)));
    check("contrast_1.4", with(&|a| adjust_contrast(a, 1.4)));
    check("contrast_0.5", with(&|a| adjust_contrast(a, 0.5)));
    check("flip", flip_left_right(&input));
    check("slice_3_5_17_20", input.slice(ndarray::s![3..20, 5..25, ..]).to_owned());
    for (index, method) in [Method::Bilinear, Method::Nearest, Method::Bicubic, Method::Area].into_iter().enumerate() {
        for (rows, cols) in [(17, 23), (41, 53)] {
            check(&format!("resize_m{index}_{rows}x{cols}"), resize(&input, rows, cols, method));
        }
    }
}

#[test]
fn distorted_crops_are_distributed_like_tensorflows() {
    let tf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("preprocess/bbox_stats.json")).unwrap()).unwrap();
    let (h, w, n) = (tf["height"].as_u64().unwrap() as usize, tf["width"].as_u64().unwrap() as usize, 20_000);
    let mut rng = Rng::new(99);
    let mut areas = Vec::with_capacity(n);
    let mut aspects = Vec::with_capacity(n);
    let mut full = 0;
    for _ in 0..n {
        let (b, sampled) = DistortedBox::default().sample(h, w, &mut rng);
        full += usize::from(!sampled);
        areas.push((b.height * b.width) as f64 / (h * w) as f64);
        aspects.push(b.width as f64 / b.height as f64);
    }
    let mean = areas.iter().sum::<f64>() / n as f64;
    let std = (areas.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let mean_aspect = aspects.iter().sum::<f64>() / n as f64;
    areas.sort_by(f64::total_cmp);
    let (p10, p90) = (areas[n / 10], areas[n * 9 / 10]);
    let close = |what: &str, ours: f64, theirs: &serde_json::Value, tol: f64| {
        let theirs = theirs.as_f64().unwrap();
        assert!((ours - theirs).abs() <= tol, "{what}: ours {ours:.4}, TensorFlow {theirs:.4}");
    };
    // 20,000 samples: standard errors are ≈ 0.0013 (mean) — tolerances are several of them.
    close("mean area fraction", mean, &tf["mean_area"], 0.008);
    close("area std", std, &tf["std_area"], 0.008);
    close("10th percentile area", p10, &tf["p10_area"], 0.01);
    close("90th percentile area", p90, &tf["p90_area"], 0.015);
    close("mean aspect", mean_aspect, &tf["mean_aspect"], 0.01);
    close("whole-image fallback rate", full as f64 / n as f64, &tf["full_image_rate"], 0.001);
}

#[test]
fn training_choices_are_uniform() {
    let image = open(&data("photos/chelsea.png")).unwrap();
    let (mut flips, mut methods, mut orderings) = (0, [0usize; 4], [0usize; 4]);
    let runs = 400;
    for seed in 0..runs {
        let (out, draws) = train_with_draws(&image, 24, seed, false);
        assert!(out.iter().all(|v| (-1.0..=1.0).contains(v)), "clipped to [0,1] then scaled");
        flips += usize::from(draws.flipped);
        methods[draws.method as usize] += 1;
        orderings[draws.ordering] += 1;
    }
    // Binomial(400, ½) and multinomial(400, ¼) bounds at about 4 standard deviations.
    assert!((160..=240).contains(&flips), "flips {flips}/{runs}");
    assert!(methods.iter().all(|&m| (60..=140).contains(&m)), "resize methods {methods:?}");
    assert!(orderings.iter().all(|&o| (60..=140).contains(&o)), "colour orderings {orderings:?}");
    let (_, fast) = train_with_draws(&image, 24, 1, true);
    assert_eq!((fast.method, fast.ordering), (Method::Bilinear, 0), "fast mode");
    // The same seed gives the same tensor.
    assert_eq!(
        preprocess(&image, 24, Scheme::SlimTrain { seed: 5, fast_mode: false }).unwrap(),
        preprocess(&image, 24, Scheme::SlimTrain { seed: 5, fast_mode: false }).unwrap()
    );
}

#[test]
fn exif_orientation_is_applied() {
    let rotated = open(&data("photos/chelsea_exif6.png")).unwrap();
    let upright = open(&data("preprocess/chelsea_exif6_upright.png")).unwrap();
    assert_eq!((rotated.width, rotated.height), (upright.width, upright.height));
    let (ncs::preprocess::Pixels::U8(a), ncs::preprocess::Pixels::U8(b)) = (&rotated.pixels, &upright.pixels) else {
        panic!("8-bit")
    };
    assert_eq!(a, b);
}

/// CRC-32 (PNG's), bitwise.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("ncs-bad-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(data("photos/chelsea.png")).unwrap();
    let jpeg = std::fs::read(data("photos/coffee.jpg")).unwrap();
    // A PNG header claiming 60000×60000: refused before any pixel buffer exists.
    let mut bomb = good[..33].to_vec();
    bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    bomb.extend_from_slice(&good[33..]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.png", Vec::new(), ""),
        ("truncated.png", good[..good.len() / 3].to_vec(), ""),
        ("truncated.jpg", jpeg[..jpeg.len() / 2].to_vec(), ""),
        ("garbage.jpg", b"\xff\xd8\xff this is not really a jpeg".to_vec(), ""),
        ("text.png", b"hello".to_vec(), "not an image"),
        ("bomb.png", bomb, "pixel limit"),
    ];
    for (name, bytes, hint) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = match open(&path) {
            Err(e) => e.to_string(),
            Ok(img) => panic!("{name}: decoded a {}x{} image", img.width, img.height),
        };
        assert!(err.contains(name) && err.contains(hint), "{name}: {err}");
    }
}

#[test]
fn the_cli_writes_what_the_library_computes() {
    let out_path = std::env::temp_dir().join(format!("ncs-pre-{}.npy", std::process::id()));
    let photo = data("photos/rocket_portrait.png");
    let out = ncs(&[
        "preprocess",
        photo.to_str().unwrap(),
        "--size",
        "33",
        "--scheme",
        "ncsdk",
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let written = ncs::npy::read(&out_path).unwrap();
    assert_eq!(written.shape, vec![33, 33, 3]);
    let lib = preprocess(&open(&photo).unwrap(), 33, Scheme::Ncsdk).unwrap();
    assert_eq!(written.values, lib.into_raw_vec_and_offset().0);
    for bad in [vec!["--size", "0"], vec!["--size", "99999"], vec!["--size", "8", "--scheme", "bogus"]] {
        let mut args = vec!["preprocess", photo.to_str().unwrap(), "--output", out_path.to_str().unwrap()];
        args.extend(bad.iter().copied());
        assert_eq!(ncs(&args).status.code(), Some(2), "{bad:?}");
    }
    let missing = ncs(&["preprocess", "/nonexistent.jpg", "--size", "8", "--output", out_path.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.jpg"));
    // An image straight into a graph: run preprocesses it to the network's input size.
    let graph = Path::new(env!("CARGO_MANIFEST_DIR")).join("graphs/tiny_cnn.graph");
    let run = ncs(&[
        "run",
        graph.to_str().unwrap(),
        "--input",
        photo.to_str().unwrap(),
        "--preprocess",
        "slim-eval",
        "--json",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

#[test]
fn every_supported_format_decodes_to_the_same_pixels() {
    let png = open(&data("photos/chelsea.png")).unwrap();
    let ncs::preprocess::Pixels::U8(reference) = &png.pixels else { panic!("8-bit") };
    let rgb = image::RgbImage::from_raw(png.width as u32, png.height as u32, reference.clone()).unwrap();
    let dir = std::env::temp_dir().join(format!("ncs-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Lossless formats must give back the PNG's pixels exactly.
    for ext in ["bmp", "tiff", "webp"] {
        let path = dir.join(format!("chelsea.{ext}"));
        if ext == "webp" {
            let file = std::fs::File::create(&path).unwrap();
            image::codecs::webp::WebPEncoder::new_lossless(file)
                .encode(rgb.as_raw(), rgb.width(), rgb.height(), image::ExtendedColorType::Rgb8)
                .unwrap();
        } else {
            rgb.save(&path).unwrap();
        }
        let decoded = open(&path).unwrap();
        let ncs::preprocess::Pixels::U8(pixels) = &decoded.pixels else { panic!("{ext}: 8-bit expected") };
        assert_eq!((decoded.width, decoded.height), (png.width, png.height), "{ext}");
        assert!(pixels == reference, "{ext}: pixels differ from the PNG");
    }
    // GIF: palette-quantised, so check the first frame's size and that it resembles the photo.
    let gif_path = dir.join("chelsea.gif");
    {
        let file = std::fs::File::create(&gif_path).unwrap();
        let mut encoder = image::codecs::gif::GifEncoder::new(file);
        let rgba = image::DynamicImage::ImageRgb8(rgb.clone()).to_rgba8();
        let frames =
            [image::Frame::new(rgba.clone()), image::Frame::new(image::RgbaImage::new(rgba.width(), rgba.height()))];
        encoder.encode_frames(frames).unwrap();
    }
    let gif = open(&gif_path).unwrap();
    assert_eq!((gif.width, gif.height), (png.width, png.height));
    let ncs::preprocess::Pixels::U8(frame) = &gif.pixels else { panic!("8-bit") };
    let mean_error =
        frame.iter().zip(reference).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>() / frame.len() as f64;
    assert!(mean_error < 12.0, "the first (photo) frame is decoded, not the black second one: mean error {mean_error}");
}
