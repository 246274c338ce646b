//! Tests of [`super::plan`].

use super::columns::Digests;
use super::plan::*;
use super::text::short_digest;
use crate::analysis::freed::PREDICTION_NOTE;
use crate::cleanup::execute::{ApplyReport, Outcome};
use crate::cleanup::plan::{Mode, Plan, PlannedDeletion, Reason, RepoSummary};
use crate::cleanup::policy::{Decision, Rule, Verdict};
use crate::registry::{Digest, RepoName, Tag};

fn digest(b: &[u8]) -> Digest {
    Digest::sha256_of(b)
}

fn tag(t: &str) -> Tag {
    Tag::parse(t).unwrap()
}

fn repo(r: &str) -> RepoName {
    RepoName::parse(r).unwrap()
}

fn step(mode: Mode, tags: &[&str], widened: &[&str], children: &[&[u8]]) -> PlannedDeletion {
    PlannedDeletion {
        repository: repo("team/app"),
        digest: digest(b"m"),
        mode,
        tags: tags.iter().map(|t| tag(t)).collect(),
        widened: widened.iter().map(|t| tag(t)).collect(),
        children: children.iter().map(|c| digest(c)).collect(),
        reason: Reason::Requested,
    }
}

fn sample_plan() -> Plan {
    Plan {
        deletions: vec![
            step(Mode::Delete, &["latest", "v2"], &["latest"], &[b"a", b"b"]),
            step(Mode::Untag, &["stable"], &[], &[]),
        ],
        repositories: Vec::new(),
        unknown: vec![(repo("team/app"), tag("v9"))],
        bytes_freed: 83_972_559,
        note: PREDICTION_NOTE,
        seen: Default::default(),
        freed: Default::default(),
        blob_backup: None,
    }
}

#[test]
fn a_plan_reads_step_by_step_with_its_total() {
    let m = digest(b"m");
    let (a, b) = (digest(b"a"), digest(b"b"));
    assert_eq!(
        texts(&plan_lines(&sample_plan(), Digests::Full)),
        [
            format!("delete team/app@{m}"),
            "        tags: latest (same digest), v2".to_string(),
            format!("        + 2 platform manifests: {a}, {b}"),
            format!("untag  team/app@{m}"),
            "        tags: stable".to_string(),
            "not found (left alone): team/app:v9".to_string(),
            String::new(),
            "3 tags go: 1 manifest deleted (+2 platform), 1 tag untagged".to_string(),
            "frees 80.1 MiB (83972559 bytes) once garbage collection runs".to_string(),
            format!("note: {PREDICTION_NOTE}"),
        ]
    );
}

#[test]
fn one_tag_goes() {
    let mut plan = sample_plan();
    plan.deletions.remove(0);
    let total = texts(&total_lines(&plan));
    assert_eq!(total[0], "1 tag goes: 0 manifests deleted, 1 tag untagged");
}

#[test]
fn a_policy_step_names_its_rule() {
    let mut plan = sample_plan();
    plan.deletions[0].reason = Reason::Policy(Rule::AmongNewest(2));
    let first = &plan_lines(&plan, Digests::Short)[0];
    let reason = first.spans.last().expect("a reason span");
    assert_eq!(reason.text, "  (among the newest 2)");
    assert_eq!(reason.tone, Tone::Dim);
}

#[test]
fn short_digests_are_the_only_difference_between_the_forms() {
    let plan = sample_plan();
    let full = texts(&plan_lines(&plan, Digests::Full));
    let short = texts(&plan_lines(&plan, Digests::Short));
    assert_eq!(full.len(), short.len());
    let shorten = |line: &str| {
        [digest(b"m"), digest(b"a"), digest(b"b")]
            .iter()
            .fold(line.to_string(), |l, d| {
                l.replace(d.as_str(), &short_digest(d.as_str()))
            })
    };
    for (f, s) in full.iter().zip(&short) {
        assert_eq!(&shorten(f), s);
    }
    assert!(short[0].ends_with('…'), "{}", short[0]);
}

#[test]
fn tones_mark_what_goes_and_what_was_not_asked_for() {
    let lines = plan_lines(&sample_plan(), Digests::Short);
    assert_eq!(lines[0].spans[0].tone, Tone::Danger);
    let widened = &lines[1].spans.iter().find(|s| s.text.contains("latest"));
    assert_eq!(widened.map(|s| s.tone), Some(Tone::Warning));
    let v2 = &lines[1].spans.iter().find(|s| s.text == "v2");
    assert_eq!(v2.map(|s| s.tone), Some(Tone::Normal));
    assert_eq!(lines[5].spans[0].tone, Tone::Warning);
    assert!(lines.last().is_some_and(|l| l.prose));
}

#[test]
fn an_empty_plan_still_states_its_total() {
    let plan = Plan {
        deletions: Vec::new(),
        repositories: Vec::new(),
        unknown: Vec::new(),
        bytes_freed: 0,
        note: PREDICTION_NOTE,
        seen: Default::default(),
        freed: Default::default(),
        blob_backup: None,
    };
    let lines = texts(&plan_lines(&plan, Digests::Full));
    assert_eq!(lines[1], "0 tags go: 0 manifests deleted");
    assert_eq!(lines[2], "frees 0 B (0 bytes) once garbage collection runs");
}

