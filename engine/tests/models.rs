//! Loading models: the DDColor contract, fixed-size graphs, the registry and imports.

mod common;

use engine::model::OnnxModel;
use engine::registry::ImportOptions;
use engine::{ColorizeRequest, EngineError};

#[test]
fn a_model_with_the_wrong_inputs_and_outputs_is_refused() {
    let err = OnnxModel::load(&common::runtime(), &common::data("wrong_io.onnx"), None)
        .err()
        .unwrap();
    assert!(matches!(err, EngineError::InvalidModel { .. }), "{err}");
    assert!(err.to_string().contains("match no family"), "{err}");
}

#[test]
fn a_file_that_is_not_onnx_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("model.onnx");
    std::fs::write(&fake, b"this is not a model").unwrap();
    let err = OnnxModel::load(&common::runtime(), &fake, None)
        .err()
        .unwrap();
    assert!(matches!(err, EngineError::InvalidModel { .. }), "{err}");
}

#[test]
fn a_fixed_size_graph_runs_at_its_size_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine::Engine::new(
        common::runtime(),
        common::registry_with(dir.path(), "fixed_64.onnx", "fixed", 64),
        engine::EngineSettings::default(),
    );
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    assert_eq!(
        engine
            .colorize(&input, &ColorizeRequest::default())
            .unwrap()
            .input_size,
        64
    );
    let err = engine
        .colorize(
            &input,
            &ColorizeRequest {
                size: Some(128),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::FixedInputSize {
                fixed: 64,
                requested: 128,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn import_validates_registers_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let registry = engine.registry();
    let runtime = common::runtime();

    let imported = registry
        .import(
            &runtime,
            &common::data("tiny_ddcolor.onnx"),
            "ddcolor_test",
            ImportOptions {
                default_input_size: Some(96),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(imported.manifest.default_input_size, 96);
    assert!(!imported.builtin);
    let names: Vec<_> = registry
        .list()
        .unwrap()
        .into_iter()
        .map(|m| m.manifest.name)
        .collect();
    assert_eq!(names, ["tiny", "ddcolor_test"]);
    assert_eq!(
        registry.resolve_checkpoint("ddcolor_test.pth"),
        "ddcolor_test"
    );
    assert_eq!(registry.resolve_checkpoint("ddcolor_artistic.pth"), "tiny");

    // The imported model colorizes.
    let input = std::fs::read(common::data("reference_input.png")).unwrap();
    let request = ColorizeRequest {
        model: Some("ddcolor_test".into()),
        ..Default::default()
    };
    assert_eq!(engine.colorize(&input, &request).unwrap().input_size, 96);

    let err = registry
        .import(
            &runtime,
            &common::data("tiny_ddcolor.onnx"),
            "ddcolor_test",
            ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::DuplicateModel(_)));
    let err = registry
        .import(
            &runtime,
            &common::data("wrong_io.onnx"),
            "wrong",
            ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidModel { .. }));
    assert!(
        registry
            .list()
            .unwrap()
            .iter()
            .all(|m| m.manifest.name != "wrong"),
        "a bad model was registered"
    );
    let err = registry
        .import(
            &runtime,
            &common::data("tiny_ddcolor.onnx"),
            "../escape",
            ImportOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidModelName(_)));
}

#[test]
fn a_model_file_that_changed_since_registration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let path = engine.registry().get("tiny").unwrap().path;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, bytes).unwrap();
    let err = engine.model(None).err().unwrap();
    assert!(matches!(err, EngineError::ChecksumMismatch { .. }), "{err}");
}

#[test]
fn unknown_models_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let engine = common::tiny_engine(dir.path());
    let err = engine.model(Some("nope")).err().unwrap();
    assert!(err.to_string().contains("'nope'"));
}

#[test]
fn the_shipped_catalogue_is_valid_and_names_its_checksums_and_licences() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/catalogue.toml");
    let catalogue =
        engine::catalogue::Catalogue::load(&shipped, std::path::Path::new("/nonexistent")).unwrap();
    let tiny = catalogue.get("ddcolor-tiny-512-int8").unwrap();
    assert_eq!(tiny.size, Some(112_723_138));
    assert_eq!(
        tiny.sha256.as_deref(),
        Some("e983347272b8e218edc974a0af2bd66f53b73212abb800e103c64806e4c14a14")
    );
    let families: std::collections::HashSet<_> =
        catalogue.entries().iter().map(|e| e.family).collect();
    assert_eq!(families.len(), 3, "every family has an entry");
    for entry in catalogue.entries() {
        assert!(!entry.licence.is_empty() && !entry.checksum_source.is_empty());
        // An entry without a published checksum says where to get one.
        if entry.sha256.is_none() {
            assert!(entry.checksum_source.contains("--sha256"), "{}", entry.name);
        }
    }
}
