//! Downloading a catalogue model: from its publisher's URLs or a mirror (a folder or an internal
//! HTTP server), resuming a cut connection with HTTP Range, and verifying size and SHA-256
//! before anything is registered.
//!
//! The file grows in `DATA_DIR/models/.downloads/NAME.part`, which the registry never reads. A
//! wrong size or checksum, a 404, an HTML page or a cancel removes it; only a connection that
//! keeps failing leaves it there, so that the next pull of the same file resumes it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use engine::catalogue::{is_sha256, CatalogueEntry};
use engine::registry::{ImportOptions, RegisteredModel, Registry};
use engine::runtime::Runtime;
use tokio::io::AsyncWriteExt;

/// Consecutive failed attempts (without a byte of progress) before a download gives up.
const ATTEMPTS: u32 = 5;
const STAGING: &str = ".downloads";

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("'{0}' is not in the model catalogue (see `tinct models catalogue`)")]
    UnknownEntry(String),
    #[error("a model named '{0}' is installed already")]
    AlreadyInstalled(String),
    #[error(
        "'{0}' has no published SHA-256: give the checksum you trust with --sha256 HEX (from the publisher or your own mirror)"
    )]
    NoChecksum(String),
    #[error("the SHA-256 you gave is not 64 hexadecimal digits")]
    BadChecksum,
    #[error("the SHA-256 you gave ({given}) differs from the catalogue's ({catalogue}); nothing was downloaded")]
    ChecksumConflict { given: String, catalogue: String },
    #[error("{url} answered 404 Not Found")]
    NotFound { url: String },
    #[error("{url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("{url} sent a web page (HTML) instead of the model file; the link may need a sign-in or has moved")]
    HtmlPage { url: String },
    #[error("the mirror folder has neither {0} nor {1}")]
    NotInMirror(PathBuf, PathBuf),
    #[error("the download is {got} bytes, the catalogue says {expected}: it is truncated or a different file; it was deleted")]
    SizeMismatch { expected: u64, got: u64 },
    #[error("the download's SHA-256 is {got}, expected {expected}: it is not the published file; it was deleted")]
    ChecksumMismatch { expected: String, got: String },
    #[error("the download from {url} kept failing ({reason}); {kept} bytes are kept and the next pull resumes from there")]
    Interrupted {
        url: String,
        reason: String,
        kept: u64,
    },
    #[error("the download was cancelled")]
    Cancelled,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the downloaded file was verified but could not be registered: {0}")]
    Register(#[from] engine::EngineError),
}

impl PullError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PullError::Io {
            context: context.into(),
            source,
        }
    }

    /// Worth trying the next URL: this source failed, the next may not.
    fn try_next_source(&self) -> bool {
        matches!(
            self,
            PullError::NotFound { .. }
                | PullError::Http { .. }
                | PullError::HtmlPage { .. }
                | PullError::Interrupted { .. }
        )
    }
}

/// Where to fetch from instead of the catalogue's URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// A folder holding the files under their published names.
    Folder(PathBuf),
    /// An HTTP server serving them as `BASE/FILE_NAME`.
    Http(String),
}

