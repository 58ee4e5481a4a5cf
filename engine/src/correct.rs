//! A person's corrections to a colorization: colour strength and colour hints.
//!
//! The model's a/b output ([`ModelColours`], kept with every job) is the prior. Hints are spread
//! over the regions they belong to by an edge-aware propagation guided by the luminance, after
//! Levin, Lischinski and Weiss, "Colorization using Optimization" (SIGGRAPH 2004): neighbouring
//! pixels with similar L get similar values, strong edges stop the spread. It is solved on the
//! model's grid (at most [`MAX_GRID`] a side) with a preconditioned conjugate gradient, and the
//! corrected a/b then goes through the same post-processing as the model's output.
//!
//! Two fields are propagated: the hints' weight α (1 on each hint, fading out elsewhere) and
//! their colour times that weight. The result is `model·(1 − α) + hint colour·α`, so where no
//! hint reaches the model's colours stay exactly as they were, and with no hints at all the
//! output equals the model's output.

use image::DynamicImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::color::srgb_to_lab;
use crate::decode::SourceImage;
use crate::error::{EngineError, Result};
use crate::pipeline::{finish, prepare, InputSize};
use crate::resize::resize_plane;

/// The largest grid the propagation is solved on; a larger model output is solved at this size
/// and the hints' fields resized up (the model's own colours are kept at their resolution).
/// At 512 the solve alone takes about a second on two cores (docs/benchmarks.md), too slow for
/// a live preview; at 256 a hint still resolves to 1/256 of the image's side.
pub const MAX_GRID: u32 = 256;
/// Strength is 0–150 % of the model's chroma.
pub const MAX_STRENGTH: f32 = 1.5;
/// Most hints on one photo.
pub const MAX_HINTS: usize = 200;

/// The model's a/b output for one image, planar `[2, S, S]`, kept so that corrections never
/// run the model again. Stored as half floats (a/b need no more precision than that).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelColours {
    size: u32,
    ab: Vec<f32>,
}

const MAGIC: &[u8; 4] = b"TAB1";

impl ModelColours {
    pub fn new(size: u32, ab: Vec<f32>) -> Result<Self> {
        if size == 0 || ab.len() != 2 * (size as usize).pow(2) {
            return Err(EngineError::Inference(format!(
                "model colours of {} values cannot be 2×{size}×{size}",
                ab.len()
            )));
        }
        Ok(ModelColours { size, ab })
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    pub fn ab(&self) -> &[f32] {
        &self.ab
    }

    /// `TAB1`, the side S as little-endian u32, then 2·S² little-endian half floats.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.ab.len() * 2);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.size.to_le_bytes());
        for &v in &self.ab {
            out.extend_from_slice(&half::f16::from_f32(v).to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| EngineError::Inference(format!("the stored model colours {why}"));
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err(bad("are not in Tinct's format"));
        }
        let size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let values = &bytes[8..];
        let expected = 2 * (size as usize).pow(2);
        if size == 0 || size > InputSize::MAX || values.len() != expected * 2 {
            return Err(bad("are truncated"));
        }
        let ab = values
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect();
        Ok(ModelColours { size, ab })
    }
}

/// A colour as a person gives it: Lab a/b (`lab`: `[a, b]` or `[L, a, b]`, L is ignored, the
/// photo keeps its own lightness) or sRGB (`srgb`: `#rrggbb`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    /// Position, as a fraction of the image's width (0 = left edge, 1 = right edge).
    pub x: f32,
    /// Position, as a fraction of the image's height (0 = top).
    pub y: f32,
    /// Radius of the painted spot, as a fraction of the image's longer side.
    #[serde(default = "Hint::default_radius")]
    pub radius: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srgb: Option<String>,
}

impl Hint {
    fn default_radius() -> f32 {
        0.01
    }

