//! The provenance every result carries (see `engine::provenance`), filled in the same way for
//! the job workers and for `tinct colorize`.

use engine::provenance::{self, Provenance};
use engine::{Colorized, EngineError};

/// Writes the XMP packet into a fresh result: the model and settings that made it, Tinct's
/// version, the time, and the original it came from (with its own descriptive fields).
pub fn label_result(
    result: &mut Colorized,
    original: &[u8],
    original_sha256: String,
    original_name: String,
    preset: String,
) -> Result<(), EngineError> {
    let record = Provenance {
        model: result.model_name.clone(),
        model_sha256: result.model_sha256.clone(),
        input_size: result.input_size,
        preset,
        software: format!("Tinct {}", env!("CARGO_PKG_VERSION")),
        created: now_utc(),
        original_sha256,
        original_name,
        carried: provenance::descriptive_fields(original),
    };
    result.bytes = provenance::embed_xmp(std::mem::take(&mut result.bytes), &record.xmp())?;
    Ok(())
}

/// The current time as ISO 8601 UTC.
fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
