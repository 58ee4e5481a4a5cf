//! Objects in an S3-compatible store (Amazon S3, Garage, MinIO, Ceph…), through the
//! `object_store` crate. Files go up in parts and come down as streams: a large scan is never
//! held whole in memory.

use std::path::Path;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore as _, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

use super::{ByteStream, ObjectKey, ObjectStore, StorageError};

/// Where the objects are and how to reach them. Anything not given here comes from the
/// standard environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_ENDPOINT`, `AWS_REGION`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Prepended to every key (`prefix/originals/…`); empty for the bucket's root.
    pub prefix: String,
    /// The store's address, for anything but Amazon S3 (`http://127.0.0.1:3900`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

impl S3Settings {
    /// `s3://bucket` or `s3://bucket/some/prefix`.
    pub fn from_url(url: &str) -> Result<Self, StorageError> {
        let invalid = || StorageError::InvalidUrl(url.to_string());
        let rest = url.strip_prefix("s3://").ok_or_else(invalid)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let bucket_ok = !bucket.is_empty()
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
        if !bucket_ok || prefix.split('/').any(|s| s == "." || s == "..") {
            return Err(invalid());
        }
        Ok(S3Settings {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            endpoint: None,
            region: None,
        })
    }
}

/// An S3 bucket (under a prefix) as Tinct's object store.
#[derive(Debug, Clone)]
pub struct S3Store {
    store: Arc<dyn object_store::ObjectStore>,
}

/// A file larger than this goes up in parts of this size (S3 allows 5 MB to 5 GB per part).
const PART_BYTES: usize = 10 << 20;
/// Parts sent at once.
const PARTS_IN_FLIGHT: usize = 4;

impl S3Store {
    /// A large file as a multipart upload, read a part at a time: at most a few parts are in
    /// memory, however large the scan.
    async fn put_in_parts(&self, key: &ObjectKey, file: &Path) -> Result<(), StorageError> {
        let io = |source| StorageError::Io {
            key: key.as_str().to_string(),
            source,
        };
        let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
        let upload = self
            .store
            .put_multipart(&Self::path(key))
            .await
            .map_err(Self::write_failed(key))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buffer = vec![0u8; 1 << 20];
        let sent: Result<(), StorageError> = async {
            loop {
                let read = reader.read(&mut buffer).await.map_err(io)?;
                if read == 0 {
                    return Ok(());
                }
                parts
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(Self::write_failed(key))?;
                parts.write(&buffer[..read]);
            }
        }
        .await;
        match sent {
            Ok(()) => {
                parts.finish().await.map_err(Self::write_failed(key))?;
                Ok(())
            }
            Err(error) => {
                // An unfinished multipart upload costs storage until it is aborted.
                let _ = parts.abort().await;
                Err(error)
            }
        }
    }

    /// Opens the bucket; nothing is sent until the first request.
    pub fn open(settings: &S3Settings) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&settings.bucket);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        let bucket: Arc<dyn object_store::ObjectStore> =
            Arc::new(builder.build().map_err(|source| StorageError::Remote {
                key: String::new(),
                source,
            })?);
        let store: Arc<dyn object_store::ObjectStore> = if settings.prefix.is_empty() {
            bucket
        } else {
            Arc::new(PrefixStore::new(bucket, settings.prefix.as_str()))
        };
        Ok(S3Store { store })
    }

    fn path(key: &ObjectKey) -> StorePath {
        // Keys are checked to be plain `/`-separated segments, so this is the key itself.
        StorePath::from(key.as_str())
    }

    /// A failed write: "not found" there means the bucket is missing, not the object.
    fn write_failed(key: &ObjectKey) -> impl Fn(object_store::Error) -> StorageError + '_ {
        move |source| StorageError::Remote {
            key: key.as_str().to_string(),
            source,
        }
    }

    fn remote(key: &ObjectKey) -> impl Fn(object_store::Error) -> StorageError + '_ {
        move |source| match source {
            object_store::Error::NotFound { .. } => StorageError::NotFound(key.as_str().into()),
            source => StorageError::Remote {
                key: key.as_str().to_string(),
                source,
            },
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn put_file(&self, key: &ObjectKey, file: &Path) -> Result<(), StorageError> {
        let io = |source| StorageError::Io {
            key: key.as_str().to_string(),
            source,
        };
        let size = tokio::fs::metadata(file).await.map_err(io)?.len();
        if size <= PART_BYTES as u64 {
            let bytes = tokio::fs::read(file).await.map_err(io)?;
            self.put_bytes(key, bytes).await?;
        } else {
            self.put_in_parts(key, file).await?;
        }
        tokio::fs::remove_file(file).await.map_err(io)
    }

    async fn put_bytes(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&Self::path(key), PutPayload::from(bytes))
            .await
            .map_err(Self::write_failed(key))?;
        Ok(())
    }

    async fn get_bytes(&self, key: &ObjectKey) -> Result<Vec<u8>, StorageError> {
        let got = self
            .store
            .get(&Self::path(key))
            .await
            .map_err(Self::remote(key))?;
        Ok(got.bytes().await.map_err(Self::remote(key))?.to_vec())
    }

    async fn get_stream(&self, key: &ObjectKey) -> Result<(u64, ByteStream), StorageError> {
        let got = self
            .store
            .get(&Self::path(key))
            .await
            .map_err(Self::remote(key))?;
        let size = got.meta.size;
        let owned = key.clone();
        let stream = got
            .into_stream()
            .map_err(move |source| StorageError::Remote {
                key: owned.as_str().to_string(),
                source,
            });
        Ok((size, Box::pin(stream)))
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError> {
        match self.store.head(&Self::path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Self::remote(key)(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(ObjectKey, u64)>, StorageError> {
        let start = ObjectKey::new(prefix)?;
        let listed: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&Self::path(&start)))
            .try_collect()
            .await
            .map_err(Self::remote(&start))?;
        let mut found: Vec<(ObjectKey, u64)> = listed
            .into_iter()
            .filter_map(|meta| Some((ObjectKey::new(meta.location.as_ref()).ok()?, meta.size)))
            .collect();
        found.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(found)
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match self.store.delete(&Self::path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Self::remote(key)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        let plain = S3Settings::from_url("s3://archive").unwrap();
        assert_eq!(
            (plain.bucket.as_str(), plain.prefix.as_str()),
            ("archive", "")
        );
        let nested = S3Settings::from_url("s3://archive/tinct/prod/").unwrap();
        assert_eq!(
            (nested.bucket.as_str(), nested.prefix.as_str()),
            ("archive", "tinct/prod")
        );
        for bad in [
            "archive",
            "s3://",
            "s3://Bad_Bucket",
            "s3://b/../x",
            "file:///x",
        ] {
            assert!(
                matches!(S3Settings::from_url(bad), Err(StorageError::InvalidUrl(_))),
                "{bad} was accepted"
            );
        }
    }
}
