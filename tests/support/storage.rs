//! The storage fixture, and the storage numbers computed from its ground truth alone (never
//! through `regatta::analysis`), so tests can hold `regatta du` and `bytes_freed` against
//! numbers that were worked out another way.
//!
//! | repository | what it holds |
//! |---|---|
//! | `team/app` | OCI images `v1`, `v2` = `latest` = `stable`, `v3` (base + runtime layers shared) |
//! | `mirror/app` | `v1`: the very manifest of `team/app:v1` (same digest, another repository) |
//! | `team/other` | Docker images `1.0`, `1.1` = `latest` (base layer shared) |
//! | `team/worker` | OCI image `w1` (base + runtime shared) |
//! | `lib/multi` | OCI indexes `1.0` and `1.1` = `latest` sharing their arm64 child; `1.1-amd64` tags the amd64 child of `1.1` |
//! | `tools/builder` | a Docker manifest list `2024.06` = `latest`, its arm64 child sharing the arm64 base layer with `lib/multi` |
//!
//! No manifest is left untagged (every manifest is tagged or a child of a tagged index), so
//! what the API shows is everything the blob store holds and the predictions are exact.

use std::collections::{BTreeMap, BTreeSet};

use regatta::registry::Digest;

use super::fixtures::FixtureBuilder;
use super::image::{Format, ImageSpec, Layer};
use super::truth::Fixture;

pub const APP: &str = "team/app";
pub const MIRROR: &str = "mirror/app";
pub const OTHER: &str = "team/other";
pub const WORKER: &str = "team/worker";
pub const MULTI: &str = "lib/multi";
pub const BUILDER: &str = "tools/builder";

/// The storage fixture (see the module docs).
pub fn storage_fixture() -> FixtureBuilder {
    let base = Layer::random("storage-base-amd64", 20 * 1024);
    let arm_base = Layer::random("storage-base-arm64", 18 * 1024);
    let runtime = Layer::random("storage-runtime", 10 * 1024);
    let mut b = FixtureBuilder::new();

    let app = |version: &str, created: &str| {
        ImageSpec::new(
            Format::Oci,
            vec![
                base.clone(),
                runtime.clone(),
                Layer::random(&format!("storage-app-{version}"), 4 * 1024),
            ],
        )
        .created(created)
        .label("org.opencontainers.image.version", version)
    };
    b.image(APP, &["v1"], app("1", "2024-01-01T00:00:00Z"));
    b.image(
        APP,
        &["v2", "latest", "stable"],
        app("2", "2024-02-01T00:00:00Z"),
    );
    b.image(APP, &["v3"], app("3", "2024-03-01T00:00:00Z"));
    b.image(MIRROR, &["v1"], app("1", "2024-01-01T00:00:00Z"));

    let other = |version: &str| {
        ImageSpec::new(
            Format::Docker,
            vec![
                base.clone(),
                Layer::random(&format!("storage-other-{version}"), 3 * 1024),
            ],
        )
    };
    b.image(OTHER, &["1.0"], other("1.0"));
    b.image(OTHER, &["1.1", "latest"], other("1.1"));

    b.image(
        WORKER,
        &["w1"],
        ImageSpec::new(
            Format::Oci,
            vec![
                base.clone(),
                runtime.clone(),
                Layer::random("storage-worker-1", 5 * 1024),
            ],
        ),
    );

    let multi_arm64 = ImageSpec::new(
        Format::Oci,
        vec![
            arm_base.clone(),
            Layer::random("storage-multi-arm64", 3 * 1024),
        ],
    )
    .platform("linux", "arm64", Some("v8"));
    let multi_amd64 = |version: &str| {
        ImageSpec::new(
            Format::Oci,
            vec![
                base.clone(),
                Layer::random(&format!("storage-multi-amd64-{version}"), 3 * 1024),
            ],
        )
    };
    b.index(
        MULTI,
        &["1.0"],
        Format::Oci,
        vec![multi_amd64("1.0"), multi_arm64.clone()],
    );
    b.index(
        MULTI,
        &["1.1", "latest"],
        Format::Oci,
        vec![multi_amd64("1.1"), multi_arm64],
    );
    // The same manifest as the amd64 child of 1.1, tagged on its own as well.
    b.image(MULTI, &["1.1-amd64"], multi_amd64("1.1"));

    b.index(
        BUILDER,
        &["2024.06", "latest"],
        Format::Docker,
        vec![
            ImageSpec::new(
                Format::Docker,
                vec![base, Layer::random("storage-builder-amd64", 6 * 1024)],
            ),
            ImageSpec::new(
                Format::Docker,
                vec![arm_base, Layer::random("storage-builder-arm64", 5 * 1024)],
            )
            .platform("linux", "arm64", Some("v8")),
        ],
    );
    b
}

/// Adds to `out` every blob the manifest `digest` of `repo` keeps alive: its own document and,
/// for an image, its config and layers; for an index, its children and theirs.
fn keep_alive(fixture: &Fixture, repo: &str, digest: &Digest, out: &mut BTreeMap<Digest, u64>) {
    let m = fixture.manifest(repo, digest);
    out.insert(m.digest.clone(), m.manifest_size);
    if m.is_index {
        for (child, _) in &m.children {
            keep_alive(fixture, repo, child, out);
        }
    } else {
        out.extend(m.blobs.iter().map(|(d, s)| (d.clone(), *s)));
    }
}

/// Blobs (manifests included) the tags of `repo` keep alive: digest -> size.
pub fn live_blobs(fixture: &Fixture, repo: &str) -> BTreeMap<Digest, u64> {
    let mut out = BTreeMap::new();
    for digest in fixture.repo(repo).tags.values() {
        keep_alive(fixture, repo, digest, &mut out);
    }
    out
}

