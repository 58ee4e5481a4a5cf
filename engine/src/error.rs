//! Everything that can go wrong inside the engine, in words a person can act on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the file is not an image Tinct can read (supported: JPEG, PNG, TIFF, WebP, BMP)")]
    UnsupportedFormat,
    #[error("the image could not be decoded; it may be corrupt or truncated ({0})")]
    Corrupt(String),
    #[error("the image is {width}×{height} pixels, more than the limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the image has no pixels")]
    Empty,
    #[error("input size {0} is not allowed: it must be a multiple of 32 between 32 and 2048")]
    InvalidInputSize(u32),
    #[error("model '{model}' only accepts input size {fixed}, not {requested}")]
    FixedInputSize {
        model: String,
        fixed: u32,
        requested: u32,
    },
    #[error("the ONNX Runtime library could not be loaded from {path}: {reason}")]
    RuntimeLibrary { path: PathBuf, reason: String },
    #[error("the CUDA execution provider could not be used: {0}")]
    CudaUnavailable(String),
    #[error("'{path}' is not a usable colorization model: {reason}")]
    InvalidModel { path: PathBuf, reason: String },
    #[error("no model named '{0}' is registered (see `tinct models list`)")]
    UnknownModel(String),
    #[error("a model named '{0}' is already registered")]
    DuplicateModel(String),
    #[error("a variant's parent must be registered first: no model named '{0}' (see `tinct models list`)")]
    UnknownParentModel(String),
    #[error("model name '{0}' is not allowed: use 1–64 letters, digits, '-' or '_'")]
    InvalidModelName(String),
    #[error("the default model is set by the server's configuration (--default-model {0}); change it there")]
    DefaultFixed(String),
    #[error("{0}")]
    ModelInUse(String),
    #[error("the model catalogue {path} is not valid: {reason}")]
    InvalidCatalogue { path: PathBuf, reason: String },
    #[error("the model file {path} does not match its manifest checksum")]
    ChecksumMismatch { path: PathBuf },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the inference pool has shut down")]
    PoolClosed,
    #[error("the result could not be encoded: {0}")]
    Encode(String),
    #[error("preset '{0}' does not exist")]
    UnknownPreset(String),
    #[error("workflow {path} is not usable as a preset: {reason}")]
    InvalidWorkflow { path: PathBuf, reason: String },
    #[error("{0}")]
    InvalidCorrection(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the input (not the server or the model) is at fault: a client error.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            EngineError::UnsupportedFormat
                | EngineError::Corrupt(_)
                | EngineError::TooManyPixels { .. }
                | EngineError::Empty
                | EngineError::InvalidCorrection(_)
                | EngineError::InvalidInputSize(_)
                | EngineError::FixedInputSize { .. }
                | EngineError::UnknownModel(_)
                | EngineError::UnknownPreset(_)
        )
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