    /// The hint's a/b, or why it is not a colour.
    pub fn ab(&self) -> Result<[f32; 2]> {
        match (&self.lab, &self.srgb) {
            (Some(lab), None) => match lab[..] {
                [a, b] | [_, a, b] if a.is_finite() && b.is_finite() => {
                    Ok([a.clamp(-128.0, 127.0), b.clamp(-128.0, 127.0)])
                }
                _ => Err(invalid(
                    "a hint's lab must be [a, b] or [L, a, b] in numbers",
                )),
            },
            (None, Some(hex)) => {
                // The photo keeps its own lightness: only the chroma of the colour counts.
                let [_, a, b] = srgb_to_lab(parse_hex(hex)?);
                Ok([a, b])
            }
            _ => Err(invalid("each hint needs exactly one colour: lab or srgb")),
        }
    }
}

fn invalid(message: impl Into<String>) -> EngineError {
    EngineError::InvalidCorrection(message.into())
}

/// `#rrggbb` → sRGB in [0,1].
pub fn parse_hex(hex: &str) -> Result<[f32; 3]> {
    let digits = hex.strip_prefix('#').unwrap_or(hex);
    let bad = || invalid(format!("'{hex}' is not a colour; write it as #rrggbb"));
    if digits.len() != 6 || !digits.is_ascii() {
        return Err(bad());
    }
    let channel = |i: usize| {
        u8::from_str_radix(&digits[i..i + 2], 16)
            .map(|v| f32::from(v) / 255.0)
            .map_err(|_| bad())
    };
    Ok([channel(0)?, channel(2)?, channel(4)?])
}

/// What a person changed: the strength of the model's colours and the hints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// 1.0 = the model's chroma as predicted; 0 = grey; at most [`MAX_STRENGTH`].
    #[serde(default = "Correction::full_strength")]
    pub strength: f32,
    #[serde(default)]
    pub hints: Vec<Hint>,
}

impl Default for Correction {
    fn default() -> Self {
        Correction {
            strength: 1.0,
            hints: Vec::new(),
        }
    }
}

impl Correction {
    fn full_strength() -> f32 {
        1.0
    }

    /// Refuses what cannot be applied, with the reason in words.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=MAX_STRENGTH).contains(&self.strength) {
            return Err(invalid(format!(
                "strength must be between 0 and {} (0–{} %)",
                MAX_STRENGTH,
                (MAX_STRENGTH * 100.0) as u32
            )));
        }
        if self.hints.len() > MAX_HINTS {
            return Err(invalid(format!("at most {MAX_HINTS} hints per photo")));
        }
        for (i, hint) in self.hints.iter().enumerate() {
            let n = i + 1;
            if !(0.0..=1.0).contains(&hint.x) || !(0.0..=1.0).contains(&hint.y) {
                return Err(invalid(format!(
                    "hint {n} is outside the image (x and y are fractions from 0 to 1)"
                )));
            }
            if !(0.0..=0.5).contains(&hint.radius) {
                return Err(invalid(format!(
                    "hint {n}'s radius must be a fraction from 0 to 0.5 of the longer side"
                )));
            }
            hint.ab()
                .map_err(|e| invalid(format!("hint {n}: {}", strip_prefix(&e))))?;
        }
        Ok(())
    }

    /// What was done, in plain words: "3 hints, strength 80 %".
    pub fn describe(&self) -> String {
        let hints = match self.hints.len() {
            0 => "no hints".to_string(),
            1 => "1 hint".to_string(),
            n => format!("{n} hints"),
        };
        format!(
            "{hints}, strength {} %",
            (self.strength * 100.0).round() as i32
        )
    }
}

