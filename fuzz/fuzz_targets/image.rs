//! Fuzzes image decoding (JPEG, PNG, BMP, TIFF, WebP, GIF; EXIF orientation) and every
//! preprocessing scheme: any input is an error, or a decoded image that preprocesses to
//! `[size, size, 3]` finite values. The first two bytes choose the size and the scheme.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ncs::preprocess::{preprocess, Scheme};

fuzz_target!(|data: &[u8]| {
    let [size, scheme, file @ ..] = data else { return };
    let size = usize::from(*size % 40) + 1;
    let Ok(image) = ncs::preprocess::decode::decode(file, "fuzz") else { return };
    let scheme = match scheme % 4 {
        0 => Scheme::SlimEval,
        1 => Scheme::Plain,
        2 => Scheme::Ncsdk,
        _ => Scheme::SlimTrain { seed: u64::from(*scheme), fast_mode: scheme & 4 != 0 },
    };
    let out = preprocess(&image, size, scheme).expect("a decoded image preprocesses");
    assert_eq!(out.shape(), [size, size, 3]);
    assert!(out.iter().all(|v| v.is_finite()), "{scheme:?}: non-finite value");
});
