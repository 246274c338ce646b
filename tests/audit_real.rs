//! `regatta audit` against a real registry, through the built binary, on the sprawl fixture
//! (`support::sprawl`): every tag kind, alias groups, a stale repository, old build tags next
//! to fresh ones, a drifted floating tag and signatures whose subject is tagged, untagged or
//! gone. Each finding must be reported exactly; its bytes must be what `regatta du --free`
//! predicts, the ground truth, and what garbage collection frees; the suggested policy's dry
//! run must be the plan `regatta cleanup` makes of it, and must delete no floating, release or
//! signature tag.
//!
//! The tests that only read share one registry; the one that deletes has its own.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::cli::Sandbox;
use support::registry::TestRegistry;
use support::sprawl::{
    APP, APP_IMAGES, LEGACY, LEGACY_IMAGES, Sprawl, TOOLS, TOOLS_IMAGES, push_sprawl,
};

struct Shared {
    registry: TestRegistry,
    sprawl: Sprawl,
    /// `regatta audit --json` with no config.
    report: Value,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let registry = TestRegistry::start();
        let sprawl = push_sprawl(&registry);
        let report = audit(&Sandbox::new(), &registry.addr(), &[]);
        Shared {
            registry,
            sprawl,
            report,
        }
    })
}

/// `regatta audit ADDR EXTRA... --json`, which must succeed quietly with a complete scan.
fn audit(home: &Sandbox, addr: &str, extra: &[&str]) -> Value {
    let mut args = vec!["audit", addr];
    args.extend_from_slice(extra);
    args.push("--json");
    let report = home.run(&args).ok().json();
    assert_eq!(report["schema"], "regatta.audit/v1");
    assert_eq!(report["complete"], true, "{report:#}");
    report
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}

fn sorted(tags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

/// `(kind, repository, tags)` of every finding, in report order.
fn findings(report: &Value) -> Vec<(String, String, Vec<String>)> {
    array(&report["findings"])
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().expect("kind").to_string(),
                f["repository"].as_str().expect("repository").to_string(),
                strings(&f["tags"]),
            )
        })
        .collect()
}

fn finding<'a>(report: &'a Value, kind: &str, repo: &str) -> &'a Value {
    array(&report["findings"])
        .iter()
        .find(|f| f["kind"] == kind && f["repository"] == repo)
        .unwrap_or_else(|| panic!("no {kind} finding for {repo}:\n{report:#}"))
}

/// The findings the default settings must report, sorted by kind and repository.
fn expected_findings(s: &Sprawl) -> Vec<(String, String, Vec<String>)> {
    let mut v = vec![
        (
            "stale_repository".to_string(),
            LEGACY.to_string(),
            sorted(&["0.9.0", "1.0.0", "latest"]),
        ),
        (
            "stale_builds".to_string(),
            APP.to_string(),
            sorted(&["1.3.0-rc.1", "20240501", "sha-abc1234"]),
        ),
        (
            "orphaned_signatures".to_string(),
            APP.to_string(),
            vec![s.sig_orphan.clone()],
        ),
        (
            "floating_drift".to_string(),
            APP.to_string(),
            sorted(&["1.2.3", "prod", "stable"]),
        ),
    ];
    v.sort();
    v
}

/// Every tag of the fixture with its kind under the default patterns.
fn expected_kinds(s: &Sprawl) -> BTreeMap<(String, String), &'static str> {
    let kinds: &[(&str, &str, &'static str)] = &[
        (APP, "1.2.3", "release"),
        (APP, "stable", "floating"),
        (APP, "prod", "floating"),
        (APP, "1.3.0-rc.1", "prerelease"),
        (APP, "20240501", "date"),
        (APP, "sha-abc1234", "commit"),
        (APP, "feature-login", "branch"),
        (APP, "hello", "other"),
        (APP, "main-0123abc", "commit"),
        (APP, "pr-12", "branch"),
        (APP, "v2.0", "release"),
        (APP, "latest", "floating"),
        (APP, &s.sig_tagged, "signature"),
        (APP, &s.att_untagged, "signature"),
        (APP, &s.sig_orphan, "signature"),
        (LEGACY, "0.9.0", "release"),
        (LEGACY, "1.0.0", "release"),
        (LEGACY, "latest", "floating"),
        (TOOLS, "3.20", "release"),
        (TOOLS, "edge", "floating"),
    ];
    kinds
        .iter()
        .map(|(r, t, k)| ((r.to_string(), t.to_string()), *k))
        .collect()
}

