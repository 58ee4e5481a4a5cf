//! Plane resizing with `fast_image_resize`: bilinear convolution, antialiased when shrinking
//! (the same filter as Pillow's `resize(..., BILINEAR)` that the reference pipeline uses).

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::F32;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

use crate::error::{EngineError, Result};

fn options() -> ResizeOptions {
    ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
}

fn resize_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Inference(format!("resize failed: {e}"))
}

/// Resizes one float plane.
pub fn resize_plane(src: &[f32], width: u32, height: u32, dst_w: u32, dst_h: u32) -> Result<Vec<f32>> {
    let pixels: Vec<F32> = src.iter().map(|&v| F32::new(v)).collect();
    let src = TypedImageRef::new(width, height, &pixels).map_err(resize_error)?;
    let mut dst = TypedImage::<F32>::new(dst_w, dst_h);
    Resizer::new()
        .resize_typed(&src, &mut dst, &options())
        .map_err(resize_error)?;
    Ok(dst.pixels().iter().map(|p| p.0).collect())
}

/// Resizes the model's two planar channels (a then b, each `width*height`), in parallel.
///
/// Each plane goes through the single-channel path: `fast_image_resize` 5.5's two-channel float
/// kernel returned wrong values for some pixels of the first channel.
pub fn resize_ab(ab: &[f32], width: u32, height: u32, dst_w: u32, dst_h: u32) -> Result<(Vec<f32>, Vec<f32>)> {
    let (a, b) = ab.split_at((width * height) as usize);
    let (a, b) = rayon::join(
        || resize_plane(a, width, height, dst_w, dst_h),
        || resize_plane(b, width, height, dst_w, dst_h),
    );
    Ok((a?, b?))
}
