//! What `regatta cp` asks the destination before it writes, counted from a real registry's
//! access log (Distribution 2.8): the tags of a repository that receives several images are
//! listed once instead of asked for one by one, a repository that does not exist yet is not
//! asked for manifests, and the blobs are still asked for one by one, since a repository
//! without tags may hold blobs (a copy killed before its first tag) that must not move twice:
//! with HEAD in a dry run, with a mount into the repository from itself when applying (201:
//! it has the blob; 202: the upload of the missing blob, which its bytes then go into).

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

/// `(digest, status)` of each mount into `repo` from `repo` itself in `log`.
fn self_mounts(log: &[AccessLogEntry], repo: &str) -> Vec<(String, u16)> {
    let decode = |v: &str| v.replace("%3A", ":").replace("%2F", "/");
    log.iter()
        .filter(|e| e.method == "POST")
        .filter(|e| e.target.starts_with(&format!("/v2/{repo}/blobs/uploads/?")))
        .filter_map(|e| {
            let query = e.target.split_once('?')?.1;
            let value = |key: &str| {
                query
                    .split('&')
                    .find_map(|p| p.strip_prefix(key))
                    .map(decode)
            };
            let mounted = value("mount=")?;
            (value("from=")? == repo).then_some((mounted, e.status))
        })
        .collect()
}

/// Upload sessions started by a POST that mounts nothing.
fn plain_upload_posts(log: &[AccessLogEntry]) -> usize {
    log.iter()
        .filter(|e| e.method == "POST" && e.target.contains("/blobs/uploads/"))
        .filter(|e| !e.target.contains("mount="))
        .count()
}

fn blob_heads(log: &[AccessLogEntry]) -> usize {
    log.iter()
        .filter(|e| e.method == "HEAD" && e.target.contains("/blobs/"))
        .count()
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
    let needed: BTreeSet<&Digest> = one.blobs.keys().chain(two.blobs.keys()).collect();
    let expected: BTreeSet<String> = two
        .blobs
        .keys()
        .filter(|d| !one.blobs.contains_key(d))
        .map(|d| d.as_str().to_string())
        .collect();

    // A dry run asks for every blob with HEAD and writes nothing.
    let run = sandbox.run(&["cp", &src, &dst, "--all-tags", "--json"]);
    let dry = run.ok().json();
    let asked = destination.access_log_since(before.len() + 1);
    assert_eq!(blob_heads(&asked), needed.len(), "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|e| e.method == "GET" || e.method == "HEAD"),
        "the dry run wrote: {asked:?}"
    );
    let bytes_lacked: u64 = two
        .blobs
        .iter()
        .filter(|(d, _)| !one.blobs.contains_key(d))
        .map(|(_, size)| size)
        .sum();
    assert_eq!(
        dry["plan"]["totals"]["blobs_transferred"],
        expected.len(),
        "{dry}"
    );

    let so_far = destination.access_log_since(0).len() + 1;
    let run = sandbox.run(&["cp", &src, &dst, "--all-tags", "--apply", "--json"]);
    let report = run.ok().json();
    let first = destination.access_log_since(so_far);
    let lists = first
        .iter()
        .filter(|e| e.kind() == Logged::TagList && e.target.starts_with("/v2/team/multi/"))
        .count();
    assert_eq!(lists, 1, "{first:?}");
    assert_eq!(head_manifests(&first), Vec::<&str>::new());
    // Every blob was asked for once, by a mount from the repository itself instead of a
    // HEAD: 201 for 1.0's, which are there, 202 for 2.0's own, whose uploads those answers
    // opened (no other POST started one). None of 1.0's moved again: only 2.0's own.
    assert_eq!(blob_heads(&first), 0, "{first:?}");
    let mounts = self_mounts(&first, "team/multi");
    assert_eq!(mounts.len(), needed.len(), "{first:?}");
    let asked: BTreeSet<&str> = mounts.iter().map(|(d, _)| d.as_str()).collect();
    let needed_names: BTreeSet<&str> = needed.iter().map(|d| d.as_str()).collect();
    assert_eq!(asked, needed_names);
    for (digest, status) in &mounts {
        let lacked = expected.contains(digest);
        assert_eq!(*status, if lacked { 202 } else { 201 }, "{digest}");
    }
    assert_eq!(plain_upload_posts(&first), 0, "{first:?}");
    assert_eq!(uploaded(&first), expected);
    // The plan printed before anything moved says what moved.
    assert_eq!(report["plan"]["totals"]["blobs_to_ask"], 0, "{report}");
    assert_eq!(
        report["plan"]["totals"]["blobs_transferred"],
        expected.len(),
        "{report}"
    );
    assert_eq!(
        report["plan"]["totals"]["blobs_present"],
        needed.len() - expected.len(),
        "{report}"
    );
    assert_eq!(
        report["outcome"]["bytes_transferred"], bytes_lacked,
        "{report}"
    );
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

/// A blob the registry stores for another repository only is not in the repository: the
/// mount from the repository itself answers 202 and the bytes move, into the upload that
/// answer opened, as a HEAD there (404) would have had them move.
#[tokio::test]
async fn a_blob_stored_for_another_repository_only_is_sent_into_the_upload_the_question_opened() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let v1 = truth.tagged("team/app", "v1");
    let v2 = truth.tagged("team/app", "v2");
    let first = format!("{}/team/app:v1", source.addr());
    sandbox
        .run(&[
            "cp",
            &first,
            &format!("{}/team/one", destination.addr()),
            "--apply",
        ])
        .ok();
    let so_far = destination.access_log_since(0).len() + 1;

    let second = format!("{}/team/app:v2", source.addr());
    let run = sandbox.run(&[
        "cp",
        &second,
        &format!("{}/team/two", destination.addr()),
        "--apply",
        "--json",
    ]);
    let report = run.ok().json();
    let log = destination.access_log_since(so_far);
    let mounts = self_mounts(&log, "team/two");
    let shared: Vec<&Digest> = v2
        .blobs
        .keys()
        .filter(|d| v1.blobs.contains_key(d))
        .collect();
    assert!(!shared.is_empty(), "v1 and v2 share a base layer");
    for digest in &shared {
        assert!(
            mounts.contains(&(digest.as_str().to_string(), 202)),
            "{digest}: {mounts:?}"
        );
    }
    assert!(
        mounts.iter().all(|(_, status)| *status == 202),
        "{mounts:?}"
    );
    assert_eq!(mounts.len(), v2.blobs.len(), "{log:?}");
    assert_eq!(plain_upload_posts(&log), 0, "{log:?}");
    let all: BTreeSet<String> = v2.blobs.keys().map(|d| d.as_str().to_string()).collect();
    assert_eq!(uploaded(&log), all);
    assert_eq!(
        report["outcome"]["bytes_transferred"],
        v2.blobs.values().sum::<u64>(),
        "{report}"
    );
    let head = destination
        .client()
        .head_manifest(&repo("team/two"), &ManifestRef::Tag(tag("v2")))
        .await
        .expect("the tag is there");
    assert_eq!(head.digest, v2.digest);
}