impl Mirror {
    pub fn parse(text: &str) -> Mirror {
        if text.starts_with("http://") || text.starts_with("https://") {
            Mirror::Http(text.trim_end_matches('/').to_string())
        } else {
            Mirror::Folder(PathBuf::from(text))
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub mirror: Option<Mirror>,
    /// The administrator's checksum, required for entries without a published one.
    pub sha256: Option<String>,
}

/// Bytes so far and the total when known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
}

/// The checksum a pull must match: the catalogue's, or the administrator's when there is none.
pub fn expected_sha256(entry: &CatalogueEntry, given: Option<&str>) -> Result<String, PullError> {
    let given = given.map(|g| g.trim().to_ascii_lowercase());
    if given.as_deref().is_some_and(|g| !is_sha256(g)) {
        return Err(PullError::BadChecksum);
    }
    match (entry.sha256.as_deref().map(str::to_ascii_lowercase), given) {
        (Some(catalogue), Some(given)) if catalogue != given => {
            Err(PullError::ChecksumConflict { given, catalogue })
        }
        (Some(sha), _) | (None, Some(sha)) => Ok(sha),
        (None, None) => Err(PullError::NoChecksum(entry.name.clone())),
    }
}

/// Downloads `entry`, verifies it and registers it under its catalogue name.
pub async fn pull(
    registry: &Registry,
    runtime: &std::sync::Arc<Runtime>,
    entry: &CatalogueEntry,
    options: &PullOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<RegisteredModel, PullError> {
    if registry.get(&entry.name).is_ok() {
        return Err(PullError::AlreadyInstalled(entry.name.clone()));
    }
    let sha256 = expected_sha256(entry, options.sha256.as_deref())?;
    let staging = registry.imported_dir().join(STAGING);
    tokio::fs::create_dir_all(&staging)
        .await
        .map_err(|e| PullError::io(format!("cannot create {}", staging.display()), e))?;
    let part = staging.join(format!("{}.part", entry.name));
    forget_other_partial(&part, &sha256).await?;

    let fetched = match &options.mirror {
        Some(Mirror::Folder(dir)) => copy_from_folder(dir, entry, &part, progress, cancel).await,
        Some(Mirror::Http(base)) => {
            let url = format!("{base}/{}", entry.file_name());
            download(&url, &part, entry.size, progress, cancel).await
        }
        None => {
            let mut outcome = Err(PullError::UnknownEntry(entry.name.clone()));
            for url in &entry.urls {
                outcome = download(url, &part, entry.size, progress, cancel).await;
                match &outcome {
                    Err(e) if e.try_next_source() => {
                        tracing::warn!(%url, error = %e, "download failed; trying the next URL")
                    }
                    _ => break,
                }
            }
            outcome
        }
    };
    if let Err(error) = fetched {
        // Only a connection that kept failing leaves the part for a later resume.
        if !matches!(error, PullError::Interrupted { .. }) {
            discard(&part).await;
        }
        return Err(error);
    }
    if let Err(error) = verify(&part, entry.size, &sha256).await {
        discard(&part).await;
        return Err(error);
    }
    let _ = tokio::fs::remove_file(marker(&part)).await;
    let registry = registry.clone();
    let runtime = runtime.clone();
    let name = entry.name.clone();
    let options = ImportOptions {
        family: Some(entry.family),
        display_name: Some(entry.display_name.clone()),
        licence: Some(entry.licence.clone()),
        source: Some(format!(
            "{}; downloaded from {}; SHA-256 {} ({})",
            entry.source,
            entry.urls.join(" "),
            sha256,
            entry.checksum_source
        )),
        input_size: Some(entry.input_size),
        precision: Some(entry.precision.clone()),
        notice: None,
        default_input_size: None,
        variant_of: None,
    };
    let part_for_install = part.clone();
    tokio::task::spawn_blocking(move || {
        registry.install_download(&runtime, &part_for_install, &name, options)
    })
    .await
    .map_err(|e| PullError::io("the install task failed", std::io::Error::other(e)))?
    .map_err(PullError::Register)
}

/// The file beside a part that names the checksum it is being downloaded for.
fn marker(part: &Path) -> PathBuf {
    part.with_extension("part.sha256")
}

/// A part left by a pull of a different file (another checksum) is not resumed.
async fn forget_other_partial(part: &Path, sha256: &str) -> Result<(), PullError> {
    let marker = marker(part);
    let same = tokio::fs::read_to_string(&marker)
        .await
        .is_ok_and(|m| m.trim() == sha256);
    if !same {
        discard(part).await;
        tokio::fs::write(&marker, sha256)
            .await
            .map_err(|e| PullError::io(format!("cannot write {}", marker.display()), e))?;
    }
    Ok(())
}

async fn discard(part: &Path) {
    let _ = tokio::fs::remove_file(part).await;
    let _ = tokio::fs::remove_file(marker(part)).await;
}

async fn verify(part: &Path, size: Option<u64>, sha256: &str) -> Result<(), PullError> {
    let got = tokio::fs::metadata(part)
        .await
        .map_err(|e| PullError::io(format!("cannot read {}", part.display()), e))?
        .len();
    if let Some(expected) = size.filter(|&s| s != got) {
        return Err(PullError::SizeMismatch { expected, got });
    }
    let path = part.to_path_buf();
    let actual = tokio::task::spawn_blocking(move || engine::registry::sha256_file(&path))
        .await
        .map_err(|e| PullError::io("the checksum task failed", std::io::Error::other(e)))??;
    if actual != sha256 {
        return Err(PullError::ChecksumMismatch {
            expected: sha256.to_string(),
            got: actual,
        });
    }
    Ok(())
}

async fn copy_from_folder(
    dir: &Path,
    entry: &CatalogueEntry,
    part: &Path,
    progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<(), PullError> {
    use tokio::io::AsyncReadExt;
    let published = dir.join(entry.file_name());
    let by_name = dir.join(format!("{}.onnx", entry.name));
    let source = if published.is_file() {
        published
    } else if by_name.is_file() {
        by_name
    } else {
        return Err(PullError::NotInMirror(published, by_name));
    };
    let mut reader = tokio::fs::File::open(&source)
        .await
        .map_err(|e| PullError::io(format!("cannot read {}", source.display()), e))?;
    let total = reader.metadata().await.ok().map(|m| m.len());
    let mut writer = tokio::fs::File::create(part)
        .await
        .map_err(|e| PullError::io(format!("cannot write {}", part.display()), e))?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(PullError::Cancelled);
        }
        let n = reader
            .read(&mut buffer)
            .await
            .map_err(|e| PullError::io(format!("cannot read {}", source.display()), e))?;
        if n == 0 {
            break;
        }
        writer
            .write_all(&buffer[..n])
            .await
            .map_err(|e| PullError::io(format!("cannot write {}", part.display()), e))?;
        done += n as u64;
        progress(Progress { done, total });
    }
    writer
        .flush()
        .await
        .map_err(|e| PullError::io(format!("cannot write {}", part.display()), e))
}

fn client() -> Result<reqwest::Client, PullError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        // A connection that stalls this long counts as cut: the next attempt resumes.
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::limited(10))
        .user_agent(concat!("tinct/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| PullError::io("cannot start an HTTP client", std::io::Error::other(e)))
}

/// Downloads `url` into `part`, appending to what is there (HTTP Range) and retrying a cut
/// connection until [`ATTEMPTS`] attempts in a row bring nothing new.
async fn download(
    url: &str,
    part: &Path,
    size: Option<u64>,
    progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<(), PullError> {
    let client = client()?;
    let mut failures = 0;
    loop {
        let before = file_len(part).await;
        match attempt(&client, url, part, size, progress, cancel).await {
            Ok(()) => return Ok(()),
            Err(Attempt::Fatal(error)) => return Err(error),
            Err(Attempt::Cut(reason)) => {
                let now = file_len(part).await;
                failures = if now > before { 1 } else { failures + 1 };
                tracing::warn!(%url, %reason, bytes = now, "download interrupted; resuming");
                if failures >= ATTEMPTS {
                    return Err(PullError::Interrupted {
                        url: url.to_string(),
                        reason,
                        kept: now,
                    });
                }
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures))).await;
            }
        }
    }
}

