//! The model registry: the models that ship in the repository's `models/` folder and those an
//! operator imported into the data directory. Each model is an `.onnx` file plus a JSON manifest.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::family::Family;
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
    /// `ddcolor-compatible` for every model the engine runs: each is run behind DDColor's
    /// contract, whatever its family.
    pub kind: String,
    /// How the graph is fed and read (manifests from before families existed are DDColor).
    #[serde(default)]
    pub family: Family,
    /// float32, float16 or int8, as published; `None` when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
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
    /// Set on a quantized, half-precision or folded copy of another model (`tools/quantize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_of: Option<Variant>,
}

/// What a variant was made from, and how: enough to tell which weights it stands for and to
/// repeat the making.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Variant {
    /// The parent's registered name when the variant was imported.
    pub parent: String,
    pub parent_sha256: String,
    /// E.g. "int8 static QDQ, per-channel weights, MinMax (onnxruntime 1.31.1)".
    pub method: String,
    /// The photos int8 ranges were calibrated on ("none" for float16).
    pub calibration: String,
}

/// How a variant to be imported was made; its parent must be registered.
#[derive(Debug, Clone, Default)]
pub struct VariantOf {
    pub parent: String,
    pub method: String,
    pub calibration: String,
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
    /// The family the graph belongs to; `None` detects it from the graph's tensors.
    pub family: Option<Family>,
    /// The sizes the model works at (from a catalogue entry).
    pub input_size: Option<InputSizes>,
    pub precision: Option<String>,
    pub notice: Option<String>,
    /// Registers the file as a variant of a registered model, whose family, sizes, licence and
    /// training data it keeps unless given here.
    pub variant_of: Option<VariantOf>,
}

/// The model used when nobody chose one.
pub const FALLBACK_DEFAULT: &str = "tinct-mini";
/// The file in the data directory's models folder that keeps the administrator's choice.
const DEFAULT_FILE: &str = "default-model";

#[derive(Debug, Clone)]
pub struct Registry {
    builtin_dir: PathBuf,
    imported_dir: PathBuf,
    /// Set by the operator's configuration (flag or environment): then it cannot be changed
    /// from the Admin page.
    configured_default: Option<String>,
    /// The administrator's choice, read from [`DEFAULT_FILE`] once and kept.
    chosen_default: Arc<RwLock<Option<Option<String>>>>,
}

impl Registry {
    /// `default_model` is the operator's configured default; `None` lets the administrator
    /// choose one (kept in the data directory), else [`FALLBACK_DEFAULT`].
    pub fn new(
        builtin_dir: impl Into<PathBuf>,
        imported_dir: impl Into<PathBuf>,
        default_model: Option<String>,
    ) -> Self {
        Registry {
            builtin_dir: builtin_dir.into(),
            imported_dir: imported_dir.into(),
            configured_default: default_model,
            chosen_default: Arc::new(RwLock::new(None)),
        }
    }

    /// Where imported and downloaded models live.
    pub fn imported_dir(&self) -> &Path {
        &self.imported_dir
    }

    pub fn builtin_dir(&self) -> &Path {
        &self.builtin_dir
    }

    /// The default model's name: the configured one, else the administrator's choice, else
    /// [`FALLBACK_DEFAULT`].
    pub fn default_name(&self) -> String {
        if let Some(name) = &self.configured_default {
            return name.clone();
        }
        if let Ok(cached) = self.chosen_default.read() {
            if let Some(chosen) = cached.as_ref() {
                return chosen.clone().unwrap_or_else(|| FALLBACK_DEFAULT.into());
            }
        }
        let chosen = fs::read_to_string(self.imported_dir.join(DEFAULT_FILE))
            .ok()
            .map(|text| text.trim().to_string())
            .filter(|name| validate_name(name).is_ok());
        if let Ok(mut cache) = self.chosen_default.write() {
            *cache = Some(chosen.clone());
        }
        chosen.unwrap_or_else(|| FALLBACK_DEFAULT.into())
    }

    /// True when the operator's configuration fixes the default (the Admin page cannot change it).
    pub fn default_is_configured(&self) -> bool {
        self.configured_default.is_some()
    }

    /// Makes `name` (a registered model) the default, kept across restarts.
    pub fn set_default(&self, name: &str) -> Result<()> {
        if self.configured_default.is_some() {
            return Err(EngineError::DefaultFixed(self.default_name()));
        }
        self.get(name)?;
        fs::create_dir_all(&self.imported_dir).map_err(|e| {
            EngineError::io(format!("cannot create {}", self.imported_dir.display()), e)
        })?;
        let path = self.imported_dir.join(DEFAULT_FILE);
        fs::write(&path, name)
            .map_err(|e| EngineError::io(format!("cannot write {}", path.display()), e))?;
        if let Ok(mut cache) = self.chosen_default.write() {
            *cache = Some(Some(name.to_string()));
        }
        Ok(())
    }

