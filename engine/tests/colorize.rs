//! The whole pipeline on real files and a real ONNX model: formats, orientation, depth, alpha,
//! odd sizes, bad input, and agreement with the Python reference pipeline.

mod common;

use std::io::Cursor;

use engine::encode::OutputFormat;
use engine::{ColorizeRequest, EngineError};
use image::{DynamicImage, GenericImageView, ImageFormat, Rgba};

fn request() -> ColorizeRequest {
    ColorizeRequest::default()
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn grey_source() -> DynamicImage {
    image::open(common::data("reference_input.png")).unwrap()
}

fn decode_result(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

#[test]
fn matches_the_python_reference_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    let result = engine.colorize(&input, &request()).unwrap();
    let ours = decode_result(&result.bytes);
    let reference = image::open(common::data("reference_output.png")).unwrap();
    let diff = common::mean_abs_diff(&ours, &reference);
    assert!(
        diff.iter().all(|&d| d < 1.0),
        "mean abs diff per channel {diff:?} (must be < 1 level)"
    );
    // The model made colour: the result is not grey.
    let rgb = ours.to_rgb8();
    let colourful = rgb
        .pixels()
        .filter(|p| p[0].abs_diff(p[1]) > 10 || p[1].abs_diff(p[2]) > 10)
        .count();
    assert!(
        colourful > rgb.len() / 3 / 4,
        "only {colourful} colourful pixels"
    );
}

#[test]
fn keeps_the_original_lightness_at_full_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let source = grey_source();
    let result = engine
        .colorize(&encode(&source, ImageFormat::Png), &request())
        .unwrap();
    let ours = decode_result(&result.bytes).to_rgb8();
    let grey = source.to_luma8();
    let mut worst = 0f32;
    let mut compared = 0;
    // Pixels the gamut clipped (a channel at 0 or 255) may change lightness; all others keep it.
    for (p, g) in ours
        .pixels()
        .zip(grey.pixels())
        .filter(|(p, _)| p.0.iter().all(|&c| c > 0 && c < 255))
    {
        compared += 1;
        let l_result =
            engine::color::srgb_to_lab([p[0], p[1], p[2]].map(|v| f32::from(v) / 255.0))[0];
        let l_source = engine::color::srgb_to_lab([f32::from(g[0]) / 255.0; 3])[0];
        worst = worst.max((l_result - l_source).abs());
    }
    assert!(
        compared > ours.len() / 3 / 2,
        "only {compared} unclipped pixels"
    );
    assert!(worst < 1.0, "lightness moved by up to {worst}");
}

#[test]
fn reads_every_supported_format() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let grey = grey_source();
    let rgb = DynamicImage::ImageRgb8(grey.to_rgb8());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("jpeg", encode(&rgb, ImageFormat::Jpeg)),
        (
            "png grey 8",
            encode(&DynamicImage::ImageLuma8(grey.to_luma8()), ImageFormat::Png),
        ),
        (
            "png grey+alpha 8",
            encode(
                &DynamicImage::ImageLumaA8(grey.to_luma_alpha8()),
                ImageFormat::Png,
            ),
        ),
        ("png rgb 8", encode(&rgb, ImageFormat::Png)),
        (
            "png rgba 8",
            encode(&DynamicImage::ImageRgba8(grey.to_rgba8()), ImageFormat::Png),
        ),
        (
            "png grey 16",
            encode(
                &DynamicImage::ImageLuma16(grey.to_luma16()),
                ImageFormat::Png,
            ),
        ),
        (
            "png grey+alpha 16",
            encode(
                &DynamicImage::ImageLumaA16(grey.to_luma_alpha16()),
                ImageFormat::Png,
            ),
        ),
        (
            "png rgb 16",
            encode(&DynamicImage::ImageRgb16(grey.to_rgb16()), ImageFormat::Png),
        ),
        (
            "png rgba 16",
            encode(
                &DynamicImage::ImageRgba16(grey.to_rgba16()),
                ImageFormat::Png,
            ),
        ),
        (
            "tiff grey 8",
            encode(
                &DynamicImage::ImageLuma8(grey.to_luma8()),
                ImageFormat::Tiff,
            ),
        ),
        (
            "tiff grey 16",
            encode(
                &DynamicImage::ImageLuma16(grey.to_luma16()),
                ImageFormat::Tiff,
            ),
        ),
        (
            "tiff rgb 16",
            encode(
                &DynamicImage::ImageRgb16(grey.to_rgb16()),
                ImageFormat::Tiff,
            ),
        ),
        (
            "webp",
            encode(
                &DynamicImage::ImageRgba8(grey.to_rgba8()),
                ImageFormat::WebP,
            ),
        ),
        ("bmp", encode(&rgb, ImageFormat::Bmp)),
    ];
    for (name, bytes) in cases {
        let result = engine
            .colorize(&bytes, &request())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let image = decode_result(&result.bytes);
        assert_eq!(image.dimensions(), (240, 160), "{name}");
        let high = name.contains("16");
        assert_eq!(
            image.color().bytes_per_pixel() / image.color().channel_count(),
            if high { 2 } else { 1 },
            "{name}: bit depth"
        );
        assert_eq!(
            image.color().has_alpha(),
            name.contains("alpha") || name.contains("rgba") || name == "webp",
            "{name}: alpha"
        );
    }
}

