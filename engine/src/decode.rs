//! Reading uploaded or scanned files: format by content, a pixel limit checked before any
//! pixel is decoded (decompression bombs), EXIF orientation applied.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use crate::error::{EngineError, Result};

/// 100 megapixels: larger than any flatbed scan at 1200 dpi of an A4 page.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

const SUPPORTED: [ImageFormat; 5] = [
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::Tiff,
    ImageFormat::WebP,
    ImageFormat::Bmp,
];

/// A decoded original, upright, at its full resolution.
#[derive(Debug, Clone)]
pub struct SourceImage {
    pub image: DynamicImage,
    pub format: ImageFormat,
}

impl SourceImage {
    pub fn width(&self) -> u32 {
        self.image.width()
    }
    pub fn height(&self) -> u32 {
        self.image.height()
    }
    /// True for 16-bit (or float) originals, whose results are written as 16-bit PNG.
    pub fn is_high_depth(&self) -> bool {
        !matches!(
            self.image,
            DynamicImage::ImageLuma8(_)
                | DynamicImage::ImageLumaA8(_)
                | DynamicImage::ImageRgb8(_)
                | DynamicImage::ImageRgba8(_)
        )
    }
    pub fn has_alpha(&self) -> bool {
        self.image.color().has_alpha()
    }
}

/// The format of a file judged by its first bytes, if it is one Tinct accepts.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    image::guess_format(bytes)
        .ok()
        .filter(|format| SUPPORTED.contains(format))
}

/// Width and height from the header alone, checked against `max_pixels`; no pixel is decoded.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<(ImageFormat, u32, u32)> {
    let (format, decoder) = open(bytes, max_pixels)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    Ok((format, width, height))
}

/// Like [`probe`] for a file on disk: reads the header only, so a huge upload costs nothing more.
pub fn probe_file(path: &std::path::Path, max_pixels: u64) -> Result<(ImageFormat, u32, u32)> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| EngineError::io("cannot read the upload", e))?;
    let mut head = Vec::with_capacity(64);
    file.take(64)
        .read_to_end(&mut head)
        .map_err(|e| EngineError::io("cannot read the upload", e))?;
    let format = sniff_format(&head).ok_or(EngineError::UnsupportedFormat)?;
    let file =
        std::fs::File::open(path).map_err(|e| EngineError::io("cannot read the upload", e))?;
    let mut reader = ImageReader::with_format(std::io::BufReader::new(file), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(map_image_error)?;
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    Ok((format, width, height))
}

/// Whether a file of `format` on disk is complete, judged from its structure without decoding:
/// a cut-off upload is refused at once with the same message its job would end with. JPEG needs
/// an end-of-image marker after its last scan, PNG its `IEND` chunk, WebP and BMP the length
/// their headers declare. TIFF has no such mark and passes.
pub fn check_complete(path: &std::path::Path, format: ImageFormat) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    const TAIL: u64 = 1 << 20;
    let truncated = |what: &str| {
        Err(EngineError::Corrupt(format!(
            "the {what} file is truncated"
        )))
    };
    let mut file =
        std::fs::File::open(path).map_err(|e| EngineError::io("cannot read the upload", e))?;
    let length = file
        .metadata()
        .map_err(|e| EngineError::io("cannot read the upload", e))?
        .len();
    let mut head = [0u8; 16];
    let mut tail = Vec::new();
    let read = (|| {
        file.read_exact(&mut head[..16.min(length as usize)])?;
        file.seek(SeekFrom::Start(length.saturating_sub(TAIL)))?;
        file.read_to_end(&mut tail)
    })();
    read.map_err(|e| EngineError::io("cannot read the upload", e))?;
    match format {
        // The last 1 MiB: enough to hold the end of the last scan and the end marker.
        ImageFormat::Jpeg => {
            let last = |marker: u8| tail.windows(2).rposition(|w| w == [0xFF, marker]);
            let complete = match (last(0xDA), last(0xD9)) {
                (Some(scan), Some(end)) => end > scan,
                (None, Some(_)) => true,
                _ => false,
            };
            if !complete {
                return truncated("JPEG");
            }
        }
        ImageFormat::Png => {
            let end = tail.len().saturating_sub(4096);
            if !tail[end..].windows(4).any(|w| w == b"IEND") {
                return truncated("PNG");
            }
        }
        ImageFormat::WebP => {
            let declared = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]])) + 8;
            if length < declared {
                return truncated("WebP");
            }
        }
        ImageFormat::Bmp => {
            let declared = u64::from(u32::from_le_bytes([head[2], head[3], head[4], head[5]]));
            if length < declared {
                return truncated("BMP");
            }
        }
        _ => {}
    }
    Ok(())
}

/// Decodes a whole file held in memory.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<SourceImage> {
    let (format, mut decoder) = open(bytes, max_pixels)?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(EngineError::Corrupt("the JPEG file is truncated".into()));
    }
    let (width, height) = decoder.dimensions();
    check_pixels(width, height, max_pixels)?;
    // A broken EXIF block must not cost the user the picture: fall back to "as stored".
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
    image.apply_orientation(orientation);
    Ok(SourceImage { image, format })
}

fn open(bytes: &[u8], max_pixels: u64) -> Result<(ImageFormat, impl ImageDecoder + use<'_>)> {
    let format = sniff_format(bytes).ok_or(EngineError::UnsupportedFormat)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // Room for the largest allowed image at 16-bit RGBA plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(map_image_error)?;
    Ok((format, decoder))
}

/// The JPEG decoder quietly fills a cut-off file with grey; a complete file has an end-of-image
/// marker after its last start-of-scan (byte stuffing keeps FF D9 out of the scan data).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (last(0xDA), last(0xD9)) {
        (Some(scan), Some(end)) => end > scan,
        _ => false,
    }
}

fn check_pixels(width: u32, height: u32, limit: u64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(EngineError::Empty);
    }
    if u64::from(width) * u64::from(height) > limit {
        return Err(EngineError::TooManyPixels {
            width,
            height,
            limit,
        });
    }
    Ok(())
}

fn map_image_error(error: ImageError) -> EngineError {
    match error {
        ImageError::Unsupported(e) => EngineError::Corrupt(format!("unsupported variant: {e}")),
        ImageError::Limits(e) => EngineError::Corrupt(format!("over the memory limit: {e}")),
        other => EngineError::Corrupt(other.to_string()),
    }
}
