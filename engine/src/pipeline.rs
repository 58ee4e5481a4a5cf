//! DDColor's pre- and post-processing around the model run.
//!
//! Before: the L channel of the ORIGINAL image, resized to S×S, rendered as grey RGB.
//! After: the model's a/b at S×S, resized back to the original size, clamped, joined with the
//! original full-resolution L and converted back to sRGB. Alpha is carried over untouched.

use image::{DynamicImage, ImageBuffer, LumaA, Rgba};
use rayon::prelude::*;

use crate::color::{
    decode_table_u16, decode_table_u8, encode_linear, encode_linear_u8, encode_table_u8,
    grey_for_lightness, lab_rows_to_linear, lightness_from_luminance, lightness_table_u16,
    lightness_table_u8, luminance, srgb_to_linear,
};
use crate::decode::SourceImage;
use crate::error::{EngineError, Result};
use crate::resize::{resize_ab, resize_plane};

/// Model input size S (the image is resized to S×S for the model only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputSize(u32);

impl InputSize {
    pub const MIN: u32 = 32;
    pub const MAX: u32 = 2048;

    pub fn new(s: u32) -> Result<Self> {
        if s.is_multiple_of(32) && (Self::MIN..=Self::MAX).contains(&s) {
            Ok(InputSize(s))
        } else {
            Err(EngineError::InvalidInputSize(s))
        }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for InputSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Alpha of the original, kept to be put back on the result.
#[derive(Debug)]
enum Alpha {
    None,
    Eight(Vec<u8>),
    Sixteen(Vec<u16>),
}

/// What pre-processing produced: the model input and what post-processing needs.
#[derive(Debug)]
pub struct Prepared {
    width: u32,
    height: u32,
    size: InputSize,
    lightness: Vec<f32>,
    alpha: Alpha,
    high_depth: bool,
    /// L resized to S×S: what the model saw, and the guide for a person's colour hints.
    model_lightness: Vec<f32>,
    /// Grey RGB, planar `[3, S, S]`, values in [0,1].
    pub input: Vec<f32>,
}

impl Prepared {
    pub fn size(&self) -> InputSize {
        self.size
    }

    pub fn model_lightness(&self) -> &[f32] {
        &self.model_lightness
    }

    /// Builds the result at 16 bits per channel even from an 8-bit scan (for formats that
    /// promise 16 bits): the colours keep the precision the Lab conversion computed.
    pub fn make_sixteen_bits(&mut self) {
        self.high_depth = true;
    }
}

/// Pre-processing: full-resolution L, and the S×S grey model input made from it.
pub fn prepare(source: &SourceImage, size: InputSize) -> Result<Prepared> {
    let (width, height) = (source.width(), source.height());
    let lightness = lightness_of(&source.image);
    let s = size.get();
    let small = resize_plane(&lightness, width, height, s, s)?;
    let plane = (s * s) as usize;
    let mut input = vec![0.0f32; plane * 3];
    let (r, rest) = input.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    r.par_iter_mut()
        .zip(small.par_iter())
        .for_each(|(out, &l)| *out = grey_for_lightness(l));
    g.copy_from_slice(r);
    b.copy_from_slice(r);
    Ok(Prepared {
        width,
        height,
        size,
        lightness,
        alpha: alpha_of(&source.image),
        high_depth: source.is_high_depth(),
        model_lightness: small,
        input,
    })
}

/// Post-processing: `ab` is the model output for this image, planar `[2, S, S]`.
pub fn finish(prepared: Prepared, ab: &[f32]) -> Result<DynamicImage> {
    let s = prepared.size.get();
    if ab.len() != 2 * (s * s) as usize {
        return Err(EngineError::Inference(format!(
            "the model returned {} values, expected 2×{s}×{s}",
            ab.len()
        )));
    }
    let Prepared {
        width,
        height,
        lightness,
        alpha,
        high_depth,
        ..
    } = prepared;
    let (a, b) = resize_ab(ab, s, s, width, height)?;
    let lab = LabPlanes {
        width: width as usize,
        l: &lightness,
        a: &a,
        b: &b,
    };
    let t8 = encode_table_u8();
    let eight = |[r, g, b]: [f32; 3]| [r, g, b].map(|v| encode_linear_u8(t8, v));
    let sixteen = |[r, g, b]: [f32; 3]| [r, g, b].map(|v| to_u16(encode_linear(v)));
    let image = match (high_depth, alpha) {
        (false, Alpha::None) => {
            DynamicImage::ImageRgb8(lab.build(height, 3, |_, rgb, px: &mut [u8]| {
                px.copy_from_slice(&eight(rgb));
            })?)
        }
        (false, Alpha::Eight(alpha)) => {
            DynamicImage::ImageRgba8(lab.build(height, 4, |i, rgb, px: &mut [u8]| {
                let [r, g, b] = eight(rgb);
                px.copy_from_slice(&[r, g, b, alpha[i]]);
            })?)
        }
        (_, Alpha::Sixteen(alpha)) => {
            DynamicImage::ImageRgba16(lab.build(height, 4, |i, rgb, px: &mut [u16]| {
                let [r, g, b] = sixteen(rgb);
                px.copy_from_slice(&[r, g, b, alpha[i]]);
            })?)
        }
        (true, Alpha::Eight(alpha)) => {
            DynamicImage::ImageRgba16(lab.build(height, 4, |i, rgb, px: &mut [u16]| {
                let [r, g, b] = sixteen(rgb);
                px.copy_from_slice(&[r, g, b, u16::from(alpha[i]) * 257]);
            })?)
        }
        (true, Alpha::None) => {
            DynamicImage::ImageRgb16(lab.build(height, 3, |_, rgb, px: &mut [u16]| {
                px.copy_from_slice(&sixteen(rgb));
            })?)
        }
    };
    Ok(image)
}

fn to_u16(v: f32) -> u16 {
    (v * 65535.0 + 0.5) as u16
}

/// The full-resolution L, a and b planes of a result.
struct LabPlanes<'a> {
    width: usize,
    l: &'a [f32],
    a: &'a [f32],
    b: &'a [f32],
}

impl LabPlanes<'_> {
    /// Converts row by row in parallel (to linear RGB, then `pixel` encodes each pixel into its
    /// `channels` samples; it gets the pixel's index for the alpha plane).
    fn build<T, P>(
        &self,
        height: u32,
        channels: usize,
        pixel: impl Fn(usize, [f32; 3], &mut [T]) + Sync,
    ) -> Result<ImageBuffer<P, Vec<T>>>
    where
        T: image::Primitive + Send + Sync,
        P: image::Pixel<Subpixel = T>,
    {
        let w = self.width;
        let mut raw = vec![T::DEFAULT_MIN_VALUE; w * height as usize * channels];
        raw.par_chunks_mut(w * channels).enumerate().for_each_init(
            || [vec![0f32; w], vec![0f32; w], vec![0f32; w]],
            |linear, (y, row)| {
                let s = y * w;
                lab_rows_to_linear(
                    &self.l[s..s + w],
                    &self.a[s..s + w],
                    &self.b[s..s + w],
                    linear,
                );
                for (x, px) in row.chunks_exact_mut(channels).enumerate() {
                    pixel(s + x, [linear[0][x], linear[1][x], linear[2][x]], px);
                }
            },
        );
        ImageBuffer::from_raw(w as u32, height, raw)
            .ok_or_else(|| EngineError::Encode("result buffer has the wrong size".into()))
    }
}

