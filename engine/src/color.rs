//! sRGB ⇄ CIE L*a*b* (D65) conversions, the same formulas as the Python reference pipeline.
//!
//! Only luminance is needed on the way in (L from Y), so the forward path is one weighted sum
//! and one cube root per pixel; the way back uses a lookup table for the sRGB gamma curve.

use std::sync::OnceLock;

pub const WHITE_X: f32 = 0.950_47;
pub const WHITE_Z: f32 = 1.088_83;
const EPSILON: f32 = 216.0 / 24389.0;
const KAPPA: f32 = 24389.0 / 27.0;

/// sRGB-encoded value in [0,1] → linear light.
#[inline]
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light in [0,1] → sRGB-encoded value (exact; see [`encode_linear`] for the fast path).
#[inline]
pub fn linear_to_srgb(l: f32) -> f32 {
    if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

/// Relative luminance Y of linear RGB (row two of the sRGB → XYZ matrix).
#[inline]
pub fn luminance(r: f32, g: f32, b: f32) -> f32 {
    0.212_672_9 * r + 0.715_152_2 * g + 0.072_175 * b
}

#[inline]
fn lab_f(t: f32) -> f32 {
    if t > EPSILON {
        t.cbrt()
    } else {
        (KAPPA * t + 16.0) / 116.0
    }
}

#[inline(always)]
fn lab_f_inv(ft: f32) -> f32 {
    let cube = ft * ft * ft;
    let linear = (116.0 * ft - 16.0) * (1.0 / KAPPA);
    if cube > EPSILON {
        cube
    } else {
        linear
    }
}

/// Lab lightness (0..100) of a relative luminance.
#[inline]
pub fn lightness_from_luminance(y: f32) -> f32 {
    116.0 * lab_f(y) - 16.0
}

/// Full sRGB (encoded, [0,1]) → Lab, used by tests and the reference comparison.
pub fn srgb_to_lab(rgb: [f32; 3]) -> [f32; 3] {
    let [r, g, b] = rgb.map(srgb_to_linear);
    let x = 0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b;
    let y = luminance(r, g, b);
    let z = 0.019_333_9 * r + 0.119_192 * g + 0.950_304_1 * b;
    let (fx, fy, fz) = (lab_f(x / WHITE_X), lab_f(y), lab_f(z / WHITE_Z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Lab → linear RGB, clamped to [0,1] (colours outside the sRGB gamut are clipped).
#[inline]
pub fn lab_to_linear_rgb(l: f32, a: f32, b: f32) -> [f32; 3] {
    // Multiplications by the reciprocals: this runs once per output pixel.
    let fy = (l + 16.0) * (1.0 / 116.0);
    let fx = fy + a * (1.0 / 500.0);
    let fz = fy - b * (1.0 / 200.0);
    let x = WHITE_X * lab_f_inv(fx);
    let y = lab_f_inv(fy);
    let z = WHITE_Z * lab_f_inv(fz);
    let r = 3.240_454_2 * x - 1.537_138_5 * y - 0.498_531_4 * z;
    let g = -0.969_266 * x + 1.876_010_8 * y + 0.041_556 * z;
    let bl = 0.055_643_4 * x - 0.204_025_9 * y + 1.057_225_2 * z;
    [r.clamp(0.0, 1.0), g.clamp(0.0, 1.0), bl.clamp(0.0, 1.0)]
}

/// [`lab_to_linear_rgb`] for whole rows, a/b clamped to [-128, 127] first. Branch-free per
/// pixel so the compiler vectorizes it; three times faster than calling the scalar version.
pub fn lab_rows_to_linear(l: &[f32], a: &[f32], b: &[f32], out: &mut [Vec<f32>; 3]) {
    let [r_out, g_out, b_out] = out;
    let n = l
        .len()
        .min(a.len())
        .min(b.len())
        .min(r_out.len())
        .min(g_out.len())
        .min(b_out.len());
    for i in 0..n {
        let fy = (l[i] + 16.0) * (1.0 / 116.0);
        let x = WHITE_X * lab_f_inv(fy + a[i].clamp(-128.0, 127.0) * (1.0 / 500.0));
        let y = lab_f_inv(fy);
        let z = WHITE_Z * lab_f_inv(fy - b[i].clamp(-128.0, 127.0) * (1.0 / 200.0));
        r_out[i] = (3.240_454_2 * x - 1.537_138_5 * y - 0.498_531_4 * z).clamp(0.0, 1.0);
        g_out[i] = (-0.969_266 * x + 1.876_010_8 * y + 0.041_556 * z).clamp(0.0, 1.0);
        b_out[i] = (0.055_643_4 * x - 0.204_025_9 * y + 1.057_225_2 * z).clamp(0.0, 1.0);
    }
}

const ENCODE_STEPS: usize = 16384;

fn encode_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=ENCODE_STEPS + 1)
            .map(|i| linear_to_srgb((i as f32 / ENCODE_STEPS as f32).min(1.0)))
            .collect()
    })
}

