//! Model families: what a graph takes and gives, and how the engine turns its own S×S grey input
//! into the graph's input and the graph's output back into Lab a/b at S×S. Whatever the family,
//! the result is then built the same way: a/b resized to the original size and joined with the
//! original full-resolution L (see [`crate::pipeline`]).

use serde::{Deserialize, Serialize};

use crate::color::{lightness_from_luminance, srgb_to_lab, srgb_to_linear};
use crate::error::{EngineError, Result};
use crate::resize::resize_plane;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// DDColor: grey sRGB `[N,3,S,S]` in [0,1] → Lab a/b `[N,2,S,S]`.
    #[default]
    Ddcolor,
    /// DeOldify as facefusion exports it: grey sRGB `[N,3,S,S]` in 0..255 → colour sRGB
    /// `[N,3,S,S]` in 0..255, of which only the chroma is kept.
    Deoldify,
    /// Zhang et al.'s ECCV16 and SIGGRAPH17 colorizers: Lab L `[N,1,S,S]` (0..100, normalised
    /// inside the graph) → Lab a/b `[N,2,h,w]` at the graph's own resolution. SIGGRAPH17's hint
    /// inputs (ab and mask), when the export has them, are given as zeros: no hints.
    Zhang,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Ddcolor, Family::Deoldify, Family::Zhang];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ddcolor => "ddcolor",
            Family::Deoldify => "deoldify",
            Family::Zhang => "zhang",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Family::Ddcolor => "DDColor",
            Family::Deoldify => "DeOldify",
            Family::Zhang => "Zhang et al. (ECCV16 / SIGGRAPH17)",
        }
    }

    /// Channels of the graph's image input and of its output.
    pub fn channels(self) -> (i64, i64) {
        match self {
            Family::Ddcolor => (3, 2),
            Family::Deoldify => (3, 3),
            Family::Zhang => (1, 2),
        }
    }

    /// The family whose image tensors have these channel counts.
    pub fn detect(input_channels: i64, output_channels: i64) -> Option<Family> {
        Family::ALL
            .into_iter()
            .find(|f| f.channels() == (input_channels, output_channels))
    }

    /// The graph's input for a batch of the engine's grey inputs (`[N,3,S,S]`, grey sRGB in
    /// [0,1], R = G = B).
    pub fn model_input(self, grey: &[f32], batch: usize, size: u32) -> Vec<f32> {
        let plane = (size * size) as usize;
        match self {
            Family::Ddcolor => grey.to_vec(),
            Family::Deoldify => grey.iter().map(|v| v * 255.0).collect(),
            Family::Zhang => (0..batch)
                .flat_map(|n| &grey[n * 3 * plane..n * 3 * plane + plane])
                .map(|&g| lightness_from_luminance(srgb_to_linear(g)))
                .collect(),
        }
    }

    /// Lab a/b `[N,2,S,S]` from the graph's output `[N,C,h,w]` (`h×w` is the graph's own output
    /// resolution; it is resized to S×S where it differs).
    pub fn ab_from_output(
        self,
        output: Vec<f32>,
        batch: usize,
        (height, width): (u32, u32),
        size: u32,
    ) -> Result<Vec<f32>> {
        let (_, channels) = self.channels();
        let out_plane = (height * width) as usize;
        if output.len() != batch * channels as usize * out_plane {
            return Err(EngineError::Inference(format!(
                "the model returned {} values, expected {batch}×{channels}×{height}×{width}",
                output.len()
            )));
        }
        let ab = match self {
            Family::Ddcolor | Family::Zhang => output,
            Family::Deoldify => chroma_of_rgb(&output, batch, out_plane),
        };
        if (height, width) == (size, size) {
            return Ok(ab);
        }
        let mut resized = Vec::with_capacity(batch * 2 * (size * size) as usize);
        for plane in ab.chunks_exact(out_plane) {
            resized.extend(resize_plane(plane, width, height, size, size)?);
        }
        Ok(resized)
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Family::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not a model family: use ddcolor, deoldify or zhang"))
    }
}

/// Lab a/b planes of planar sRGB images in 0..255 (clipped to that range first, as facefusion
/// does before it converts DeOldify's output).
fn chroma_of_rgb(rgb: &[f32], batch: usize, plane: usize) -> Vec<f32> {
    let mut ab = vec![0f32; batch * 2 * plane];
    for n in 0..batch {
        let image = &rgb[n * 3 * plane..(n + 1) * 3 * plane];
        let (a, b) = ab[n * 2 * plane..(n + 1) * 2 * plane].split_at_mut(plane);
        for i in 0..plane {
            let pixel = [image[i], image[plane + i], image[2 * plane + i]]
                .map(|v| v.clamp(0.0, 255.0) / 255.0);
            let [_, pa, pb] = srgb_to_lab(pixel);
            a[i] = pa;
            b[i] = pb;
        }
    }
    ab
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_told_apart_by_their_channels() {
        assert_eq!(Family::detect(3, 2), Some(Family::Ddcolor));
        assert_eq!(Family::detect(3, 3), Some(Family::Deoldify));
        assert_eq!(Family::detect(1, 2), Some(Family::Zhang));
        assert_eq!(Family::detect(1, 3), None);
        assert_eq!("zhang".parse::<Family>(), Ok(Family::Zhang));
        assert!("sd15".parse::<Family>().is_err());
    }

    #[test]
    fn deoldify_keeps_only_the_chroma_of_its_output() {
        // One 1×1 image: pure red in 0..255, and a value beyond the range that is clipped.
        let ab = Family::Deoldify
            .ab_from_output(vec![255.0, 0.0, -40.0], 1, (1, 1), 1)
            .unwrap();
        let [_, a, b] = srgb_to_lab([1.0, 0.0, 0.0]);
        assert!(
            (ab[0] - a).abs() < 1e-3 && (ab[1] - b).abs() < 1e-3,
            "{ab:?}"
        );
        assert!(a > 70.0, "red has a large positive a: {a}");
    }

    #[test]
    fn zhang_gets_lightness_and_its_low_resolution_output_is_resized() {
        let grey = [0.5f32; 3 * 4];
        let l = Family::Zhang.model_input(&grey, 1, 2);
        assert_eq!(l.len(), 4);
        assert!(
            (l[0] - 53.39).abs() < 0.05,
            "L of sRGB grey 0.5 is 53.39: {}",
            l[0]
        );
        let ab = Family::Zhang
            .ab_from_output(vec![10.0, -20.0], 1, (1, 1), 2)
            .unwrap();
        assert_eq!(ab, vec![10.0, 10.0, 10.0, 10.0, -20.0, -20.0, -20.0, -20.0]);
        assert!(Family::Zhang
            .ab_from_output(vec![1.0; 3], 1, (1, 1), 2)
            .is_err());
    }
}