/// Age in days of every tagged image of the fixture.
fn expected_ages(s: &Sprawl) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for (repo, images) in [
        (APP, &APP_IMAGES[..]),
        (LEGACY, &LEGACY_IMAGES[..]),
        (TOOLS, &TOOLS_IMAGES[..]),
    ] {
        for (tags, days) in images {
            for t in *tags {
                out.insert((repo.to_string(), t.to_string()), *days);
            }
        }
    }
    for t in [&s.sig_tagged, &s.att_untagged, &s.sig_orphan] {
        out.insert(
            (APP.to_string(), t.clone()),
            support::sprawl::SIGNATURE_DAYS,
        );
    }
    out
}

/// `regatta du ADDR --free REPO:TAG... --json`'s bytes_freed.
fn du_free(home: &Sandbox, addr: &str, repo: &str, tags: &[String]) -> u64 {
    let refs: Vec<String> = tags.iter().map(|t| format!("{repo}:{t}")).collect();
    let mut args = vec!["du", addr, "--free"];
    args.extend(refs.iter().map(String::as_str));
    args.push("--json");
    let plan = home.run(&args).ok_with_stderr().json();
    assert_eq!(plan["unknown"], json!([]), "every tag is known: {plan:#}");
    u(&plan["bytes_freed"])
}

/// Splits a command line as a POSIX shell would for the quoting `cleanup_flags` uses:
/// whitespace between words, '...' taken literally, a backslash escaping the next character.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '\\' => {
                let next = chars.next().expect("a character after a backslash");
                word.get_or_insert_with(String::new).push(next);
            }
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn shell_words_undo_the_quoting_of_cleanup_flags() {
    assert_eq!(
        shell_words(r"--match '(?i:a|b)' --protect latest  --x 'it'\''s'"),
        ["--match", "(?i:a|b)", "--protect", "latest", "--x", "it's"]
    );
}

