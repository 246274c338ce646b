//! `regatta cp` between two real registries (Distribution 2.8), through the built binary: the
//! dry-run plan against the destination's real contents, digests kept for images, Docker
//! manifest lists and OCI indexes, a whole repository, `du` equal on both sides, a second run
//! that uploads nothing (the destination's access log), cross-repository mounts inside one
//! registry, and `--platform`.

mod support;

use std::collections::BTreeMap;

use regatta::registry::{Digest, ManifestRef};
use support::cli::Sandbox;
use support::copy::{copy_fixture, is_blob_upload, is_mount, stored_blobs};
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::{RegistryOptions, TestRegistry};
use support::truth::{Fixture, repo};

fn logged() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

/// The digest `repo:tag` resolves to on `registry`, asked of the registry itself.
async fn digest_of(registry: &TestRegistry, repository: &str, tag: &str) -> Option<Digest> {
    registry
        .client()
        .head_manifest(
            &repo(repository),
            &ManifestRef::Tag(support::truth::tag(tag)),
        )
        .await
        .ok()
        .map(|h| h.digest)
}

/// The blobs an image (or every platform of an index) needs, manifests included, by the
/// ground truth.
fn blobs_with_manifests(truth: &Fixture, repository: &str, tag: &str) -> BTreeMap<Digest, u64> {
    let top = truth.tagged(repository, tag);
    let mut all = top.blobs.clone();
    all.insert(top.digest.clone(), top.manifest_size);
    for (child, _) in &top.children {
        let m = truth.manifest(repository, child);
        all.insert(m.digest.clone(), m.manifest_size);
    }
    all
}

#[tokio::test]
async fn a_dry_run_lists_what_the_destination_lacks_and_copies_nothing() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let v1 = truth.tagged("team/app", "v1");
    let src = format!("{}/team/app:v1", source.addr());
    let dst = format!("{}/mirror/app", destination.addr());

    let run = sandbox.run(&["cp", &src, &dst]);
    run.ok();
    for digest in v1.blobs.keys() {
        assert!(
            run.stdout.contains(&format!("blob {digest}")),
            "{digest} is missing from the plan:\n{}",
            run.stdout
        );
    }
    let moving: u64 = v1.blobs.values().sum::<u64>() + v1.manifest_size;
    assert!(
        run.stdout.contains(&format!("({moving} bytes) to move")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Dry run: nothing was copied"),
        "{}",
        run.stdout
    );

    let plan = sandbox.run(&["cp", &src, &dst, "--json"]).ok().json();
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["plan"]["totals"]["bytes_to_move"], moving);
    assert_eq!(plan["plan"]["totals"]["blobs_transferred"], v1.blobs.len());
    assert_eq!(plan["plan"]["images"][0]["digest"], v1.digest.as_str());
    assert_eq!(plan["plan"]["images"][0]["tag"]["state"], "new");
    // Asked, never written.
    let log = destination.access_log_since(0);
    assert!(
        log.iter()
            .any(|e| e.method == "HEAD" && e.target.contains("/blobs/"))
    );
    assert!(
        log.iter().all(|e| e.method == "GET" || e.method == "HEAD"),
        "a dry run wrote to the destination: {log:?}"
    );
    assert!(stored_blobs(&destination).is_empty());
}

