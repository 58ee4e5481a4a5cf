//! Content Credentials (C2PA): a signed manifest inside the result that records the original
//! as the parent ingredient and the colorization as an action, with IPTC's digital source type
//! and Tinct as the software agent. Signing is offline: no timestamp authority, no remote
//! manifests, no OCSP. The XMP packet (see `provenance`) is written first; signing comes last,
//! because the signature covers every byte of the file.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use c2pa::{create_signer, BoxedSigner, Builder, Context, Reader, Settings, SigningAlg};
use serde_json::json;

use crate::provenance::{Provenance, DIGITAL_SOURCE_TYPE};

/// The C2PA action for a change of colour (C2PA 2.x standard actions).
const COLORIZE_ACTION: &str = "c2pa.color_adjustments";
/// The ingredient label the actions refer to.
const ORIGINAL_LABEL: &str = "original";
/// The label of the version a correction was made from.
const EARLIER_LABEL: &str = "corrected-version";

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read the {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "unknown signing algorithm {0:?}: use es256, es384, es512, ps256, ps384, ps512 or ed25519"
    )]
    Algorithm(String),
    #[error("the signing certificate and key cannot sign Content Credentials: {0}")]
    Unusable(String),
    #[error("the Content Credentials could not be signed: {0}")]
    Sign(String),
}

/// Who signs: read from the certificate when the credentials are loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerIdentity {
    /// The certificate's common name.
    pub common_name: String,
    /// The certificate's organisation, as C2PA reports the issuer of the claim.
    pub organisation: String,
    pub algorithm: String,
}

impl std::fmt::Display for SignerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}), {}",
            self.common_name, self.organisation, self.algorithm
        )
    }
}

/// A loaded signing certificate chain and key.
pub struct ContentCredentials {
    signer: BoxedSigner,
    context: Arc<Context>,
    identity: SignerIdentity,
}

impl std::fmt::Debug for ContentCredentials {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentCredentials")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// Offline reading and signing: nothing is fetched from the network.
fn offline_context() -> Result<Arc<Context>, String> {
    let settings = json!({
        "verify": { "remote_manifest_fetch": false, "ocsp_fetch": false },
    });
    let settings = Settings::new()
        .with_json(&settings.to_string())
        .map_err(|e| e.to_string())?;
    Ok(Context::new()
        .with_settings(settings)
        .map_err(|e| e.to_string())?
        .into_shared())
}

impl ContentCredentials {
    /// Loads a PEM certificate chain (signing certificate first, then its issuers) and a PEM
    /// private key, and proves them by signing and validating a small image, so that a
    /// certificate C2PA refuses (self-signed, a CA, missing key usages) is reported at start-up
    /// rather than at the first job.
    pub fn from_pem(
        cert_chain: &[u8],
        private_key: &[u8],
        algorithm: &str,
    ) -> Result<Self, CredentialsError> {
        let alg: SigningAlg = algorithm
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| CredentialsError::Algorithm(algorithm.to_string()))?;
        let signer = create_signer::from_keys(cert_chain, private_key, alg, None)
            .map_err(|e| CredentialsError::Unusable(e.to_string()))?;
        let context = offline_context().map_err(CredentialsError::Unusable)?;
        let mut credentials = ContentCredentials {
            signer,
            context,
            identity: SignerIdentity {
                common_name: String::new(),
                organisation: String::new(),
                algorithm: alg.to_string().to_uppercase(),
            },
        };
        credentials.identity = credentials.prove()?;
        Ok(credentials)
    }

    /// [`ContentCredentials::from_pem`] from files.
    pub fn from_files(
        cert_chain: &Path,
        private_key: &Path,
        algorithm: &str,
    ) -> Result<Self, CredentialsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| CredentialsError::Read {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        Self::from_pem(
            &read("certificate chain", cert_chain)?,
            &read("private key", private_key)?,
            algorithm,
        )
    }

    pub fn identity(&self) -> &SignerIdentity {
        &self.identity
    }

