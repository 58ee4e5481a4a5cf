//! Time of a person's correction: the preview after adding a hint, and the full-resolution
//! version, against the plain recomposition of the model's colours (no hints, strength 100 %)
//! of the same image measured in the same run.
//!
//!     cargo bench -p engine --bench correction -- [--repeat N]
//!
//! The scans are synthetic grey images with shapes, soft gradients and grain (no test photo
//! needs to be shipped); the model colours are a smooth field at the model's grid.

use std::io::Cursor;
use std::time::{Duration, Instant};

use engine::correct::{recolor, Correction, Hint, ModelColours};
use engine::decode::decode;
use engine::encode::{encode, OutputFormat};
use image::{DynamicImage, GrayImage, ImageFormat, Luma};

fn scan(width: u32, height: u32) -> Vec<u8> {
    let image = GrayImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        // A sky gradient, a dark house with a lighter door, a round tree.
        let mut grey = 200.0 - 60.0 * v;
        if (0.2..0.6).contains(&u) && v > 0.45 {
            grey = 70.0;
            if (0.35..0.43).contains(&u) && v > 0.7 {
                grey = 140.0;
            }
        }
        if (u - 0.78).powi(2) + (v - 0.55).powi(2) < 0.02 {
            grey = 100.0 + 20.0 * ((x / 7 + y / 5) % 3) as f32;
        }
        // Film grain, so that encoding costs what it costs on a real scan.
        let grain = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7) % 17;
        Luma([(grey + grain as f32 - 8.0).clamp(0.0, 255.0) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageLuma8(image)
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap_or_default();
    out.into_inner()
}

fn colours(size: u32) -> ModelColours {
    let n = (size * size) as usize;
    let mut ab = vec![0f32; 2 * n];
    for i in 0..n {
        let (x, y) = ((i as u32 % size) as f32, (i as u32 / size) as f32);
        ab[i] = 6.0 * (x / size as f32 - 0.5);
        ab[n + i] = 12.0 - 10.0 * (y / size as f32);
    }
    ModelColours::new(size, ab).unwrap_or_else(|e| panic!("{e}"))
}

fn hints() -> Correction {
    let hint = |x: f32, y: f32, srgb: &str| Hint {
        x,
        y,
        radius: 0.01,
        lab: None,
        srgb: Some(srgb.into()),
    };
    Correction {
        strength: 0.8,
        hints: vec![
            hint(0.4, 0.6, "#8b2a1e"),
            hint(0.39, 0.8, "#2e7d32"),
            hint(0.78, 0.55, "#3d6b2a"),
            hint(0.5, 0.1, "#6fa8dc"),
            hint(0.1, 0.9, "#7a6a4f"),
        ],
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(repeat: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..repeat)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let repeat = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let plain = Correction::default();
    let with_hints = hints();
    println!("| what | model grid | plain recomposition | with 5 hints, strength 80 % | ratio |");
    println!("|---|---|---|---|---|");
    // The preview: the page shows the original's 1600 px comparison preview recoloured.
    let preview = scan(1600, 1200);
    for size in [256, 512, 1024] {
        let colours = colours(size);
        let run = |correction: &Correction| {
            let source = decode(&preview, u64::MAX).unwrap_or_else(|e| panic!("{e}"));
            let image = recolor(&source, &colours, correction).unwrap_or_else(|e| panic!("{e}"));
            encode(&image, OutputFormat::from_name("jpeg")).unwrap_or_else(|e| panic!("{e}"));
        };
        let reference = time(repeat, || run(&plain));
        let corrected = time(repeat, || run(&with_hints));
        row("preview (1600 × 1200, JPEG)", size, reference, corrected);
    }
    // The version at full resolution: a 12 MP scan, decoded, recoloured and written as PNG.
    let full = scan(4000, 3000);
    for size in [256, 512] {
        let colours = colours(size);
        let run = |correction: &Correction| {
            let source = decode(&full, u64::MAX).unwrap_or_else(|e| panic!("{e}"));
            let image = recolor(&source, &colours, correction).unwrap_or_else(|e| panic!("{e}"));
            encode(&image, OutputFormat::Png).unwrap_or_else(|e| panic!("{e}"));
        };
        let reference = time(repeat.min(3), || run(&plain));
        let corrected = time(repeat.min(3), || run(&with_hints));
        row(
            "full version (4000 × 3000, PNG)",
            size,
            reference,
            corrected,
        );
    }
}

fn row(what: &str, size: u32, reference: Duration, corrected: Duration) {
    println!(
        "| {what} | {size} | {:.0} ms | {:.0} ms | {:.2} |",
        reference.as_secs_f64() * 1000.0,
        corrected.as_secs_f64() * 1000.0,
        corrected.as_secs_f64() / reference.as_secs_f64()
    );
}
