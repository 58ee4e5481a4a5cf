//! What a job runs with: a preset from `workflows/`, an input size and a model.

use std::path::Path;

use engine::Engine;

/// Why a preset or size cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The person asked for something that does not exist or is not allowed.
    #[error("{0}")]
    Invalid(String),
    /// The workflow folder could not be read: the operator's problem, not the person's.
    #[error("the presets could not be read: {0}")]
    Presets(engine::EngineError),
}

/// The preset (default `portrait`), input size and model a job runs with; an explicit size
/// takes precedence over the preset's.
pub fn resolve(
    engine: &Engine,
    workflows_dir: &Path,
    preset: Option<&str>,
    size: Option<u32>,
) -> Result<(String, u32, String), SettingsError> {
    let presets = engine::presets::load_presets(workflows_dir).map_err(SettingsError::Presets)?;
    let name = preset.filter(|p| !p.is_empty()).unwrap_or("portrait");
    let preset = engine::presets::find_preset(&presets, name)
        .map_err(|e| SettingsError::Invalid(e.to_string()))?;
    let size = engine::InputSize::new(size.unwrap_or(preset.input_size))
        .map_err(|e| SettingsError::Invalid(e.to_string()))?;
    let model = engine.registry().resolve_checkpoint(&preset.checkpoint);
    Ok((preset.name, size.get(), model))
}