#[test]
fn every_tag_has_its_kind_age_and_digest() {
    let s = shared();
    let report = &s.report;
    let expected = expected_kinds(&s.sprawl);
    let ages = expected_ages(&s.sprawl);
    let tags = array(&report["tags"]);
    let got: BTreeMap<(String, String), String> = tags
        .iter()
        .map(|t| {
            (
                (
                    t["repository"].as_str().expect("repository").to_string(),
                    t["tag"].as_str().expect("tag").to_string(),
                ),
                t["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), tags.len(), "a tag is listed twice");
    assert_eq!(
        got,
        expected
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    );
    for t in tags {
        let repo = t["repository"].as_str().expect("repository");
        let tag = t["tag"].as_str().expect("tag");
        let truth = s.sprawl.truth.tagged(repo, tag);
        assert_eq!(t["digest"], truth.digest.as_str(), "{repo}:{tag}");
        assert_eq!(
            t["age_days"],
            json!(ages[&(repo.to_string(), tag.to_string())]),
            "{repo}:{tag}"
        );
        let created: jiff::Timestamp = t["created"]
            .as_str()
            .expect("created")
            .parse()
            .expect("RFC 3339");
        let pushed: jiff::Timestamp = truth
            .created
            .as_deref()
            .expect("created")
            .parse()
            .expect("RFC 3339");
        assert_eq!(created, pushed, "{repo}:{tag}");
    }

    let summary = &report["summary"];
    assert_eq!(summary["repositories"], 3);
    assert_eq!(u(&summary["tags"]), expected.len() as u64);
    assert_eq!(
        summary["kinds"],
        json!({
            "signature": 3, "floating": 5, "release": 5, "prerelease": 1,
            "date": 1, "branch": 2, "commit": 2, "other": 1,
        })
    );
    assert_eq!(
        summary["ages"],
        json!([
            {"label": "<7d", "tags": 6},
            {"label": "<30d", "tags": 3},
            {"label": "<90d", "tags": 0},
            {"label": "<1y", "tags": 8},
            {"label": "older", "tags": 3},
            {"label": "unknown", "tags": 0},
        ])
    );
    assert_eq!(
        summary["older_than"],
        json!({"days_30": 11, "days_90": 11, "days_365": 3})
    );
    assert_eq!(summary["stale_repositories"], 1);
    assert_eq!(summary["alias_groups"], 5);
    assert_eq!(summary["findings"], 4);
    assert_eq!(report["settings"]["stale_days"], 90);
    assert_eq!(report["settings"]["drift_newest"], 3);
}

#[test]
fn repositories_have_their_newest_oldest_and_stale_flag() {
    let s = shared();
    let repos = array(&s.report["repositories"]);
    let names: Vec<&str> = repos
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, [APP, LEGACY, TOOLS]);
    let by_name = |name: &str| {
        repos
            .iter()
            .find(|r| r["name"] == name)
            .expect("a repository")
    };
    let age = |tag: &str, days: i64| json!({"tag": tag, "age_days": days});
    let newest_oldest = |r: &Value| {
        let pick = |a: &Value| json!({"tag": a["tag"], "age_days": a["age_days"]});
        (pick(&r["newest"]), pick(&r["oldest"]))
    };

    let app = by_name(APP);
    assert_eq!(app["tags"], 15);
    assert_eq!(app["undated"], 0);
    assert_eq!(app["stale"], false);
    // Ties go to the smaller name: latest and v2.0 are one image, so are 1.2.3, prod and
    // stable.
    assert_eq!(newest_oldest(app), (age("latest", 2), age("1.2.3", 200)));
    assert_eq!(
        app["older_than"],
        json!({"days_30": 8, "days_90": 8, "days_365": 0})
    );
    assert_eq!(
        app["kinds"],
        json!({
            "signature": 3, "floating": 3, "release": 2, "prerelease": 1,
            "date": 1, "branch": 2, "commit": 2, "other": 1,
        })
    );

    let legacy = by_name(LEGACY);
    assert_eq!(legacy["tags"], 3);
    assert_eq!(legacy["stale"], true);
    assert_eq!(
        newest_oldest(legacy),
        (age("1.0.0", 400), age("0.9.0", 500))
    );
    assert_eq!(
        legacy["older_than"],
        json!({"days_30": 3, "days_90": 3, "days_365": 3})
    );

    let tools = by_name(TOOLS);
    assert_eq!(tools["tags"], 2);
    assert_eq!(tools["stale"], false);
    assert_eq!(newest_oldest(tools), (age("3.20", 20), age("3.20", 20)));
    assert_eq!(
        tools["older_than"],
        json!({"days_30": 0, "days_90": 0, "days_365": 0})
    );
}

#[test]
fn each_finding_is_reported_exactly_and_nothing_else() {
    let s = shared();
    let report = &s.report;
    let mut got = findings(report);
    got.sort();
    assert_eq!(got, expected_findings(&s.sprawl), "{report:#}");

    // Largest bytes_freed first.
    let bytes: Vec<u64> = array(&report["findings"])
        .iter()
        .map(|f| u(&f["bytes_freed"]))
        .collect();
    assert!(bytes.windows(2).all(|w| w[0] >= w[1]), "{bytes:?}");
    assert!(bytes.iter().all(|b| *b > 0), "{bytes:?}");

    // The signatures whose subject is tagged, or present untagged, are not orphans.
    let all_named: BTreeSet<String> = got.iter().flat_map(|(_, _, t)| t.clone()).collect();
    assert!(!all_named.contains(&s.sprawl.sig_tagged));
    assert!(!all_named.contains(&s.sprawl.att_untagged));
    // An old build tag sharing its digest with a non-build tag is not a stale build.
    assert!(!all_named.contains("feature-login"));
    // Fresh builds are not stale builds.
    assert!(!all_named.contains("main-0123abc") && !all_named.contains("pr-12"));

    let drift = finding(report, "floating_drift", APP);
    let detail = drift["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("prod, stable point at an image 200 days old, behind 6 newer images"),
        "{detail}"
    );
    let stale = finding(report, "stale_repository", LEGACY);
    assert_eq!(
        stale["detail"],
        "no tag newer than 90 days; its newest tag, 1.0.0, is 400 days old"
    );
    assert_eq!(
        finding(report, "stale_builds", APP)["detail"],
        "3 build tags older than 90 days"
    );
}

#[test]
fn alias_groups_name_their_floating_tags() {
    let s = shared();
    let truth = &s.sprawl.truth;
    let got: Vec<(String, String, Vec<String>, Vec<String>)> = array(&s.report["alias_groups"])
        .iter()
        .map(|g| {
            (
                g["repository"].as_str().expect("repository").to_string(),
                g["digest"].as_str().expect("digest").to_string(),
                strings(&g["tags"]),
                strings(&g["floating"]),
            )
        })
        .collect();
    let group = |repo: &str, tags: &[&str], floating: &[&str]| {
        (
            repo.to_string(),
            truth.tagged(repo, tags[0]).digest.to_string(),
            sorted(tags),
            sorted(floating),
        )
    };
    let mut expected = vec![
        group(APP, &["1.2.3", "stable", "prod"], &["prod", "stable"]),
        group(APP, &["feature-login", "hello"], &[]),
        group(APP, &["v2.0", "latest"], &["latest"]),
        group(LEGACY, &["1.0.0", "latest"], &["latest"]),
        group(TOOLS, &["3.20", "edge"], &["edge"]),
    ];
    // In repository, then digest order.
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(got, expected);
}

#[test]
fn each_finding_frees_what_du_free_and_the_ground_truth_say() {
    let s = shared();
    let home = Sandbox::new();
    let addr = s.registry.addr();
    // The ground truth without the untagged subject: the model never sees it, and its
    // blobs are its own, so it changes nothing of what a deletion frees.
    let mut visible = s.sprawl.truth.clone();
    visible.remove_manifest(APP, &s.sprawl.untagged);
    for f in array(&s.report["findings"]) {
        let repo = f["repository"].as_str().expect("repository");
        let tags = strings(&f["tags"]);
        let reported = u(&f["bytes_freed"]);
        assert_eq!(
            du_free(&home, &addr, repo, &tags),
            reported,
            "{} of {repo} {tags:?}",
            f["kind"]
        );
        let selection: Vec<(&str, &str)> = tags.iter().map(|t| (repo, t.as_str())).collect();
        assert_eq!(
            support::storage::delete(&visible, &selection).bytes_freed,
            reported,
            "{} of {repo} {tags:?}: the ground truth",
            f["kind"]
        );
    }
    for g in array(&s.report["alias_groups"]) {
        let repo = g["repository"].as_str().expect("repository");
        let tags = strings(&g["tags"]);
        assert_eq!(
            du_free(&home, &addr, repo, &tags),
            u(&g["bytes_freed"]),
            "alias group {repo} {tags:?}"
        );
    }
    // The legacy images share their base layer with app: the stale repository frees less
    // than its images weigh.
    let legacy_size: u64 = s.sprawl.truth.repos[LEGACY]
        .manifests
        .values()
        .map(|m| m.size + m.manifest_size)
        .sum();
    assert!(u(&finding(&s.report, "stale_repository", LEGACY)["bytes_freed"]) < legacy_size);
}

/// The kind the report gives `repo:tag`.
fn kind_of<'a>(report: &'a Value, repo: &str, tag: &str) -> &'a str {
    array(&report["tags"])
        .iter()
        .find(|t| t["repository"] == repo && t["tag"] == tag)
        .and_then(|t| t["kind"].as_str())
        .unwrap_or_else(|| panic!("{repo}:{tag} is not in the report"))
}

/// `(repository, tag, mode)` of every tag a cleanup plan removes.
fn removed(plan: &Value) -> BTreeSet<(String, String, String)> {
    array(&plan["deletions"])
        .iter()
        .flat_map(|d| {
            strings(&d["tags"]).into_iter().map(|t| {
                (
                    d["repository"].as_str().expect("repository").to_string(),
                    t,
                    d["mode"].as_str().expect("mode").to_string(),
                )
            })
        })
        .collect()
}

#[test]
fn the_suggested_policy_is_the_cleanup_plan_and_keeps_releases_floating_tags_and_signatures() {
    let s = shared();
    let addr = s.registry.addr();

    // The defaults keep the newest 10 builds per repository: nothing goes here.
    let default = &s.report["suggested_policy"];
    assert_eq!(default["name"], "suggested");
    assert_eq!(default["dry_run"]["tags_deleted"], 0, "{default:#}");
    assert_eq!(default["dry_run"]["bytes_freed"], 0);

    // Keeping 2 builds per repository deletes the older ones.
    let home = Sandbox::new();
    home.write_default_config("[audit]\nkeep_last = 2\n");
    let report = audit(&home, &addr, &[]);
    assert_eq!(
        findings(&report),
        findings(&s.report),
        "keep_last changes only the policy"
    );
    let policy = &report["suggested_policy"];
    let dry = &policy["dry_run"];
    assert!(dry.get("error").is_none(), "{policy:#}");
    assert_eq!(policy["spec"]["keep_last"], 2);
    assert_eq!(policy["spec"]["keep_within"], "30d");
    assert_eq!(
        strings(&policy["spec"]["protect"]),
        ["edge", "latest", "prod", "stable"]
    );

    let mut args = vec!["cleanup".to_string(), addr.clone()];
    args.extend(shell_words(
        policy["cleanup_flags"].as_str().expect("flags"),
    ));
    args.push("--json".into());
    let plan = home.run(&args).ok_with_stderr().json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["bytes_freed"], dry["bytes_freed"], "{plan:#}");
    let gone = removed(&plan);
    let count = |mode: &str| gone.iter().filter(|(_, _, m)| m == mode).count() as u64;
    assert_eq!(count("delete"), u(&dry["tags_deleted"]));
    assert_eq!(count("untag"), u(&dry["tags_untagged"]));
    assert_eq!(
        array(&plan["repositories"]).len() as u64,
        u(&dry["repositories"])
    );
    let manifests: u64 = array(&plan["deletions"])
        .iter()
        .filter(|d| d["mode"] == "delete")
        .map(|d| 1 + array(&d["children"]).len() as u64)
        .sum();
    assert_eq!(manifests, u(&dry["manifests_deleted"]));

    // Of app's six builds the newest two (pr-12, main-0123abc) stay; feature-login's digest
    // is also hello's, so it is only untagged.
    let expected: BTreeSet<(String, String, String)> = [
        ("1.3.0-rc.1", "delete"),
        ("20240501", "delete"),
        ("sha-abc1234", "delete"),
        ("feature-login", "untag"),
    ]
    .iter()
    .map(|(t, m)| (APP.to_string(), t.to_string(), m.to_string()))
    .collect();
    assert_eq!(gone, expected, "{plan:#}");
    for (repo, tag, _) in &gone {
        let kind = kind_of(&report, repo, tag);
        assert!(
            !["floating", "release", "signature", "other"].contains(&kind),
            "{repo}:{tag} ({kind}) would go"
        );
    }
    assert!(u(&dry["bytes_freed"]) > 0);
    // The three deleted builds are exactly the stale_builds finding: same bytes.
    assert_eq!(
        dry["bytes_freed"],
        finding(&report, "stale_builds", APP)["bytes_freed"]
    );

    // The TOML snippet, as a config file, is the same policy.
    let toml = policy["toml"].as_str().expect("toml");
    let config = home.write_file("suggested.toml", toml);
    let from_config = home
        .run(&[
            "--config",
            config.to_str().expect("a UTF-8 path"),
            "cleanup",
            &addr,
            "--policy",
            "suggested",
            "--json",
        ])
        .ok_with_stderr()
        .json();
    assert_eq!(from_config["deletions"], plan["deletions"]);
    assert_eq!(from_config["bytes_freed"], plan["bytes_freed"]);
}

