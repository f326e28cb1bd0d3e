//! Image files → 8- or 16-bit RGB, with EXIF orientation applied and a pixel limit enforced
//! before any pixel buffer is allocated.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::{Error, Result};

/// Largest image accepted: 100 megapixels (a 60000×60000 "decompression bomb" header is refused
/// before decoding).
pub const MAX_PIXELS: u64 = 100_000_000;

/// RGB pixels at their decoded depth.
#[derive(Debug, Clone)]
pub enum Pixels {
    /// 8 bits per channel (JPEG, most PNGs): values 0..=255.
    U8(Vec<u8>),
    /// 16 bits per channel (16-bit PNG/TIFF): values 0..=65535.
    U16(Vec<u16>),
}

/// A decoded RGB image (grey and alpha converted away), rows top to bottom, HWC.
#[derive(Debug, Clone)]
pub struct Image {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Interleaved RGB.
    pub pixels: Pixels,
}

impl Image {
    /// An 8-bit image from interleaved RGB bytes.
    pub fn from_rgb8(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        if data.len() != width * height * 3 {
            return Err(Error::Input {
                path: None,
                message: format!("{} bytes for a {width}x{height} RGB image", data.len()),
            });
        }
        Ok(Image { width, height, pixels: Pixels::U8(data) })
    }

    /// Channel value scaled to [0, 1] exactly as TensorFlow's `convert_image_dtype` does
    /// (cast, then multiply by 1/max in float32).
    #[inline]
    pub fn unit(&self, y: usize, x: usize, c: usize) -> f32 {
        let i = (y * self.width + x) * 3 + c;
        match &self.pixels {
            Pixels::U8(d) => f32::from(d[i]) * (1.0 / 255.0),
            Pixels::U16(d) => f32::from(d[i]) * (1.0 / 65535.0),
        }
    }

    /// Channel value on the 0..=255 scale (16-bit images scaled down), for the NCSDK scheme.
    #[inline]
    pub fn level(&self, y: usize, x: usize, c: usize) -> f32 {
        let i = (y * self.width + x) * 3 + c;
        match &self.pixels {
            Pixels::U8(d) => f32::from(d[i]),
            Pixels::U16(d) => f32::from(d[i]) * (255.0 / 65535.0),
        }
    }
}

/// Largest image file read.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// A JPEG decoder fills a cut-off file with grey and reports success; a complete file has an
/// end-of-image marker (FF D9) after its last start-of-scan (FF DA). Entropy-coded data cannot
/// contain FF D9, and an embedded thumbnail's markers come before the main image's scans.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    last_scan.is_some_and(|at| bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]))
}

/// Decodes a file. Grey becomes RGB, alpha is dropped, 16-bit depth is kept, and the EXIF
/// orientation (JPEG, TIFF, WebP, PNG eXIf) is applied so the image is upright. Errors name the
/// file; corrupt, truncated, empty or unsupported files never panic.
pub fn open(path: &Path) -> Result<Image> {
    let fail = |message: String| Error::Input { path: Some(path.to_owned()), message };
    let len = std::fs::metadata(path).map_err(|source| Error::Io { path: path.to_owned(), source })?.len();
    if len > MAX_FILE_BYTES {
        return Err(fail(format!("{len} bytes is larger than any image ncs accepts ({MAX_FILE_BYTES})")));
    }
    let bytes = crate::files::read_at_most(path, MAX_FILE_BYTES)
        .map_err(|source| Error::Io { path: path.to_owned(), source })?;
    decode(&bytes, &path.display().to_string())
}

/// Decodes an image file's bytes as [`open`] does; errors name `origin` (a file name).
pub fn decode(bytes: &[u8], origin: &str) -> Result<Image> {
    let fail = |message: String| Error::Input { path: Some(origin.into()), message };
    if bytes.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    let reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| fail(format!("cannot read: {e}")))?;
    match reader.format() {
        None => return Err(fail("not an image in a supported format (JPEG, PNG, BMP, TIFF, WebP, GIF)".into())),
        Some(ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => {
            return Err(fail("truncated JPEG (no end-of-image marker after the last scan)".into()))
        }
        Some(_) => {}
    }
    let mut decoder = reader.into_decoder().map_err(|e| fail(format!("cannot decode: {e}")))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(fail(format!("{width}x{height} exceeds the {MAX_PIXELS}-pixel limit")));
    }
    if width == 0 || height == 0 {
        return Err(fail("the image is empty".into()));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder.set_limits(limits).map_err(|e| fail(format!("cannot decode: {e}")))?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| fail(format!("cannot decode: {e}")))?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let (width, height) = (image.width() as usize, image.height() as usize);
    let pixels = match image {
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => Pixels::U16(image.into_rgb16().into_raw()),
        other => Pixels::U8(other.into_rgb8().into_raw()),
    };
    Ok(Image { width, height, pixels })
}