fn strip_prefix(e: &EngineError) -> String {
    match e {
        EngineError::InvalidCorrection(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The corrected a/b at the model's grid, planar `[2, S, S]`. `lightness` is the photo's L
/// resized to S×S (the model's input, before it was made grey RGB); `aspect` is width / height
/// of the photo, so that round hints stay round on the square grid.
pub fn corrected_ab(
    colours: &ModelColours,
    lightness: &[f32],
    aspect: f32,
    correction: &Correction,
) -> Result<Vec<f32>> {
    correction.validate()?;
    let s = colours.size as usize;
    if lightness.len() != s * s {
        return Err(EngineError::Inference(
            "the lightness grid does not match the model colours".into(),
        ));
    }
    let mut ab: Vec<f32> = colours.ab.iter().map(|v| v * correction.strength).collect();
    if correction.hints.is_empty() {
        return Ok(ab);
    }
    // The propagation runs on a grid of at most MAX_GRID a side.
    let g = colours.size.min(MAX_GRID);
    let guide = if g == colours.size {
        lightness.to_vec()
    } else {
        resize_plane(lightness, colours.size, colours.size, g, g)?
    };
    let hints: Vec<([f32; 2], &Hint)> = correction
        .hints
        .iter()
        .map(|h| Ok((h.ab()?, h)))
        .collect::<Result<_>>()?;
    let fields = propagate(&guide, g, aspect, &hints)?;
    let [alpha, xa, xb] = if g == colours.size {
        fields
    } else {
        let [alpha, xa, xb] = fields;
        let up = |f: Vec<f32>| resize_plane(&f, g, g, colours.size, colours.size);
        [up(alpha)?, up(xa)?, up(xb)?]
    };
    let (a, b) = ab.split_at_mut(s * s);
    a.par_iter_mut()
        .zip(b.par_iter_mut())
        .zip(alpha.par_iter().zip(xa.par_iter().zip(xb.par_iter())))
        .for_each(|((a, b), (&w, (&ha, &hb)))| {
            // Several hints overlapping add up to more than 1: they share the pixel.
            let w = w.clamp(0.0, 1.0e6);
            let keep = (1.0 - w).max(0.0);
            let share = w.max(1.0);
            *a = *a * keep + ha / share;
            *b = *b * keep + hb / share;
        });
    Ok(ab)
}

/// The grid cells a hint paints: a disc of its radius (at least one cell).
fn spot(hint: &Hint, g: u32, aspect: f32) -> Vec<usize> {
    let g = g as i64;
    let (cx, cy) = (hint.x * g as f32, hint.y * g as f32);
    // Radius in grid cells along x and y: the grid squeezes the longer side.
    let longer_x = if aspect >= 1.0 { 1.0 } else { 1.0 / aspect };
    let longer_y = if aspect >= 1.0 { aspect } else { 1.0 };
    let (rx, ry) = (
        (hint.radius * g as f32 * longer_x).max(0.5),
        (hint.radius * g as f32 * longer_y).max(0.5),
    );
    let mut cells = Vec::new();
    let (x0, x1) = ((cx - rx).floor() as i64, (cx + rx).ceil() as i64);
    let (y0, y1) = ((cy - ry).floor() as i64, (cy + ry).ceil() as i64);
    for y in y0.max(0)..y1.min(g) {
        for x in x0.max(0)..x1.min(g) {
            let (dx, dy) = ((x as f32 + 0.5 - cx) / rx, (y as f32 + 0.5 - cy) / ry);
            if dx * dx + dy * dy <= 1.0 {
                cells.push((y * g + x) as usize);
            }
        }
    }
    if cells.is_empty() {
        let (x, y) = ((cx as i64).clamp(0, g - 1), (cy as i64).clamp(0, g - 1));
        cells.push((y * g + x) as usize);
    }
    cells
}

/// How strongly a hint holds its cells, against the smoothness between neighbours.
const HINT_WEIGHT: f32 = 100.0;
/// How far a hint reaches where nothing stops it, in grid sides: far enough to fill the
/// region it belongs to, however large; the model's colours (the ε term) hold elsewhere.
const REACH: f32 = 4.0;
/// Lightness difference (L units, 0–100) at which neighbours stop sharing colour.
const EDGE_SIGMA: f32 = 4.0;
/// Grids up to this side are solved directly; larger ones start from the solution of a grid
/// half their size (coarse to fine), which saves most of the iterations.
const COARSEST: u32 = 48;
const MAX_ITERATIONS: usize = 2000;
const TOLERANCE: f32 = 1e-5;

/// Solves `(L_w + εI + λM) f = λ M t` for t = 1 (the weight α) and t = the hints' a and b.
/// `L_w` is the graph Laplacian of the 4-neighbour grid with edge-aware weights.
fn propagate(
    lightness: &[f32],
    g: u32,
    aspect: f32,
    hints: &[([f32; 2], &Hint)],
) -> Result<[Vec<f32>; 3]> {
    let start = if g > COARSEST && g.is_multiple_of(2) {
        let half = g / 2;
        let coarse = resize_plane(lightness, g, g, half, half)?;
        let fields = propagate(&coarse, half, aspect, hints)?;
        let mut up = Vec::with_capacity(3);
        for field in fields {
            up.push(resize_plane(&field, half, half, g, g)?);
        }
        Some(up)
    } else {
        None
    };
    let system = Grid::new(lightness, g as usize, aspect, hints);
    let [r0, r1, r2] = system.right_hand_sides(hints, g, aspect);
    let guess = |i: usize| start.as_ref().map(|s| s[i].clone());
    let (alpha, (xa, xb)) = rayon::join(
        || system.solve(&r0, guess(0)),
        || {
            rayon::join(
                || system.solve(&r1, guess(1)),
                || system.solve(&r2, guess(2)),
            )
        },
    );
    Ok([alpha, xa, xb])
}

/// The sparse symmetric system on the grid, stored as its stencil.
struct Grid {
    g: usize,
    right: Vec<f32>,
    down: Vec<f32>,
    diagonal: Vec<f32>,
}

impl Grid {
    fn new(lightness: &[f32], g: usize, aspect: f32, hints: &[([f32; 2], &Hint)]) -> Self {
        let n = g * g;
        // Weights to the right and lower neighbours (0 past the border).
        let weight = |p: f32, q: f32| {
            let d = p - q;
            (-(d * d) / (2.0 * EDGE_SIGMA * EDGE_SIGMA)).exp().max(1e-6)
        };
        let mut right = vec![0f32; n];
        let mut down = vec![0f32; n];
        for y in 0..g {
            for x in 0..g {
                let i = y * g + x;
                if x + 1 < g {
                    right[i] = weight(lightness[i], lightness[i + 1]);
                }
                if y + 1 < g {
                    down[i] = weight(lightness[i], lightness[i + g]);
                }
            }
        }
        let reach = REACH * g as f32;
        let epsilon = 1.0 / (reach * reach);
        let mut diagonal = vec![epsilon; n];
        for (_, hint) in hints {
            for c in spot(hint, g as u32, aspect) {
                diagonal[c] = epsilon + HINT_WEIGHT;
            }
        }
        for i in 0..n {
            let left = if i % g > 0 { right[i - 1] } else { 0.0 };
            let up = if i >= g { down[i - g] } else { 0.0 };
            diagonal[i] += right[i] + down[i] + left + up;
        }
        Grid {
            g,
            right,
            down,
            diagonal,
        }
    }

    /// λ·M·t for the weight and the two colour channels.
    fn right_hand_sides(&self, hints: &[([f32; 2], &Hint)], g: u32, aspect: f32) -> [Vec<f32>; 3] {
        let n = self.g * self.g;
        let mut rhs = [vec![0f32; n], vec![0f32; n], vec![0f32; n]];
        for ([a, b], hint) in hints {
            for c in spot(hint, g, aspect) {
                // A cell painted by several hints takes the later one, as a painter would.
                rhs[0][c] = HINT_WEIGHT;
                rhs[1][c] = HINT_WEIGHT * a;
                rhs[2][c] = HINT_WEIGHT * b;
            }
        }
        rhs
    }

    fn apply(&self, v: &[f32], out: &mut [f32]) {
        let g = self.g;
        out.par_chunks_mut(g).enumerate().for_each(|(y, row)| {
            for (x, o) in row.iter_mut().enumerate() {
                let i = y * g + x;
                let mut s = self.diagonal[i] * v[i];
                if x + 1 < g {
                    s -= self.right[i] * v[i + 1];
                }
                if x > 0 {
                    s -= self.right[i - 1] * v[i - 1];
                }
                if y + 1 < g {
                    s -= self.down[i] * v[i + g];
                }
                if y > 0 {
                    s -= self.down[i - g] * v[i - g];
                }
                *o = s;
            }
        });
    }

    /// Conjugate gradient with the diagonal as preconditioner, from `start` (or zero).
    fn solve(&self, b: &[f32], start: Option<Vec<f32>>) -> Vec<f32> {
        let n = b.len();
        let norm_b = dot(b, b).sqrt();
        if norm_b == 0.0 {
            return vec![0f32; n];
        }
        let mut x = start.unwrap_or_else(|| vec![0f32; n]);
        let mut q = vec![0f32; n];
        self.apply(&x, &mut q);
        let mut r: Vec<f32> = b.iter().zip(&q).map(|(b, q)| b - q).collect();
        let mut z: Vec<f32> = r.iter().zip(&self.diagonal).map(|(r, d)| r / d).collect();
        let mut p = z.clone();
        let mut rz = dot(&r, &z);
        for _ in 0..MAX_ITERATIONS {
            if dot(&r, &r).sqrt() <= TOLERANCE * norm_b {
                break;
            }
            self.apply(&p, &mut q);
            let step = rz / dot(&p, &q);
            x.iter_mut().zip(&p).for_each(|(x, p)| *x += step * p);
            r.iter_mut().zip(&q).for_each(|(r, q)| *r -= step * q);
            z.iter_mut()
                .zip(r.iter().zip(&self.diagonal))
                .for_each(|(z, (r, d))| *z = r / d);
            let rz_next = dot(&r, &z);
            let beta = rz_next / rz;
            rz = rz_next;
            p.iter_mut().zip(&z).for_each(|(p, z)| *p = z + beta * *p);
        }
        x
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum::<f64>() as f32
}

/// A photo recoloured with corrected model colours, at the resolution of `source` (the full
/// original for a version, a small rendering of it for a preview).
pub fn recolor(
    source: &SourceImage,
    colours: &ModelColours,
    correction: &Correction,
) -> Result<DynamicImage> {
    let size = InputSize::new(colours.size)?;
    let prepared = prepare(source, size)?;
    let aspect = source.width() as f32 / source.height().max(1) as f32;
    let ab = corrected_ab(colours, prepared.model_lightness(), aspect, correction)?;
    finish(prepared, &ab)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Left half dark (L 30), right half light (L 80): one strong vertical edge.
    fn two_regions(s: usize) -> Vec<f32> {
        (0..s * s)
            .map(|i| if i % s < s / 2 { 30.0 } else { 80.0 })
            .collect()
    }

    fn model(s: u32) -> ModelColours {
        // A faint warm cast everywhere, as models give.
        let n = (s * s) as usize;
        ModelColours::new(s, [vec![4.0; n], vec![10.0; n]].concat()).unwrap()
    }

    fn hint(x: f32, y: f32, a: f32, b: f32) -> Hint {
        Hint {
            x,
            y,
            radius: 0.02,
            lab: Some(vec![a, b]),
            srgb: None,
        }
    }

    #[test]
    fn without_hints_the_output_is_the_models_exactly() {
        let colours = model(64);
        let out = corrected_ab(&colours, &two_regions(64), 1.0, &Correction::default()).unwrap();
        assert_eq!(out, colours.ab());
    }

    #[test]
    fn each_region_takes_its_hints_colour_and_it_does_not_cross_the_edge() {
        let s = 128usize;
        let colours = model(s as u32);
        let correction = Correction {
            strength: 1.0,
            hints: vec![hint(0.2, 0.5, -40.0, 30.0), hint(0.8, 0.3, 50.0, -20.0)],
        };
        let out = corrected_ab(&colours, &two_regions(s), 1.0, &correction).unwrap();
        let (a, b) = out.split_at(s * s);
        let at = |x: usize, y: usize| (a[y * s + x], b[y * s + x]);
        // Far from each hint but inside its region: the hint's colour.
        for (x, y, want) in [
            (10, 120, (-40.0, 30.0)),
            (60, 5, (-40.0, 30.0)),
            (70, 120, (50.0, -20.0)),
            (120, 100, (50.0, -20.0)),
        ] {
            let (ga, gb) = at(x, y);
            assert!(
                (ga - want.0).abs() < 4.0 && (gb - want.1).abs() < 4.0,
                "({x},{y}) is ({ga},{gb}), expected {want:?}"
            );
        }
        // Right next to the edge, on each side: its own region's colour, not the other's.
        let (la, _) = at(s / 2 - 1, 64);
        let (ra, _) = at(s / 2, 64);
        assert!(la < -35.0, "left of the edge a = {la}");
        assert!(ra > 45.0, "right of the edge a = {ra}");
    }

    #[test]
    fn a_model_grid_larger_than_the_solve_grid_keeps_regions_and_edges() {
        // 512 is solved on the 256 grid and the hint fields resized up.
        let s = 512usize;
        assert!(s as u32 > MAX_GRID);
        let colours = model(s as u32);
        let correction = Correction {
            strength: 1.0,
            hints: vec![hint(0.2, 0.5, -40.0, 30.0), hint(0.8, 0.3, 50.0, -20.0)],
        };
        let out = corrected_ab(&colours, &two_regions(s), 1.0, &correction).unwrap();
        let a = &out[..s * s];
        for (x, y, want) in [(40, 480, -40.0), (470, 400, 50.0)] {
            assert!(
                (a[y * s + x] - want).abs() < 4.0,
                "({x},{y}) a = {}",
                a[y * s + x]
            );
        }
        // Within two cells of the edge each side keeps its own colour.
        let (left, right) = (a[256 * s + s / 2 - 2], a[256 * s + s / 2 + 1]);
        assert!(left < -35.0 && right > 45.0, "edge: {left} | {right}");
    }

    #[test]
    fn a_hint_in_one_region_leaves_the_other_with_the_models_colour() {
        let s = 96usize;
        let colours = model(s as u32);
        let correction = Correction {
            strength: 1.0,
            hints: vec![hint(0.25, 0.5, -40.0, 30.0)],
        };
        let out = corrected_ab(&colours, &two_regions(s), 1.0, &correction).unwrap();
        let (a, b) = out.split_at(s * s);
        let i = 50 * s + 80;
        assert!(
            (a[i] - 4.0).abs() < 1.0 && (b[i] - 10.0).abs() < 1.0,
            "({}, {})",
            a[i],
            b[i]
        );
    }

    #[test]
    fn strength_scales_the_models_chroma() {
        let colours = model(32);
        let half = Correction {
            strength: 0.5,
            hints: vec![],
        };
        let out = corrected_ab(&colours, &two_regions(32), 1.0, &half).unwrap();
        assert!(out[..32 * 32].iter().all(|&a| (a - 2.0).abs() < 1e-6));
        assert!(out[32 * 32..].iter().all(|&b| (b - 5.0).abs() < 1e-6));
    }

    #[test]
    fn bad_corrections_are_refused_with_the_reason() {
        let colours = model(32);
        let cases = [
            (
                Correction {
                    strength: 2.0,
                    hints: vec![],
                },
                "strength",
            ),
            (
                Correction {
                    strength: 1.0,
                    hints: vec![hint(1.5, 0.5, 0.0, 0.0)],
                },
                "outside",
            ),
            (
                Correction {
                    strength: 1.0,
                    hints: vec![Hint {
                        srgb: Some("green".into()),
                        lab: None,
                        ..hint(0.5, 0.5, 0.0, 0.0)
                    }],
                },
                "#rrggbb",
            ),
        ];
        for (correction, reason) in cases {
            let err = corrected_ab(&colours, &two_regions(32), 1.0, &correction).unwrap_err();
            assert!(err.to_string().contains(reason), "{err}");
        }
    }

    #[test]
    fn srgb_hints_give_their_chroma() {
        let green = Hint {
            srgb: Some("#2e7d32".into()),
            lab: None,
            ..hint(0.5, 0.5, 0.0, 0.0)
        };
        let [a, b] = green.ab().unwrap();
        assert!(a < -20.0 && b > 15.0, "({a}, {b})");
    }

    #[test]
    fn model_colours_round_trip_as_half_floats() {
        let colours =
            ModelColours::new(32, (0..2048).map(|i| (i as f32 - 1024.0) / 9.0).collect()).unwrap();
        let back = ModelColours::from_bytes(&colours.to_bytes()).unwrap();
        assert_eq!(back.size(), 32);
        for (x, y) in colours.ab().iter().zip(back.ab()) {
            assert!((x - y).abs() < 0.06, "{x} vs {y}");
        }
        assert!(ModelColours::from_bytes(&colours.to_bytes()[..100]).is_err());
        assert!(ModelColours::from_bytes(b"not colours").is_err());
    }
}
