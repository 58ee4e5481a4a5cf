//! The model registry: the models that ship in the repository's `models/` folder and those an
//! operator imported into the data directory. Each model is an `.onnx` file plus a JSON manifest.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::model::{Inference, OnnxModel};
use crate::runtime::Runtime;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelManifest {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The ONNX file, relative to the manifest.
    pub file: String,
    pub sha256: String,
    /// `ddcolor-compatible` for every model the engine runs.
    pub kind: String,
    pub default_input_size: u32,
    pub licence: String,
    /// Where the weights came from.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<serde_json::Value>,
    /// A caveat shown wherever the model is named, e.g. that it is of demo quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The input sizes at which the model works: a size asked for outside `min..=max` (by a
    /// preset, a person or a workflow) runs at the nearest bound, so a model that is worse at
    /// large sizes is not run at them. DDColor models leave it out: every size is theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_size: Option<InputSizes>,
}

/// Where a model works best and at which sizes it may run (multiples of 32).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputSizes {
    pub best: u32,
    pub min: u32,
    pub max: u32,
}

impl ModelManifest {
    /// The input size a request for `requested` (none: the model's default) runs at.
    pub fn size_for(&self, requested: Option<u32>) -> u32 {
        let size = requested.unwrap_or(match self.input_size {
            Some(sizes) => sizes.best,
            None => self.default_input_size,
        });
        match self.input_size {
            Some(sizes) if sizes.min <= sizes.max => size.clamp(sizes.min, sizes.max),
            _ => size,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RegisteredModel {
    pub manifest: ModelManifest,
    pub path: PathBuf,
    /// Shipped with Tinct (read-only) rather than imported by an operator.
    pub builtin: bool,
}

impl RegisteredModel {
    pub fn label(&self) -> &str {
        self.manifest
            .display_name
            .as_deref()
            .unwrap_or(&self.manifest.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub default_input_size: Option<u32>,
    pub display_name: Option<String>,
    pub licence: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Registry {
    builtin_dir: PathBuf,
    imported_dir: PathBuf,
    default_model: String,
}

impl Registry {
    pub fn new(
        builtin_dir: impl Into<PathBuf>,
        imported_dir: impl Into<PathBuf>,
        default_model: impl Into<String>,
    ) -> Self {
        Registry {
            builtin_dir: builtin_dir.into(),
            imported_dir: imported_dir.into(),
            default_model: default_model.into(),
        }
    }

    pub fn default_name(&self) -> &str {
        &self.default_model
    }

    /// Every model, shipped ones first, sorted by name within each group.
    pub fn list(&self) -> Result<Vec<RegisteredModel>> {
        let mut models = read_dir(&self.builtin_dir, true)?;
        models.extend(read_dir(&self.imported_dir, false)?);
        Ok(models)
    }

    pub fn get(&self, name: &str) -> Result<RegisteredModel> {
        self.list()?
            .into_iter()
            .find(|m| m.manifest.name == name)
            .ok_or_else(|| EngineError::UnknownModel(name.to_string()))
    }

    /// The input size a job asking for `requested` runs at on `model` (see
    /// [`ModelManifest::size_for`]); `requested` itself for a model that is not registered.
    pub fn size_for(&self, model: &str, requested: u32) -> u32 {
        self.get(model)
            .map_or(requested, |m| m.manifest.size_for(Some(requested)))
    }

    /// Maps a ComfyUI checkpoint name (`ddcolor_paper_tiny.pth`) to a registered model: the model of
    /// that name when one was imported, otherwise the default.
    pub fn resolve_checkpoint(&self, checkpoint: &str) -> String {
        let stem = checkpoint
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(checkpoint)
            .trim_end_matches(".pth")
            .trim_end_matches(".onnx")
            .trim_end_matches(".safetensors");
        match self.get(stem) {
            Ok(model) => model.manifest.name,
            Err(_) => self.default_model.clone(),
        }
    }

    /// Checks an ONNX file against the DDColor contract (by loading it), then copies it into the
    /// data directory with a manifest. The source file is left as it was.
    pub fn import(
        &self,
        runtime: &Runtime,
        file: &Path,
        name: &str,
        options: ImportOptions,
    ) -> Result<RegisteredModel> {
        validate_name(name)?;
        if self.list()?.iter().any(|m| m.manifest.name == name) {
            return Err(EngineError::DuplicateModel(name.to_string()));
        }
        let model = OnnxModel::load(runtime, file)?;
        let fixed = model.contract().fixed_size;
        drop(model);
        let default_input_size = options.default_input_size.or(fixed).unwrap_or(512);
        crate::pipeline::InputSize::new(default_input_size)?;
        if let Some(fixed) = fixed.filter(|&f| f != default_input_size) {
            return Err(EngineError::FixedInputSize {
                model: name.to_string(),
                fixed,
                requested: default_input_size,
            });
        }
        fs::create_dir_all(&self.imported_dir).map_err(|e| {
            EngineError::io(format!("cannot create {}", self.imported_dir.display()), e)
        })?;
        let file_name = format!("{name}.onnx");
        let target = self.imported_dir.join(&file_name);
        fs::copy(file, &target).map_err(|e| {
            EngineError::io(
                format!("cannot copy {} into the registry", file.display()),
                e,
            )
        })?;
        let manifest = ModelManifest {
            name: name.to_string(),
            display_name: options.display_name,
            file: file_name,
            sha256: sha256_file(&target)?,
            kind: "ddcolor-compatible".into(),
            default_input_size,
            licence: options
                .licence
                .unwrap_or_else(|| "as stated by the model's authors".into()),
            source: options
                .source
                .unwrap_or_else(|| format!("imported from {}", file.display())),
            training_data: None,
            evaluation: None,
            input_size: None,
            notice: None,
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Encode(e.to_string()))?;
        let manifest_path = self.imported_dir.join(format!("{name}.json"));
        fs::write(&manifest_path, json)
            .map_err(|e| EngineError::io(format!("cannot write {}", manifest_path.display()), e))?;
        Ok(RegisteredModel {
            manifest,
            path: target,
            builtin: false,
        })
    }
}

/// Names become file names: keep them to a safe alphabet.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidModelName(name.to_string()))
    }
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path)
        .map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn read_dir(dir: &Path, builtin: bool) -> Result<Vec<RegisteredModel>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(format!("cannot list {}", dir.display()), e)),
    };
    let mut models = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let text = fs::read_to_string(&path)
            .map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?;
        let manifest: ModelManifest = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "skipping a model manifest that does not parse");
                continue;
            }
        };
        if validate_name(&manifest.name).is_err() || manifest.file.contains(['/', '\\']) {
            tracing::warn!(file = %path.display(), "skipping a model manifest with an unsafe name or file");
            continue;
        }
        models.push(RegisteredModel {
            path: dir.join(&manifest.file),
            manifest,
            builtin,
        });
    }
    models.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(input_size: Option<InputSizes>) -> ModelManifest {
        ModelManifest {
            name: "m".into(),
            display_name: None,
            file: "m.onnx".into(),
            sha256: String::new(),
            kind: "ddcolor-compatible".into(),
            default_input_size: 512,
            licence: String::new(),
            source: String::new(),
            training_data: None,
            evaluation: None,
            notice: None,
            input_size,
        }
    }

    #[test]
    fn a_model_runs_within_the_sizes_its_manifest_allows() {
        let small = manifest(Some(InputSizes {
            best: 256,
            min: 128,
            max: 384,
        }));
        assert_eq!(small.size_for(None), 256, "no request: its best size");
        assert_eq!(small.size_for(Some(1024)), 384, "a building preset's 1024");
        assert_eq!(small.size_for(Some(64)), 128);
        assert_eq!(small.size_for(Some(320)), 320);
        // A DDColor model declares no range: every size (and its default) is its own.
        let ddcolor = manifest(None);
        assert_eq!(ddcolor.size_for(Some(1024)), 1024);
        assert_eq!(ddcolor.size_for(None), 512);
    }
}