/// Blobs the tags of every repository keep alive: what garbage collection leaves.
pub fn live_everywhere(fixture: &Fixture) -> BTreeMap<Digest, u64> {
    let mut out = BTreeMap::new();
    for repo in fixture.repos.keys() {
        out.extend(live_blobs(fixture, repo));
    }
    out
}

/// One repository's numbers, as the README defines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoNumbers {
    pub tags: u64,
    pub logical_bytes: u64,
    pub stored_bytes: u64,
    pub unique_bytes: u64,
    pub shared_bytes: u64,
}

/// Every repository's numbers, by name.
pub fn repo_numbers(fixture: &Fixture) -> BTreeMap<String, RepoNumbers> {
    let live: BTreeMap<&String, BTreeMap<Digest, u64>> = fixture
        .repos
        .keys()
        .map(|r| (r, live_blobs(fixture, r)))
        .collect();
    live.iter()
        .map(|(name, blobs)| {
            let held_elsewhere = |d: &Digest| {
                live.iter()
                    .any(|(other, theirs)| other != name && theirs.contains_key(d))
            };
            let stored: u64 = blobs.values().sum();
            let unique: u64 = blobs
                .iter()
                .filter(|(d, _)| !held_elsewhere(d))
                .map(|(_, s)| s)
                .sum();
            let repo = fixture.repo(name);
            let numbers = RepoNumbers {
                tags: repo.tags.len() as u64,
                logical_bytes: repo.tags.values().map(|d| repo.manifests[d].size).sum(),
                stored_bytes: stored,
                unique_bytes: unique,
                shared_bytes: stored - unique,
            };
            ((*name).clone(), numbers)
        })
        .collect()
}

/// What deleting a selection of tags by digest (with the cascade to index children that
/// nothing else references) does, worked out on the ground truth.
#[derive(Debug, Clone)]
pub struct Deletion {
    /// Manifests deleted, per repository: the selected tags' digests and the orphaned children.
    pub manifests: BTreeMap<String, BTreeSet<Digest>>,
    /// Tags that go though they were not selected (same digest as a selected one).
    pub widened: BTreeMap<String, BTreeSet<String>>,
    /// The fixture afterwards.
    pub after: Fixture,
    /// Bytes garbage collection removes afterwards.
    pub bytes_freed: u64,
}

/// Deletes `selection` (`(repository, tag)`) from a copy of the truth: each tag's manifest
/// goes with every tag on it, then every manifest nothing tags and no index lists, until none
/// is left (the children of a deleted index, unless another index or a tag holds them).
pub fn delete(fixture: &Fixture, selection: &[(&str, &str)]) -> Deletion {
    let mut after = fixture.clone();
    let mut manifests: BTreeMap<String, BTreeSet<Digest>> = BTreeMap::new();
    let mut widened: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let selected: BTreeSet<(&str, &str)> = selection.iter().copied().collect();
    for (repo, tag) in selection {
        let digest = fixture.repo(repo).tags[*tag].clone();
        for alias in fixture.tags_on(repo, &digest) {
            if !selected.contains(&(*repo, alias.as_str())) {
                widened.entry(repo.to_string()).or_default().insert(alias);
            }
        }
        if manifests
            .entry(repo.to_string())
            .or_default()
            .insert(digest.clone())
        {
            after.remove_manifest(repo, &digest);
        }
    }
    loop {
        let orphans: Vec<(String, Digest)> = after
            .repos
            .keys()
            .flat_map(|r| {
                after
                    .untagged(r)
                    .into_iter()
                    .map(|m| (r.clone(), m.digest.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        if orphans.is_empty() {
            break;
        }
        for (repo, digest) in orphans {
            after.remove_manifest(&repo, &digest);
            manifests.entry(repo).or_default().insert(digest);
        }
    }
    let before: u64 = live_everywhere(fixture).values().sum();
    let remaining: u64 = live_everywhere(&after).values().sum();
    Deletion {
        manifests,
        widened,
        after,
        bytes_freed: before - remaining,
    }
}

/// The fewest requests a scan of `fixture` can make: the catalog pages, one tag list per
/// repository, one HEAD per tag, one GET per distinct manifest and per distinct config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinimumRequests {
    pub catalog_pages: u64,
    pub tag_lists: u64,
    pub manifest_heads: u64,
    pub manifest_gets: u64,
    pub config_gets: u64,
}

impl MinimumRequests {
    /// For a catalog read in pages of `page_size` (Distribution sends a next link only when a
    /// page is full and more follow, so `repos / page_size` rounded up, at least one).
    pub fn of(fixture: &Fixture, page_size: usize) -> Self {
        let repos = fixture.repos.len();
        let manifests: BTreeSet<&Digest> = fixture
            .repos
            .values()
            .flat_map(|r| r.manifests.keys())
            .collect();
        let configs: BTreeSet<&Digest> = fixture
            .repos
            .values()
            .flat_map(|r| r.manifests.values().filter_map(|m| m.config.as_ref()))
            .collect();
        Self {
            catalog_pages: repos.div_ceil(page_size).max(1) as u64,
            tag_lists: repos as u64,
            manifest_heads: fixture.repos.values().map(|r| r.tags.len() as u64).sum(),
            manifest_gets: manifests.len() as u64,
            config_gets: configs.len() as u64,
        }
    }

    pub fn total(&self) -> u64 {
        self.catalog_pages
            + self.tag_lists
            + self.manifest_heads
            + self.manifest_gets
            + self.config_gets
    }
}
