//! What `regatta cp` asks the destination before it writes, counted from a real registry's
//! access log (Distribution 2.8): the tags of a repository that receives several images are
//! listed once instead of asked for one by one, a repository that does not exist yet is not
//! asked for manifests, and the blobs are still asked for one by one, since a repository
//! without tags may hold blobs (a copy killed before its first tag) that must not move twice.

mod support;

use std::collections::BTreeSet;

use regatta::registry::{Digest, ManifestRef, RegistryError};
use support::cli::Sandbox;
use support::copy::{copy_fixture, every_tag_complete, is_blob_upload};
use support::registry::{AccessLogEntry, Logged, RegistryOptions, TestRegistry};
use support::truth::{repo, tag};

fn logged() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

/// The digests of the completed blob uploads in `log`.
fn uploaded(log: &[AccessLogEntry]) -> BTreeSet<String> {
    log.iter()
        .filter(|e| is_blob_upload(e) && e.status == 201)
        .filter_map(|e| e.target.split("digest=").nth(1))
        .map(|d| d.replace("%3A", ":"))
        .collect()
}

fn head_manifests(log: &[AccessLogEntry]) -> Vec<&str> {
    log.iter()
        .filter(|e| e.kind() == Logged::ManifestHead)
        .map(|e| e.target.as_str())
        .collect()
}

#[tokio::test]
async fn the_tags_of_a_repository_are_listed_once_and_its_blobs_still_asked_for_one_by_one() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let (one, two) = (
        truth.tagged("team/multi", "1.0"),
        truth.tagged("team/multi", "2.0"),
    );
    let dst = format!("{}/team/multi", destination.addr());

    // 1.0 copied by digest: its manifests and blobs are there, and no tag is, so the
    // registry does not know the repository (NAME_UNKNOWN) although it holds them.
    let by_digest = format!("{}/team/multi@{}", source.addr(), one.digest);
    sandbox.run(&["cp", &by_digest, &dst, "--apply"]).ok();
    let listed = destination.client().tags(&repo("team/multi")).await;
    assert!(
        matches!(listed, Err(RegistryError::NotFound { .. })),
        "{listed:?}"
    );
    let before = destination.access_log_since(0);

    let src = format!("{}/team/multi", source.addr());
    let run = sandbox.run(&["cp", &src, &dst, "--all-tags", "--apply", "--json"]);
    let report = run.ok().json();
    let first = destination.access_log_since(before.len() + 1);
    let lists = first
        .iter()
        .filter(|e| e.kind() == Logged::TagList && e.target.starts_with("/v2/team/multi/"))
        .count();
    assert_eq!(lists, 1, "{first:?}");
    assert_eq!(head_manifests(&first), Vec::<&str>::new());
    // Every blob was asked for (HEAD), and none of 1.0's moved again: only 2.0's own.
    let needed: BTreeSet<&Digest> = one.blobs.keys().chain(two.blobs.keys()).collect();
    let heads = first
        .iter()
        .filter(|e| e.method == "HEAD" && e.target.contains("/blobs/"))
        .count();
    assert_eq!(heads, needed.len(), "{first:?}");
    let expected: BTreeSet<String> = two
        .blobs
        .keys()
        .filter(|d| !one.blobs.contains_key(d))
        .map(|d| d.as_str().to_string())
        .collect();
    assert_eq!(uploaded(&first), expected);
    assert_eq!(report["outcome"]["tags_set"], 2, "{report}");
    for (t, truth) in [("1.0", one), ("2.0", two)] {
        let head = destination
            .client()
            .head_manifest(&repo("team/multi"), &ManifestRef::Tag(tag(t)))
            .await
            .expect("the tag is there");
        assert_eq!(head.digest, truth.digest, "{t}");
    }
    assert_eq!(every_tag_complete(&destination.client()).await, Ok(2));

    // Again: the tags are listed and each is asked for its digest (unchanged), which says
    // its manifests are there; nothing is asked by digest and nothing is written.
    let so_far = destination.access_log_since(0).len() + 1;
    let run = sandbox.run(&["cp", &src, &dst, "--all-tags", "--apply", "--json"]);
    let report = run.ok().json();
    let second = destination.access_log_since(so_far);
    assert_eq!(report["plan"]["totals"]["manifests_to_push"], 0, "{report}");
    assert_eq!(report["plan"]["totals"]["tags_to_set"], 0, "{report}");
    let heads = head_manifests(&second);
    assert_eq!(heads.len(), 2, "{second:?}");
    assert!(heads.iter().all(|t| !t.contains("sha256")), "{heads:?}");
    assert!(
        second
            .iter()
            .all(|e| e.method == "GET" || e.method == "HEAD"),
        "the second run wrote: {second:?}"
    );
}