#[test]
fn csv_has_a_row_per_finding_and_one_for_the_policy() {
    let s = shared();
    let run = Sandbox::new().run(&["audit", &s.registry.addr(), "--format", "csv"]);
    run.ok();
    let lines = run.stdout_lines();
    assert_eq!(
        lines[0],
        "kind,repository,tags,bytes_freed,detail,tag_names"
    );
    let findings = array(&s.report["findings"]);
    assert_eq!(lines.len(), 1 + findings.len() + 1, "{}", run.stdout);
    for (line, f) in lines[1..].iter().zip(findings) {
        let prefix = format!(
            "{},{},{},{},",
            f["kind"].as_str().expect("kind"),
            f["repository"].as_str().expect("repository"),
            array(&f["tags"]).len(),
            f["bytes_freed"]
        );
        assert!(line.starts_with(&prefix), "{line:?} vs {prefix:?}");
        let names = strings(&f["tags"]).join(" ");
        assert!(line.ends_with(&format!(",{names}")), "{line:?}");
    }
    let policy = &s.report["suggested_policy"];
    let last = lines.last().expect("a last row");
    assert!(
        last.starts_with(&format!(
            "suggested_policy,*,{},{},",
            policy["dry_run"]["tags_deleted"], policy["dry_run"]["bytes_freed"]
        )),
        "{last:?}"
    );
}

