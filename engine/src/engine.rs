//! The engine as the server and the CLI use it: models loaded once, then one call per image.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::correct::{corrected_ab, Correction, ModelColours};
use crate::decode::{decode, DEFAULT_MAX_PIXELS};
use crate::encode::{encode, OutputFormat};
use crate::error::{EngineError, Result};
use crate::label::Label;
use crate::model::{Contract, Inference, OnnxModel};
use crate::pipeline::{finish, prepare, InputSize};
use crate::pool::InferencePool;
use crate::registry::{sha256_file, RegisteredModel, Registry};
use crate::runtime::{ExecutionInfo, Runtime};

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Sessions (and worker threads) per loaded model.
    pub workers: usize,
    /// Most images run together in one batch.
    pub max_batch: usize,
    pub max_pixels: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            workers: 1,
            max_batch: 4,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// A model with its sessions loaded and its workers running.
pub struct LoadedModel {
    pub model: RegisteredModel,
    pub execution: ExecutionInfo,
    pub contract: Contract,
    pool: InferencePool,
}

impl LoadedModel {
    /// Loads `workers` sessions of a registered model after checking its checksum.
    pub fn load(
        runtime: &Runtime,
        model: RegisteredModel,
        settings: &EngineSettings,
    ) -> Result<Self> {
        if sha256_file(&model.path)? != model.manifest.sha256 {
            return Err(EngineError::ChecksumMismatch {
                path: model.path.clone(),
            });
        }
        let mut sessions: Vec<Arc<dyn Inference>> = Vec::new();
        let mut execution = None;
        let mut contract = Contract::default();
        for _ in 0..settings.workers.max(1) {
            let session = OnnxModel::load(runtime, &model.path, Some(model.manifest.family))?;
            execution = Some(session.execution().clone());
            contract = session.contract();
            sessions.push(Arc::new(session));
        }
        let execution = execution.unwrap_or_else(|| runtime.planned_execution());
        tracing::info!(
            model = %model.manifest.name,
            provider = %execution.provider,
            device = %execution.device,
            workers = sessions.len(),
            "model loaded"
        );
        Ok(LoadedModel {
            pool: InferencePool::new(sessions, settings.max_batch),
            model,
            execution,
            contract,
        })
    }

    /// The input size to use: the request's, else the model's default, within the sizes the
    /// model's manifest allows; checked against the graph.
    pub fn input_size(&self, requested: Option<u32>) -> Result<InputSize> {
        let size = InputSize::new(self.model.manifest.size_for(requested))?;
        match self.contract.fixed_size {
            Some(fixed) if fixed != size.get() => {
                if requested.is_none() {
                    InputSize::new(fixed)
                } else {
                    Err(EngineError::FixedInputSize {
                        model: self.model.manifest.name.clone(),
                        fixed,
                        requested: size.get(),
                    })
                }
            }
            _ => Ok(size),
        }
    }

    /// Colorizes one encoded image file.
    pub fn colorize(
        &self,
        bytes: &[u8],
        size: Option<u32>,
        format: OutputFormat,
        max_pixels: u64,
    ) -> Result<Colorized> {
        let request = ColorizeRequest {
            size,
            format,
            ..ColorizeRequest::default()
        };
        self.run(bytes, &request, max_pixels)
    }

    /// Colorizes one encoded image file as `request` asks: with its visible label and a
    /// person's correction, from the model colours of an earlier run when they are given (a
    /// correction never runs the model again).
    pub fn run(
        &self,
        bytes: &[u8],
        request: &ColorizeRequest,
        max_pixels: u64,
    ) -> Result<Colorized> {
        let size = self.input_size(request.size)?;
        if let Some(correction) = &request.correction {
            correction.validate()?;
        }
        let mut timings = Timings::default();
        let source = timed(&mut timings.decode, || decode(bytes, max_pixels))?;
        let mut prepared = timed(&mut timings.preprocess, || prepare(&source, size))?;
        if request.format.always_sixteen_bits() {
            prepared.make_sixteen_bits();
        }
        let (width, height) = (source.width(), source.height());
        drop(source);
        let input = std::mem::take(&mut prepared.input);
        let colours = match &request.colours {
            Some(known) if known.size() == size.get() => known.clone(),
            _ => ModelColours::new(
                size.get(),
                timed(&mut timings.inference, || self.pool.infer(size, input))?,
            )?,
        };
        let mut image = timed(&mut timings.postprocess, || match &request.correction {
            Some(correction) => {
                let aspect = width as f32 / height.max(1) as f32;
                let ab = corrected_ab(&colours, prepared.model_lightness(), aspect, correction)?;
                finish(prepared, &ab)
            }
            None => finish(prepared, colours.ab()),
        })?;
        if let Some(label) = request.label {
            timed(&mut timings.postprocess, || {
                crate::label::draw(&mut image, label)
            })?;
        }
        let bytes = timed(&mut timings.encode, || encode(&image, request.format))?;
        Ok(Colorized {
            bytes,
            format: request.format,
            width,
            height,
            model_name: self.model.manifest.name.clone(),
            model_sha256: self.model.manifest.sha256.clone(),
            input_size: size.get(),
            execution: self.execution.clone(),
            timings,
            colours,
        })
    }
}

