//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::registry::{ModelManifest, Registry};
use engine::runtime::{Device, Runtime, RuntimeOptions};
use engine::{Engine, EngineSettings};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// ONNX Runtime from `ORT_DYLIB_PATH`, else the copy `scripts/setup.sh` puts in `.local/`.
pub fn runtime() -> Arc<Runtime> {
    let library = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/onnxruntime/libonnxruntime.so")
        });
    Runtime::init(RuntimeOptions {
        library: Some(library),
        device: Device::Cpu,
        intra_threads: 1,
    })
    .expect("ONNX Runtime must be installed for these tests: run scripts/setup.sh")
}

/// A registry in `dir` holding one test model (copied from tests/data) as its default.
pub fn registry_with(dir: &Path, file: &str, name: &str, default_input_size: u32) -> Registry {
    let builtin = dir.join("builtin");
    std::fs::create_dir_all(&builtin).unwrap();
    std::fs::copy(data(file), builtin.join(file)).unwrap();
    let manifest = ModelManifest {
        name: name.into(),
        display_name: Some(format!("Test model {name}")),
        file: file.into(),
        sha256: engine::registry::sha256_file(&builtin.join(file)).unwrap(),
        kind: "ddcolor-compatible".into(),
        family: Default::default(),
        precision: None,
        default_input_size,
        licence: "test".into(),
        source: "tools/reference/make_test_data.py".into(),
        training_data: None,
        evaluation: None,
        input_size: None,
        notice: None,
        variant_of: None,
    };
    std::fs::write(
        builtin.join(format!("{name}.json")),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    Registry::new(builtin, dir.join("imported"), Some(name.to_string()))
}

/// An engine whose default model is the tiny test graph at S = 64.
pub fn tiny_engine(dir: &Path) -> Engine {
    Engine::new(
        runtime(),
        registry_with(dir, "tiny_ddcolor.onnx", "tiny", 64),
        EngineSettings::default(),
    )
}

/// Mean absolute difference per RGB channel, in 8-bit levels.
pub fn mean_abs_diff(a: &image::DynamicImage, b: &image::DynamicImage) -> [f64; 3] {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    let mut sums = [0f64; 3];
    for (pa, pb) in a.pixels().zip(b.pixels()) {
        for c in 0..3 {
            sums[c] += (f64::from(pa[c]) - f64::from(pb[c])).abs();
        }
    }
    sums.map(|s| s / f64::from(a.width() * a.height()))
}
