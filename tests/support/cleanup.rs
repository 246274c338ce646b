//! Fixtures and checks for the delete, cleanup and restore tests.
//!
//! [`rm_fixture`] is small and fixed; [`cleanup_fixture`] has created dates relative to the
//! moment it is built, so that `keep_within` rules decide the same way on every run.
//! [`assert_applied`] checks a registry against the ground truth after a plan was applied and
//! garbage collected: kept tags, their blobs, deleted tags and manifests.

use std::collections::{BTreeMap, BTreeSet};

use regatta::registry::{Client, Digest, ManifestRef, RegistryError};
use serde_json::Value;

use super::fixtures::FixtureBuilder;
use super::image::{Format, ImageSpec, Layer};
use super::registry::TestRegistry;
use super::truth::{Fixture, repo, tag};

/// `app`: `v1`, and `v2` = `latest` = `stable` (sharing a base layer with `v1`); `other`: `1`,
/// on the same base; `multi`: `latest`, an OCI index of two platforms with layers of their own.
pub fn rm_fixture() -> FixtureBuilder {
    three_repos("rm-", "rm-multi-")
}

/// [`rm_fixture`]'s images with layers of other bytes: `seed` starts the seeds of the `app`
/// and `other` layers, `multi_seed` those of `multi`.
pub fn three_repos(seed: &str, multi_seed: &str) -> FixtureBuilder {
    let base = Layer::random(&format!("{seed}base"), 6 * 1024);
    let mut b = FixtureBuilder::new();
    b.image(
        "app",
        &["v1"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random(&format!("{seed}v1"), 3 * 1024)],
        )
        .created("2024-01-01T00:00:00Z"),
    );
    b.image(
        "app",
        &["v2", "latest", "stable"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random(&format!("{seed}v2"), 5 * 1024)],
        )
        .created("2024-02-01T00:00:00Z"),
    );
    b.image(
        "other",
        &["1"],
        ImageSpec::new(
            Format::Docker,
            vec![base, Layer::random(&format!("{seed}other"), 2 * 1024)],
        ),
    );
    b.index(
        "multi",
        &["latest"],
        Format::Oci,
        vec![
            ImageSpec::new(
                Format::Oci,
                vec![Layer::random(&format!("{multi_seed}amd64"), 4 * 1024)],
            ),
            ImageSpec::new(
                Format::Oci,
                vec![Layer::random(&format!("{multi_seed}arm64"), 4 * 1024)],
            )
            .platform("linux", "arm64", Some("v8")),
        ],
    );
    b
}

/// RFC 3339 for `days` days before `now`.
pub fn days_ago(now: jiff::Timestamp, days: i64) -> String {
    (now - jiff::SignedDuration::from_hours(24 * days)).to_string()
}

/// Two repositories whose images were created over the last year and a bit:
///
/// | repository | tag(s) | created |
/// |---|---|---|
/// | `svc` (images) | `v1.0.0` | 400 days ago |
/// | | `v1.1.0` | 200 days ago |
/// | | `v1.2.0` = `stable` | 90 days ago |
/// | | `v2.0.0` = `latest` | 5 days ago |
/// | `base` (OCI indexes, amd64 + arm64/v8) | `1.0` | 300 days ago |
/// | | `1.1` | 100 days ago |
/// | | `2.0` = `latest` | 10 days ago |
///
/// Every `svc` image and every amd64 platform of `base` share one OS layer (across the two
/// repositories), every arm64 platform another; each image has a layer of its own. Nothing is
/// left untagged, so what garbage collection frees is exactly what the plans can see.
pub fn cleanup_fixture(now: jiff::Timestamp) -> FixtureBuilder {
    let os_amd64 = Layer::random("cleanup-os-amd64", 12 * 1024);
    let os_arm64 = Layer::random("cleanup-os-arm64", 11 * 1024);
    let mut b = FixtureBuilder::new();
    for (tags, days) in [
        (&["v1.0.0"][..], 400),
        (&["v1.1.0"][..], 200),
        (&["v1.2.0", "stable"][..], 90),
        (&["v2.0.0", "latest"][..], 5),
    ] {
        b.image(
            "svc",
            tags,
            ImageSpec::new(
                Format::Oci,
                vec![
                    os_amd64.clone(),
                    Layer::random(&format!("cleanup-svc-{}", tags[0]), 3 * 1024 + days),
                ],
            )
            .created(&days_ago(now, days as i64)),
        );
    }
    for (tags, days) in [
        (&["1.0"][..], 300),
        (&["1.1"][..], 100),
        (&["2.0", "latest"][..], 10),
    ] {
        let version = tags[0];
        let created = days_ago(now, days);
        b.index(
            "base",
            tags,
            Format::Oci,
            vec![
                ImageSpec::new(
                    Format::Oci,
                    vec![
                        os_amd64.clone(),
                        Layer::random(&format!("cleanup-base-{version}-amd64"), 4 * 1024),
                    ],
                )
                .created(&created),
                ImageSpec::new(
                    Format::Oci,
                    vec![
                        os_arm64.clone(),
                        Layer::random(&format!("cleanup-base-{version}-arm64"), 4 * 1024),
                    ],
                )
                .platform("linux", "arm64", Some("v8"))
                .created(&created),
            ],
        );
    }
    b
}

/// The digest `repo:tag` resolves to now.
pub async fn resolve(client: &Client, name: &str, t: &str) -> Result<Digest, RegistryError> {
    client
        .head_manifest(&repo(name), &ManifestRef::Tag(tag(t)))
        .await
        .map(|h| h.digest)
}