#[test]
fn carries_alpha_over_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let mut rgba = grey_source().to_rgba8();
    for (x, _, p) in rgba.enumerate_pixels_mut() {
        p[3] = (x % 256) as u8;
    }
    let result = engine
        .colorize(
            &encode(&DynamicImage::ImageRgba8(rgba.clone()), ImageFormat::Png),
            &request(),
        )
        .unwrap();
    let out = decode_result(&result.bytes).to_rgba8();
    assert!(out
        .pixels()
        .zip(rgba.pixels())
        .all(|(a, b): (&Rgba<u8>, &Rgba<u8>)| a[3] == b[3]));
}

#[test]
fn sixteen_bit_input_gives_sixteen_bit_png() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let grey16 = DynamicImage::ImageLuma16(grey_source().to_luma16());
    let result = engine
        .colorize(&encode(&grey16, ImageFormat::Png), &request())
        .unwrap();
    assert!(matches!(
        decode_result(&result.bytes),
        DynamicImage::ImageRgb16(_)
    ));
}

#[test]
fn tiny_and_non_square_images_keep_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    for (w, h) in [(1, 1), (31, 17), (17, 31), (300, 7)] {
        let image = DynamicImage::ImageLuma8(image::ImageBuffer::from_fn(w, h, |x, y| {
            image::Luma([((x * 7 + y * 3) % 256) as u8])
        }));
        let result = engine
            .colorize(&encode(&image, ImageFormat::Png), &request())
            .unwrap();
        assert_eq!(decode_result(&result.bytes).dimensions(), (w, h));
        assert_eq!((result.width, result.height), (w, h));
    }
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display".
fn jpeg_with_orientation(image: &DynamicImage, orientation: u16) -> Vec<u8> {
    let jpeg = encode(image, ImageFormat::Jpeg);
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one IFD entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn applies_exif_orientation() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    // Left half dark, right half light; stored 64×32, displayed rotated to 32×64.
    let stored = DynamicImage::ImageLuma8(image::ImageBuffer::from_fn(64, 32, |x, _| {
        image::Luma([if x < 32 { 20 } else { 230 }])
    }));
    let bytes = jpeg_with_orientation(&stored, 6);
    let result = engine.colorize(&bytes, &request()).unwrap();
    let out = decode_result(&result.bytes).to_luma8();
    assert_eq!(out.dimensions(), (32, 64));
    // Rotating 90° clockwise puts the stored left (dark) half at the top.
    assert!(out.get_pixel(16, 5)[0] < 100 && out.get_pixel(16, 58)[0] > 150);
}

#[test]
fn jpeg_output_honours_quality() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    let size_at = |quality| {
        let request = ColorizeRequest {
            format: OutputFormat::Jpeg { quality },
            ..request()
        };
        let result = engine.colorize(&input, &request).unwrap();
        assert_eq!(
            image::guess_format(&result.bytes).unwrap(),
            ImageFormat::Jpeg
        );
        result.bytes.len()
    };
    assert!(size_at(30) < size_at(95));
}

#[test]
fn input_size_must_be_a_multiple_of_32() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    let err = engine
        .colorize(
            &input,
            &ColorizeRequest {
                size: Some(250),
                ..request()
            },
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidInputSize(250)));
    assert!(err.to_string().contains("multiple of 32"), "{err}");
    assert!(engine
        .colorize(
            &input,
            &ColorizeRequest {
                size: Some(96),
                ..request()
            }
        )
        .is_ok());
}

#[test]
fn corrupt_truncated_and_foreign_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let png = std::fs::read(common::data("reference_input.png")).unwrap();
    let jpeg = encode(&grey_source(), ImageFormat::Jpeg);

    let truncated_png = &png[..png.len() / 2];
    let err = engine.colorize(truncated_png, &request()).unwrap_err();
    assert!(matches!(err, EngineError::Corrupt(_)), "{err}");

    let truncated_jpeg = &jpeg[..jpeg.len() / 3];
    let err = engine.colorize(truncated_jpeg, &request()).unwrap_err();
    assert!(matches!(err, EngineError::Corrupt(_)), "{err}");

    let mut garbled = png.clone();
    for byte in garbled.iter_mut().skip(100).step_by(7) {
        *byte ^= 0x5A;
    }
    let err = engine.colorize(&garbled, &request()).unwrap_err();
    assert!(matches!(err, EngineError::Corrupt(_)), "{err}");

    let err = engine
        .colorize(b"#!/bin/sh\nrm -rf /\n", &request())
        .unwrap_err();
    assert!(matches!(err, EngineError::UnsupportedFormat));
    assert!(err.to_string().contains("not an image"));
    assert!(err.is_bad_input());
}

/// A valid PNG whose header claims 100 000 × 100 000 pixels (10 gigapixels).
fn png_bomb() -> Vec<u8> {
    let mut png = encode(
        &DynamicImage::ImageLuma8(image::ImageBuffer::new(8, 8)),
        ImageFormat::Png,
    );
    // IHDR data starts at byte 16: width, height (big endian), then its CRC at 29..33.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let started = std::time::Instant::now();
    let err = engine.colorize(&png_bomb(), &request()).unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("100000×100000"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "it decoded before refusing"
    );
    let probe = engine::decode::probe(&png_bomb(), engine::decode::DEFAULT_MAX_PIXELS).unwrap_err();
    assert!(matches!(probe, EngineError::TooManyPixels { .. }));
}

#[test]
fn reports_provenance_and_timings() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    let result = engine.colorize(&input, &request()).unwrap();
    assert_eq!(result.model_name, "tiny");
    assert_eq!(result.model_sha256.len(), 64);
    assert_eq!(result.input_size, 64);
    assert_eq!(result.execution.provider, "CPUExecutionProvider");
    assert!(result.timings.inference > std::time::Duration::ZERO);
    assert!(result.timings.total() >= result.timings.inference);
}
