//! Writing results: PNG (16-bit when the original was) or JPEG at a chosen quality.

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
}

/// JPEG results are written at this quality unless asked otherwise.
pub const DEFAULT_JPEG_QUALITY: u8 = 92;

impl OutputFormat {
    /// The format a job's `output_format` names (`png`, `jpeg`, `jpeg:85` for a quality);
    /// anything else is PNG.
    pub fn from_name(name: &str) -> OutputFormat {
        let (format, quality) = name.split_once(':').unwrap_or((name, ""));
        match format {
            "jpeg" | "jpg" => OutputFormat::Jpeg {
                quality: quality
                    .parse::<u8>()
                    .map_or(DEFAULT_JPEG_QUALITY, |q| q.clamp(1, 100)),
            },
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
    /// The name a job stores (`png`, `jpeg`).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg { .. } => "jpeg",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Png => "png",
            OutputFormat::Jpeg { .. } => "jpg",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Png => "image/png",
            OutputFormat::Jpeg { .. } => "image/jpeg",
        }
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
    }
    Ok(out.into_inner())
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
    }
}