#[tokio::test]
async fn an_image_is_copied_with_its_digest_and_a_second_run_uploads_nothing() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let v1 = truth.tagged("team/app", "v1");
    let src = format!("{}/team/app:v1", source.addr());
    let dst = format!("{}/mirror/app:stable", destination.addr());

    let run = sandbox.run(&["cp", &src, &dst, "--apply"]);
    run.ok();
    assert_eq!(
        digest_of(&destination, "mirror/app", "stable").await,
        Some(v1.digest.clone())
    );
    // The destination's storage holds exactly the image: its blobs and its manifest.
    assert_eq!(
        stored_blobs(&destination),
        blobs_with_manifests(&truth, "team/app", "v1")
    );
    // Each blob's bytes were uploaded once (one PUT each, streamed; no chunks needed).
    let first = destination.access_log_since(0);
    let uploads = first.iter().filter(|e| is_blob_upload(e)).count();
    assert_eq!(uploads, v1.blobs.len(), "{first:?}");

    let again = sandbox.run(&["cp", &src, &dst, "--apply", "--json"]);
    again.ok();
    let report = again.json();
    assert_eq!(report["plan"]["totals"]["blobs_transferred"], 0);
    assert_eq!(report["plan"]["totals"]["manifests_to_push"], 0);
    assert_eq!(report["plan"]["images"][0]["tag"]["state"], "unchanged");
    assert_eq!(report["outcome"]["bytes_transferred"], 0);
    let second = destination.access_log_since(first.len() + 1);
    assert!(
        second
            .iter()
            .all(|e| e.method == "GET" || e.method == "HEAD"),
        "the second run wrote: {second:?}"
    );
}

#[tokio::test]
async fn manifest_lists_and_oci_indexes_are_copied_whole_with_their_digests() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    for tag in ["1.0", "2.0"] {
        let src = format!("{}/team/multi:{tag}", source.addr());
        let dst = format!("{}/team/multi", destination.addr());
        sandbox.run(&["cp", &src, &dst, "--apply"]).ok();
        let index = truth.tagged("team/multi", tag);
        assert!(index.is_index);
        assert_eq!(
            digest_of(&destination, "team/multi", tag).await,
            Some(index.digest.clone()),
            "{tag}"
        );
        // Every platform manifest is there by digest, as the source has it.
        for (child, _) in &index.children {
            let head = destination
                .client()
                .head_manifest(&repo("team/multi"), &ManifestRef::Digest(child.clone()))
                .await
                .expect("the child is on the destination");
            assert_eq!(&head.digest, child);
        }
    }
    let mut expected = blobs_with_manifests(&truth, "team/multi", "1.0");
    expected.extend(blobs_with_manifests(&truth, "team/multi", "2.0"));
    assert_eq!(stored_blobs(&destination), expected);
    // The base layer shared by the four platforms was uploaded once.
    let uploads = destination
        .access_log_since(0)
        .iter()
        .filter(|e| is_blob_upload(e))
        .count();
    let distinct_blobs = expected.len() - 2 - 4; // minus 2 indexes and 4 platform manifests
    assert_eq!(uploads, distinct_blobs);
}

/// `team/app`: an image (v1) and a Docker manifest list under two tags, on one base layer.
fn one_repository() -> FixtureBuilder {
    let base = Layer::random("copy-base", 96 * 1024);
    let mut b = FixtureBuilder::new();
    b.image(
        "team/app",
        &["v1"],
        ImageSpec::new(
            Format::Oci,
            vec![base.clone(), Layer::random("copy-app-v1", 40 * 1024)],
        ),
    );
    let platforms = ["amd64", "arm64"]
        .iter()
        .map(|arch| {
            ImageSpec::new(
                Format::Docker,
                vec![
                    base.clone(),
                    Layer::random(&format!("copy-r-{arch}"), 20 * 1024),
                ],
            )
            .platform("linux", arch, None)
        })
        .collect();
    b.index(
        "team/app",
        &["multi", "also-multi"],
        Format::Docker,
        platforms,
    );
    b
}

