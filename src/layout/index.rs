//! Reading one layout: `oci-layout`, `index.json` (its descriptors and their tags) and the
//! content-addressed files under `blobs/<algorithm>/<hex>`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::registry::{Descriptor, Digest, RegistryError, Tag};

use super::io_error;

/// The annotation that names a tag in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `index.json` lists one descriptor per tag; a registry with tens of thousands of tags has a
/// large one, so it gets more room than a manifest does.
const INDEX_LIMIT: u64 = 64 * 1024 * 1024;

/// `oci-layout` is a one-line JSON document.
const LAYOUT_FILE_LIMIT: u64 = 64 * 1024;

/// One descriptor of `index.json` and the tag it carries, if any.
#[derive(Debug, Clone)]
pub(crate) struct IndexEntry {
    pub tag: Option<Tag>,
    pub descriptor: Descriptor,
}

#[derive(Deserialize)]
struct LayoutIndex {
    #[serde(default)]
    manifests: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutFile {
    image_layout_version: String,
}

/// The entries of `dir/index.json`, in file order. A descriptor that does not parse (a bad
/// digest, a missing size) is skipped with a warning rather than hiding the whole repository.
pub(crate) fn read_index(dir: &Path) -> Result<Vec<IndexEntry>, RegistryError> {
    check_layout_file(dir)?;
    let path = dir.join("index.json");
    let bytes = match read_capped(&path, INDEX_LIMIT) {
        Err(ReadError::Missing) => {
            return Err(RegistryError::Io {
                path: path.display().to_string(),
                detail:
                    "missing; an OCI image layout needs index.json beside oci-layout and blobs/"
                        .to_string(),
            });
        }
        other => other.map_err(|e| e.into_registry(&path))?,
    };
    let index: LayoutIndex = serde_json::from_slice(&bytes).map_err(|e| malformed(&path, e))?;
    let mut entries = Vec::new();
    for value in index.manifests.unwrap_or_default() {
        match serde_json::from_value::<Descriptor>(value) {
            Ok(descriptor) => {
                let tag = descriptor
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .and_then(|name| tag_from_ref_name(name));
                entries.push(IndexEntry { tag, descriptor });
            }
            Err(e) => tracing::warn!("{}: skipping a descriptor: {e}", path.display()),
        }
    }
    Ok(entries)
}

/// `oci-layout`, when present, must declare a 1.x layout. Its absence is tolerated: some
/// writers only produce `index.json` and `blobs/`.
fn check_layout_file(dir: &Path) -> Result<(), RegistryError> {
    let path = dir.join("oci-layout");
    let bytes = match read_capped(&path, LAYOUT_FILE_LIMIT) {
        Err(ReadError::Missing) => return Ok(()),
        other => other.map_err(|e| e.into_registry(&path))?,
    };
    let file: LayoutFile = serde_json::from_slice(&bytes).map_err(|e| malformed(&path, e))?;
    if file.image_layout_version.split('.').next() != Some("1") {
        return Err(RegistryError::Malformed {
            url: path.display().to_string(),
            detail: format!(
                "imageLayoutVersion {:?} is not supported (expected 1.x)",
                file.image_layout_version
            ),
        });
    }
    Ok(())
}

/// The tag a `ref.name` annotation names. The spec intends a bare tag, but some tools write a
/// full reference (`docker.io/library/redis:7`); then the part after the last `:` is used when
/// it is a valid tag. Anything else (`localhost:5000/app`, a bare digest) names no tag.
pub(crate) fn tag_from_ref_name(name: &str) -> Option<Tag> {
    if let Ok(tag) = Tag::parse(name) {
        return Some(tag);
    }
    let (_, after) = name.rsplit_once(':')?;
    Tag::parse(after).ok()
}

/// Where a blob lives in a layout. Digests are validated, so the path cannot escape `blobs/`.
pub(crate) fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

/// A blob's bytes, at most `limit` of them, checked against `digest`. `what` names the blob
/// in a not-found error (`blob sha256:.. in acme/api`).
pub(crate) fn read_blob(
    dir: &Path,
    digest: &Digest,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let path = blob_path(dir, digest);
    let bytes = read_capped(&path, limit).map_err(|e| match e {
        ReadError::Missing => RegistryError::NotFound {
            what: format!("{what} ({})", path.display()),
        },
        other => other.into_registry(&path),
    })?;
    if !digest.matches(&bytes) {
        return Err(RegistryError::DigestMismatch {
            what: format!("{what} ({})", path.display()),
            expected: digest.to_string(),
            actual: Digest::sha256_of(&bytes).to_string(),
        });
    }
    Ok(bytes)
}

pub(crate) enum ReadError {
    Missing,
    TooLarge(u64),
    Io(std::io::Error),
}

impl ReadError {
    pub(crate) fn into_registry(self, path: &Path) -> RegistryError {
        match self {
            ReadError::Missing => RegistryError::NotFound {
                what: path.display().to_string(),
            },
            ReadError::TooLarge(limit) => RegistryError::TooLarge {
                url: path.display().to_string(),
                limit,
            },
            ReadError::Io(e) => io_error(path, &e),
        }
    }
}

/// Reads a whole file, refusing one over `limit` bytes (checked while reading too, in case
/// the file grows).
pub(crate) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing,
        _ => ReadError::Io(e),
    })?;
    let len = file.metadata().map_err(ReadError::Io)?.len();
    if len > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(bytes)
}

fn malformed(path: &Path, e: serde_json::Error) -> RegistryError {
    RegistryError::Malformed {
        url: path.display().to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_become_tags() {
        let tag = |s: &str| tag_from_ref_name(s).map(|t| t.as_str().to_string());
        assert_eq!(tag("v1.2.3").as_deref(), Some("v1.2.3"));
        assert_eq!(tag("docker.io/library/redis:7.2").as_deref(), Some("7.2"));
        assert_eq!(tag("acme/api:latest").as_deref(), Some("latest"));
        assert_eq!(tag("localhost:5000/app"), None);
        assert_eq!(tag("not a tag"), None);
        assert_eq!(tag(""), None);
    }

    #[test]
    fn reads_are_capped() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        fs::write(&path, [0u8; 100]).unwrap();
        assert!(read_capped(&path, 100).is_ok());
        assert!(matches!(
            read_capped(&path, 99),
            Err(ReadError::TooLarge(99))
        ));
        assert!(matches!(
            read_capped(&tmp.path().join("nope"), 1),
            Err(ReadError::Missing)
        ));
    }

    #[test]
    fn unsupported_layout_version_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("oci-layout"),
            r#"{"imageLayoutVersion":"2.0.0"}"#,
        )
        .unwrap();
        fs::write(
            tmp.path().join("index.json"),
            r#"{"schemaVersion":2,"manifests":[]}"#,
        )
        .unwrap();
        let err = read_index(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("2.0.0"), "{err}");
    }
}
