use std::collections::BTreeSet;

use super::*;
use crate::registry::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX};
use crate::registry::{Digest, ImageConfig, Manifest, ManifestRef, RepoName, Source, Tag};

const REPOSITORIES: [&str; 7] = [
    "acme/api",
    "acme/web",
    "acme/worker",
    "base/debian-slim",
    "charts/api",
    "library/redis",
    "tools/debug",
];

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> ManifestRef {
    ManifestRef::Tag(Tag::parse(name).unwrap())
}

/// The demo unpacked into a temp dir, so tests do not depend on the user's cache.
fn unpacked() -> (tempfile::TempDir, LayoutSource) {
    let tmp = tempfile::tempdir().unwrap();
    let root = unpack_into(tmp.path(), false).unwrap();
    let source = LayoutSource::open(root).unwrap().with_name("demo");
    (tmp, source)
}

#[tokio::test]
async fn open_demo_lists_the_repositories() {
    let source = open_demo().unwrap();
    assert_eq!(source.name(), "demo");
    let repos = source.repositories(&|_: &[RepoName]| {}).await.unwrap();
    let repos: Vec<_> = repos.iter().map(RepoName::as_str).collect();
    assert_eq!(repos, REPOSITORIES);
}

#[tokio::test]
async fn the_multi_arch_tag_is_an_index_whose_children_and_configs_read_back() {
    let (_tmp, source) = unpacked();
    let api = repo("acme/api");
    let head = source.resolve(&api, &tag("v1.3.0")).await.unwrap();
    assert_eq!(head.media_type, OCI_INDEX);
    assert_eq!(source.resolve(&api, &tag("latest")).await.unwrap(), head);

    let fetched = source.manifest(&api, &tag("v1.3.0")).await.unwrap();
    assert_eq!(fetched.digest, head.digest);
    let Manifest::Index(index) = fetched.manifest else {
        panic!("v1.3.0 should be an index")
    };
    let platforms: Vec<String> = index
        .manifests
        .iter()
        .map(|d| d.platform.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);

    for child in &index.manifests {
        let by_digest = ManifestRef::Digest(child.digest.clone());
        let fetched = source.manifest(&api, &by_digest).await.unwrap();
        let Manifest::Image(image) = fetched.manifest else {
            panic!("children are images")
        };
        let config = source.blob(&api, &image.config.digest).await.unwrap();
        let config = ImageConfig::parse(&config).unwrap();
        let platform = child.platform.as_ref().unwrap();
        assert_eq!(config.architecture, platform.architecture);
        assert_eq!(config.variant, platform.variant);
        assert_eq!(config.rootfs.diff_ids.len(), image.layers.len());
        assert_eq!(config.layer_history().len(), image.layers.len());
        assert!(config.history.iter().any(|h| h.empty_layer));
        assert!(config.created_at().is_some());
        assert_eq!(config.config.user.as_deref(), Some("10001:10001"));
        for layer in &image.layers {
            source.blob(&api, &layer.digest).await.unwrap();
        }
    }
}

#[tokio::test]
async fn every_tag_resolves_and_reads() {
    let (_tmp, source) = unpacked();
    let mut tags = 0;
    let mut media_types = BTreeSet::new();
    for name in REPOSITORIES {
        let r = repo(name);
        for t in source.tags(&r).await.unwrap() {
            let reference = ManifestRef::Tag(t);
            let head = source.resolve(&r, &reference).await.unwrap();
            let fetched = source.manifest(&r, &reference).await.unwrap();
            assert_eq!(fetched.digest, head.digest);
            assert_eq!(fetched.bytes.len() as u64, head.size);
            media_types.insert(head.media_type);
            tags += 1;
        }
    }
    assert!(tags >= 60, "{tags} tags");
    assert!(media_types.contains(DOCKER_MANIFEST));
    assert!(media_types.contains(DOCKER_MANIFEST_LIST));
    assert!(media_types.contains(OCI_INDEX));
}

