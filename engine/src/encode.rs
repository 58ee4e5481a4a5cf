//! Writing results: PNG (16-bit when the original was), JPEG at a chosen quality, or 16-bit
//! TIFF for archives that keep masters in TIFF.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder};
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "format")]
pub enum OutputFormat {
    #[default]
    Png,
    Jpeg {
        quality: u8,
    },
    /// 16 bits per channel whatever the original's depth, deflate-compressed.
    Tiff,
}

/// JPEG results are written at this quality unless asked otherwise.
pub const DEFAULT_JPEG_QUALITY: u8 = 92;

impl OutputFormat {
    /// The format a job's `output_format` names (`png`, `jpeg`, `jpeg:85` for a quality,
    /// `tiff`); anything else is PNG.
    pub fn from_name(name: &str) -> OutputFormat {
        let (format, quality) = name.split_once(':').unwrap_or((name, ""));
        match format {
            "jpeg" | "jpg" => OutputFormat::Jpeg {
                quality: quality
                    .parse::<u8>()
                    .map_or(DEFAULT_JPEG_QUALITY, |q| q.clamp(1, 100)),
            },
            "tiff" | "tif" => OutputFormat::Tiff,
            _ => OutputFormat::Png,
        }
    }
    /// What a job stores: `png`, `jpeg`, or `jpeg:QUALITY` for another than the default.
    pub fn stored_name(self) -> String {
        match self {
            OutputFormat::Jpeg { quality } if quality != DEFAULT_JPEG_QUALITY => {
                format!("jpeg:{quality}")
            }
            other => other.name().to_string(),
        }
    }
    /// The name a job stores (`png`, `jpeg`, `tiff`).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg { .. } => "jpeg",
            OutputFormat::Tiff => "tiff",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg { .. } => "jpg",
            OutputFormat::Tiff => "tif",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg { .. } => "image/jpeg",
            OutputFormat::Tiff => "image/tiff",
        }
    }
    /// Whether results in this format are made at 16 bits per channel even from an 8-bit scan.
    pub fn always_sixteen_bits(self) -> bool {
        self == OutputFormat::Tiff
    }
}

pub fn encode(image: &DynamicImage, format: OutputFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    let failed = |e: image::ImageError| EngineError::Encode(e.to_string());
    match format {
        OutputFormat::Png => {
            // Fast deflate: results are large photos, and level 6 costs seconds per 12 MP image.
            let encoder =
                PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive);
            image.write_with_encoder(encoder).map_err(failed)?;
        }
        OutputFormat::Jpeg { quality } => {
            // JPEG has neither alpha nor 16 bits: the result is flattened to 8-bit RGB.
            let rgb = image.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
                .write_image(
                    rgb.as_raw(),
                    rgb.width(),
                    rgb.height(),
                    image::ExtendedColorType::Rgb8,
                )
                .map_err(failed)?;
        }
        OutputFormat::Tiff => write_tiff(image, &mut out)
            .map_err(|e| EngineError::Encode(format!("the TIFF could not be written: {e}")))?,
    }
    Ok(out.into_inner())
}

/// A 16-bit RGB (or RGBA, when the scan had transparency) TIFF, deflate with the horizontal
/// predictor, which roughly halves a photo's size against no predictor.
fn write_tiff(image: &DynamicImage, out: &mut Cursor<Vec<u8>>) -> tiff::TiffResult<()> {
    use tiff::encoder::{colortype, Compression, DeflateLevel, TiffEncoder};
    let mut encoder = TiffEncoder::new(out)?
        .with_compression(Compression::Deflate(DeflateLevel::Fast))
        .with_predictor(tiff::tags::Predictor::Horizontal);
    let (width, height) = (image.width(), image.height());
    if image.color().has_alpha() {
        let rgba = image.to_rgba16();
        encoder.write_image::<colortype::RGBA16>(width, height, rgba.as_raw())
    } else {
        let rgb = image.to_rgb16();
        encoder.write_image::<colortype::RGB16>(width, height, rgb.as_raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_name_keeps_the_jpeg_quality() {
        let chosen = OutputFormat::Jpeg { quality: 70 };
        assert_eq!(chosen.stored_name(), "jpeg:70");
        assert_eq!(OutputFormat::from_name("jpeg:70"), chosen);
        assert_eq!(
            OutputFormat::from_name("jpeg"),
            OutputFormat::Jpeg {
                quality: DEFAULT_JPEG_QUALITY
            }
        );
        assert_eq!(
            OutputFormat::from_name("jpeg:0"),
            OutputFormat::Jpeg { quality: 1 }
        );
        assert_eq!(OutputFormat::from_name("jpeg:x").stored_name(), "jpeg");
        assert_eq!(OutputFormat::from_name("png").stored_name(), "png");
        assert_eq!(OutputFormat::from_name("tiff").stored_name(), "tiff");
    }

    #[test]
    fn a_tiff_result_has_sixteen_bits_and_the_same_pixels() {
        let image = DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(37, 21, |x, y| {
            image::Rgb([x as u16 * 1771, y as u16 * 3001, 40_000])
        }));
        let bytes = encode(&image, OutputFormat::Tiff).unwrap();
        assert!(bytes.starts_with(b"II*\0"));
        let back = image::load_from_memory(&bytes).unwrap();
        assert_eq!(back.color(), image::ColorType::Rgb16);
        assert_eq!(back.to_rgb16(), image.to_rgb16());
        // An 8-bit image with transparency keeps it, in 16 bits.
        let eight = DynamicImage::ImageRgba8(image::ImageBuffer::from_pixel(
            5,
            4,
            image::Rgba([10, 20, 30, 128]),
        ));
        let back = image::load_from_memory(&encode(&eight, OutputFormat::Tiff).unwrap()).unwrap();
        assert_eq!(back.color(), image::ColorType::Rgba16);
        assert_eq!(back.to_rgba8(), eight.to_rgba8());
    }
}