#[test]
fn text_from_the_config_is_sanitized() {
    let mut plan = sample_plan();
    // keep_within is written in the config as the user typed it.
    plan.deletions[0].reason = Reason::Policy(Rule::CreatedWithin("3d\u{1b}[2J\u{202e}".into()));
    plan.repositories = vec![RepoSummary {
        repository: repo("svc"),
        policy: Some("evil\u{9b}31m".into()),
        kept: 0,
        deleted: 0,
        untagged: 0,
        decisions: Vec::new(),
    }];
    let lines = texts(&plan_lines(&plan, Digests::Full))
        .into_iter()
        .chain(texts(&decision_lines(&plan)));
    for line in lines {
        assert!(!line.chars().any(crate::sanitize::is_unsafe), "{line:?}");
    }
}

#[test]
fn decisions_name_the_policy_and_every_verdict() {
    let mut plan = sample_plan();
    plan.repositories = vec![RepoSummary {
        repository: repo("svc"),
        policy: Some("release".into()),
        kept: 1,
        deleted: 1,
        untagged: 0,
        decisions: vec![
            Decision {
                tag: tag("latest"),
                digest: Some(digest(b"m")),
                verdict: Verdict::Keep,
                reason: Rule::Protected("latest".into()),
            },
            Decision {
                tag: tag("v1.0.0"),
                digest: Some(digest(b"m")),
                verdict: Verdict::Delete,
                reason: Rule::Dropped {
                    unknown: None,
                    keep_last: Some(2),
                    keep_within: None,
                },
            },
        ],
    }];
    let lines = decision_lines(&plan);
    assert_eq!(
        texts(&lines),
        [
            "svc: keep 1, delete 1, untag 0 (policy release)",
            "  keep   latest           protected by \"latest\"",
            "  delete v1.0.0           not among the newest 2",
        ]
    );
    assert_eq!(lines[1].spans[0].tone, Tone::Dim);
    assert_eq!(lines[2].spans[0].tone, Tone::Danger);
}

#[test]
fn results_name_each_step_and_failures_say_why() {
    use crate::cleanup::execute::StepResult;
    let plan = sample_plan();
    let result = |i: usize, outcome: Outcome| StepResult {
        step: plan.deletions[i].clone(),
        outcome,
        backup: None,
    };
    let report = ApplyReport {
        steps: vec![
            result(0, Outcome::Done),
            result(1, Outcome::Skipped("a tag outside the plan".into())),
            result(1, Outcome::Failed("HTTP 500".into())),
        ],
        cancelled: true,
        stopped: Some("the registry refuses deletes".into()),
    };
    let m = digest(b"m");
    assert_eq!(
        texts(&applied_lines(&report, Digests::Full)),
        [
            format!("delete team/app@{m}: done"),
            format!("untag team/app@{m}: skipped: a tag outside the plan"),
            "Cancelled: the remaining steps were not run.".to_string(),
        ]
    );
    let failures = apply_failure_lines(&report, Digests::Full);
    assert_eq!(
        texts(&failures),
        [
            format!("untag team/app@{m} FAILED: HTTP 500"),
            "stopped: the registry refuses deletes".to_string(),
        ]
    );
    assert_eq!(failures[0].spans[1].tone, Tone::Danger);
}

#[test]
fn the_totals_say_what_a_blob_backup_costs_on_disk() {
    use crate::analysis::model::StorageModel;
    use crate::analysis::model::testing::{digest as d, image, tagged};
    use crate::cleanup::plan::plan_rm;
    let mut m = StorageModel::default();
    image(&mut m, d(1), 100, vec![(d(10), 1000), (d(11), 300)], None);
    image(&mut m, d(2), 110, vec![(d(10), 1000), (d(12), 400)], None);
    tagged(&mut m, "app", "v1", d(1));
    tagged(&mut m, "app", "v2", d(2));
    let plan = plan_rm(&m, &[(repo("app"), tag("v2"))], Mode::Delete);
    let without = texts(&total_lines(&plan));
    assert!(
        !without.iter().any(|l| l.contains("backup_blobs")),
        "{without:#?}"
    );
    let with = texts(&total_lines(&plan.keeping_blobs(&m)));
    assert_eq!(
        with[2],
        "backup_blobs: 1 blob (configs and layers) downloaded into the backup first, so restore works after garbage collection: 400 B (400 bytes) on disk"
    );
    // Untagging frees nothing, so there is nothing to keep.
    let plan = plan_rm(&m, &[(repo("app"), tag("v2"))], Mode::Untag).keeping_blobs(&m);
    assert_eq!(
        texts(&total_lines(&plan))[2],
        "backup_blobs: this frees no config or layer blob; the backup keeps the manifests"
    );
}