/// Lab L (0..100) of every pixel, from whatever pixel layout the decoder produced.
fn lightness_of(image: &DynamicImage) -> Vec<f32> {
    let t8 = decode_table_u8();
    match image {
        // Grey scans, the usual case, need one table lookup per pixel.
        DynamicImage::ImageLuma8(buf) => {
            let l8 = lightness_table_u8();
            per_pixel(buf.as_raw(), 1, |p| l8[p[0] as usize])
        }
        DynamicImage::ImageLumaA8(buf) => {
            let l8 = lightness_table_u8();
            per_pixel(buf.as_raw(), 2, |p| l8[p[0] as usize])
        }
        DynamicImage::ImageLuma16(buf) => {
            let l16 = lightness_table_u16();
            per_pixel(buf.as_raw(), 1, |p| l16[p[0] as usize])
        }
        DynamicImage::ImageLumaA16(buf) => {
            let l16 = lightness_table_u16();
            per_pixel(buf.as_raw(), 2, |p| l16[p[0] as usize])
        }
        DynamicImage::ImageRgb8(buf) => per_pixel(buf.as_raw(), 3, |p| rgb(p, |v| t8[v as usize])),
        DynamicImage::ImageRgba8(buf) => per_pixel(buf.as_raw(), 4, |p| rgb(p, |v| t8[v as usize])),
        DynamicImage::ImageRgb16(buf) => {
            let t16 = decode_table_u16();
            per_pixel(buf.as_raw(), 3, |p| rgb(p, |v| t16[v as usize]))
        }
        DynamicImage::ImageRgba16(buf) => {
            let t16 = decode_table_u16();
            per_pixel(buf.as_raw(), 4, |p| rgb(p, |v| t16[v as usize]))
        }
        other => {
            let rgb32 = other.to_rgb32f();
            per_pixel(rgb32.as_raw(), 3, |p| {
                rgb(p, |v| srgb_to_linear(v.clamp(0.0, 1.0)))
            })
        }
    }
}

fn rgb<T: Copy>(p: &[T], linear: impl Fn(T) -> f32) -> f32 {
    lightness_from_luminance(luminance(linear(p[0]), linear(p[1]), linear(p[2])))
}

fn per_pixel<T: Sync>(
    raw: &[T],
    channels: usize,
    f: impl Fn(&[T]) -> f32 + Sync + Send,
) -> Vec<f32> {
    raw.par_chunks_exact(channels).map(f).collect()
}

fn alpha_of(image: &DynamicImage) -> Alpha {
    match image {
        DynamicImage::ImageLumaA8(buf) => {
            Alpha::Eight(buf.pixels().map(|LumaA([_, a])| *a).collect())
        }
        DynamicImage::ImageRgba8(buf) => {
            Alpha::Eight(buf.pixels().map(|Rgba([.., a])| *a).collect())
        }
        DynamicImage::ImageLumaA16(buf) => {
            Alpha::Sixteen(buf.pixels().map(|LumaA([_, a])| *a).collect())
        }
        DynamicImage::ImageRgba16(buf) => {
            Alpha::Sixteen(buf.pixels().map(|Rgba([.., a])| *a).collect())
        }
        DynamicImage::ImageRgba32F(buf) => Alpha::Sixteen(
            buf.pixels()
                .map(|Rgba([.., a])| to_u16(a.clamp(0.0, 1.0)))
                .collect(),
        ),
        _ => Alpha::None,
    }
}
