//! The audit over a small hand-built model: every finding, exactly, and the bytes from the
//! same definition as `plan_deletion`.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::report::{FindingKind, build_report};
use super::{AuditSettings, TagKind, subjects_to_check};
use crate::analysis::freed::plan_deletion;
use crate::analysis::model::{ConfigInfo, ManifestBody, ManifestInfo, ScanEvent, StorageModel};
use crate::cleanup::plan::Mode;
use crate::registry::{Digest, RepoName, Tag};

fn d(n: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
}

fn sig(n: u8) -> String {
    format!("sha256-{}.sig", format!("{n:02x}").repeat(32))
}

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn days_ago(days: i64) -> Timestamp {
    Timestamp::from_second(now().as_second() - days * 86_400).unwrap()
}

/// Image `n` with config `n + 100` and layer `n + 200` of `n * 1000` bytes.
fn image(m: &mut StorageModel, n: u8, age_days: Option<i64>) {
    m.apply(ScanEvent::Manifest {
        digest: d(n),
        info: ManifestInfo {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            doc_size: 100,
            subject: None,
            kind: crate::analysis::artifact::ArtifactKind::Image,
            body: ManifestBody::Image {
                config: (d(n + 100), 10),
                layers: vec![(d(n + 200), u64::from(n) * 1000)],
                platform: None,
            },
        },
    });
    m.apply(ScanEvent::Config {
        digest: d(n + 100),
        info: ConfigInfo {
            created: age_days.map(days_ago),
            platform: None,
        },
    });
}

fn tagged(m: &mut StorageModel, repo: &str, tags: &[(&str, u8)]) {
    let repo = RepoName::parse(repo).unwrap();
    m.apply(ScanEvent::Tags {
        repo: repo.clone(),
        tags: tags.iter().map(|(t, _)| Tag::parse(t).unwrap()).collect(),
    });
    for (t, n) in tags {
        m.apply(ScanEvent::Resolved {
            repo: repo.clone(),
            tag: Tag::parse(t).unwrap(),
            digest: d(*n),
        });
    }
}

/// `app`: a release, a drifted `stable` sharing an old commit build, an old PR build (which
/// does not count as a newer image for drift), fresh builds, `latest` on the newest release, a signature of a live image and two of missing
/// ones (one still present untagged). `old`: everything 400 days old.
fn model() -> StorageModel {
    let mut m = StorageModel::default();
    for (n, age) in [
        (1, 200),
        (2, 150),
        (3, 100),
        (4, 10),
        (5, 5),
        (6, 2),
        (10, 400),
    ] {
        image(&mut m, n, Some(age));
    }
    image(&mut m, 7, None);
    image(&mut m, 8, None);
    image(&mut m, 11, None);
    tagged(
        &mut m,
        "app",
        &[
            ("v1.0.0", 1),
            ("sha-abc1234", 2),
            ("stable", 2),
            ("pr-12", 3),
            ("v1.1.0", 4),
            ("latest", 4),
            ("main-0123abc", 5),
            ("sha-fe00001", 6),
            (&sig(4), 7),
            (&sig(9), 8),
            (&sig(12), 11),
        ],
    );
    tagged(&mut m, "old", &[("1.0", 10), ("latest", 10)]);
    m
}

/// The report with default settings and no subject present untagged.
fn default_report() -> super::AuditReport {
    default_report_of(&model())
}

fn default_report_of(model: &StorageModel) -> super::AuditReport {
    build_report(
        model,
        &AuditSettings::default(),
        now(),
        None,
        &BTreeSet::new(),
    )
}

fn app() -> RepoName {
    RepoName::parse("app").unwrap()
}