#[tokio::test]
async fn a_repository_is_copied_with_every_tag_and_du_agrees_on_both_sides() {
    let source = TestRegistry::start();
    let destination = logged();
    // The source holds only what is copied, so its `du` numbers are the copy's.
    let truth = source.push(&one_repository());
    let sandbox = Sandbox::new();
    let src = format!("{}/team/app", source.addr());
    let dst = format!("{}/team/app", destination.addr());

    let refused = sandbox.run(&["cp", &src, &dst]);
    refused.fails_with_one_line(&["--all-tags"]);

    let report = sandbox
        .run(&["cp", &src, &dst, "--all-tags", "--apply", "--json"])
        .ok()
        .json();
    assert_eq!(report["outcome"]["tags_set"], 3);
    for tag in ["v1", "multi", "also-multi"] {
        assert_eq!(
            digest_of(&destination, "team/app", tag).await,
            Some(truth.tagged("team/app", tag).digest.clone()),
            "{tag}"
        );
    }
    let du = |addr: String| sandbox.run(&["du", &addr, "--json"]).ok().json();
    let (a, b) = (du(source.addr()), du(destination.addr()));
    assert_eq!(a["registry"], b["registry"]);
    assert_eq!(a["repositories"], b["repositories"]);
    assert_eq!(a["repositories"][0]["tags"], 3);
    // The two tags on one index moved its blobs once.
    let uploads = destination
        .access_log_since(0)
        .iter()
        .filter(|e| is_blob_upload(e))
        .count();
    let blobs: std::collections::BTreeSet<&Digest> = truth.repos["team/app"]
        .manifests
        .values()
        .flat_map(|m| m.blobs.keys())
        .collect();
    assert_eq!(uploads, blobs.len());
}

#[tokio::test]
async fn within_one_registry_blobs_are_mounted_not_uploaded() {
    let registry = logged();
    let truth = registry.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let stored_before = stored_blobs(&registry);
    let log_before = registry.access_log_since(0).len();
    let src = format!("{}/team/multi:2.0", registry.addr());
    let dst = format!("{}/mirror/multi", registry.addr());

    let run = sandbox.run(&["cp", &src, &dst, "--apply"]);
    run.ok();
    assert!(
        run.stdout.contains("mount from team/multi"),
        "{}",
        run.stdout
    );
    assert_eq!(
        digest_of(&registry, "mirror/multi", "2.0").await,
        Some(truth.tagged("team/multi", "2.0").digest.clone())
    );
    let log = registry.access_log_since(log_before + 1);
    assert!(log.iter().all(|e| !is_blob_upload(e)), "{log:?}");
    let index = truth.tagged("team/multi", "2.0");
    assert_eq!(
        log.iter().filter(|e| is_mount(e)).count(),
        index.blobs.len()
    );
    // Nothing new is stored: the copy is links to the same blobs and manifests.
    assert_eq!(stored_blobs(&registry), stored_before);
}

#[tokio::test]
async fn one_platform_out_of_an_index_is_copied_and_the_plan_says_the_digest_changes() {
    let source = TestRegistry::start();
    let destination = logged();
    let truth = source.push(&copy_fixture());
    let sandbox = Sandbox::new();
    let index = truth.tagged("team/multi", "2.0");
    let (arm64, _) = index
        .children
        .iter()
        .find(|(_, platform)| platform == "linux/arm64")
        .expect("an arm64 child");
    let src = format!("{}/team/multi:2.0", source.addr());
    let dst = format!("{}/arm/multi", destination.addr());

    let plan = sandbox.run(&["cp", &src, &dst, "--platform", "linux/arm64"]);
    plan.ok();
    assert!(
        plan.stdout
            .contains("platform linux/arm64 picked out of the index")
            && plan.stdout.contains("a different digest"),
        "{}",
        plan.stdout
    );
    sandbox
        .run(&["cp", &src, &dst, "--platform", "linux/arm64", "--apply"])
        .ok();
    assert_eq!(
        digest_of(&destination, "arm/multi", "2.0").await,
        Some(arm64.clone())
    );
    let mut expected = truth.manifest("team/multi", arm64).blobs.clone();
    expected.insert(
        arm64.clone(),
        truth.manifest("team/multi", arm64).manifest_size,
    );
    assert_eq!(stored_blobs(&destination), expected);

    sandbox
        .run(&["cp", &src, &dst, "--platform", "linux/s390x"])
        .fails_with_one_line(&[
            "no manifest for platform linux/s390x",
            "linux/amd64",
            "linux/arm64",
        ]);
}