enum Attempt {
    /// The connection broke or stalled: try again from where it stopped.
    Cut(String),
    Fatal(PullError),
}

async fn file_len(path: &Path) -> u64 {
    tokio::fs::metadata(path).await.map_or(0, |m| m.len())
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    part: &Path,
    size: Option<u64>,
    progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<(), Attempt> {
    let fatal = |e: PullError| Attempt::Fatal(e);
    let mut offset = file_len(part).await;
    if size.is_some_and(|s| offset >= s) {
        // Everything is here already (or too much: verification will say so).
        return Ok(());
    }
    let mut request = client.get(url);
    if offset > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| Attempt::Cut(error_chain(&e)))?;
    let status = response.status();
    let url = response.url().to_string();
    match status.as_u16() {
        206 if resumes_at(&response) == Some(offset) => {}
        206 => {
            // A range other than the one asked for: start again rather than splice.
            truncate(part).await.map_err(fatal)?;
            return Err(Attempt::Cut("the server resumed at another offset".into()));
        }
        200 => offset = 0,
        404 => return Err(fatal(PullError::NotFound { url })),
        416 => {
            // The range is past the end: the part is not a prefix of this file.
            truncate(part).await.map_err(fatal)?;
            return Err(Attempt::Cut(
                "the server refused to resume; starting again".into(),
            ));
        }
        code if (500..600).contains(&code) => {
            return Err(Attempt::Cut(format!("HTTP {code}")));
        }
        code => return Err(fatal(PullError::Http { url, status: code })),
    }
    let is_html = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if is_html {
        return Err(fatal(PullError::HtmlPage { url }));
    }
    let total = size.or_else(|| response.content_length().map(|len| len + offset));
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(offset == 0)
        .append(offset > 0)
        .open(part)
        .await
        .map_err(|e| fatal(PullError::io(format!("cannot write {}", part.display()), e)))?;
    let mut done = offset;
    let mut first = offset == 0;
    progress(Progress { done, total });
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(fatal(PullError::Cancelled));
        }
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let _ = file.flush().await;
                return Err(Attempt::Cut(error_chain(&e)));
            }
        };
        if first {
            first = false;
            if looks_like_html(&chunk) {
                return Err(fatal(PullError::HtmlPage { url }));
            }
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| fatal(PullError::io(format!("cannot write {}", part.display()), e)))?;
        done += chunk.len() as u64;
        if let Some(expected) = size.filter(|&s| done > s) {
            return Err(fatal(PullError::SizeMismatch {
                expected,
                got: done,
            }));
        }
        progress(Progress { done, total });
    }
    file.flush()
        .await
        .map_err(|e| fatal(PullError::io(format!("cannot write {}", part.display()), e)))?;
    Ok(())
}