/// The newest release (and the stable one) carry what the release pipeline attaches: a cosign
/// signature and SLSA provenance under cosign's tags, an SPDX SBOM in the fallback index, and
/// a Notation signature of that SBOM in the SBOM's own fallback index.
#[tokio::test]
async fn releases_have_a_signature_an_attestation_and_a_signed_sbom() {
    use crate::analysis::artifact::{ArtifactKind, SbomFormat};
    use crate::analysis::referrers::FoundVia;
    use crate::referrers::{DiscoveryOptions, discover};

    let (_tmp, source) = unpacked();
    let api = repo("acme/api");
    let tags = source.tags(&api).await.unwrap();
    for release in ["v1.3.0", "v1.2.3"] {
        let subject = source.resolve(&api, &tag(release)).await.unwrap().digest;
        let hex = subject.as_str().trim_start_matches("sha256:").to_string();
        let found = discover(
            &source,
            &api,
            &subject,
            Some(&tags),
            &DiscoveryOptions::default(),
        )
        .await
        .unwrap();
        assert!(found.failures.is_empty(), "{:?}", found.failures);
        assert!(found.fallback_indexes.iter().all(|i| i.missing.is_empty()));
        let of =
            |s: &Digest| -> Vec<_> { found.facts.iter().filter(|f| &f.subject == s).collect() };
        let direct = of(&subject);
        let via_tag = |suffix: &str| FoundVia::CosignTag {
            tag: Tag::parse(&format!("sha256-{hex}{suffix}")).unwrap(),
        };

        let signature = direct
            .iter()
            .find(|f| f.kind == ArtifactKind::CosignSignature)
            .unwrap_or_else(|| panic!("{release}: no cosign signature in {direct:?}"));
        assert!(signature.found_via.contains(&via_tag(".sig")));
        // The signed payload names the release's manifest.
        let Manifest::Image(sig) = source
            .manifest(&api, &ManifestRef::Digest(signature.digest.clone()))
            .await
            .unwrap()
            .manifest
        else {
            panic!("a signature is an image manifest")
        };
        let payload = source.blob(&api, &sig.layers[0].digest).await.unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            payload["critical"]["image"]["docker-manifest-digest"],
            subject.as_str()
        );

        let attestation = direct
            .iter()
            .find(|f| matches!(f.kind, ArtifactKind::Attestation { .. }))
            .unwrap_or_else(|| panic!("{release}: no attestation in {direct:?}"));
        assert_eq!(
            attestation.kind,
            ArtifactKind::Attestation {
                predicate_type: Some("https://slsa.dev/provenance/v1".to_string())
            }
        );
        assert!(attestation.found_via.contains(&via_tag(".att")));

        let sbom = direct
            .iter()
            .find(|f| {
                f.kind
                    == ArtifactKind::Sbom {
                        format: SbomFormat::Spdx,
                    }
            })
            .unwrap_or_else(|| panic!("{release}: no SPDX SBOM in {direct:?}"));
        assert_eq!(sbom.artifact_type.as_deref(), Some("application/spdx+json"));
        assert!(sbom.found_via.contains(&FoundVia::FallbackIndex {
            tag: Tag::parse(&format!("sha256-{hex}")).unwrap()
        }));
        let sbom_signatures = of(&sbom.digest);
        assert_eq!(sbom_signatures.len(), 1, "{sbom_signatures:?}");
        assert_eq!(sbom_signatures[0].kind, ArtifactKind::NotationSignature);
        assert_eq!(direct.len(), 3, "{direct:?}");
    }
}

#[tokio::test]
async fn the_helm_chart_is_a_helm_chart() {
    use crate::analysis::artifact::{ArtifactKind, classify};
    let (_tmp, source) = unpacked();
    let charts = repo("charts/api");
    let tags = source.tags(&charts).await.unwrap();
    assert_eq!(tags.len(), 2, "{tags:?}");
    for t in tags {
        let fetched = source
            .manifest(&charts, &ManifestRef::Tag(t))
            .await
            .unwrap();
        assert_eq!(classify(&fetched, None), ArtifactKind::HelmChart);
    }
}

#[test]
fn the_demo_stays_small() {
    let mut files = Vec::new();
    collect_files(&DEMO, &mut files);
    let bytes: usize = files.iter().map(|f| f.contents().len()).sum();
    // What `du` reports: every file takes whole 4 KiB blocks.
    let on_disk: usize = files
        .iter()
        .map(|f| f.contents().len().div_ceil(4096).max(1) * 4096)
        .sum();
    assert!(bytes < 2_000_000, "{bytes} bytes");
    assert!(on_disk < 2_000_000, "{on_disk} bytes on disk");
}

#[test]
fn unpacking_again_reuses_the_first_copy_and_leaves_no_staging() {
    let tmp = tempfile::tempdir().unwrap();
    let first = unpack_into(tmp.path(), false).unwrap();
    fs::write(first.join("marker"), "x").unwrap();
    let second = unpack_into(tmp.path(), false).unwrap();
    assert_eq!(first, second);
    assert!(second.join("marker").exists());
    let entries: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, [format!("demo-{}", content_hash())]);
}

#[cfg(unix)]
#[test]
fn a_shared_directory_others_can_write_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("regatta-cache");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
    // A planted copy under the expected name must not be used.
    let planted = shared.join(format!("demo-{}", content_hash()));
    fs::create_dir(&planted).unwrap();
    let root = unpack_into(&shared, true).unwrap();
    assert_ne!(root, planted);
    assert!(LayoutSource::open(&root).is_ok());

    // A private one is used and reused.
    let private = tmp.path().join("private");
    let first = unpack_into(&private, true).unwrap();
    assert_eq!(unpack_into(&private, true).unwrap(), first);
}
