//! The `tinct` command line, run as a user would run it.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{make_signing_cert, test_data};

/// A data directory whose imported-models folder holds the tiny test model as `tiny`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shipped")).unwrap();
    let imported = dir.path().join("data/models");
    std::fs::create_dir_all(&imported).unwrap();
    let model = imported.join("tiny.onnx");
    std::fs::copy(test_data("tiny_ddcolor.onnx"), &model).unwrap();
    let sha = engine::registry::sha256_file(&model).unwrap();
    std::fs::write(
        imported.join("tiny.json"),
        format!(
            r#"{{"name":"tiny","file":"tiny.onnx","sha256":"{sha}","kind":"ddcolor-compatible",
               "default_input_size":64,"licence":"test","source":"test"}}"#
        ),
    )
    .unwrap();
    dir
}

fn tinct(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tinct"));
    command
        .args(args)
        .env("TINCT_DATA_DIR", dir.join("data"))
        .env("TINCT_MODELS_DIR", dir.join("shipped"))
        .env(
            "TINCT_WORKFLOWS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows"),
        )
        .env("TINCT_DEFAULT_MODEL", "tiny")
        .env("TINCT_THREADS", "1");
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        command.env(
            "ORT_DYLIB_PATH",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/onnxruntime/libonnxruntime.so"),
        );
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_explains_every_setting_and_its_variable() {
    let dir = setup();
    let out = tinct(dir.path(), &["serve", "--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for needle in [
        "--bind",
        "TINCT_BIND",
        "--data-dir",
        "TINCT_DATA_DIR",
        "--database-url",
        "--models-dir",
        "--log-level",
        "ORT_DYLIB_PATH",
    ] {
        assert!(
            help.contains(needle),
            "--help does not mention {needle}:\n{help}"
        );
    }
}

#[test]
fn colorize_does_the_good_files_and_lists_the_bad_ones() {
    let dir = setup();
    let scans = dir.path().join("scans");
    std::fs::create_dir_all(scans.join("box 2")).unwrap();
    std::fs::copy(test_data("reference_input.png"), scans.join("harbour.png")).unwrap();
    let portrait = image::DynamicImage::ImageLuma8(image::ImageBuffer::from_fn(50, 70, |x, y| {
        image::Luma([(x * 3 + y) as u8])
    }));
    portrait.save(scans.join("box 2/portrait.jpg")).unwrap();
    std::fs::write(scans.join("notes.txt"), "not an image").unwrap();
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    std::fs::write(scans.join("box 2/cut.png"), &png[..png.len() / 2]).unwrap();
    let originals_before = std::fs::read(scans.join("harbour.png")).unwrap();

    let out_dir = dir.path().join("results");
    let out = tinct(
        dir.path(),
        &[
            "colorize",
            scans.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a batch with failures must exit non-zero\n{stdout}"
    );
    assert!(stdout.contains("Colorized 2 of 4"), "{stdout}");
    assert!(
        stdout.contains("notes.txt: the file is not an image"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cut.png: the image could not be decoded"),
        "{stdout}"
    );
    let harbour = image::open(out_dir.join("harbour_colorized.png")).unwrap();
    assert_eq!((harbour.width(), harbour.height()), (240, 160));
    let portrait = image::open(out_dir.join("portrait_colorized.png")).unwrap();
    assert_eq!((portrait.width(), portrait.height()), (50, 70));
    // The command line labels its results as the server does.
    let xmp = engine::provenance::read_xmp(
        &std::fs::read(out_dir.join("harbour_colorized.png")).unwrap(),
    )
    .expect("the result carries XMP");
    assert!(xmp.contains(engine::provenance::DIGITAL_SOURCE_TYPE));
    assert!(
        xmp.contains("<tinct:OriginalFileName>harbour.png</tinct:OriginalFileName>"),
        "{xmp}"
    );
    assert_eq!(
        std::fs::read(scans.join("harbour.png")).unwrap(),
        originals_before,
        "an original was modified"
    );
}

#[test]
fn colorize_of_good_files_succeeds_with_jpeg_and_tiff_output() {
    let dir = setup();
    let out_dir = dir.path().join("results");
    let input = test_data("reference_input.png");
    let colorize_as = |format: &str| {
        tinct(
            dir.path(),
            &[
                "colorize",
                input.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
                "--format",
                format,
                "--size",
                "96",
            ],
        )
    };
    let out = colorize_as("jpeg");
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("input size 96"));
    let bytes = std::fs::read(out_dir.join("reference_input_colorized.jpg")).unwrap();
    assert_eq!(
        image::guess_format(&bytes).unwrap(),
        image::ImageFormat::Jpeg
    );

    // A 16-bit TIFF from an 8-bit scan, with the provenance inside.
    let out = colorize_as("tiff");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(out_dir.join("reference_input_colorized.tif")).unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    assert_eq!(image.color(), image::ColorType::Rgb16);
    let xmp = engine::provenance::read_xmp(&bytes).unwrap();
    assert!(xmp.contains("AI-assisted colorization"), "{xmp}");
}

#[test]
fn colorize_applies_a_correction_file_and_says_so_in_the_result() {
    let dir = setup();
    let out_dir = dir.path().join("results");
    let input = test_data("reference_input.png");
    let hints = dir.path().join("hints.json");
    // Strength 0 (the model's colours off) and one red hint in the top-left corner.
    std::fs::write(
        &hints,
        r##"{"strength": 0, "hints": [{"x": 0.1, "y": 0.1, "radius": 0.05, "srgb": "#c0392b"}]}"##,
    )
    .unwrap();
    let args = |hints: &Path| {
        [
            "colorize".to_string(),
            input.to_str().unwrap().to_string(),
            "--out".into(),
            out_dir.to_str().unwrap().into(),
            "--hints".into(),
            hints.to_str().unwrap().into(),
        ]
    };
    let run = |hints: &Path| {
        let args = args(hints);
        tinct(
            dir.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let out = run(&hints);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let bytes = std::fs::read(out_dir.join("reference_input_colorized.png")).unwrap();
    let image = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let (w, h) = image.dimensions();
    let corner = image.get_pixel(w / 10, h / 10);
    assert!(corner[0] > corner[1] + 15, "the hint is red: {corner:?}");
    let xmp = engine::provenance::read_xmp(&bytes).unwrap();
    assert!(
        xmp.contains("colours corrected by a person: 1 hint, strength 0 %"),
        "{xmp}"
    );

    // A correction file that is not one is refused before any image is read, with the reason.
    std::fs::write(
        &hints,
        r#"{"strength": 0.5, "hints": [{"x": 0.5, "y": 0.5, "srgb": "green"}]}"#,
    )
    .unwrap();
    let out = run(&hints);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("#rrggbb"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_input_size_is_refused_before_any_work() {
    let dir = setup();
    let input = test_data("reference_input.png");
    let out = tinct(
        dir.path(),
        &[
            "colorize",
            input.to_str().unwrap(),
            "--out",
            "unused",
            "--size",
            "250",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("multiple of 32"),
        "{}",
        text(&out.stderr)
    );
}

/// `tinct models import` of a test graph under `name`, with more flags.
fn import_model(dir: &Path, file: &str, name: &str, flags: &[&str]) -> Output {
    let file = test_data(file);
    let mut args = vec!["models", "import", file.to_str().unwrap(), "--name", name];
    args.extend_from_slice(flags);
    tinct(dir, &args)
}

#[test]
fn models_import_checks_the_file_and_list_shows_it() {
    let dir = setup();
    let out = import_model(dir.path(), "wrong_io.onnx", "wrong", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a usable colorization model"),
        "{}",
        text(&out.stderr)
    );

    let out = import_model(
        dir.path(),
        "tiny_ddcolor.onnx",
        "ddcolor_paper_tiny",
        &["--input-size", "512"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tinct(dir.path(), &["models", "list"]);
    let list = text(&out.stdout);
    assert!(
        list.contains("ddcolor_paper_tiny") && list.contains("512"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with('*') && l.contains("tiny ")),
        "default not marked:\n{list}"
    );
}

/// The reference photo coloured by `model` at input size `size` with `tinct colorize`.
fn colorize_reference(dir: &Path, model: &str, size: u32) -> image::RgbImage {
    let input = test_data("reference_input.png");
    let out_dir = dir.join(model);
    let out = tinct(
        dir,
        &[
            "colorize",
            input.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--model",
            model,
            "--size",
            &size.to_string(),
        ],
    );
    assert!(out.status.success(), "{model}: {}", text(&out.stderr));
    let bytes = std::fs::read(out_dir.join("reference_input_colorized.png")).unwrap();
    image::load_from_memory(&bytes).unwrap().to_rgb8()
}

#[test]
fn an_int8_variant_is_registered_with_its_parent_and_colours_like_it() {
    let dir = setup();
    // The parent carries a caveat, which its variants must carry too.
    let parent_manifest = dir.path().join("data/models/tiny.json");
    let mut parent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&parent_manifest).unwrap()).unwrap();
    parent["notice"] = "Demo quality only.".into();
    std::fs::write(&parent_manifest, parent.to_string()).unwrap();
    let import = |parent: &str| {
        import_model(
            dir.path(),
            "tiny_ddcolor_int8.onnx",
            "tiny-int8",
            &[
                "--variant-of",
                parent,
                "--method",
                "int8 static QDQ, per-channel weights, MinMax (onnxruntime 1.31.1)",
                "--calibration",
                "2 photos of calib at S = 64",
            ],
        )
    };
    let out = import("tiny-fp32");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("a variant's parent must be registered first"),
        "{}",
        text(&out.stderr)
    );
    // A method and a calibration set are required with --variant-of.
    let out = import_model(
        dir.path(),
        "tiny_ddcolor_int8.onnx",
        "tiny-int8",
        &["--variant-of", "tiny"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let out = import("tiny");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("It is a variant of 'tiny'"),
        "{}",
        text(&out.stdout)
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("data/models/tiny-int8.json")).unwrap(),
    )
    .unwrap();
    let parent_sha256 =
        engine::registry::sha256_file(&dir.path().join("data/models/tiny.onnx")).unwrap();
    assert_eq!(manifest["variant_of"]["parent"], "tiny");
    assert_eq!(
        manifest["variant_of"]["parent_sha256"],
        parent_sha256.as_str()
    );
    assert_eq!(
        manifest["variant_of"]["calibration"],
        "2 photos of calib at S = 64"
    );
    assert_eq!(manifest["precision"], "int8");
    // The parent's size and licence come with it.
    assert_eq!(manifest["default_input_size"], 64);
    assert_eq!(manifest["licence"], "as its parent tiny: test");
    assert_eq!(manifest["notice"], "Demo quality only.");

    // The engine runs the quantized graph, and its colours stay close to the parent's.
    let results = [
        colorize_reference(dir.path(), "tiny", 64),
        colorize_reference(dir.path(), "tiny-int8", 64),
    ];
    let differences: Vec<f64> = results[0]
        .as_raw()
        .iter()
        .zip(results[1].as_raw())
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
        .collect();
    let mean = differences.iter().sum::<f64>() / differences.len() as f64;
    assert!(
        mean < 3.0,
        "the int8 result differs by {mean:.2} levels on average"
    );
    assert!(
        results[0] != results[1],
        "the variant's output is not its own"
    );
}

#[test]
fn a_folded_variant_is_another_file_that_colours_exactly_like_its_parent() {
    let dir = setup();
    let out = import_model(dir.path(), "tiny_ddcolor_head.onnx", "head", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = import_model(
        dir.path(),
        "tiny_ddcolor_head_fold.onnx",
        "head-fold",
        &[
            "--variant-of",
            "head",
            "--method",
            "float32, colour head folded, 3×3 convolutions in Winograd form (exact up to float rounding)",
            "--calibration",
            "none",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("data/models/head-fold.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["precision"], "float32");
    assert_eq!(manifest["display_name"], "head, float32, folded");
    assert_ne!(
        manifest["sha256"], manifest["variant_of"]["parent_sha256"],
        "the folded graph is the parent's file"
    );

    // At S = 96 the Winograd-form convolution's 6 × 6 input is padded to whole blocks and its
    // output cropped back.
    let results = [
        colorize_reference(dir.path(), "head", 96),
        colorize_reference(dir.path(), "head-fold", 96),
    ];
    // The same function: at most one level apart anywhere (float rounding), and colourful.
    let largest = results[0]
        .as_raw()
        .iter()
        .zip(results[1].as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max();
    assert!(
        largest <= Some(1),
        "the folded graph differs by {largest:?}"
    );
    let coloured = results[0]
        .pixels()
        .filter(|p| p[0].abs_diff(p[2]) > 8)
        .count();
    assert!(
        coloured > (results[0].width() * results[0].height()) as usize / 30,
        "the test graph gives no colour to compare ({coloured} coloured pixels)"
    );
}

#[test]
fn a_missing_onnx_runtime_is_a_clear_error_not_a_panic() {
    let dir = setup();
    let out = tinct(
        dir.path(),
        &[
            "--ort-library",
            "/nonexistent/libonnxruntime.so",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ONNX Runtime library could not be loaded"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, "not a library").unwrap();
    let out = tinct(
        dir.path(),
        &[
            "--ort-library",
            fake.to_str().unwrap(),
            "models",
            "import",
            "x.onnx",
            "--name",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ONNX Runtime library could not be loaded"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn colorize_signs_with_a_configured_certificate_and_refuses_an_unusable_one_at_once() {
    let dir = setup();
    let certs = dir.path().join("certs");
    let (chain, key) = make_signing_cert(&certs, "Tinct test signer", "Tinct test");
    let scans = dir.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    std::fs::copy(test_data("reference_input.png"), scans.join("pier.png")).unwrap();
    let colorize_signed = |out_dir: &Path, cert: &Path| {
        tinct(
            dir.path(),
            &[
                "colorize",
                scans.to_str().unwrap(),
                "--out",
                out_dir.to_str().unwrap(),
                "--c2pa-cert",
                cert.to_str().unwrap(),
                "--c2pa-key",
                key.to_str().unwrap(),
            ],
        )
    };
    let out_dir = dir.path().join("out");
    let out = colorize_signed(&out_dir, &chain);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Content Credentials are signed by Tinct test signer (Tinct test), ES256"),
        "{stdout}"
    );
    let result = std::fs::read(out_dir.join("pier_colorized.png")).unwrap();
    let check = engine::content_credentials::verify(&result, "image/png").unwrap();
    assert!(check.is_valid(), "{check:?}");
    assert_eq!(check.parents, ["pier.png"]);

    // The certificate is its own CA's: C2PA refuses it, and so does Tinct, before any work.
    let chain_text = std::fs::read_to_string(&chain).unwrap();
    let ca = &chain_text[chain_text.rfind("-----BEGIN CERTIFICATE-----").unwrap()..];
    std::fs::write(certs.join("ca.pem"), ca).unwrap();
    let refused_dir = dir.path().join("refused");
    let out = colorize_signed(&refused_dir, &certs.join("ca.pem"));
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the signing certificate and key cannot sign Content Credentials"),
        "{stderr}"
    );
    assert!(!refused_dir.join("pier_colorized.png").exists());
    // A certificate without its key is a usage error.
    let out = tinct(
        dir.path(),
        &[
            "colorize",
            scans.to_str().unwrap(),
            "--c2pa-cert",
            chain.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
