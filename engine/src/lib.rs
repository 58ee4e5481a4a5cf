//! Tinct's colorization engine.
//!
//! A black-and-white scan goes through [`decode`] (format by content, pixel limit, EXIF
//! orientation), [`pipeline::prepare`] (full-resolution L, S×S grey model input), a DDColor-shaped
//! ONNX model run by an [`pool::InferencePool`], [`pipeline::finish`] (a/b back to full size,
//! joined with the original L) and [`encode`]. [`Engine`] ties these to the [`registry`] of models.

pub mod catalogue;
pub mod color;
pub mod content_credentials;
pub mod correct;
pub mod decode;
pub mod encode;
mod engine;
pub mod error;
pub mod family;
pub mod label;
pub mod model;
pub mod pipeline;
pub mod pool;
pub mod presets;
pub mod preview;
pub mod provenance;
pub mod registry;
pub mod resize;
pub mod runtime;
mod tiff_xmp;

pub use engine::{ColorizeRequest, Colorized, Engine, EngineSettings, LoadedModel, Timings};
pub use error::{EngineError, Result};
pub use pipeline::InputSize;
