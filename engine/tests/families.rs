//! Each model family's pipeline against the Python reference (tools/reference/pipeline.py), on
//! the tiny graphs `make_test_data.py` generates for each contract; imports that detect the
//! family, and registry chores (default model, removal).

mod common;

use engine::family::Family;
use engine::registry::ImportOptions;
use engine::{ColorizeRequest, EngineError};

/// Imports `graph` without naming its family, checks the family found, colorizes the
/// reference input at S = 64 and compares with the reference pipeline's result.
fn matches_reference(graph: &str, family: Family) {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let name = graph.trim_start_matches("tiny_");
    let model = engine
        .registry()
        .import(
            &common::runtime(),
            &common::data(&format!("{graph}.onnx")),
            name,
            ImportOptions {
                default_input_size: Some(64),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(model.manifest.family, family, "{graph}");
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    let result = engine
        .colorize(
            &input,
            &ColorizeRequest {
                model: Some(name.into()),
                size: Some(64),
                ..Default::default()
            },
        )
        .unwrap();
    let ours = image::load_from_memory(&result.bytes).unwrap();
    let reference = image::open(common::data(&format!("reference_{name}.png"))).unwrap();
    let diff = common::mean_abs_diff(&ours, &reference);
    assert!(
        diff.iter().all(|&d| d < 1.0),
        "{graph}: mean abs diff per channel {diff:?} (must be < 1 level)"
    );
    let rgb = ours.to_rgb8();
    let colourful = rgb
        .pixels()
        .filter(|p| p[0].abs_diff(p[1]) > 10 || p[1].abs_diff(p[2]) > 10)
        .count();
    assert!(colourful > rgb.len() / 12, "{graph}: the result is grey");
}

#[test]
fn a_third_party_ddcolor_export_with_float16_and_other_names_matches_the_reference() {
    matches_reference("tiny_ddcolor_fp16", Family::Ddcolor);
}

#[test]
fn deoldify_keeps_the_chroma_of_its_rgb_output_like_the_reference() {
    matches_reference("tiny_deoldify", Family::Deoldify);
}

#[test]
fn zhang_eccv16_low_resolution_ab_matches_the_reference() {
    matches_reference("tiny_zhang_eccv16", Family::Zhang);
}

#[test]
fn zhang_siggraph17_with_hint_inputs_matches_the_reference() {
    matches_reference("tiny_zhang_siggraph17", Family::Zhang);
}

#[test]
fn a_family_named_at_import_must_fit_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let err = engine
        .registry()
        .import(
            &common::runtime(),
            &common::data("tiny_deoldify.onnx"),
            "deoldify_as_ddcolor",
            ImportOptions {
                family: Some(Family::Ddcolor),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidModel { .. }), "{err}");
    assert!(err.to_string().contains("as a DDColor model"), "{err}");
    assert!(engine.registry().get("deoldify_as_ddcolor").is_err());
}

#[test]
fn the_default_model_is_chosen_kept_and_protected_from_removal() {
    let dir = tempfile::tempdir().unwrap();
    common::tiny_engine(dir.path());
    // A registry whose default is not fixed by the configuration.
    let registry = engine::registry::Registry::new(
        dir.path().join("builtin"),
        dir.path().join("imported"),
        None,
    );
    assert_eq!(registry.default_name(), "tinct-mini");
    registry
        .import(
            &common::runtime(),
            &common::data("tiny_zhang_eccv16.onnx"),
            "zhang",
            ImportOptions::default(),
        )
        .unwrap();
    registry.set_default("zhang").unwrap();
    assert!(registry.set_default("nope").is_err());
    let reopened = engine::registry::Registry::new(
        dir.path().join("builtin"),
        dir.path().join("imported"),
        None,
    );
    assert_eq!(reopened.default_name(), "zhang", "the choice is kept");
    let err = reopened.remove("zhang").unwrap_err();
    assert!(err.to_string().contains("default"), "{err}");
    let err = reopened.remove("tiny").unwrap_err();
    assert!(err.to_string().contains("ships with Tinct"), "{err}");
    reopened.set_default("tiny").unwrap();
    let removed = reopened.remove("zhang").unwrap();
    assert!(!removed.path.exists(), "the file is gone");
    assert!(reopened.get("zhang").is_err());

    let fixed = engine::registry::Registry::new(
        dir.path().join("builtin"),
        dir.path().join("imported"),
        Some("tiny".into()),
    );
    let err = fixed.set_default("tiny").unwrap_err();
    assert!(matches!(err, EngineError::DefaultFixed(_)), "{err}");
}
