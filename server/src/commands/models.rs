//! `tinct models list` and `tinct models import`.

use std::process::ExitCode;

use engine::registry::ImportOptions;

use crate::config::{Common, ImportArgs};
use crate::error::CommandError;

pub fn list(common: &Common) -> Result<ExitCode, CommandError> {
    let registry = common.registry();
    let models = registry.list()?;
    if models.is_empty() {
        println!("No models are registered. Import one with `tinct models import FILE.onnx --name NAME`.");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<2} {:<24} {:<34} {:>5}  {:<12}  origin",
        "", "name", "label", "size", "sha256"
    );
    for model in &models {
        let m = &model.manifest;
        println!(
            "{:<2} {:<24} {:<34} {:>5}  {:<12}  {}",
            if m.name == registry.default_name() {
                "*"
            } else {
                ""
            },
            m.name,
            model.label(),
            m.default_input_size,
            m.sha256.chars().take(12).collect::<String>(),
            if model.builtin { "shipped" } else { "imported" },
        );
    }
    println!("\n* = the default model ({}).", registry.default_name());
    if registry.get(registry.default_name()).is_err() {
        println!(
            "Warning: the default model '{}' is not registered.",
            registry.default_name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(common: &Common, args: &ImportArgs) -> Result<ExitCode, CommandError> {
    let engine = super::engine(common)?;
    let model = engine.registry().import(
        engine.runtime(),
        &args.file,
        &args.name,
        ImportOptions {
            default_input_size: args.input_size,
            display_name: args.display_name.clone(),
            licence: args.licence.clone(),
            source: args.source.clone(),
        },
    )?;
    println!(
        "Imported '{}' (input size {}, sha256 {}) into {}.",
        model.manifest.name,
        model.manifest.default_input_size,
        &model.manifest.sha256[..12.min(model.manifest.sha256.len())],
        model.path.display()
    );
    Ok(ExitCode::SUCCESS)
}