/// Asserts that every tag of `truth` still resolves to the digest it had.
pub async fn assert_all_tags_resolve(client: &Client, truth: &Fixture) {
    for (name, r) in &truth.repos {
        for (t, digest) in &r.tags {
            let got = resolve(client, name, t)
                .await
                .unwrap_or_else(|e| panic!("{name}:{t} no longer resolves: {e}"));
            assert_eq!(&got, digest, "{name}:{t} moved");
        }
    }
}

/// `(repository, tag)` pairs and digests a JSON plan's `deletions[]` take away.
#[derive(Debug, Default)]
pub struct PlannedGone {
    /// Tags that go, by delete or by untag.
    pub tags: BTreeSet<(String, String)>,
    /// Manifests deleted by digest (index children included).
    pub manifests: BTreeSet<(String, Digest)>,
}

pub fn planned_gone(plan: &Value) -> PlannedGone {
    let mut gone = PlannedGone::default();
    for d in plan["deletions"].as_array().expect("deletions[]") {
        let name = d["repository"].as_str().expect("repository").to_string();
        for t in d["tags"].as_array().expect("tags[]") {
            gone.tags
                .insert((name.clone(), t.as_str().expect("a tag").to_string()));
        }
        if d["mode"] == "delete" {
            let digests = std::iter::once(&d["digest"])
                .chain(d["children"].as_array().expect("children[]").iter());
            for digest in digests {
                let digest = Digest::parse(digest.as_str().expect("a digest")).expect("digest");
                gone.manifests.insert((name.clone(), digest));
            }
        }
    }
    gone
}

/// The ground truth after `gone` was applied: its manifests removed (with every tag on them)
/// and its untagged tags dropped.
pub fn truth_after(truth: &Fixture, gone: &PlannedGone) -> Fixture {
    let mut after = truth.clone();
    for (name, digest) in &gone.manifests {
        after.remove_manifest(name, digest);
    }
    for (name, t) in &gone.tags {
        if let Some(r) = after.repos.get_mut(name) {
            r.tags.remove(t);
        }
    }
    after
}

/// After applying `plan` (JSON, as `--json` prints it) and garbage collection: every kept tag
/// resolves to its old digest; every blob of every kept manifest (the platforms of kept
/// indexes included) answers HEAD 200 and their manifests GET by digest; every tag that went
/// answers 404, and so does every manifest deleted by digest.
pub async fn assert_applied(registry: &TestRegistry, truth: &Fixture, plan: &Value) {
    let client = registry.client();
    let gone = planned_gone(plan);
    let after = truth_after(truth, &gone);
    for (name, r) in &after.repos {
        for (t, digest) in &r.tags {
            let got = resolve(&client, name, t)
                .await
                .unwrap_or_else(|e| panic!("kept tag {name}:{t} no longer resolves: {e}"));
            assert_eq!(&got, digest, "kept tag {name}:{t} moved");
            let m = truth.manifest(name, digest);
            let mut manifests = vec![m.digest.clone()];
            manifests.extend(m.children.iter().map(|(d, _)| d.clone()));
            for d in &manifests {
                client
                    .get_manifest(&repo(name), &ManifestRef::Digest(d.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{name}@{d} (kept by {t}): {e}"));
            }
            for (blob, size) in &m.blobs {
                let got = client
                    .head_blob(&repo(name), blob)
                    .await
                    .unwrap_or_else(|e| panic!("blob {blob} of kept {name}:{t}: {e}"));
                assert_eq!(got, *size, "blob {blob} of kept {name}:{t}");
            }
        }
    }
    for (name, t) in &gone.tags {
        let err = resolve(&client, name, t)
            .await
            .expect_err("a tag that went still resolves");
        assert!(err.is_not_found(), "{name}:{t}: {err}");
    }
    for (name, digest) in &gone.manifests {
        let err = client
            .get_manifest(&repo(name), &ManifestRef::Digest(digest.clone()))
            .await
            .expect_err("a deleted manifest is still there");
        assert!(err.is_not_found(), "{name}@{digest}: {err}");
    }
}

/// `deletions[]` of a JSON plan as `mode repository@digest tags` lines with digests replaced
/// by the tags of `truth` that pointed at them, for readable assertions.
pub fn plan_summary(plan: &Value, truth: &Fixture) -> Vec<String> {
    let mut out: Vec<String> = plan["deletions"]
        .as_array()
        .expect("deletions[]")
        .iter()
        .map(|d| {
            let name = d["repository"].as_str().expect("repository");
            let digest = Digest::parse(d["digest"].as_str().expect("digest")).expect("digest");
            let tags: Vec<&str> = d["tags"]
                .as_array()
                .expect("tags[]")
                .iter()
                .map(|t| t.as_str().expect("tag"))
                .collect();
            format!(
                "{} {name}@[{}] {} (+{} children)",
                d["mode"].as_str().expect("mode"),
                truth.tags_on(name, &digest).join(","),
                tags.join(","),
                d["children"].as_array().map_or(0, Vec::len)
            )
        })
        .collect();
    out.sort();
    out
}

/// The verdict of every tag in a cleanup plan's `repositories[].decisions[]`:
/// `(repository, tag) -> (verdict, reason)`.
pub fn decisions(plan: &Value) -> BTreeMap<(String, String), (String, String)> {
    let mut out = BTreeMap::new();
    for r in plan["repositories"].as_array().expect("repositories[]") {
        let name = r["repository"].as_str().expect("repository");
        for d in r["decisions"].as_array().expect("decisions[]") {
            out.insert(
                (
                    name.to_string(),
                    d["tag"].as_str().expect("tag").to_string(),
                ),
                (
                    d["verdict"].as_str().expect("verdict").to_string(),
                    d["reason"].as_str().expect("reason").to_string(),
                ),
            );
        }
    }
    out
}