    /// Signs a 1×1 PNG and reads it back; the certificate's names come from that manifest.
    fn prove(&self) -> Result<SignerIdentity, CredentialsError> {
        let mut probe = Cursor::new(Vec::new());
        image::RgbImage::new(1, 1)
            .write_to(&mut probe, image::ImageFormat::Png)
            .map_err(|e| CredentialsError::Unusable(e.to_string()))?;
        let record = Provenance {
            model: "probe".into(),
            model_sha256: String::new(),
            input_size: 32,
            preset: "probe".into(),
            software: "Tinct".into(),
            created: String::new(),
            original_sha256: String::new(),
            original_name: "probe.png".into(),
            carried: Default::default(),
            correction: None,
        };
        let probe = probe.into_inner();
        let signed = self
            .sign(&probe, "image/png", &probe, &record)
            .map_err(|e| match e {
                CredentialsError::Sign(reason) => CredentialsError::Unusable(reason),
                other => other,
            })?;
        let check = verify_with(&self.context, &signed, "image/png");
        match check {
            Some(check) if check.is_valid() => Ok(SignerIdentity {
                common_name: check.signer.unwrap_or_default(),
                organisation: check.issuer.unwrap_or_default(),
                algorithm: self.identity.algorithm.clone(),
            }),
            Some(check)
                if check
                    .failures
                    .iter()
                    .any(|c| c == "claimSignature.mismatch") =>
            {
                Err(CredentialsError::Unusable(
                    "the private key does not belong to the certificate".into(),
                ))
            }
            Some(check) => Err(CredentialsError::Unusable(format!(
                "a test signature does not validate ({})",
                check.failures.join(", ")
            ))),
            None => Err(CredentialsError::Unusable(
                "the signed probe carries no manifest".into(),
            )),
        }
    }

    /// Returns `result` (PNG or JPEG bytes, `result_mime`) with a signed manifest embedded.
    pub fn sign(
        &self,
        result: &[u8],
        result_mime: &str,
        original: &[u8],
        record: &Provenance,
    ) -> Result<Vec<u8>, CredentialsError> {
        self.sign_version(result, result_mime, original, record, None)
    }

    /// Signs a version; a corrected one also names the version it corrects (`earlier`, as
    /// stored, with its own manifest) as an ingredient, so the chain runs original → model's
    /// version → person's correction, and records the correction as an action with its
    /// parameters and the person as the actor.
    pub fn sign_version(
        &self,
        result: &[u8],
        result_mime: &str,
        original: &[u8],
        record: &Provenance,
        earlier: Option<&[u8]>,
    ) -> Result<Vec<u8>, CredentialsError> {
        let sign_error = |e: c2pa::Error| CredentialsError::Sign(e.to_string());
        let (name, version) = record
            .software
            .split_once(' ')
            .unwrap_or((record.software.as_str(), ""));
        let definition = json!({
            "title": format!("{} (AI-assisted colorization)", record.original_name),
            "format": result_mime,
            "claim_generator_info": [{ "name": name, "version": version }],
        });
        let mut builder = Builder::from_shared_context(&self.context)
            .with_definition(definition.to_string())
            .map_err(sign_error)?;
        let ingredient = json!({
            "title": record.original_name,
            "relationship": "parentOf",
            "label": ORIGINAL_LABEL,
        })
        .to_string();
        let original_mime = crate::decode::sniff_format(original)
            .map(|f| f.to_mime_type())
            .unwrap_or("application/octet-stream");
        // C2PA hashes the original when it can read its format; for the others (BMP, …) the
        // ingredient still names it, and the XMP packet carries its sha256.
        if builder
            .add_ingredient_from_stream(
                ingredient.clone(),
                original_mime,
                &mut Cursor::new(original),
            )
            .is_err()
        {
            let described = json!({
                "title": record.original_name,
                "format": original_mime,
                "relationship": "parentOf",
                "label": ORIGINAL_LABEL,
            });
            builder.add_ingredient(
                c2pa::Ingredient::from_json(&described.to_string()).map_err(sign_error)?,
            );
        }
        builder
            .add_action(json!({
                "action": "c2pa.opened",
                "parameters": { "ingredientIds": [ORIGINAL_LABEL] },
            }))
            .map_err(sign_error)?;
        builder
            .add_action(json!({
                "action": COLORIZE_ACTION,
                "description": "AI-assisted colorization",
                "digitalSourceType": DIGITAL_SOURCE_TYPE,
                "softwareAgent": { "name": name, "version": version },
                "parameters": {
                    "model": record.model,
                    "modelSha256": record.model_sha256,
                    "inputSize": record.input_size,
                    "preset": record.preset,
                    "originalSha256": record.original_sha256,
                },
            }))
            .map_err(sign_error)?;
        if let Some(correction) = &record.correction {
            if let Some(earlier) = earlier {
                let earlier_mime = crate::decode::sniff_format(earlier)
                    .map(|f| f.to_mime_type())
                    .unwrap_or("application/octet-stream");
                let ingredient = json!({
                    "title": format!("{} (the version corrected)", record.original_name),
                    "relationship": "componentOf",
                    "label": EARLIER_LABEL,
                });
                builder
                    .add_ingredient_from_stream(
                        ingredient.to_string(),
                        earlier_mime,
                        &mut Cursor::new(earlier),
                    )
                    .map_err(sign_error)?;
            }
            let parameters: serde_json::Value =
                serde_json::from_str(&correction.json).unwrap_or_default();
            builder
                .add_action(json!({
                    "action": COLORIZE_ACTION,
                    "description": record.label(),
                    "softwareAgent": { "name": name, "version": version },
                    "actors": [{ "identifier": correction.corrected_by }],
                    "parameters": {
                        "ingredientIds": [EARLIER_LABEL],
                        "corrects": correction.corrects,
                        "correctedBy": correction.corrected_by,
                        "summary": correction.summary,
                        "correction": parameters,
                    },
                }))
                .map_err(sign_error)?;
        }
        let mut signed = Cursor::new(Vec::with_capacity(result.len() + 32 * 1024));
        builder
            .sign(
                self.signer.as_ref(),
                result_mime,
                &mut Cursor::new(result),
                &mut signed,
            )
            .map_err(sign_error)?;
        Ok(signed.into_inner())
    }
}

