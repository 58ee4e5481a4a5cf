//! Small JPEG renderings for the browser: gallery thumbnails and same-size previews of an
//! original and its result (browsers cannot show TIFF, and 12 MP is too much for a page).

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::ImageEncoder;

use crate::decode::decode;
use crate::error::{EngineError, Result};

/// Decodes `bytes` (orientation applied) and returns a JPEG whose longer side is at most `max_side`.
pub fn jpeg_preview(bytes: &[u8], max_side: u32, max_pixels: u64) -> Result<Vec<u8>> {
    let source = decode(bytes, max_pixels)?;
    let rgb = source.image.to_rgb8();
    let (width, height) = rgb.dimensions();
    let scale = (max_side as f32 / width.max(height) as f32).min(1.0);
    let (w, h) = (
        ((width as f32 * scale).round() as u32).max(1),
        ((height as f32 * scale).round() as u32).max(1),
    );
    let failed = |e: &dyn std::fmt::Display| EngineError::Encode(e.to_string());
    let src = Image::from_vec_u8(width, height, rgb.into_raw(), PixelType::U8x3)
        .map_err(|e| failed(&e))?;
    let mut dst = Image::new(w, h, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        )
        .map_err(|e| failed(&e))?;
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 85)
        .write_image(dst.buffer(), w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| failed(&e))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_keep_the_aspect_ratio_and_never_enlarge() {
        let image =
            image::DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(300, 120, |x, _| {
                image::Luma([(x * 200) as u16])
            }));
        let mut png = Cursor::new(Vec::new());
        image.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let small =
            image::load_from_memory(&jpeg_preview(png.get_ref(), 100, 1 << 30).unwrap()).unwrap();
        assert_eq!((small.width(), small.height()), (100, 40));
        let same =
            image::load_from_memory(&jpeg_preview(png.get_ref(), 1000, 1 << 30).unwrap()).unwrap();
        assert_eq!((same.width(), same.height()), (300, 120));
    }
}
