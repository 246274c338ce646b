//! Distribution's s3 driver's bucket (and S3-compatible stores), through `object_store`:
//! `s3://BUCKET/ROOT` where ROOT is the driver's `rootdirectory` (the object keys are
//! `ROOT/docker/registry/v2/...`). Region, endpoint and credentials come from the usual AWS
//! chain (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, web
//! identity, instance metadata); `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint.
//!
//! Listings are paginated by `object_store` (1,000 keys a page); the reader runs them
//! concurrently by prefix (blob shards, top-level repository names).

use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use super::backend::{StorageBackend, StorageError, StoredFile};

pub struct S3Storage {
    store: Box<dyn ObjectStore>,
    url: String,
    /// `ROOT/docker/registry/v2` as a key prefix, without a trailing `/`.
    v2: String,
}

fn error(path: &str, e: &object_store::Error) -> StorageError {
    StorageError::Read {
        path: path.to_string(),
        detail: e.to_string(),
    }
}

impl S3Storage {
    /// Opens `s3://BUCKET[/ROOT]`.
    pub fn open(url: &str) -> Result<Self, StorageError> {
        Self::open_with(url, &[])
    }

    /// [`open`](Self::open) with `object_store` settings beside the environment's
    /// (`("aws_endpoint", "http://127.0.0.1:9000")`, `("aws_region", ...)`); an unknown key is
    /// an error.
    pub fn open_with(url: &str, settings: &[(&str, &str)]) -> Result<Self, StorageError> {
        crate::registry::install_crypto_provider();
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, root) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StorageError::NotAStorage {
                location: url.to_string(),
            });
        }
        let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in settings {
            let key = key.parse().map_err(|e| error(url, &e))?;
            builder = builder.with_config(key, *value);
        }
        let store = builder.build().map_err(|e| error(url, &e))?;
        let root = root.trim_matches('/');
        let v2 = if root.is_empty() {
            "docker/registry/v2".to_string()
        } else {
            format!("{root}/docker/registry/v2")
        };
        Ok(Self {
            store: Box::new(store),
            url: url.to_string(),
            v2,
        })
    }

    fn key(&self, relative: &str) -> Path {
        let relative = relative.trim_matches('/');
        if relative.is_empty() {
            Path::from(self.v2.as_str())
        } else {
            Path::from(format!("{}/{relative}", self.v2))
        }
    }

    fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix(self.v2.as_str())?.strip_prefix('/')
    }

    /// Fails when the bucket holds nothing under `ROOT/docker/registry/v2/`.
    pub async fn check(&self) -> Result<(), StorageError> {
        let listed = self
            .store
            .list_with_delimiter(Some(&self.key("")))
            .await
            .map_err(|e| error(&self.url, &e))?;
        if listed.common_prefixes.is_empty() && listed.objects.is_empty() {
            return Err(StorageError::NotAStorage {
                location: self.url.clone(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl StorageBackend for S3Storage {
    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn list_files(&self, prefix: &str) -> Result<Vec<StoredFile>, StorageError> {
        let key = self.key(prefix);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&key))
            .try_collect()
            .await
            .map_err(|e| error(prefix, &e))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let path = self.relative(m.location.as_ref())?.to_string();
                Some(StoredFile {
                    path,
                    size: m.size,
                    modified: jiff::Timestamp::from_millisecond(m.last_modified.timestamp_millis())
                        .ok(),
                })
            })
            .collect())
    }

    async fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let listed = self
            .store
            .list_with_delimiter(Some(&self.key(prefix)))
            .await
            .map_err(|e| error(prefix, &e))?;
        let mut names: Vec<String> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    async fn read(
        &self,
        path: &str,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>, StorageError> {
        let got = self
            .store
            .get(&self.key(path))
            .await
            .map_err(|e| error(path, &e))?;
        if got.meta.size > limit {
            return Err(StorageError::TooLarge {
                path: path.to_string(),
                size: got.meta.size,
                limit,
                what,
            });
        }
        Ok(got.bytes().await.map_err(|e| error(path, &e))?.to_vec())
    }
}
