//! The provenance every result carries (see `engine::provenance` and
//! `engine::content_credentials`), filled in the same way for the job workers and for
//! `tinct colorize`.

use engine::content_credentials::{ContentCredentials, CredentialsError};
use engine::provenance::{self, Provenance};
use engine::{Colorized, EngineError};

#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error(transparent)]
    Metadata(#[from] EngineError),
    #[error(transparent)]
    Signing(#[from] CredentialsError),
}

/// Writes the XMP packet into a fresh result: the model and settings that made it, Tinct's
/// version, the time, and the original it came from (with its own descriptive fields). Then,
/// when the operator configured a certificate, signs the result with Content Credentials; the
/// answer says who signed, in words for the detail view.
pub fn label_result(
    result: &mut Colorized,
    original: &[u8],
    original_sha256: String,
    original_name: String,
    preset: String,
    credentials: Option<&ContentCredentials>,
) -> Result<Option<String>, ProvenanceError> {
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
    let Some(credentials) = credentials else {
        return Ok(None);
    };
    result.bytes = credentials.sign(&result.bytes, result.format.mime(), original, &record)?;
    Ok(Some(format!("signed by {}", credentials.identity())))
}

/// The current time as ISO 8601 UTC.
fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