#[tokio::test]
async fn a_repository_pattern_and_a_whole_registry_are_copied_under_a_new_prefix() {
    let source = TestRegistry::start();
    let destination = logged();
    let mut fixture = copy_fixture();
    fixture.image(
        "other/tool",
        &["1"],
        ImageSpec::new(Format::Oci, vec![Layer::random("copy-other", 10 * 1024)]),
    );
    let truth = source.push(&fixture);
    let sandbox = Sandbox::new();
    let pattern = format!("{}/team/*", source.addr());
    let prefix = format!("{}/mirror/team/", destination.addr());
    sandbox.run(&["cp", &pattern, &prefix, "--apply"]).ok();
    let catalog = sandbox
        .run(&["ls", &destination.addr(), "--json"])
        .ok()
        .json_strings();
    assert_eq!(catalog, ["mirror/team/app", "mirror/team/multi"]);
    for (repository, r) in &truth.repos {
        let Some(rest) = repository.strip_prefix("team/") else {
            continue;
        };
        for (t, digest) in &r.tags {
            assert_eq!(
                digest_of(&destination, &format!("mirror/team/{rest}"), t)
                    .await
                    .as_ref(),
                Some(digest),
                "{repository}:{t}"
            );
        }
    }

    // The whole registry, names kept under `backup/`.
    let everything = sandbox
        .run(&[
            "cp",
            &source.addr(),
            &format!("{}/backup", destination.addr()),
            "--apply",
            "--json",
        ])
        .ok()
        .json();
    let tags: usize = truth.repos.values().map(|r| r.tags.len()).sum();
    assert_eq!(everything["outcome"]["tags_set"], tags);
    for (repository, r) in &truth.repos {
        for (t, digest) in &r.tags {
            assert_eq!(
                digest_of(&destination, &format!("backup/{repository}"), t)
                    .await
                    .as_ref(),
                Some(digest),
                "{repository}:{t}"
            );
        }
    }
    sandbox
        .run(&["cp", &format!("{}/nothing/*", source.addr()), &prefix])
        .fails_with_one_line(&["no repository of", "nothing/*"]);
}

#[tokio::test]
async fn with_referrers_the_signature_tags_of_copied_images_go_along_and_no_others() {
    let source = TestRegistry::start();
    let destination = logged();
    let mut fixture = copy_fixture();
    let before = fixture.truth();
    let v1 = before.tagged("team/app", "v1").digest.clone();
    let v2 = before.tagged("team/app", "v2").digest.clone();
    let signature = |seed: &str| {
        ImageSpec::new(Format::Oci, vec![Layer::text(seed)]).label("kind", "signature")
    };
    let of_v1 = format!("sha256-{}.sig", v1.hex());
    let att_of_v1 = format!("sha256-{}.att", v1.hex());
    let of_v2 = format!("sha256-{}.sig", v2.hex());
    fixture.image("team/app", &[of_v1.as_str()], signature("sig-v1"));
    fixture.image("team/app", &[att_of_v1.as_str()], signature("att-v1"));
    fixture.image("team/app", &[of_v2.as_str()], signature("sig-v2"));
    let truth = source.push(&fixture);
    let sandbox = Sandbox::new();
    let src = format!("{}/team/app:v1", source.addr());
    let dst = format!("{}/signed/app", destination.addr());

    sandbox.run(&["cp", &src, &dst, "--apply"]).ok();
    assert_eq!(digest_of(&destination, "signed/app", &of_v1).await, None);

    sandbox
        .run(&["cp", &src, &dst, "--referrers", "--apply"])
        .ok();
    for t in [&of_v1, &att_of_v1] {
        assert_eq!(
            digest_of(&destination, "signed/app", t).await.as_ref(),
            Some(&truth.tagged("team/app", t).digest),
            "{t}"
        );
    }
    // v2 was not copied: its signature stays behind.
    assert_eq!(digest_of(&destination, "signed/app", &of_v2).await, None);
    let tags = sandbox.run(&["tags", &dst, "--json"]).ok().json_strings();
    assert_eq!(tags.len(), 3, "{tags:?}");
}