#[test]
fn a_repo_glob_limits_what_is_reported_not_what_it_frees() {
    let s = shared();
    let report = audit(&Sandbox::new(), &s.registry.addr(), &["--repo", "app"]);
    let names: Vec<&str> = array(&report["repositories"])
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, [APP]);
    assert!(
        array(&report["tags"])
            .iter()
            .all(|t| t["repository"] == APP)
    );
    assert_eq!(report["summary"]["repositories"], 1);
    assert_eq!(report["summary"]["tags"], 15);
    let unfiltered: Vec<&Value> = array(&s.report["findings"])
        .iter()
        .filter(|f| f["repository"] == APP)
        .collect();
    assert_eq!(array(&report["findings"]).len(), unfiltered.len());
    assert_eq!(unfiltered.len(), 3);
    for f in unfiltered {
        let same = finding(&report, f["kind"].as_str().expect("kind"), APP);
        assert_eq!(same, f, "the same finding, priced against every repository");
    }
    let policy = &report["suggested_policy"];
    assert_eq!(policy["spec"]["repositories"], json!([APP]));
    let flags = policy["cleanup_flags"].as_str().expect("flags");
    assert!(flags.starts_with("--repo app "), "{flags}");
    assert!(
        policy["toml"]
            .as_str()
            .expect("toml")
            .contains("repositories = [\"app\"]")
    );
    // Only app's floating tags are protected.
    assert_eq!(
        strings(&policy["spec"]["protect"]),
        ["latest", "prod", "stable"]
    );
}