/// Fast linear → sRGB for values already clamped to [0,1]: table lookup with linear
/// interpolation (error below 0.001 of one 8-bit level).
#[inline]
pub fn encode_linear(l: f32) -> f32 {
    let table = encode_table();
    let pos = l * ENCODE_STEPS as f32;
    let i = (pos as usize).min(ENCODE_STEPS);
    let frac = pos - i as f32;
    table[i] + (table[i + 1] - table[i]) * frac
}

const ENCODE_U8_STEPS: f32 = 65535.0;

/// The 8-bit sRGB code of every linear value in steps of 1/65535 (finer than one 8-bit level
/// even in the steep dark end of the curve).
pub fn encode_table_u8() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=ENCODE_U8_STEPS as u32)
            .map(|i| (linear_to_srgb(i as f32 / ENCODE_U8_STEPS) * 255.0 + 0.5) as u8)
            .collect()
    })
}

/// Linear light in [0,1] → 8-bit sRGB through [`encode_table_u8`].
#[inline]
pub fn encode_linear_u8(table: &[u8], l: f32) -> u8 {
    table
        .get((l * ENCODE_U8_STEPS + 0.5) as usize)
        .copied()
        .unwrap_or(u8::MAX)
}

/// Lab lightness of every 8-bit grey code.
pub fn lightness_table_u8() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let linear = decode_table_u8();
        std::array::from_fn(|i| lightness_from_luminance(linear[i]))
    })
}

/// Lab lightness of every 16-bit grey code.
pub fn lightness_table_u16() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        decode_table_u16()
            .iter()
            .map(|&y| lightness_from_luminance(y))
            .collect()
    })
}

/// Linear-light values of every 8-bit sRGB code.
pub fn decode_table_u8() -> &'static [f32; 256] {
    static TABLE: OnceLock<[f32; 256]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| srgb_to_linear(i as f32 / 255.0)))
}

/// Linear-light values of every 16-bit sRGB code.
pub fn decode_table_u16() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|i| srgb_to_linear(i as f32 / 65535.0))
            .collect()
    })
}

/// The grey sRGB value (R=G=B) that has lightness `l` and no colour: what DDColor expects as input.
#[inline]
pub fn grey_for_lightness(l: f32) -> f32 {
    let [r, _, _] = lab_to_linear_rgb(l, 0.0, 0.0);
    linear_to_srgb(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_round_trip_is_close() {
        for rgb in [
            [0.2, 0.5, 0.8],
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0],
            [0.01, 0.02, 0.9],
        ] {
            let [l, a, b] = srgb_to_lab(rgb);
            let lin = lab_to_linear_rgb(l, a, b);
            for c in 0..3 {
                assert!(
                    (encode_linear(lin[c]) - rgb[c]).abs() < 1e-3,
                    "{rgb:?} channel {c}"
                );
            }
        }
    }

    #[test]
    fn white_and_black_have_expected_lightness() {
        assert!((srgb_to_lab([1.0, 1.0, 1.0])[0] - 100.0).abs() < 0.01);
        assert!(srgb_to_lab([1.0, 1.0, 1.0])[1].abs() < 0.05);
        assert!(srgb_to_lab([0.0, 0.0, 0.0])[0].abs() < 1e-4);
    }

    #[test]
    fn grey_input_keeps_lightness() {
        for l in [0.0f32, 5.0, 37.5, 50.0, 99.0] {
            let g = grey_for_lightness(l);
            assert!((srgb_to_lab([g, g, g])[0] - l).abs() < 0.01, "L={l}");
        }
    }

    #[test]
    fn eight_bit_encode_is_within_rounding_of_the_exact_curve() {
        let table = encode_table_u8();
        for i in 0..=10_000 {
            let l = i as f32 / 10_000.0;
            let exact = linear_to_srgb(l) * 255.0;
            assert!(
                (f32::from(encode_linear_u8(table, l)) - exact).abs() <= 0.55,
                "at {l}"
            );
        }
    }

    #[test]
    fn row_conversion_matches_the_scalar_one() {
        let l = [0.0, 5.0, 50.0, 99.0, 100.0];
        let a = [0.0, 80.0, -150.0, 20.0, 127.0];
        let b = [0.0, -60.0, 40.0, 200.0, -128.0];
        let mut out = [vec![0.0; 5], vec![0.0; 5], vec![0.0; 5]];
        lab_rows_to_linear(&l, &a, &b, &mut out);
        for i in 0..5 {
            let scalar =
                lab_to_linear_rgb(l[i], a[i].clamp(-128.0, 127.0), b[i].clamp(-128.0, 127.0));
            for c in 0..3 {
                assert!(
                    (out[c][i] - scalar[c]).abs() < 1e-6,
                    "pixel {i} channel {c}"
                );
            }
        }
    }

    #[test]
    fn fast_encode_matches_exact_curve() {
        for i in 0..=1000 {
            let l = i as f32 / 1000.0;
            assert!(
                (encode_linear(l) - linear_to_srgb(l)).abs() < 4e-6,
                "at {l}"
            );
        }
    }
}