#[test]
fn every_finding_is_reported_exactly_with_its_bytes() {
    let model = model();
    let settings = AuditSettings::default();
    // Subjects 9 and 12 are unknown to the model; 12 exists untagged.
    let candidates = subjects_to_check(&model, &settings.patterns);
    assert_eq!(candidates, vec![(app(), d(9)), (app(), d(12))]);
    let present = BTreeSet::from([(app(), d(12))]);
    let report = build_report(&model, &settings, now(), None, &present);

    let found: Vec<(FindingKind, &str, Vec<&str>)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.kind,
                f.repository.as_str(),
                f.tags.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let sig9 = sig(9);
    let mut expected = vec![
        (FindingKind::StaleRepository, "old", vec!["1.0", "latest"]),
        (FindingKind::StaleBuilds, "app", vec!["pr-12"]),
        (FindingKind::OrphanedSignatures, "app", vec![sig9.as_str()]),
        (
            FindingKind::FloatingDrift,
            "app",
            vec!["sha-abc1234", "stable"],
        ),
    ];
    expected.sort();
    let mut sorted = found.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    // Largest first, and each priced like a deletion of its tags.
    for pair in report.findings.windows(2) {
        assert!(pair[0].bytes_freed >= pair[1].bytes_freed);
    }
    for f in &report.findings {
        let repo = RepoName::parse(&f.repository).unwrap();
        let selection: Vec<(RepoName, Tag)> = f
            .tags
            .iter()
            .map(|t| (repo.clone(), Tag::parse(t).unwrap()))
            .collect();
        assert_eq!(
            f.bytes_freed,
            plan_deletion(&model, &selection).bytes_freed,
            "{f:?}"
        );
        assert!(f.bytes_freed > 0, "{f:?}");
    }
    let drift = &report.findings[found
        .iter()
        .position(|f| f.0 == FindingKind::FloatingDrift)
        .unwrap()];
    assert!(
        drift
            .detail
            .starts_with("stable points at an image 150 days old, behind 3 newer images"),
        "{}",
        drift.detail
    );
}

#[test]
fn a_repository_of_only_signatures_is_not_judged() {
    let mut m = model();
    image(&mut m, 13, None);
    image(&mut m, 14, None);
    // `sigs` signs app's v1.1.0 and a digest no repository has: it may be untagged anywhere.
    tagged(&mut m, "sigs", &[(&sig(4), 13), (&sig(15), 14)]);
    let settings = AuditSettings::default();
    let sigs = RepoName::parse("sigs").unwrap();
    assert!(
        subjects_to_check(&m, &settings.patterns)
            .iter()
            .all(|(r, _)| *r != sigs)
    );
    let report = build_report(&m, &settings, now(), None, &BTreeSet::new());
    assert!(report.findings.iter().all(|f| f.repository != "sigs"));
}

#[test]
fn reproducible_build_dates_are_unknown_and_unknown_ages_keep_a_repository_alive() {
    let mut m = model();
    // A ko-built image (created 1970-01-01) beside a 400-day-old one.
    image(&mut m, 16, Some(400));
    image(&mut m, 17, None);
    m.apply(ScanEvent::Config {
        digest: d(117),
        info: ConfigInfo {
            created: Some(Timestamp::UNIX_EPOCH),
            platform: None,
        },
    });
    tagged(&mut m, "ko", &[("v1", 16), ("v2", 17)]);
    let report = default_report_of(&m);
    let ko = report.repositories.iter().find(|r| r.name == "ko").unwrap();
    assert_eq!(ko.undated, 1);
    assert_eq!(ko.oldest.as_ref().unwrap().tag, "v1");
    assert!(!ko.stale, "an image of unknown age may be new");
    assert!(report.findings.iter().all(|f| f.repository != "ko"));
}

#[test]
fn ages_compare_in_seconds_not_rounded_days() {
    let mut m = StorageModel::default();
    // 30 days and 23 hours: older than 30 days, though it is 30 whole days old.
    image(&mut m, 1, None);
    m.apply(ScanEvent::Config {
        digest: d(101),
        info: ConfigInfo {
            created: Some(
                Timestamp::from_second(now().as_second() - 30 * 86_400 - 23 * 3_600).unwrap(),
            ),
            platform: None,
        },
    });
    tagged(&mut m, "r", &[("v1", 1)]);
    let report = default_report_of(&m);
    assert_eq!(report.summary.older_than.days_30, 1);
    assert_eq!(report.tags[0].age_days, Some(30));
}