/// The first byte of a 206 answer (`Content-Range: bytes START-END/TOTAL`).
fn resumes_at(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

async fn truncate(part: &Path) -> Result<(), PullError> {
    tokio::fs::write(part, b"")
        .await
        .map_err(|e| PullError::io(format!("cannot write {}", part.display()), e))
}

/// An ONNX file starts with a protobuf field tag; an error page starts with `<`.
fn looks_like_html(start: &[u8]) -> bool {
    start
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

/// The error and its causes in one line (reqwest's own message leaves out the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sha256: Option<&str>) -> CatalogueEntry {
        CatalogueEntry {
            name: "m".into(),
            display_name: "M".into(),
            family: engine::family::Family::Ddcolor,
            urls: vec!["https://example.org/m.onnx".into()],
            size: None,
            sha256: sha256.map(str::to_string),
            checksum_source: String::new(),
            licence: String::new(),
            source: String::new(),
            input_size: engine::registry::InputSizes {
                best: 512,
                min: 512,
                max: 512,
            },
            shape: Default::default(),
            precision: "float32".into(),
            note: String::new(),
        }
    }

    #[test]
    fn the_checksum_comes_from_the_catalogue_or_the_administrator() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        assert_eq!(expected_sha256(&entry(Some(&a)), None).unwrap(), a);
        assert_eq!(
            expected_sha256(&entry(None), Some(&b)).unwrap(),
            "b".repeat(64)
        );
        assert!(matches!(
            expected_sha256(&entry(None), None),
            Err(PullError::NoChecksum(_))
        ));
        assert!(matches!(
            expected_sha256(&entry(Some(&a)), Some(&b)),
            Err(PullError::ChecksumConflict { .. })
        ));
        assert!(matches!(
            expected_sha256(&entry(None), Some("abc")),
            Err(PullError::BadChecksum)
        ));
        assert!(looks_like_html(b"  \n<!DOCTYPE html>"));
        assert!(!looks_like_html(&[0x08, 0x08, 0x12]));
    }
}
