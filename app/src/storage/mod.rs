//! Where image files live. Keys are paths made by Tinct (never from a user's file name); the
//! local store keeps them under the data directory. Another backend (an S3-compatible store)
//! implements the same trait.

mod local;

use std::path::Path;

pub use local::LocalStore;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no stored object {0}")]
    NotFound(String),
    #[error("storage key {0:?} is not valid")]
    InvalidKey(String),
    #[error("storage failed for {key}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

/// An object key: lowercase ASCII letters, digits, `-`, `_`, `.` and `/`-separated segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn new(key: impl Into<String>) -> Result<Self, StorageError> {
        let key = key.into();
        let valid = !key.is_empty()
            && key.len() <= 200
            && key.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b)
                    })
            });
        if valid {
            Ok(ObjectKey(key))
        } else {
            Err(StorageError::InvalidKey(key))
        }
    }

    /// `originals/ab/cd/abcd…` for a content hash (hex sha256).
    pub fn original(sha256: &str) -> Result<Self, StorageError> {
        let prefix = |range: std::ops::Range<usize>| sha256.get(range).unwrap_or("");
        Self::new(format!(
            "originals/{}/{}/{sha256}",
            prefix(0..2),
            prefix(2..4)
        ))
    }

    /// `results/<job id>.<extension>`.
    pub fn result(job_id: &str, extension: &str) -> Result<Self, StorageError> {
        Self::new(format!("results/{job_id}.{extension}"))
    }

    /// `colours/<job id>`: the model's a/b output of a run, kept for corrections.
    pub fn colours(job_id: &str) -> Result<Self, StorageError> {
        Self::new(format!("colours/{job_id}"))
    }

    /// `previews/<job id>-<original|result>-<max side>.jpg`: a cached JPEG preview.
    pub fn preview(job_id: &str, which: &str, max_side: u32) -> Result<Self, StorageError> {
        Self::new(format!("previews/{job_id}-{which}-{max_side}.jpg"))
    }

    /// Every preview the server may have cached for a job.
    pub fn previews_of(job_id: &str) -> Vec<Self> {
        PREVIEWS
            .iter()
            .filter_map(|(which, side)| Self::preview(job_id, which, *side).ok())
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The previews the server makes: gallery thumbnails and the comparison images.
pub const THUMBNAIL_SIDE: u32 = 320;
pub const COMPARE_SIDE: u32 = 1600;
/// The full-size previews the detail view's 100 % zoom shows (made on first request; a JPEG side
/// is at most this, so nothing is scaled down).
pub const FULL_SIDE: u32 = 65_535;
const PREVIEWS: [(&str, u32); 5] = [
    ("result", THUMBNAIL_SIDE),
    ("result", COMPARE_SIDE),
    ("original", COMPARE_SIDE),
    ("result", FULL_SIDE),
    ("original", FULL_SIDE),
];

#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// Moves a finished local file into the store under `key` (replacing what was there).
    async fn put_file(&self, key: &ObjectKey, file: &Path) -> Result<(), StorageError>;
    async fn put_bytes(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StorageError>;
    async fn get_bytes(&self, key: &ObjectKey) -> Result<Vec<u8>, StorageError>;
    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError>;
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;
}