#[test]
fn kinds_ages_aliases_and_repositories() {
    let report = default_report();
    let s = &report.summary;
    assert_eq!((s.repositories, s.tags), (2, 13));
    assert_eq!(s.kinds[&TagKind::Signature], 3);
    assert_eq!(s.kinds[&TagKind::Floating], 3);
    assert_eq!(s.kinds[&TagKind::Release], 3);
    assert_eq!(s.kinds[&TagKind::Commit], 3);
    assert_eq!(s.kinds[&TagKind::Branch], 1);
    assert_eq!(s.kinds[&TagKind::Other], 0);
    // Dated tags: 200, 150 x2, 100, 10 x2, 5, 2 (app) and 400 x2 (old).
    assert_eq!(
        (
            s.older_than.days_30,
            s.older_than.days_90,
            s.older_than.days_365
        ),
        (6, 6, 2)
    );
    let ages: Vec<usize> = s.ages.iter().map(|b| b.tags).collect();
    assert_eq!(ages, vec![2, 2, 0, 4, 2, 3]);
    assert_eq!(s.stale_repositories, 1);

    let groups: Vec<(&str, Vec<&str>, Vec<&str>)> = report
        .alias_groups
        .iter()
        .map(|g| {
            (
                g.repository.as_str(),
                g.tags.iter().map(String::as_str).collect(),
                g.floating.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("app", vec!["sha-abc1234", "stable"], vec!["stable"]),
            ("app", vec!["latest", "v1.1.0"], vec!["latest"]),
            ("old", vec!["1.0", "latest"], vec!["latest"]),
        ]
    );
    let app = &report.repositories[0];
    assert_eq!(app.newest.as_ref().unwrap().tag, "sha-fe00001");
    assert_eq!(app.oldest.as_ref().unwrap().tag, "v1.0.0");
    assert_eq!(app.undated, 3);
    assert!(!app.stale && report.repositories[1].stale);

    // --repo: only the matching repository, same bytes for the same finding.
    let only_old = globset::Glob::new("old").unwrap().compile_matcher();
    let filtered = build_report(
        &model(),
        &AuditSettings::default(),
        now(),
        Some(&only_old),
        &BTreeSet::new(),
    );
    assert_eq!(filtered.repositories.len(), 1);
    assert_eq!(filtered.findings.len(), 1);
    let unfiltered = report
        .findings
        .iter()
        .find(|f| f.repository == "old")
        .unwrap();
    assert_eq!(filtered.findings[0].bytes_freed, unfiltered.bytes_freed);
}

#[test]
fn the_suggested_policy_keeps_releases_floating_tags_and_signatures() {
    let settings = AuditSettings {
        keep_last: 1,
        keep_within: "7d".into(),
        ..AuditSettings::default()
    };
    let model = model();
    let report = build_report(&model, &settings, now(), None, &BTreeSet::new());
    let policy = &report.suggested_policy;
    let plan = policy.plan.as_ref().unwrap();
    let mut deleted: Vec<(&str, &str, Mode)> = plan
        .deletions
        .iter()
        .flat_map(|d| {
            d.tags
                .iter()
                .map(move |t| (d.repository.as_str(), t.as_str(), d.mode))
        })
        .collect();
    deleted.sort_by_key(|(r, t, _)| (*r, *t));
    // pr-12 goes; sha-abc1234 shares its digest with `stable`, so it is only untagged; the
    // newest build and the one within 7 days stay; `old` has no builds.
    assert_eq!(
        deleted,
        vec![
            ("app", "pr-12", Mode::Delete),
            ("app", "sha-abc1234", Mode::Untag)
        ]
    );
    assert_eq!(policy.dry_run.tags_deleted, 1);
    assert_eq!(policy.dry_run.tags_untagged, 1);
    assert_eq!(policy.dry_run.bytes_freed, plan.bytes_freed);
    assert_eq!(policy.spec.protect, vec!["latest", "stable"]);
    // The snippet is a valid config holding the same policy.
    let config =
        crate::config::Config::parse(std::path::Path::new("snippet.toml"), &policy.toml).unwrap();
    let parsed = &config.policies["suggested"];
    assert_eq!(parsed.match_re, policy.spec.match_re);
    assert_eq!(parsed.exclude, policy.spec.exclude);
    assert_eq!(parsed.keep_last, Some(1));
    assert_eq!(parsed.protect, policy.spec.protect);
    assert!(
        policy
            .cleanup_flags
            .contains("--keep-last 1 --keep-within 7d --match '")
    );
}

#[test]
fn the_json_shape_is_stable() {
    let report = default_report();
    let value = serde_json::to_value(&report).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        vec![
            "alias_groups",
            "complete",
            "failures",
            "findings",
            "now",
            "repositories",
            "schema",
            "settings",
            "suggested_policy",
            "summary",
            "tags"
        ]
    );
    assert_eq!(value["schema"], "regatta.audit/v1");
    assert_eq!(value["summary"]["kinds"]["floating"], 3);
    assert_eq!(value["summary"]["ages"][0]["label"], "<7d");
    assert_eq!(value["summary"]["older_than"]["days_365"], 2);
    // With no subject present untagged, both unknown subjects' signatures are orphans, and
    // they free the most.
    assert_eq!(value["findings"][0]["kind"], "orphaned_signatures");
    assert_eq!(value["findings"][0]["tags"].as_array().unwrap().len(), 2);
    assert_eq!(
        value["tags"][0]["tag"], "latest",
        "sorted by repository, then tag"
    );
    assert_eq!(value["tags"][0]["kind"], "floating");
    assert!(value["suggested_policy"]["dry_run"]["bytes_freed"].is_u64());
    assert!(value["suggested_policy"].get("plan").is_none());
    let repo = &value["repositories"][0];
    for key in [
        "name",
        "tags",
        "kinds",
        "older_than",
        "undated",
        "newest",
        "oldest",
        "stale",
    ] {
        assert!(repo.get(key).is_some(), "repositories[].{key}");
    }
    assert_eq!(repo["newest"]["age_days"], 2);
}

