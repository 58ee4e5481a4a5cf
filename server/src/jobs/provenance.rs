//! The provenance every result carries (see `engine::provenance` and
//! `engine::content_credentials`), filled in the same way for the job workers and for
//! `tinct colorize`.

use engine::content_credentials::{ContentCredentials, CredentialsError};
use engine::provenance::{self, CorrectionRecord, Provenance};
use engine::{Colorized, EngineError};

#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error(transparent)]
    Metadata(#[from] EngineError),
    #[error(transparent)]
    Signing(#[from] CredentialsError),
}

/// Where a result came from.
pub struct ResultSource<'a> {
    /// The original file, as uploaded.
    pub original: &'a [u8],
    pub original_sha256: String,
    pub original_name: String,
    pub preset: String,
    /// Set on a version a person corrected.
    pub correction: Option<CorrectionRecord>,
    /// The version a correction was made from, as stored (named in its Content Credentials).
    pub earlier: Option<&'a [u8]>,
}

/// Writes the XMP packet into a fresh result: the model and settings that made it, a person's
/// correction, Tinct's version, the time, and the original it came from (with its own
/// descriptive fields). Then, when the operator configured a certificate, signs the result with
/// Content Credentials; the answer says who signed, in words for the detail view.
pub fn label_result(
    result: &mut Colorized,
    source: ResultSource<'_>,
    credentials: Option<&ContentCredentials>,
) -> Result<Option<String>, ProvenanceError> {
    let record = Provenance {
        model: result.model_name.clone(),
        model_sha256: result.model_sha256.clone(),
        input_size: result.input_size,
        preset: source.preset,
        software: format!("Tinct {}", env!("CARGO_PKG_VERSION")),
        created: now_utc(),
        original_sha256: source.original_sha256,
        original_name: source.original_name,
        carried: provenance::descriptive_fields(source.original),
        correction: source.correction,
    };
    result.bytes = provenance::embed_xmp(std::mem::take(&mut result.bytes), &record.xmp())?;
    let Some(credentials) = credentials else {
        return Ok(None);
    };
    result.bytes = credentials.sign_version(
        &result.bytes,
        result.format.mime(),
        source.original,
        &record,
        source.earlier,
    )?;
    Ok(Some(format!("signed by {}", credentials.identity())))
}

/// The current time as ISO 8601 UTC.
fn now_utc() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
