//! The JSON shape of plans and apply reports: `--json` prints these as they are, so scripts
//! depend on every field name.

use serde_json::json;

use super::execute::{ApplyReport, Outcome, StepResult};
use super::plan::{Mode, plan_cleanup, plan_rm};
use super::policy::{Order, Policy, PolicySpec, UnknownDate};
use crate::analysis::freed::PREDICTION_NOTE;
use crate::analysis::model::{ConfigInfo, ManifestBody, ManifestInfo, ScanEvent, StorageModel};
use crate::registry::{Digest, RepoName, Tag};

fn d(n: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
}

fn ds(n: u8) -> String {
    d(n).to_string()
}

fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap()
}

fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap()
}

/// An image manifest `digest` with config `config` (created `created`) and one layer.
fn image(m: &mut StorageModel, digest: u8, config: u8, layer: (u8, u64), created: &str) {
    m.apply(ScanEvent::Manifest {
        digest: d(digest),
        info: ManifestInfo {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            doc_size: 100,
            subject: None,
            kind: crate::analysis::artifact::ArtifactKind::Image,
            body: ManifestBody::Image {
                config: (d(config), 10),
                layers: vec![(d(layer.0), layer.1)],
                platform: None,
            },
        },
    });
    m.apply(ScanEvent::Config {
        digest: d(config),
        info: ConfigInfo {
            created: Some(created.parse().unwrap()),
            platform: None,
        },
    });
}

fn tagged(m: &mut StorageModel, r: &str, tags: &[(&str, u8)]) {
    m.apply(ScanEvent::Tags {
        repo: repo(r),
        tags: tags.iter().map(|(t, _)| tag(t)).collect(),
    });
    for (t, digest) in tags {
        m.apply(ScanEvent::Resolved {
            repo: repo(r),
            tag: tag(t),
            digest: d(*digest),
        });
    }
}

/// `app`: `old` (2024-01), `new` = `latest` (2024-06); `multi`: `v1`, an index of 21 and 22.
fn model() -> StorageModel {
    let mut m = StorageModel::default();
    image(&mut m, 1, 2, (3, 1000), "2024-01-01T00:00:00Z");
    image(&mut m, 4, 5, (6, 2000), "2024-06-01T00:00:00Z");
    image(&mut m, 21, 23, (24, 400), "2024-02-01T00:00:00Z");
    image(&mut m, 22, 25, (26, 500), "2024-02-01T00:00:00Z");
    m.apply(ScanEvent::Manifest {
        digest: d(20),
        info: ManifestInfo {
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            doc_size: 300,
            subject: None,
            kind: crate::analysis::artifact::ArtifactKind::Index,
            body: ManifestBody::Index {
                children: vec![d(21), d(22)],
            },
        },
    });
    tagged(&mut m, "app", &[("old", 1), ("new", 4), ("latest", 4)]);
    tagged(&mut m, "multi", &[("v1", 20)]);
    m
}

#[test]
fn an_rm_plan_serializes_deletions_with_aliases_children_and_bytes_freed() {
    let plan = plan_rm(
        &model(),
        &[
            (repo("app"), tag("new")),
            (repo("multi"), tag("v1")),
            (repo("app"), tag("nope")),
        ],
        Mode::Delete,
    );
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        json!({
            "deletions": [
                {
                    "repository": "app",
                    "digest": ds(4),
                    "mode": "delete",
                    "tags": ["latest", "new"],
                    "widened": ["latest"],
                    "children": [],
                    "reason": "requested",
                },
                {
                    "repository": "multi",
                    "digest": ds(20),
                    "mode": "delete",
                    "tags": ["v1"],
                    "widened": [],
                    "children": [ds(21), ds(22)],
                    "reason": "requested",
                },
            ],
            "unknown": ["app:nope"],
            // app: manifest 100 + config 10 + layer 2000; multi: index 300, and per child
            // 100 + 10 + its layer.
            "bytes_freed": 2110 + 300 + 510 + 610,
            "note": PREDICTION_NOTE,
        })
    );
}

#[test]
fn an_untag_plan_frees_nothing_and_names_only_the_tag() {
    let plan = plan_rm(&model(), &[(repo("app"), tag("latest"))], Mode::Untag);
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        json!({
            "deletions": [{
                "repository": "app",
                "digest": ds(4),
                "mode": "untag",
                "tags": ["latest"],
                "widened": [],
                "children": [],
                "reason": "requested",
            }],
            "bytes_freed": 0,
            "note": PREDICTION_NOTE,
        })
    );
}

#[test]
fn a_cleanup_plan_has_every_decision_per_repository() {
    let policy = Policy::compile(PolicySpec {
        keep_last: Some(1),
        sort: Order::Date,
        unknown_date: UnknownDate::Keep,
        repositories: vec!["app".into()],
        ..Default::default()
    })
    .unwrap();
    let now = "2025-01-01T00:00:00Z".parse().unwrap();
    let plan = plan_cleanup(&model(), &[("weekly".into(), policy)], now);
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        json!({
            "deletions": [{
                "repository": "app",
                "digest": ds(1),
                "mode": "delete",
                "tags": ["old"],
                "widened": [],
                "children": [],
                "reason": "not among the newest 1",
            }, {
                "repository": "app",
                "digest": ds(4),
                "mode": "untag",
                "tags": ["new"],
                "widened": [],
                "children": [],
                "reason": "not among the newest 1; untag only: its digest is still needed by kept tag latest",
            }],
            "repositories": [{
                "repository": "app",
                "policy": "weekly",
                "kept": 1,
                "deleted": 1,
                "untagged": 1,
                "decisions": [
                    { "tag": "latest", "digest": ds(4), "verdict": "keep", "reason": "among the newest 1" },
                    { "tag": "new", "digest": ds(4), "verdict": "untag", "reason": "not among the newest 1; untag only: its digest is still needed by kept tag latest" },
                    { "tag": "old", "digest": ds(1), "verdict": "delete", "reason": "not among the newest 1" },
                ],
            }],
            "bytes_freed": 1110,
            "note": PREDICTION_NOTE,
        })
    );
}

