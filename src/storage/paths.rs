//! What a path under `docker/registry/v2/` is, after Distribution 2.8's
//! `registry/storage/paths.go`. A repository is every directory with a `_layers` directory in
//! it (as its garbage collector enumerates them, `catalog.go`); its name is the path up to the
//! first component that starts with `_`.

use crate::registry::Digest;

/// A file of the layout, classified from its path alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `blobs/<alg>/<2 hex>/<hex>/data`: a blob or a manifest.
    Blob(Digest),
    /// `repositories/<name>/_layers/<alg>/<hex>/link`.
    Layer { repo: String, digest: Digest },
    /// Anything else under `_layers` (the repository still counts as one).
    LayersOther { repo: String },
    /// `repositories/<name>/_manifests/revisions/<alg>/<hex>/link`.
    Revision { repo: String, digest: Digest },
    /// `repositories/<name>/_manifests/tags/<tag>/current/link`.
    TagCurrent { repo: String, tag: String },
    /// `repositories/<name>/_manifests/tags/<tag>/index/<alg>/<hex>/link`.
    TagHistory {
        repo: String,
        tag: String,
        digest: Digest,
    },
    /// `repositories/<name>/_uploads/<id>/data`.
    UploadData { repo: String, id: String },
    /// `repositories/<name>/_uploads/<id>/startedat`.
    UploadStarted { repo: String, id: String },
    /// Other files of an upload (`hashstates/...`).
    UploadOther { repo: String, id: String },
    /// Not part of the layout regatta reads.
    Other,
}

fn digest(alg: &str, hex: &str) -> Option<Digest> {
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

/// Classifies `path` (relative to `docker/registry/v2/`).
pub fn classify(path: &str) -> Item {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["blobs", alg, _shard, hex, "data"] => digest(alg, hex).map_or(Item::Other, Item::Blob),
        ["repositories", rest @ ..] => classify_repo(rest),
        _ => Item::Other,
    }
}

fn classify_repo(parts: &[&str]) -> Item {
    let Some(at) = parts.iter().position(|p| p.starts_with('_')) else {
        return Item::Other;
    };
    if at == 0 {
        return Item::Other;
    }
    let repo = parts[..at].join("/");
    match &parts[at..] {
        ["_layers", alg, hex, "link"] => match digest(alg, hex) {
            Some(digest) => Item::Layer { repo, digest },
            None => Item::LayersOther { repo },
        },
        ["_layers", ..] => Item::LayersOther { repo },
        ["_manifests", "revisions", alg, hex, "link"] => {
            digest(alg, hex).map_or(Item::Other, |digest| Item::Revision { repo, digest })
        }
        ["_manifests", "tags", tag, "current", "link"] => Item::TagCurrent {
            repo,
            tag: (*tag).to_string(),
        },
        ["_manifests", "tags", tag, "index", alg, hex, "link"] => {
            digest(alg, hex).map_or(Item::Other, |digest| Item::TagHistory {
                repo,
                tag: (*tag).to_string(),
                digest,
            })
        }
        ["_uploads", id, "data"] => Item::UploadData {
            repo,
            id: (*id).to_string(),
        },
        ["_uploads", id, "startedat"] => Item::UploadStarted {
            repo,
            id: (*id).to_string(),
        },
        ["_uploads", id, ..] => Item::UploadOther {
            repo,
            id: (*id).to_string(),
        },
        _ => Item::Other,
    }
}

/// `blobs/<alg>/<2 hex>/<hex>/data` for `digest`.
pub fn blob_data(digest: &Digest) -> String {
    let hex = digest.hex();
    format!(
        "blobs/{}/{}/{hex}/data",
        digest.algorithm(),
        hex.get(..2).unwrap_or(hex)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_path_is_recognised() {
        let d = Digest::sha256_of(b"x");
        let hex = d.hex();
        let sh = &hex[..2];
        assert_eq!(
            classify(&format!("blobs/sha256/{sh}/{hex}/data")),
            Item::Blob(d.clone())
        );
        assert_eq!(blob_data(&d), format!("blobs/sha256/{sh}/{hex}/data"));
        let repo = "team/app".to_string();
        assert_eq!(
            classify(&format!("repositories/team/app/_layers/sha256/{hex}/link")),
            Item::Layer {
                repo: repo.clone(),
                digest: d.clone()
            }
        );
        assert_eq!(
            classify(&format!(
                "repositories/team/app/_manifests/revisions/sha256/{hex}/link"
            )),
            Item::Revision {
                repo: repo.clone(),
                digest: d.clone()
            }
        );
        assert_eq!(
            classify("repositories/team/app/_manifests/tags/v1.0/current/link"),
            Item::TagCurrent {
                repo: repo.clone(),
                tag: "v1.0".into()
            }
        );
        assert_eq!(
            classify(&format!(
                "repositories/team/app/_manifests/tags/v1/index/sha256/{hex}/link"
            )),
            Item::TagHistory {
                repo: repo.clone(),
                tag: "v1".into(),
                digest: d.clone()
            }
        );
        assert_eq!(
            classify("repositories/team/app/_uploads/abc-1/startedat"),
            Item::UploadStarted {
                repo: repo.clone(),
                id: "abc-1".into()
            }
        );
        assert_eq!(
            classify("repositories/team/app/_uploads/abc-1/hashstates/sha256/0"),
            Item::UploadOther {
                repo: repo.clone(),
                id: "abc-1".into()
            }
        );
        assert_eq!(classify("repositories/_layers/x"), Item::Other);
        assert_eq!(classify("blobs/sha256/zz/nothex/data"), Item::Other);
        assert_eq!(classify("something/else"), Item::Other);
    }
}
