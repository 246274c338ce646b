//! Table tests of policy evaluation.

use std::collections::BTreeMap;

use super::policy::*;
use crate::registry::{Digest, Tag};

fn d(n: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{n:02x}").repeat(32))).unwrap()
}

fn now() -> jiff::Timestamp {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

fn days_ago(n: i64) -> Option<jiff::Timestamp> {
    Some(now() - jiff::SignedDuration::from_hours(24 * n))
}

fn facts(rows: &[(&str, u8, Option<i64>)]) -> Vec<TagFacts> {
    rows.iter()
        .map(|(t, digest, age)| TagFacts {
            tag: Tag::parse(t).unwrap(),
            digest: d(*digest),
            created: age.and_then(days_ago),
        })
        .collect()
}

fn policy(spec: PolicySpec) -> Policy {
    Policy::compile(spec).unwrap()
}

fn verdicts(p: &Policy, tags: &[TagFacts]) -> Vec<(String, Verdict)> {
    evaluate(p, tags, &BTreeMap::new(), now())
        .into_iter()
        .map(|d| (d.tag.to_string(), d.verdict))
        .collect()
}

fn v(rows: &[(&str, Verdict)]) -> Vec<(String, Verdict)> {
    rows.iter()
        .map(|(t, v)| (t.to_string(), v.clone()))
        .collect()
}

use Verdict::{Delete, Keep, Untag};

#[test]
fn keep_last_keeps_the_newest() {
    let p = policy(PolicySpec {
        keep_last: Some(2),
        ..Default::default()
    });
    let tags = facts(&[
        ("a", 1, Some(10)),
        ("b", 2, Some(1)),
        ("c", 3, Some(5)),
        ("d", 4, Some(30)),
    ]);
    assert_eq!(
        verdicts(&p, &tags),
        v(&[("a", Delete), ("b", Keep), ("c", Keep), ("d", Delete)])
    );
}

#[test]
fn keep_within_keeps_recent_tags() {
    let p = policy(PolicySpec {
        keep_within: Some("7d".into()),
        ..Default::default()
    });
    let tags = facts(&[("old", 1, Some(8)), ("new", 2, Some(6))]);
    assert_eq!(verdicts(&p, &tags), v(&[("old", Delete), ("new", Keep)]));
}

#[test]
fn match_exclude_and_protect() {
    let p = policy(PolicySpec {
        match_re: Some("pr-.*|sha-.*".into()),
        exclude: Some("pr-1".into()),
        protect: vec!["sha-keep*".into()],
        ..Default::default()
    });
    let tags = facts(&[
        ("pr-1", 1, Some(50)),
        ("pr-22", 2, Some(50)),
        ("sha-keepme", 3, Some(50)),
        ("sha-abc", 4, Some(50)),
        ("v1.0.0", 5, Some(50)),
    ]);
    assert_eq!(
        verdicts(&p, &tags),
        v(&[
            ("pr-1", Keep),
            ("pr-22", Delete),
            ("sha-keepme", Keep),
            ("sha-abc", Delete),
            ("v1.0.0", Keep)
        ])
    );
}

#[test]
fn a_digest_a_kept_tag_needs_is_only_untagged() {
    let p = policy(PolicySpec {
        keep_last: Some(1),
        protect: vec!["latest".into()],
        ..Default::default()
    });
    // old-alias shares digest 1 with latest (kept by protect).
    let tags = facts(&[
        ("latest", 1, Some(40)),
        ("old-alias", 1, Some(40)),
        ("newest", 2, Some(1)),
        ("older", 3, Some(20)),
    ]);
    let out = evaluate(&p, &tags, &BTreeMap::new(), now());
    assert_eq!(out[1].verdict, Untag);
    assert!(
        matches!(&out[1].reason, Rule::UntagOnly { keeper, .. } if keeper.as_str() == "latest"),
        "{}",
        out[1].reason
    );
    assert!(out[1].reason.to_string().contains("latest"));
    assert_eq!(out[3].verdict, Delete);
}

#[test]
fn children_of_a_kept_index_are_protected() {
    let p = policy(PolicySpec {
        keep_last: Some(1),
        ..Default::default()
    });
    // "platform" tags a child (digest 9) of the index kept under "multi".
    let tags = facts(&[("multi", 8, Some(1)), ("platform", 9, Some(30))]);
    let children = BTreeMap::from([(d(8), vec![d(9)])]);
    let out = evaluate(&p, &tags, &children, now());
    assert_eq!(out[0].verdict, Keep);
    assert_eq!(out[1].verdict, Untag);
}

#[test]
fn unknown_dates_follow_the_setting() {
    let tags = facts(&[("dated", 1, Some(100)), ("undated", 2, None)]);
    let keep = policy(PolicySpec {
        keep_within: Some("30d".into()),
        ..Default::default()
    });
    assert_eq!(
        verdicts(&keep, &tags),
        v(&[("dated", Delete), ("undated", Keep)])
    );
    let delete = policy(PolicySpec {
        keep_within: Some("30d".into()),
        unknown_date: UnknownDate::Delete,
        ..Default::default()
    });
    assert_eq!(
        verdicts(&delete, &tags),
        v(&[("dated", Delete), ("undated", Delete)])
    );
}

#[test]
fn semver_orders_by_version_not_date() {
    let p = policy(PolicySpec {
        keep_last: Some(2),
        sort: Order::Semver,
        ..Default::default()
    });
    let tags = facts(&[
        ("v1.9.0", 1, Some(1)),
        ("v1.10.0", 2, Some(50)),
        ("v1.10.1-rc.1", 3, Some(40)),
        ("1.2", 4, Some(2)),
        ("nightly", 5, Some(0)),
    ]);
    assert_eq!(
        verdicts(&p, &tags),
        v(&[
            ("v1.9.0", Delete),
            ("v1.10.0", Keep),
            ("v1.10.1-rc.1", Keep),
            ("1.2", Delete),
            ("nightly", Keep)
        ])
    );
}

#[test]
fn reasons_for_tags_outside_the_order_name_the_order() {
    let reasons = |sort: Order, unknown_date: UnknownDate| -> Vec<String> {
        let p = policy(PolicySpec {
            keep_last: Some(1),
            sort,
            unknown_date,
            ..Default::default()
        });
        let tags = facts(&[("v1.0.0", 1, Some(5)), ("nightly", 2, None)]);
        evaluate(&p, &tags, &BTreeMap::new(), now())
            .into_iter()
            .map(|d| d.reason.to_string())
            .collect()
    };
    assert_eq!(
        reasons(Order::Semver, UnknownDate::Delete)[1],
        "not a version (unknown_date = delete), not among the newest 1"
    );
    assert_eq!(
        reasons(Order::Semver, UnknownDate::Keep)[1],
        "not a version (unknown_date = keep)"
    );
    assert_eq!(
        reasons(Order::Date, UnknownDate::Delete)[1],
        "created date unknown (unknown_date = delete), not among the newest 1"
    );
}

#[test]
fn bad_policies_are_refused_with_the_field() {
    let e = Policy::compile(PolicySpec::default()).unwrap_err();
    assert_eq!(e, PolicyError::DeletesEverything);
    assert!(e.to_string().contains("keep_last"), "{e}");
    assert_eq!(e.key(), "keep_last");
    let e = Policy::compile(PolicySpec {
        keep_within: Some("30 days".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("keep_within"), "{e}");
    assert_eq!(e.key(), "keep_within");
    let e = Policy::compile(PolicySpec {
        match_re: Some("(".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().starts_with("match"), "{e}");
    assert_eq!(e.key(), "match");
}

#[test]
fn durations_and_versions_parse() {
    assert_eq!(parse_duration("30d").unwrap().as_secs(), 30 * 86_400);
    assert_eq!(parse_duration("12h").unwrap().as_secs(), 12 * 3600);
    assert!(parse_duration("d").is_none());
    assert!(parse_duration("5x").is_none());
    assert!(parse_version("v1.2.3").is_some());
    assert_eq!(parse_version("7").unwrap(), semver::Version::new(7, 0, 0));
    assert!(parse_version("latest").is_none());
    assert!(parse_version("1.2.3.4").is_none());
}

fn names(tags: Vec<Tag>) -> Vec<String> {
    tags.into_iter().map(|t| t.to_string()).collect()
}

#[test]
fn a_mirror_selects_what_the_rules_keep_among_the_candidates() {
    let tags = facts(&[
        ("v1", 1, Some(200)),
        ("v2", 2, Some(50)),
        ("v3", 3, Some(10)),
        ("v3-rc1", 4, Some(11)),
        ("dev", 5, Some(1)),
    ]);
    // match and exclude alone: every candidate.
    let p = policy(PolicySpec {
        match_re: Some("v.*".into()),
        exclude: Some(".*rc.*".into()),
        ..Default::default()
    });
    assert_eq!(names(selected(&p, &tags, now())), ["v1", "v2", "v3"]);
    // keep_last ranks the candidates only: the newest two of v1, v2, v3.
    let p = policy(PolicySpec {
        match_re: Some("v.*".into()),
        exclude: Some(".*rc.*".into()),
        keep_last: Some(2),
        ..Default::default()
    });
    assert_eq!(names(selected(&p, &tags, now())), ["v2", "v3"]);
    // keep_within: those created in the last 90 days.
    let p = policy(PolicySpec {
        match_re: Some("v.*".into()),
        keep_within: Some("90d".into()),
        ..Default::default()
    });
    assert_eq!(names(selected(&p, &tags, now())), ["v2", "v3", "v3-rc1"]);
    // An undated tag is taken unless unknown_date = delete.
    let undated = facts(&[("a", 1, None), ("b", 2, Some(1))]);
    let p = policy(PolicySpec {
        keep_last: Some(1),
        ..Default::default()
    });
    assert_eq!(names(selected(&p, &undated, now())), ["a", "b"]);
    let p = policy(PolicySpec {
        keep_last: Some(1),
        unknown_date: UnknownDate::Delete,
        ..Default::default()
    });
    assert_eq!(names(selected(&p, &undated, now())), ["b"]);
}
