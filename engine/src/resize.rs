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

/// Resizes one float plane (viewed in place as the resizer's pixel type: no copies).
pub fn resize_plane(
    src: &[f32],
    width: u32,
    height: u32,
    dst_w: u32,
    dst_h: u32,
) -> Result<Vec<f32>> {
    let src = TypedImageRef::<F32>::from_buffer(width, height, bytemuck::cast_slice(src))
        .map_err(resize_error)?;
    let mut out = vec![0f32; dst_w as usize * dst_h as usize];
    let mut dst = TypedImage::<F32>::from_buffer(dst_w, dst_h, bytemuck::cast_slice_mut(&mut out))
        .map_err(resize_error)?;
    Resizer::new()
        .resize_typed(&src, &mut dst, &options())
        .map_err(resize_error)?;
    Ok(out)
}

/// Resizes the model's two planar channels (a then b, each `width*height`), in parallel.
///
/// Each plane goes through the single-channel path: `fast_image_resize` 5.5's two-channel float
/// kernel returned wrong values for some pixels of the first channel.
pub fn resize_ab(
    ab: &[f32],
    width: u32,
    height: u32,
    dst_w: u32,
    dst_h: u32,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let (a, b) = ab.split_at((width * height) as usize);
    let (a, b) = rayon::join(
        || resize_plane(a, width, height, dst_w, dst_h),
        || resize_plane(b, width, height, dst_w, dst_h),
    );
    Ok((a?, b?))
}