/// What a C2PA reader finds in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// `Valid` (intact, signed by a well-formed certificate), `Trusted` (and the certificate is
    /// on a trust list) or `Invalid`.
    pub state: String,
    /// The signing certificate's common name.
    pub signer: Option<String>,
    pub issuer: Option<String>,
    /// Validation codes other than an untrusted (but well-formed) signing certificate.
    pub failures: Vec<String>,
    /// The active manifest's actions, by name.
    pub actions: Vec<String>,
    /// Titles of the parent ingredients.
    pub parents: Vec<String>,
    /// Titles of the other ingredients (a corrected version names the version it corrects).
    pub components: Vec<String>,
    /// The people named as actors of the actions (who corrected a version).
    pub actors: Vec<String>,
}

impl Verification {
    pub fn is_valid(&self) -> bool {
        self.state != "Invalid" && self.failures.is_empty()
    }
}

/// Reads and validates the Content Credentials in `bytes`; `None` when there are none.
pub fn verify(bytes: &[u8], mime: &str) -> Option<Verification> {
    let context = offline_context().ok()?;
    verify_with(&context, bytes, mime)
}

fn verify_with(context: &Arc<Context>, bytes: &[u8], mime: &str) -> Option<Verification> {
    let reader = Reader::from_shared_context(context)
        .with_stream(mime, Cursor::new(bytes))
        .ok()?;
    let manifest = reader.active_manifest()?;
    let failures = reader
        .validation_status()
        .unwrap_or_default()
        .iter()
        .map(|status| status.code().to_string())
        // No trust list is configured offline: a well-formed certificate is all we can check.
        .filter(|code| code != "signingCredential.untrusted")
        .collect();
    let recorded = manifest
        .find_assertion::<c2pa::assertions::Actions>(c2pa::assertions::Actions::LABEL)
        .map(|actions| actions.actions().to_vec())
        .unwrap_or_default();
    let actions = recorded.iter().map(|a| a.action().to_string()).collect();
    let actors = recorded
        .iter()
        .flat_map(|a| a.actors().unwrap_or_default())
        .filter_map(|actor| actor.identifier.clone())
        .collect();
    let titles = |parent: bool| {
        manifest
            .ingredients()
            .iter()
            .filter(|i| (*i.relationship() == c2pa::Relationship::ParentOf) == parent)
            .map(|i| i.title().unwrap_or_default().to_string())
            .collect()
    };
    let (parents, components) = (titles(true), titles(false));
    let signature = manifest.signature_info();
    Some(Verification {
        state: format!("{:?}", reader.validation_state()),
        signer: signature.and_then(|s| s.common_name.clone()),
        issuer: signature.and_then(|s| s.issuer.clone()),
        failures,
        actions,
        parents,
        components,
        actors,
    })
}