#[test]
fn a_pattern_override_changes_what_is_floating_and_what_drifted() {
    let s = shared();
    let home = Sandbox::new();
    home.write_default_config("[audit.patterns]\nfloating = \"latest|edge|hello\"\n");
    // Two newest images: v2.0 and main-0123abc (pr-12, a branch build, does not count).
    let report = audit(&home, &s.registry.addr(), &["--drift-newest", "2"]);
    assert_eq!(kind_of(&report, APP, "hello"), "floating");
    assert_eq!(kind_of(&report, APP, "stable"), "other");
    assert_eq!(kind_of(&report, APP, "prod"), "other");
    assert_eq!(kind_of(&report, APP, "1.2.3"), "release");
    assert_eq!(
        report["settings"]["patterns"]["floating"],
        "latest|edge|hello"
    );
    let mut got = findings(&report);
    got.sort();
    // stable and prod no longer drift; hello, on the 95-day-old third image, does.
    let mut expected: Vec<_> = expected_findings(&s.sprawl)
        .into_iter()
        .filter(|(kind, _, _)| kind != "floating_drift")
        .collect();
    expected.push((
        "floating_drift".to_string(),
        APP.to_string(),
        sorted(&["feature-login", "hello"]),
    ));
    expected.sort();
    assert_eq!(got, expected, "{report:#}");
    let groups: Vec<(Vec<String>, Vec<String>)> = array(&report["alias_groups"])
        .iter()
        .filter(|g| g["repository"] == APP)
        .map(|g| (strings(&g["tags"]), strings(&g["floating"])))
        .collect();
    assert!(groups.contains(&(sorted(&["feature-login", "hello"]), sorted(&["hello"]))));
    assert!(groups.contains(&(sorted(&["1.2.3", "prod", "stable"]), vec![])));
    assert_eq!(
        strings(&report["suggested_policy"]["spec"]["protect"]),
        ["edge", "hello", "latest"]
    );
}