#[test]
fn the_suggested_policy_takes_exactly_the_build_kinds_of_every_tag_it_saw() {
    // Releases, variants, pre-releases, a variant that looks like a commit build, CalVer.
    let tags = [
        "1.2.3",
        "3.20-alpine",
        "1.25.3-bookworm",
        "1.2-deadbeef",
        "1.3.0-rc.1",
        "v2.0.0-beta",
        "2024.05.01",
        "2024.10.15",
        "sha-abc1234",
        "pr-7",
        "latest",
        "hello",
    ];
    let mut m = StorageModel::default();
    let mut pairs = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let n = 30 + i as u8;
        image(&mut m, n, Some(400 + i as i64));
        pairs.push((*t, n));
    }
    tagged(&mut m, "r", &pairs);
    let settings = AuditSettings {
        keep_last: 1,
        keep_within: "1d".into(),
        ..AuditSettings::default()
    };
    let report = build_report(&m, &settings, now(), None, &BTreeSet::new());
    let policy =
        crate::cleanup::policy::Policy::compile(report.suggested_policy.spec.clone()).unwrap();
    for t in &report.tags {
        assert_eq!(
            policy.screen(&t.tag).is_none(),
            t.kind.is_build(),
            "{} ({:?})",
            t.tag,
            t.kind
        );
    }
    let plan = report.suggested_policy.plan.as_ref().unwrap();
    let gone: BTreeSet<&str> = plan
        .deletions
        .iter()
        .flat_map(|d| d.tags.iter().map(Tag::as_str))
        .collect();
    // Of the six builds (pre-releases, dates, the commit and the PR build) the newest stays.
    let builds: Vec<&str> = report
        .tags
        .iter()
        .filter(|t| t.kind.is_build())
        .map(|t| t.tag.as_str())
        .collect();
    assert_eq!(builds.len(), 6, "{builds:?}");
    assert_eq!(gone.len(), 5, "{gone:?}");
    assert!(gone.iter().all(|t| builds.contains(t)), "{gone:?}");
}