#[test]
fn an_apply_report_flattens_each_step_and_tags_its_outcome() {
    let plan = plan_rm(&model(), &[(repo("app"), tag("old"))], Mode::Delete);
    let step = plan.deletions[0].clone();
    let report = ApplyReport {
        steps: vec![
            StepResult {
                step: step.clone(),
                outcome: Outcome::Done,
                backup: Some("20250101T000000-010101010101-abcd".into()),
            },
            StepResult {
                step,
                outcome: Outcome::Skipped("tag old moved".into()),
                backup: None,
            },
        ],
        cancelled: false,
        stopped: None,
    };
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(
        value["steps"][0],
        json!({
            "repository": "app",
            "digest": ds(1),
            "mode": "delete",
            "tags": ["old"],
            "widened": [],
            "children": [],
            "reason": "requested",
            "outcome": { "result": "done" },
            "backup": "20250101T000000-010101010101-abcd",
        })
    );
    assert_eq!(
        value["steps"][1]["outcome"],
        json!({ "result": "skipped", "detail": "tag old moved" })
    );
    assert_eq!(value["cancelled"], false);
    assert!(value.get("stopped").is_none(), "{value}");
}

#[test]
fn a_plan_is_complete_only_where_every_repository_it_touches_was_scanned_completely() {
    let mut m = model();
    let plan = plan_rm(&m, &[(repo("app"), tag("new"))], Mode::Delete);
    assert_eq!(plan.check_complete(&m), Ok(()));
    // A failure elsewhere does not concern the plan.
    m.apply(ScanEvent::Failed {
        repo: Some(repo("multi")),
        what: "multi:v2".into(),
        error: "HTTP 500".into(),
    });
    assert_eq!(plan.check_complete(&m), Ok(()));
    // A tag of app that was listed but not resolved (no failure recorded) is a problem.
    m.apply(ScanEvent::Tags {
        repo: repo("app"),
        tags: vec![tag("hidden")],
    });
    let refusal = plan.check_complete(&m).unwrap_err();
    assert_eq!(refusal.repositories.len(), 1);
    assert_eq!(refusal.repositories[0].repository, repo("app"));
    assert_eq!(
        refusal.repositories[0].problems,
        ["app:hidden was not resolved"]
    );
    // A failure in app is named as the scan reported it.
    m.apply(ScanEvent::Failed {
        repo: Some(repo("app")),
        what: "app:hidden".into(),
        error: "HTTP 500".into(),
    });
    let text = plan.check_complete(&m).unwrap_err().to_string();
    assert!(
        text.starts_with(
            "refusing to apply: the scan did not see all of app (app:hidden: HTTP 500)"
        ),
        "{text}"
    );
    // A repository named but absent from a complete catalog has nothing to miss.
    let plan = plan_rm(&model(), &[(repo("nope"), tag("x"))], Mode::Delete);
    assert_eq!(plan.check_complete(&model()), Ok(()));
}

/// A model where `app` has `n_app` tags on one image and `lib` `n_lib` tags on another.
fn many_tags(n_app: usize, n_lib: usize) -> StorageModel {
    let mut m = StorageModel::default();
    image(&mut m, 1, 2, (3, 1000), "2024-01-01T00:00:00Z");
    image(&mut m, 4, 5, (6, 1000), "2024-01-01T00:00:00Z");
    for (r, n, digest) in [("app", n_app, 1), ("lib", n_lib, 4)] {
        let names: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let tags: Vec<(&str, u8)> = names.iter().map(|t| (t.as_str(), digest)).collect();
        tagged(&mut m, r, &tags);
    }
    m
}

#[test]
fn the_confirmation_word_is_yes_or_for_many_tags_of_one_repository_its_name() {
    let both = [(repo("app"), tag("t0")), (repo("lib"), tag("t0"))];
    // Ten tags: `yes`, and a key may stand for it.
    let plan = plan_rm(&many_tags(10, 1), &both[..1], Mode::Delete);
    assert_eq!(plan.tag_count(), 10);
    assert_eq!(plan.confirmation_word(), "yes");
    assert!(!plan.name_must_be_typed());
    assert!(plan.confirmed_by("yes\n") && plan.confirmed_by("  yes "));
    assert!(!plan.confirmed_by("y") && !plan.confirmed_by("app") && !plan.confirmed_by(""));

    // Eleven tags of one repository: its name, and only its name.
    let plan = plan_rm(&many_tags(11, 1), &both[..1], Mode::Delete);
    assert_eq!(plan.tag_count(), 11);
    assert_eq!(plan.confirmation_word(), "app");
    assert!(plan.name_must_be_typed());
    assert!(plan.confirmed_by("app\n"));
    assert!(!plan.confirmed_by("yes") && !plan.confirmed_by("ap") && !plan.confirmed_by("App"));

    // Many tags over two repositories: no one name to type, so `yes`, typed out.
    let plan = plan_rm(&many_tags(6, 6), &both, Mode::Delete);
    assert_eq!(plan.tag_count(), 12);
    assert_eq!(plan.confirmation_word(), "yes");
    assert!(plan.name_must_be_typed());
    assert!(plan.confirmed_by("yes") && !plan.confirmed_by("app"));
}