#[test]
fn deleting_each_finding_frees_its_bytes_on_disk() {
    // A registry of its own: this one deletes.
    let registry = TestRegistry::start();
    let sprawl = push_sprawl(&registry);
    let home = Sandbox::new();
    let addr = registry.addr();
    // The deleted subject's blobs are still on disk: collect them first.
    registry.garbage_collect();
    assert_eq!(registry.blob_store_bytes(), sprawl.truth.stored_bytes());

    // One finding at a time, each priced by a fresh audit of what is left.
    for kind in [
        "orphaned_signatures",
        "stale_builds",
        "floating_drift",
        "stale_repository",
    ] {
        let report = audit(&home, &addr, &[]);
        let f = array(&report["findings"])
            .iter()
            .find(|f| f["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} finding:\n{report:#}"));
        let repo = f["repository"].as_str().expect("repository");
        let predicted = u(&f["bytes_freed"]);
        assert!(predicted > 0, "{f}");
        let refs: Vec<String> = strings(&f["tags"])
            .iter()
            .map(|t| format!("{addr}/{repo}:{t}"))
            .collect();
        let mut args = vec!["rm"];
        args.extend(refs.iter().map(String::as_str));
        args.extend(["--apply", "--yes", "--json"]);
        let rm = home.run(&args).ok_with_stderr().json();
        assert_eq!(u(&rm["bytes_freed"]), predicted, "rm and audit disagree");
        for step in array(&rm["applied"]["steps"]) {
            assert_eq!(step["outcome"]["result"], "done", "{step:#}");
        }
        let before = registry.blob_store_bytes();
        registry.garbage_collect();
        let after = registry.blob_store_bytes();
        assert_eq!(
            before - after,
            predicted,
            "{kind}: garbage collection freed {} bytes, the audit said {predicted}",
            before - after
        );
    }
    // What is left: no finding but none could be, and the untagged subject still there.
    let report = audit(&home, &addr, &[]);
    assert_eq!(findings(&report), vec![], "{report:#}");
    let mut left: Vec<String> = array(&report["tags"])
        .iter()
        .map(|t| {
            format!(
                "{}:{}",
                t["repository"].as_str().expect("r"),
                t["tag"].as_str().expect("t")
            )
        })
        .collect();
    let mut expected = vec![
        "app:feature-login".to_string(),
        "app:hello".into(),
        format!("app:{}", sprawl.att_untagged),
        format!("app:{}", sprawl.sig_tagged),
        "app:latest".into(),
        "app:main-0123abc".into(),
        "app:pr-12".into(),
        "app:v2.0".into(),
        "tools:3.20".into(),
        "tools:edge".into(),
    ];
    expected.sort();
    left.sort();
    assert_eq!(left, expected);
}

