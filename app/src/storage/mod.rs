//! Where image files live. Keys are paths made by Tinct (never from a user's file name); the
//! local store keeps them under the data directory (the default), the S3 store in a bucket of
//! any S3-compatible store (`--storage-url s3://bucket/prefix`).

mod local;
mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use local::LocalStore;
pub use s3::{S3Settings, S3Store};

/// An object's bytes as they arrive, for streaming a download.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, StorageError>> + Send>>;

/// Where the objects are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// A folder on this machine (`file:///path`; by default `objects/` in the data directory).
    Local(PathBuf),
    /// A bucket of an S3-compatible store.
    S3(S3Settings),
}

impl StorageLocation {
    /// `file:///absolute/path` or `s3://bucket/prefix`.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("s3://") {
            return S3Settings::from_url(url).map(StorageLocation::S3);
        }
        match url.strip_prefix("file://") {
            Some(path) if path.starts_with('/') => Ok(StorageLocation::Local(PathBuf::from(path))),
            _ => Err(StorageError::InvalidUrl(url.to_string())),
        }
    }

    /// The store itself.
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>, StorageError> {
        Ok(match self {
            StorageLocation::Local(root) => Arc::new(LocalStore::new(root)),
            StorageLocation::S3(settings) => Arc::new(S3Store::open(settings)?),
        })
    }
}

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
    #[error("the object store failed for {key}: {source}")]
    Remote {
        key: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{0:?} is not a storage address: use file:///absolute/path or s3://bucket/prefix")]
    InvalidUrl(String),
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

    /// The result of a job's `attempt`th run: `results/<job id>.<extension>` for the first,
    /// `results/<job id>-<attempt>.<extension>` after, so two runs never share a key.
    pub fn result_of_run(
        job_id: &str,
        attempt: i64,
        extension: &str,
    ) -> Result<Self, StorageError> {
        match attempt {
            ..=1 => Self::result(job_id, extension),
            n => Self::new(format!("results/{job_id}-{n}.{extension}")),
        }
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
    /// The object's size and its bytes as a stream (downloads of large files).
    async fn get_stream(&self, key: &ObjectKey) -> Result<(u64, ByteStream), StorageError>;
    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError>;
    /// Every object under the folder `prefix` (`results`, `originals/ab`), with its size, in
    /// key order: for moving an installation and for checking what is stored.
    async fn list(&self, prefix: &str) -> Result<Vec<(ObjectKey, u64)>, StorageError>;
    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError>;
}
