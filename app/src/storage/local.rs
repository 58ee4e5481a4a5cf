use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;

use super::{ByteStream, ObjectKey, ObjectStore, StorageError};

/// Objects as files under one folder; writes go to a temporary name first and are renamed, so a
/// crash never leaves half an object under a real key.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn io(key: &ObjectKey) -> impl Fn(std::io::Error) -> StorageError + '_ {
        move |source| StorageError::Io {
            key: key.as_str().to_string(),
            source,
        }
    }

    async fn parent_dir(&self, key: &ObjectKey) -> Result<PathBuf, StorageError> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(Self::io(key))?;
        }
        Ok(path)
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put_file(&self, key: &ObjectKey, file: &Path) -> Result<(), StorageError> {
        let path = self.parent_dir(key).await?;
        tokio::fs::rename(file, &path).await.map_err(Self::io(key))
    }

    async fn put_bytes(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StorageError> {
        let path = self.parent_dir(key).await?;
        // A name of its own for each writer: two writers of one key must not share a file.
        let partial = path.with_extension(format!("{}.partial", uuid::Uuid::now_v7().simple()));
        tokio::fs::write(&partial, bytes)
            .await
            .map_err(Self::io(key))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(Self::io(key))
    }

    async fn get_bytes(&self, key: &ObjectKey) -> Result<Vec<u8>, StorageError> {
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StorageError::NotFound(key.as_str().into()))
            }
            Err(e) => Err(Self::io(key)(e)),
        }
    }

    async fn get_stream(&self, key: &ObjectKey) -> Result<(u64, ByteStream), StorageError> {
        let file = match tokio::fs::File::open(self.path(key)).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StorageError::NotFound(key.as_str().into()))
            }
            Err(e) => return Err(Self::io(key)(e)),
        };
        let size = file.metadata().await.map_err(Self::io(key))?.len();
        let owned = key.as_str().to_string();
        let stream =
            tokio_util::io::ReaderStream::new(file).map_err(move |source| StorageError::Io {
                key: owned.clone(),
                source,
            });
        Ok((size, Box::pin(stream)))
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, StorageError> {
        tokio::fs::try_exists(self.path(key))
            .await
            .map_err(Self::io(key))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(ObjectKey, u64)>, StorageError> {
        let start = ObjectKey::new(prefix)?;
        let root = self.root.clone();
        let walked = tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut folders = vec![root.join(start.as_str())];
            while let Some(folder) = folders.pop() {
                let entries = match std::fs::read_dir(&folder) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Self::io(&start)(e)),
                };
                for entry in entries {
                    let entry = entry.map_err(Self::io(&start))?;
                    let meta = entry.metadata().map_err(Self::io(&start))?;
                    let path = entry.path();
                    if meta.is_dir() {
                        folders.push(path);
                        continue;
                    }
                    // Half-written objects (see `put_bytes`) are not objects yet.
                    let key = path
                        .strip_prefix(&root)
                        .ok()
                        .and_then(|p| p.to_str())
                        .filter(|k| !k.ends_with(".partial"))
                        .and_then(|k| ObjectKey::new(k).ok());
                    if let Some(key) = key {
                        found.push((key, meta.len()));
                    }
                }
            }
            found.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            Ok(found)
        });
        walked.await.map_err(|e| StorageError::Io {
            key: prefix.to_string(),
            source: std::io::Error::other(e),
        })?
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Self::io(key)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_store() {
        for bad in [
            "../etc/passwd",
            "a//b",
            "/abs",
            "a/./b",
            "UPPER",
            "a b",
            "x/..",
            "",
        ] {
            assert!(ObjectKey::new(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(ObjectKey::new("originals/ab/cd/abcd").is_ok());
        assert_eq!(
            ObjectKey::original("abcdef").unwrap().as_str(),
            "originals/ab/cd/abcdef"
        );
    }

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = ObjectKey::result("job-1", "png").unwrap();
        assert!(!store.exists(&key).await.unwrap());
        store.put_bytes(&key, b"pixels".to_vec()).await.unwrap();
        assert_eq!(store.get_bytes(&key).await.unwrap(), b"pixels");
        let (size, stream) = store.get_stream(&key).await.unwrap();
        let streamed: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
        assert_eq!((size, streamed.concat()), (6, b"pixels".to_vec()));
        assert_eq!(store.list("results").await.unwrap(), vec![(key.clone(), 6)]);
        assert!(store.list("originals").await.unwrap().is_empty());
        store.delete(&key).await.unwrap();
        assert!(matches!(
            store.get_bytes(&key).await,
            Err(StorageError::NotFound(_))
        ));
    }
}