/// One colorized image and where it came from.
#[derive(Clone)]
pub struct Colorized {
    pub bytes: Vec<u8>,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub model_name: String,
    pub model_sha256: String,
    pub input_size: u32,
    pub execution: ExecutionInfo,
    pub timings: Timings,
    /// The model's a/b before post-processing, kept so corrections need no model run.
    pub colours: ModelColours,
}

impl std::fmt::Debug for Colorized {
    // The encoded bytes would drown everything else: show their length only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Colorized")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("format", &self.format)
            .field("size", &format_args!("{}×{}", self.width, self.height))
            .field("model", &self.model_name)
            .field("input_size", &self.input_size)
            .field("execution", &self.execution.provider)
            .finish()
    }
}

/// Where the time of one image went.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub decode: Duration,
    pub preprocess: Duration,
    pub inference: Duration,
    pub postprocess: Duration,
    pub encode: Duration,
}

impl Timings {
    pub fn total(&self) -> Duration {
        self.decode + self.preprocess + self.inference + self.postprocess + self.encode
    }
}

fn timed<T>(slot: &mut Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    *slot += start.elapsed();
    value
}

#[derive(Debug, Clone, Default)]
pub struct ColorizeRequest {
    /// A registered model name; `None` means the default.
    pub model: Option<String>,
    pub size: Option<u32>,
    pub format: OutputFormat,
    /// A visible label drawn on the result; none by default.
    pub label: Option<Label>,
    /// A person's correction (strength, hints) applied to the model's colours.
    pub correction: Option<Correction>,
    /// The model's colours from an earlier run of the same model and size on the same
    /// original: used instead of running the model.
    pub colours: Option<ModelColours>,
}

/// The registry plus the models loaded so far (each loaded once, on first use).
pub struct Engine {
    runtime: Arc<Runtime>,
    registry: Registry,
    settings: EngineSettings,
    loaded: Mutex<HashMap<String, Arc<LoadedModel>>>,
}

impl Engine {
    pub fn new(runtime: Arc<Runtime>, registry: Registry, settings: EngineSettings) -> Self {
        Engine {
            runtime,
            registry,
            settings,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The loaded model called `name` (`None`: the default), loading it on first use.
    pub fn model(&self, name: Option<&str>) -> Result<Arc<LoadedModel>> {
        let default;
        let name = match name {
            Some(name) => name,
            None => {
                default = self.registry.default_name();
                &default
            }
        };
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| EngineError::Inference("a model load crashed earlier".into()))?;
        if let Some(model) = loaded.get(name) {
            return Ok(model.clone());
        }
        let registered = self.registry.get(name)?;
        let model = Arc::new(LoadedModel::load(
            &self.runtime,
            registered,
            &self.settings,
        )?);
        loaded.insert(name.to_string(), model.clone());
        Ok(model)
    }

    /// Forgets a loaded model (after it was removed from the registry); jobs running on it
    /// finish with the sessions they hold.
    pub fn unload(&self, name: &str) {
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.remove(name);
        }
    }

    /// Models already loaded, for status pages.
    pub fn loaded_models(&self) -> Vec<Arc<LoadedModel>> {
        self.loaded
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn colorize(&self, bytes: &[u8], request: &ColorizeRequest) -> Result<Colorized> {
        self.model(request.model.as_deref())?
            .run(bytes, request, self.settings.max_pixels)
    }

    pub fn colorize_file(&self, path: &Path, request: &ColorizeRequest) -> Result<Colorized> {
        let bytes = std::fs::read(path)
            .map_err(|e| EngineError::io(format!("cannot read {}", path.display()), e))?;
        self.colorize(&bytes, request)
    }
}