    /// Removes an imported or downloaded model (its file and manifest). Shipped models and the
    /// default model stay.
    pub fn remove(&self, name: &str) -> Result<RegisteredModel> {
        let model = self.get(name)?;
        if model.builtin {
            return Err(EngineError::ModelInUse(format!(
                "'{name}' ships with Tinct and cannot be removed"
            )));
        }
        if self.default_name() == name {
            return Err(EngineError::ModelInUse(format!(
                "'{name}' is the default model; choose another default first"
            )));
        }
        let manifest = self.imported_dir.join(format!("{name}.json"));
        fs::remove_file(&manifest)
            .map_err(|e| EngineError::io(format!("cannot remove {}", manifest.display()), e))?;
        match fs::remove_file(&model.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(EngineError::io(
                    format!("cannot remove {}", model.path.display()),
                    e,
                ))
            }
        }
        Ok(model)
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
            Err(_) => self.default_name(),
        }
    }

    /// Checks an ONNX file against its family's contract (by loading it), then copies it into
    /// the data directory with a manifest. The source file is left as it was.
    pub fn import(
        &self,
        runtime: &Runtime,
        file: &Path,
        name: &str,
        options: ImportOptions,
    ) -> Result<RegisteredModel> {
        self.register(runtime, file, name, options, Transfer::Copy)
    }

    /// Registers a downloaded file whose checksum was verified: like [`Registry::import`], but
    /// the file is moved (it is in the data directory already) and removed if it is refused.
    pub fn install_download(
        &self,
        runtime: &Runtime,
        file: &Path,
        name: &str,
        options: ImportOptions,
    ) -> Result<RegisteredModel> {
        let result = self.register(runtime, file, name, options, Transfer::Move);
        if result.is_err() {
            let _ = fs::remove_file(file);
        }
        result
    }

    fn register(
        &self,
        runtime: &Runtime,
        file: &Path,
        name: &str,
        options: ImportOptions,
        transfer: Transfer,
    ) -> Result<RegisteredModel> {
        validate_name(name)?;
        if self.list()?.iter().any(|m| m.manifest.name == name) {
            return Err(EngineError::DuplicateModel(name.to_string()));
        }
        let (options, variant, training_data) = match options.variant_of.clone() {
            Some(of) => self.inherit_from_parent(options, of)?,
            None => (options, None, None),
        };
        let model = OnnxModel::load(runtime, file, options.family)?;
        let fixed = model.contract().fixed_size;
        let family = model.family();
        drop(model);
        let default_input_size = options
            .default_input_size
            .or(options.input_size.map(|s| s.best))
            .or(fixed)
            .unwrap_or(match family {
                Family::Zhang => 256,
                _ => 512,
            });
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
        let moved = match transfer {
            Transfer::Copy => fs::copy(file, &target).map(|_| ()),
            Transfer::Move => fs::rename(file, &target),
        };
        moved.map_err(|e| {
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
            family,
            precision: options.precision,
            default_input_size,
            licence: options
                .licence
                .unwrap_or_else(|| "as stated by the model's authors".into()),
            source: options
                .source
                .unwrap_or_else(|| format!("imported from {}", file.display())),
            training_data,
            evaluation: None,
            // A graph exported for one size runs at that size, whatever a catalogue says.
            input_size: fixed
                .map(|f| InputSizes {
                    best: f,
                    min: f,
                    max: f,
                })
                .or(options.input_size),
            notice: options.notice,
            variant_of: variant,
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Encode(e.to_string()))?;
        // The manifest is what registers the model: written last, through a temporary file, so
        // a crash leaves no manifest pointing at a half-copied file.
        let manifest_path = self.imported_dir.join(format!("{name}.json"));
        let temporary = self.imported_dir.join(format!(".{name}.json.tmp"));
        fs::write(&temporary, json)
            .and_then(|()| fs::rename(&temporary, &manifest_path))
            .map_err(|e| EngineError::io(format!("cannot write {}", manifest_path.display()), e))?;
        Ok(RegisteredModel {
            manifest,
            path: target,
            builtin: false,
        })
    }
}

impl Registry {
    /// A variant keeps what it does not say from its parent: family, input sizes, licence (the
    /// weights are the parent's, changed in precision or folded), training data and the
    /// parent's caveat (a variant of a demo-quality model is one too); its precision is read
    /// from the method.
    fn inherit_from_parent(
        &self,
        mut options: ImportOptions,
        of: VariantOf,
    ) -> Result<(ImportOptions, Option<Variant>, Option<String>)> {
        let parent = self
            .get(&of.parent)
            .map_err(|_| EngineError::UnknownParentModel(of.parent.clone()))?
            .manifest;
        options.family = options.family.or(Some(parent.family));
        options.input_size = options.input_size.or(parent.input_size);
        options.default_input_size = options
            .default_input_size
            .or(Some(parent.default_input_size));
        options.notice = options.notice.or(parent.notice);
        options.licence = options
            .licence
            .or_else(|| Some(format!("as its parent {}: {}", parent.name, parent.licence)));
        let method = of.method.trim().to_string();
        // `tools/quantize` names the precision in its method ("int8 static QDQ…", "colour head
        // folded, then int8…", "float32, colour head folded…").
        options.precision = options.precision.or_else(|| {
            ["int8", "float16", "float32"]
                .into_iter()
                .find(|p| method.contains(p))
                .map(str::to_string)
        });
        let folded = method.contains("folded");
        options.display_name = options.display_name.or_else(|| {
            let label = parent.display_name.as_deref().unwrap_or(&parent.name);
            options.precision.as_deref().map(|p| match folded {
                true => format!("{label}, {p}, folded"),
                false => format!("{label}, {p}"),
            })
        });
        options.source = options.source.or_else(|| {
            Some(format!(
                "made from {} (sha256 {}) by tools/quantize: {method}",
                parent.name, parent.sha256
            ))
        });
        let variant = Variant {
            parent: parent.name,
            parent_sha256: parent.sha256,
            method,
            calibration: of.calibration.trim().to_string(),
        };
        Ok((options, Some(variant), parent.training_data))
    }
}

#[derive(Debug, Clone, Copy)]
enum Transfer {
    Copy,
    Move,
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
            family: Family::Ddcolor,
            precision: None,
            default_input_size: 512,
            licence: String::new(),
            source: String::new(),
            training_data: None,
            evaluation: None,
            notice: None,
            variant_of: None,
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