#[test]
fn stale_days_and_drift_newest_flags_override_the_defaults() {
    let s = shared();
    let addr = s.registry.addr();
    let kinds = |report: &Value| -> BTreeSet<String> {
        array(&report["findings"])
            .iter()
            .map(|f| f["kind"].as_str().expect("kind").to_string())
            .collect()
    };
    let defaults = kinds(&s.report);
    assert!(defaults.contains("stale_repository") && defaults.contains("floating_drift"));
    // Nothing here is 1000 days old, and every image is among the newest 1000.
    let lenient = audit(
        &Sandbox::new(),
        &addr,
        &["--stale-days", "1000", "--drift-newest", "1000"],
    );
    assert_eq!(lenient["settings"]["stale_days"], 1000);
    assert_eq!(lenient["settings"]["drift_newest"], 1000);
    let left = kinds(&lenient);
    assert!(!left.contains("stale_repository"), "{left:?}");
    assert!(!left.contains("stale_builds"), "{left:?}");
    assert!(!left.contains("floating_drift"), "{left:?}");
    assert_eq!(lenient["summary"]["stale_repositories"], 0);
    // Zero newest images would make every floating tag drift: refused as a usage error.
    let run = Sandbox::new().run(&["audit", &addr, "--drift-newest", "0"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

#[test]
fn the_table_shows_kinds_findings_floating_tags_and_the_policy() {
    let s = shared();
    let addr = s.registry.addr();
    let run = Sandbox::new().run(&["audit", &addr]);
    run.ok();
    let out = &run.stdout;
    let summary = &s.report["summary"];
    assert!(
        out.starts_with(&format!(
            "{} repositories, {} tags\n",
            summary["repositories"], summary["tags"]
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("floating {}", summary["kinds"]["floating"])),
        "{out}"
    );
    assert!(out.contains("Findings, largest first"), "{out}");
    // One row per finding, in the JSON's order, as the TUI's audit list shows it (the kind
    // in words: `stale builds`).
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("FINDING "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let findings = array(&s.report["findings"]);
    assert_eq!(rows.len(), findings.len(), "{out}");
    for (row, f) in rows.iter().zip(findings) {
        let kind = f["kind"].as_str().expect("kind").replace('_', " ");
        let rest = row
            .strip_prefix(&kind)
            .expect("the row starts with the kind");
        let cells: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(
            cells[0],
            f["repository"].as_str().expect("repository"),
            "{row}"
        );
        assert_eq!(cells[1], array(&f["tags"]).len().to_string(), "{row}");
        let freed = f["bytes_freed"].as_u64().expect("bytes_freed");
        assert_eq!(
            format!("{} {}", cells[2], cells[3]),
            regatta::present::size(freed),
            "{row}"
        );
    }
    assert!(out.contains("Where floating tags point"), "{out}");
    let policy = &s.report["suggested_policy"];
    for line in policy["toml"].as_str().expect("toml").lines() {
        assert!(
            out.contains(&format!("  {line}\n")),
            "{line} missing in {out}"
        );
    }
    assert!(
        out.contains(&format!(
            "Preview it tag by tag: regatta cleanup {addr} {}\n",
            policy["cleanup_flags"].as_str().expect("flags")
        )),
        "{out}"
    );
    // Table output carries no escape sequences.
    assert!(!out.contains('\u{1b}'));
}
