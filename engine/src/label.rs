//! The optional visible label: "AI-assisted colorization" (or its Chinese form) in the
//! bottom-right corner, white on a translucent dark box so that it reads on light and dark
//! areas alike, sized relative to the image. The font ships with Tinct (`engine/fonts/`).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::DynamicImage;

use crate::error::{EngineError, Result};

const FONT: &[u8] = include_bytes!("../fonts/tinct-label.otf");

/// The labels Tinct can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    #[default]
    En,
    Zh,
}

impl Label {
    pub fn parse(code: &str) -> Option<Label> {
        match code {
            "en" => Some(Label::En),
            "zh" => Some(Label::Zh),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Label::En => "en",
            Label::Zh => "zh",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Label::En => "AI-assisted colorization",
            Label::Zh => "AI辅助修复",
        }
    }
}

/// The rectangle a label occupies: `(x, y, width, height)` in pixels.
pub type Region = (u32, u32, u32, u32);

/// Where the label goes on a `width`×`height` image and at what text size.
fn layout(font: &FontRef<'_>, text: &str, width: u32, height: u32) -> (Region, f32) {
    let size = (width.min(height) as f32 * 0.04).clamp(9.0, 160.0);
    let scaled = font.as_scaled(PxScale::from(size));
    let mut advance = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            advance += scaled.kern(p, id);
        }
        advance += scaled.h_advance(id);
        previous = Some(id);
    }
    let pad = (size * 0.35).ceil();
    let box_w = ((advance + 2.0 * pad).ceil() as u32).min(width);
    let box_h = (((scaled.ascent() - scaled.descent()) + 2.0 * pad).ceil() as u32).min(height);
    let margin = (size * 0.5) as u32;
    let x = width.saturating_sub(box_w + margin);
    let y = height.saturating_sub(box_h + margin);
    ((x, y, box_w, box_h), size)
}

/// Draws `label` onto `image`; answers the region it changed. Nothing outside it changes.
pub fn draw(image: &mut DynamicImage, label: Label) -> Result<Region> {
    let font = FontRef::try_from_slice(FONT)
        .map_err(|e| EngineError::Encode(format!("the label font is unusable: {e}")))?;
    let (width, height) = (image.width(), image.height());
    let text = label.text();
    let (region, size) = layout(&font, text, width, height);
    let (bx, by, bw, bh) = region;
    // Coverage of the text, in box coordinates.
    let mut ink = vec![0f32; (bw * bh) as usize];
    let scaled = font.as_scaled(PxScale::from(size));
    let pad = (size * 0.35).ceil();
    let baseline = pad + scaled.ascent();
    let mut pen = pad;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            pen += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(pen, baseline));
        pen += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let x = bounds.min.x as i64 + i64::from(gx);
                let y = bounds.min.y as i64 + i64::from(gy);
                if (0..i64::from(bw)).contains(&x) && (0..i64::from(bh)).contains(&y) {
                    let cell = &mut ink[(y as u32 * bw + x as u32) as usize];
                    *cell = cell.max(coverage);
                }
            });
        }
    }
    // Box: 60 % black; text: white. `blend(value, t)` works on values in [0, 1].
    let shade = |value: f32, t: f32| {
        let boxed = value * 0.4;
        boxed + (1.0 - boxed) * t
    };
    macro_rules! paint {
        ($buffer:expr, $max:expr, $channels:expr) => {{
            for y in 0..bh {
                for x in 0..bw {
                    let t = ink[(y * bw + x) as usize];
                    let pixel = $buffer.get_pixel_mut(bx + x, by + y);
                    for c in 0..$channels {
                        let v = f32::from(pixel.0[c]) / $max;
                        pixel.0[c] = (shade(v, t) * $max).round() as _;
                    }
                }
            }
        }};
    }
    match image {
        DynamicImage::ImageRgb8(b) => paint!(b, 255.0, 3),
        DynamicImage::ImageRgba8(b) => paint!(b, 255.0, 3),
        DynamicImage::ImageRgb16(b) => paint!(b, 65535.0, 3),
        DynamicImage::ImageRgba16(b) => paint!(b, 65535.0, 3),
        other => {
            let mut rgb = DynamicImage::ImageRgb8(other.to_rgb8());
            let region = draw(&mut rgb, label)?;
            *other = rgb;
            return Ok(region);
        }
    }
    Ok(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_changes_only_its_corner_and_reads_on_light_and_dark() {
        for (shade_value, label) in [(250u8, Label::En), (10u8, Label::Zh)] {
            let plain = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
                800,
                600,
                image::Rgb([shade_value; 3]),
            ));
            let mut labelled = plain.clone();
            let (x, y, w, h) = draw(&mut labelled, label).unwrap();
            assert!(
                x + w <= 800 && y + h <= 600 && w > 100 && h > 15,
                "{:?}",
                (x, y, w, h)
            );
            assert!(x > 400 && y > 500, "bottom-right corner");
            let (a, b) = (plain.to_rgb8(), labelled.to_rgb8());
            let mut changed_inside = 0;
            let (mut darkest, mut lightest) = (255u8, 0u8);
            for (px, py, p) in b.enumerate_pixels() {
                let inside = px >= x && px < x + w && py >= y && py < y + h;
                if inside {
                    changed_inside += usize::from(p != a.get_pixel(px, py));
                    darkest = darkest.min(p.0[0]);
                    lightest = lightest.max(p.0[0]);
                } else {
                    assert_eq!(
                        p,
                        a.get_pixel(px, py),
                        "pixel ({px}, {py}) outside the label changed"
                    );
                }
            }
            assert!(changed_inside > 0);
            // White text on a darkened box: strong contrast whatever the background.
            assert!(
                lightest > 230 && darkest < 110,
                "{label:?} on {shade_value}: {darkest}..{lightest}"
            );
        }
    }
}
