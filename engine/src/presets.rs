//! Presets are ComfyUI API-format workflows in `workflows/`: `LoadImage` → `DDColor_Colorize`
//! → `SaveImage`. The colorize node's inputs give the preset's input size and checkpoint, and its
//! `_meta` gives the title and description shown to staff. Adding a file adds a preset.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::pipeline::InputSize;

pub const COLORIZE_NODE: &str = "DDColor_Colorize";

#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    /// The file stem: `portrait` for `workflows/portrait.json`.
    pub name: String,
    pub title: String,
    pub description: String,
    pub input_size: u32,
    pub checkpoint: String,
    #[serde(skip)]
    pub file: PathBuf,
}

impl Preset {
    pub fn size(&self) -> Result<InputSize> {
        InputSize::new(self.input_size)
    }
}

/// Every preset in `dir`, sorted by name; a broken file is an error naming the file.
fn load_presets(dir: &Path) -> Result<Vec<Preset>> {
    let entries = fs::read_dir(dir)
        .map_err(|e| EngineError::io(format!("cannot list presets in {}", dir.display()), e))?;
    let mut presets = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "json") {
            presets.push(load_preset(&path)?);
        }
    }
    presets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(presets)
}

/// The presets of the workflow folder, read once at start and shared by every way in (pages,
/// REST, ComfyUI, the command line).
#[derive(Debug, Clone, Default)]
pub struct Presets {
    presets: Vec<Preset>,
}

/// What a job runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub preset: String,
    pub input_size: u32,
    pub model: String,
}

/// The preset a submission gets when it names none.
pub const DEFAULT_PRESET: &str = "portrait";

impl Presets {
    pub fn load(dir: &Path) -> Result<Presets> {
        Ok(Presets {
            presets: load_presets(dir)?,
        })
    }

    /// Every preset, sorted by name.
    pub fn all(&self) -> &[Preset] {
        &self.presets
    }

    pub fn find(&self, name: &str) -> Result<&Preset> {
        self.presets
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| EngineError::UnknownPreset(name.to_string()))
    }

    /// The preset (default `portrait`), input size and model a job runs with; an explicit size
    /// or model takes precedence over the preset's. Errors are the person's: an unknown preset
    /// or model, or a size that is not allowed.
    pub fn resolve(
        &self,
        engine: &crate::Engine,
        preset: Option<&str>,
        size: Option<u32>,
        model: Option<&str>,
    ) -> Result<Resolved> {
        let name = preset.filter(|p| !p.is_empty()).unwrap_or(DEFAULT_PRESET);
        let preset = self.find(name)?;
        let model = match model.filter(|m| !m.is_empty()) {
            Some(model) => engine.registry().get(model)?.manifest.name,
            None => engine.registry().resolve_checkpoint(&preset.checkpoint),
        };
        let size = InputSize::new(
            engine
                .registry()
                .size_for(&model, size.unwrap_or(preset.input_size)),
        )?;
        Ok(Resolved {
            preset: preset.name.clone(),
            input_size: size.get(),
            model,
        })
    }
}

fn load_preset(path: &Path) -> Result<Preset> {
    let invalid = |reason: &str| EngineError::InvalidWorkflow {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let text = fs::read_to_string(path)
        .map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?;
    let workflow: Value = serde_json::from_str(&text).map_err(|e| invalid(&e.to_string()))?;
    let nodes = workflow
        .as_object()
        .ok_or_else(|| invalid("not a JSON object of nodes"))?;
    let mut colorize = nodes
        .values()
        .filter(|node| node.get("class_type").and_then(Value::as_str) == Some(COLORIZE_NODE));
    let node = colorize
        .next()
        .ok_or_else(|| invalid("it has no DDColor_Colorize node"))?;
    if colorize.next().is_some() {
        return Err(invalid("it has more than one DDColor_Colorize node"));
    }
    let inputs = node
        .get("inputs")
        .ok_or_else(|| invalid("the colorize node has no inputs"))?;
    let input_size = inputs
        .get("model_input_size")
        .and_then(Value::as_u64)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| invalid("model_input_size is missing or not a number"))?;
    InputSize::new(input_size).map_err(|e| invalid(&e.to_string()))?;
    let checkpoint = inputs
        .get("checkpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("checkpoint is missing"))?
        .to_string();
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| invalid("the file name is not UTF-8"))?
        .to_string();
    let meta = node.get("_meta");
    let text_of = |key: &str| {
        meta.and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(Preset {
        title: text_of("title").unwrap_or_else(|| name.clone()),
        description: text_of("description").unwrap_or_default(),
        name,
        input_size,
        checkpoint,
        file: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_workflows_are_valid_presets() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
        let presets = Presets::load(&dir).unwrap();
        let portrait = presets.find("portrait").unwrap();
        let building = presets.find("building").unwrap();
        assert!(portrait.input_size < building.input_size);
        assert!(!portrait.description.is_empty());
    }

    #[test]
    fn a_workflow_without_the_colorize_node_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("sd.json"),
            r#"{"1": {"class_type": "KSampler", "inputs": {}}}"#,
        )
        .unwrap();
        let err = load_presets(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("no DDColor_Colorize node"),
            "{err}"
        );
    }
}
