//! The layer chains base-image drift reads ([`TagChain`]), from what a scan already holds:
//! each tag's digest, its manifest's layers and its config's `created` time. No layer, no
//! manifest is fetched again.
//!
//! The image of a tag is chosen as `regatta hints --repo` chooses it without `--platform`
//! ([`crate::layers::select::select_image`]): a single manifest is the image; an index's
//! only platform (attestation entries, `unknown/unknown`, left out), else its `linux/amd64`.
//! A tag the scan could not resolve, or whose image it cannot choose, has no chain.

use crate::analysis::model::{ManifestBody, StorageModel};
use crate::layers::drift::TagChain;
use crate::registry::manifest::Platform;
use crate::registry::{Digest, RepoName, Tag};

/// The chains of `repo`'s tags in tag order, and the tags left out with the reason.
pub fn tag_chains(model: &StorageModel, repo: &RepoName) -> (Vec<TagChain>, Vec<(Tag, String)>) {
    let mut chains = Vec::new();
    let mut left_out = Vec::new();
    let Some(entry) = model.repos.get(repo) else {
        return (chains, left_out);
    };
    for (tag, digest) in &entry.tags {
        match digest
            .as_ref()
            .ok_or("not resolved")
            .and_then(|d| chain(model, tag, d))
        {
            Ok(c) => chains.push(c),
            Err(why) => left_out.push((tag.clone(), why.to_string())),
        }
    }
    (chains, left_out)
}

fn chain(model: &StorageModel, tag: &Tag, digest: &Digest) -> Result<TagChain, &'static str> {
    let image = chosen_image(model, digest)?;
    let Some(ManifestBody::Image { config, layers, .. }) =
        model.manifests.get(image).map(|m| &m.body)
    else {
        return Err("manifest not read");
    };
    Ok(TagChain {
        tag: tag.to_string(),
        digest: image.clone(),
        layers: layers.clone(),
        created: model.configs.get(&config.0).and_then(|c| c.created),
    })
}

/// The layers, bottom first, of the image `digest` names (an index: the image chosen as for
/// a tag), from what the scan read: a named base for drift (the TUI's `b` mark), as
/// `--base` names one to the CLI.
pub fn image_layers(model: &StorageModel, digest: &Digest) -> Result<Vec<Digest>, &'static str> {
    let image = chosen_image(model, digest)?;
    match model.manifests.get(image).map(|m| &m.body) {
        Some(ManifestBody::Image { layers, .. }) => {
            Ok(layers.iter().map(|(d, _)| d.clone()).collect())
        }
        _ => Err("manifest not read"),
    }
}

/// The image manifest of `digest`: itself, or the platform an index's tag stands for.
fn chosen_image<'a>(
    model: &'a StorageModel,
    digest: &'a Digest,
) -> Result<&'a Digest, &'static str> {
    Ok(
        match &model.manifests.get(digest).ok_or("manifest not read")?.body {
            ManifestBody::Image { .. } => digest,
            ManifestBody::Index { children } => {
                let images: Vec<(&Digest, Option<&Platform>)> = children
                    .iter()
                    .filter_map(|c| match &model.manifests.get(c)?.body {
                        ManifestBody::Image { platform, .. } => Some((c, platform.as_ref())),
                        ManifestBody::Index { .. } => None,
                    })
                    .filter(|(_, p)| {
                        !p.is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
                    })
                    .collect();
                let amd64 = |p: Option<&Platform>| {
                    p.is_some_and(|p| {
                        p.os == "linux" && p.architecture == "amd64" && p.variant.is_none()
                    })
                };
                match images.as_slice() {
                    [(only, _)] => *only,
                    _ => images
                        .iter()
                        .find(|(_, p)| amd64(*p))
                        .map(|(d, _)| *d)
                        .ok_or("several platforms, none linux/amd64")?,
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::artifact::ArtifactKind;
    use crate::analysis::model::{ConfigInfo, ManifestInfo, ScanEvent};

    fn d(n: u8) -> Digest {
        Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
    }

    fn platform(os: &str, arch: &str, variant: Option<&str>) -> Option<Platform> {
        Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(String::from),
            ..Platform::default()
        })
    }

    fn manifest(m: &mut StorageModel, n: u8, body: ManifestBody) {
        m.apply(ScanEvent::Manifest {
            digest: d(n),
            info: ManifestInfo {
                media_type: String::new(),
                doc_size: 1,
                subject: None,
                kind: ArtifactKind::Image,
                body,
            },
        });
    }

    /// Image `n`: config `n + 100` created at second `n`, one layer `n + 200`.
    fn image(m: &mut StorageModel, n: u8, platform: Option<Platform>) {
        let body = ManifestBody::Image {
            config: (d(n + 100), 1),
            layers: vec![(d(n + 200), 10)],
            platform,
        };
        manifest(m, n, body);
        m.apply(ScanEvent::Config {
            digest: d(n + 100),
            info: ConfigInfo {
                created: jiff::Timestamp::from_second(i64::from(n)).ok(),
                platform: None,
            },
        });
    }

    #[test]
    fn an_index_gives_its_only_platform_else_linux_amd64_else_nothing() {
        let mut m = StorageModel::default();
        let repo = RepoName::parse("a/b").unwrap();
        image(&mut m, 1, None);
        image(&mut m, 2, platform("linux", "arm64", Some("v8")));
        image(&mut m, 3, platform("unknown", "unknown", None));
        image(&mut m, 4, platform("linux", "amd64", Some("v2")));
        image(&mut m, 5, platform("linux", "amd64", None));
        // One platform beside an attestation entry; several with linux/amd64; several
        // without (linux/amd64/v2 is not linux/amd64).
        manifest(
            &mut m,
            10,
            ManifestBody::Index {
                children: vec![d(2), d(3)],
            },
        );
        manifest(
            &mut m,
            11,
            ManifestBody::Index {
                children: vec![d(2), d(4), d(5)],
            },
        );
        manifest(
            &mut m,
            12,
            ManifestBody::Index {
                children: vec![d(2), d(4)],
            },
        );
        let tags = ["plain", "one", "many", "none", "unresolved"];
        m.apply(ScanEvent::Tags {
            repo: repo.clone(),
            tags: tags.iter().map(|t| Tag::parse(t).unwrap()).collect(),
        });
        for (t, n) in [("plain", 1), ("one", 10), ("many", 11), ("none", 12)] {
            m.apply(ScanEvent::Resolved {
                repo: repo.clone(),
                tag: Tag::parse(t).unwrap(),
                digest: d(n),
            });
        }
        let (chains, left_out) = tag_chains(&m, &repo);
        let got: Vec<(&str, &Digest)> =
            chains.iter().map(|c| (c.tag.as_str(), &c.digest)).collect();
        assert_eq!(got, [("many", &d(5)), ("one", &d(2)), ("plain", &d(1))]);
        assert_eq!(chains[1].layers, [(d(202), 10)]);
        assert_eq!(chains[1].created, jiff::Timestamp::from_second(2).ok());
        let left: Vec<(String, String)> = left_out
            .into_iter()
            .map(|(t, why)| (t.to_string(), why))
            .collect();
        assert_eq!(
            left,
            [
                (
                    "none".to_string(),
                    "several platforms, none linux/amd64".to_string()
                ),
                ("unresolved".to_string(), "not resolved".to_string()),
            ]
        );
    }
}
