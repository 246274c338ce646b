//! Registries that lie (`support::hostile`): for each lie, `du`, `audit` and `inspect` run
//! against a server holding the two honest repositories and that lie. Nothing panics; a lie
//! that regatta cannot believe leaves `complete: false` with a failure naming the lying
//! repository in one sentence, and never a wrong number; the honest repositories come out
//! exactly as the bytes served say. One test binary with a module per class of lie.

mod support;

use serde_json::Value;
use support::cli::{Run, Sandbox};
use support::hostile::{HONEST, Hostile, Lie, Truth};

/// `du --json` and `audit --json` against `server`, both required to end with exit code 0
/// and no panic.
fn scan(server: &Hostile) -> (Run, Value, Run, Value) {
    let sandbox = Sandbox::new();
    let du = sandbox.run(&["du", &server.addr(), "--json"]);
    du.no_panic().ok_with_stderr();
    let audit = sandbox.run(&["audit", &server.addr(), "--json"]);
    audit.no_panic().ok_with_stderr();
    let (du_json, audit_json) = (du.json(), audit.json());
    (du, du_json, audit, audit_json)
}

fn du_row<'a>(du: &'a Value, repo: &str) -> &'a Value {
    du["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .find(|r| r["repository"] == repo)
        .unwrap_or_else(|| panic!("no du row for {repo}: {du:#}"))
}

/// The du row of `repo` is exactly what the bytes served say.
#[track_caller]
fn assert_exact(truth: &Truth, du: &Value, repo: &str) {
    let row = du_row(du, repo);
    let t = truth.repo(repo);
    let got = (
        row["tags"].as_u64(),
        row["logical_bytes"].as_u64(),
        row["stored_bytes"].as_u64(),
        row["unique_bytes"].as_u64(),
    );
    let want = (
        Some(t.tags.len() as u64),
        Some(truth.logical(repo)),
        Some(truth.stored(repo)),
        Some(truth.unique(repo)),
    );
    assert_eq!(
        got, want,
        "{repo}: (tags, logical, stored, unique):\n{row:#}"
    );
    assert_eq!(
        row["shared_bytes"].as_u64(),
        Some(truth.stored(repo) - truth.unique(repo))
    );
}

/// Every tag of `repo` in the audit has the digest and created date served.
#[track_caller]
fn assert_audit_exact(truth: &Truth, audit: &Value, repo: &str) {
    let tags: Vec<&Value> = audit["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter(|t| t["repository"] == repo)
        .collect();
    let t = truth.repo(repo);
    assert_eq!(tags.len(), t.tags.len(), "{repo}'s tags in the audit");
    for tag in tags {
        let name = tag["tag"].as_str().expect("a tag name");
        let want = &t.tags[name];
        assert_eq!(tag["digest"], want.digest.as_str(), "{repo}:{name}");
        assert_eq!(
            tag["created"].as_str(),
            want.created.as_deref(),
            "{repo}:{name}"
        );
    }
}

/// The failure naming `repo` (in `what` or the error) whose error holds `phrase`.
#[track_caller]
fn assert_failure(report: &Value, repo: &str, phrase: &str) {
    assert_eq!(report["complete"], false, "a lie left the scan complete");
    let failures = report["failures"].as_array().expect("failures");
    assert!(
        failures.iter().any(|f| {
            let (what, error) = (
                f["what"].as_str().unwrap_or(""),
                f["error"].as_str().unwrap_or(""),
            );
            (what.contains(repo) || error.contains(repo)) && error.contains(phrase)
        }),
        "no failure for {repo} saying {phrase:?}: {failures:#?}"
    );
}

/// How `inspect REPO:v1` is expected to end.
enum Inspect<'a> {
    /// Exit 1, one line holding the phrase.
    Fails(&'a str),
    /// Exit 0, a warning on stderr holding the phrase.
    Warns(&'a str),
    /// Exit 0, its size is the truth's.
    Exact,
    /// Not a question for inspect (the lie is in a listing).
    Skip,
}

/// The lie is caught: du and audit list it and leave the scan incomplete, the honest
/// repositories are exact, inspect ends as `inspect` says.
fn caught(lie: Lie, phrase: &str, inspect: Inspect) -> Hostile {
    let server = Hostile::start(&[lie]);
    let (du_run, du, _, audit) = scan(&server);
    for report in [&du, &audit] {
        assert_failure(report, lie.repo(), phrase);
    }
    assert!(
        du_run.stderr.contains("the scan is incomplete") && du_run.stderr.contains(phrase),
        "du said nothing of the lie on stderr:\n{}",
        du_run.describe()
    );
    for repo in HONEST {
        assert_exact(server.truth(), &du, repo);
        assert_audit_exact(server.truth(), &audit, repo);
    }
    check_inspect(&server, lie, inspect);
    server
}

/// The lie is one regatta must see through and measure right: complete, and the lying
/// repository exact too.
fn measured(lie: Lie, inspect: Inspect) -> Hostile {
    let server = Hostile::start(&[lie]);
    let (du_run, du, _, audit) = scan(&server);
    assert_eq!(du["complete"], true, "{}", du_run.describe());
    assert_eq!(audit["complete"], true);
    for repo in HONEST.into_iter().chain([lie.repo()]) {
        assert_exact(server.truth(), &du, repo);
        assert_audit_exact(server.truth(), &audit, repo);
    }
    check_inspect(&server, lie, inspect);
    server
}

fn check_inspect(server: &Hostile, lie: Lie, inspect: Inspect) {
    let reference = format!("{}/{}:v1", server.addr(), lie.repo());
    let run = Sandbox::new().run(&["inspect", &reference, "--json"]);
    run.no_panic();
    match inspect {
        Inspect::Fails(phrase) => {
            run.fails_with_one_line(&[phrase]);
        }
        Inspect::Warns(phrase) => {
            run.ok_with_stderr();
            assert!(
                run.stderr.starts_with("regatta: warning: ") && run.stderr.contains(phrase),
                "expected a warning saying {phrase:?}:\n{}",
                run.describe()
            );
        }
        Inspect::Exact => {
            run.ok();
            let want = &server.truth().repo(lie.repo()).tags["v1"];
            assert_eq!(run.json()["size"].as_u64(), Some(want.size));
            assert_eq!(run.json()["digest"], want.digest.as_str());
        }
        Inspect::Skip => {}
    }
}

#[test]
fn honest_repositories_alone_are_measured_exactly_and_completely() {
    let server = Hostile::start(&[]);
    let (_, du, _, audit) = scan(&server);
    assert_eq!(du["complete"], true);
    for repo in HONEST {
        assert_exact(server.truth(), &du, repo);
        assert_audit_exact(server.truth(), &audit, repo);
    }
    // alpha and beta share the base layer: the truth is not trivially "all unique".
    assert!(server.truth().unique("honest/alpha") < server.truth().stored("honest/alpha"));
    let beta = format!("{}/honest/beta:1.0", server.addr());
    let run = Sandbox::new().run(&["inspect", &beta, "--json"]);
    run.ok();
    assert_eq!(
        run.json()["size"].as_u64(),
        Some(server.truth().repo("honest/beta").tags["1.0"].size)
    );
}

mod sizes {
    use super::*;

    #[test]
    fn negative_size() {
        let phrase = "invalid value: integer `-5`";
        caught(Lie::NegativeSize, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn absurd_size_near_2_pow_64() {
        let phrase = "more than regatta believes of one blob";
        caught(Lie::AbsurdSize, phrase, Inspect::Fails(phrase));
    }

    /// The sum that wrapped to a few hundred bytes before: now no number at all, and the
    /// failure says why.
    #[test]
    fn sizes_whose_sum_overflows() {
        let phrase = "more than regatta believes of one blob";
        let server = caught(Lie::OverflowingSum, phrase, Inspect::Fails(phrase));
        let (_, du, _, _) = scan(&server);
        let row = du_row(&du, Lie::OverflowingSum.repo());
        assert_eq!(row["logical_bytes"], 0, "no wrapped size: {row:#}");
        assert_eq!(row["stored_bytes"], 0, "no wrapped size: {row:#}");
    }

    #[test]
    fn an_image_larger_than_believable() {
        let phrase = "more than regatta believes of one image";
        caught(Lie::ImageTooLarge, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn an_index_whose_platforms_add_up_past_believable() {
        let phrase = "more than regatta believes of one image";
        caught(Lie::IndexTooLarge, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn a_config_descriptor_size_that_is_not_the_configs_length() {
        let phrase = "but its manifest's descriptor says";
        caught(Lie::ConfigSizeMismatch, phrase, Inspect::Warns(phrase));
    }

    #[test]
    fn an_index_entry_size_that_is_not_the_manifests_length() {
        let phrase = "but its index's descriptor says";
        caught(Lie::ChildSizeMismatch, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn a_blob_content_length_that_is_not_its_body() {
        let phrase = "config sha256:";
        let server = Hostile::start(&[Lie::ContentLengthMismatch]);
        let (_, du, _, _) = scan(&server);
        // The failure is the config's (the body broke off short of its Content-Length).
        let failures = du["failures"].as_array().expect("failures");
        assert_eq!(du["complete"], false);
        assert!(
            failures.iter().any(|f| f["what"].as_str().is_some_and(
                |w| w.starts_with(phrase) && w.contains(Lie::ContentLengthMismatch.repo())
            )),
            "{failures:#?}"
        );
        for repo in HONEST {
            assert_exact(server.truth(), &du, repo);
        }
        check_inspect(
            &server,
            Lie::ContentLengthMismatch,
            Inspect::Warns("cannot read the config"),
        );
    }
}

mod structure {
    use super::*;

    #[test]
    fn nested_indexes_shallow_are_sized_once() {
        measured(Lie::NestedShallow, Inspect::Exact);
    }

    #[test]
    fn nested_indexes_too_deep_are_a_failure_not_0_bytes() {
        let phrase = "nested more than 8 levels deep";
        let server = caught(Lie::NestedDeep, phrase, Inspect::Fails(phrase));
        let (du_run, du, _, _) = scan(&server);
        assert_eq!(du_row(&du, Lie::NestedDeep.repo())["logical_bytes"], 0);
        assert!(du_run.stderr.contains(phrase));
    }

    #[test]
    fn an_index_with_thousands_of_platforms() {
        let phrase = "the index lists 5000 manifests; regatta reads at most 1000";
        let server = caught(Lie::ManyPlatforms, phrase, Inspect::Fails(phrase));
        // Not one of the 5,000 was asked for: the only manifest fetched by digest there is
        // the index itself.
        let by_digest: std::collections::BTreeSet<String> = server
            .requests()
            .iter()
            .filter(|s| {
                s.target
                    .starts_with("/v2/lie/many-platforms/manifests/sha256:")
            })
            .map(|s| s.target.clone())
            .collect();
        assert_eq!(by_digest.len(), 1, "{by_digest:#?}");
    }

    #[test]
    fn a_manifest_with_thousands_of_layers() {
        let phrase = "it lists 5000 layers; regatta reads at most 1000";
        caught(Lie::ManyLayers, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn duplicate_layers_count_once() {
        let server = measured(Lie::DuplicateLayers, Inspect::Exact);
        let run = Sandbox::new().run(&[
            "inspect",
            &format!("{}/{}:v1", server.addr(), Lie::DuplicateLayers.repo()),
            "--json",
        ]);
        assert_eq!(run.json()["layers"].as_array().map(Vec::len), Some(4));
    }

    #[test]
    fn an_index_listing_a_child_that_does_not_exist() {
        caught(Lie::MissingChild, "404", Inspect::Fails("404 Not Found"));
    }

    #[test]
    fn an_index_child_of_the_wrong_media_type() {
        let phrase = "unsupported manifest media type";
        caught(Lie::WrongTypeChild, phrase, Inspect::Fails(phrase));
    }
}

mod identity {
    use super::*;

    #[test]
    fn a_docker_content_digest_that_is_not_the_bodys_hash() {
        let phrase = "digest mismatch";
        caught(Lie::DigestHeaderMismatch, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn a_body_that_changes_between_requests() {
        let phrase = "digest mismatch";
        let server = caught(Lie::BodyChanges, phrase, Inspect::Skip);
        let claimed = &server.truth().claimed[Lie::BodyChanges.repo()];
        let reference = format!("{}/{}@{claimed}", server.addr(), Lie::BodyChanges.repo());
        Sandbox::new()
            .run(&["inspect", &reference])
            .fails_with_one_line(&[phrase]);
    }

    #[test]
    fn an_unknown_digest_algorithm_in_a_descriptor() {
        let phrase = "only sha256 and sha512 digests are supported";
        caught(Lie::UnknownAlgorithm, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn an_unknown_digest_algorithm_in_the_header() {
        let phrase = "Docker-Content-Digest is not a digest regatta can check";
        caught(Lie::UnknownAlgorithmHeader, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn an_uppercase_digest() {
        let phrase = "wrong length or characters";
        caught(Lie::UppercaseDigest, phrase, Inspect::Fails(phrase));
    }

    #[test]
    fn a_truncated_digest() {
        let phrase = "wrong length or characters";
        caught(Lie::TruncatedDigest, phrase, Inspect::Fails(phrase));
    }
}

mod lists {
    use super::*;

    #[test]
    fn invalid_and_repeated_tag_names_are_counted() {
        let phrase = "4 tags with invalid names skipped, 1 duplicate tag skipped";
        let server = caught(Lie::InvalidTagNames, phrase, Inspect::Skip);
        let (_, du, _, _) = scan(&server);
        assert_exact(server.truth(), &du, Lie::InvalidTagNames.repo());
        let run = Sandbox::new().run(&[
            "tags",
            &format!("{}/{}", server.addr(), Lie::InvalidTagNames.repo()),
        ]);
        run.no_panic().ok_with_stderr();
        assert_eq!(run.stdout, "v1\n");
        assert_eq!(run.stderr, format!("regatta: warning: {phrase}\n"));
    }

    #[test]
    fn invalid_and_repeated_repository_names_are_counted() {
        let phrase = "4 repositories with invalid names skipped, 1 duplicate repository skipped";
        let server = Hostile::start(&[Lie::InvalidRepositoryNames]);
        let (du_run, du, _, audit) = scan(&server);
        for report in [&du, &audit] {
            assert_failure(report, "", phrase);
        }
        assert!(du_run.stderr.contains(phrase), "{}", du_run.describe());
        for repo in HONEST
            .into_iter()
            .chain([Lie::InvalidRepositoryNames.repo()])
        {
            assert_exact(server.truth(), &du, repo);
        }
        assert_eq!(du["repositories"].as_array().map(Vec::len), Some(3));
        let run = Sandbox::new().run(&["ls", &server.addr()]);
        run.no_panic().ok_with_stderr();
        assert_eq!(run.stdout, "honest/alpha\nhonest/beta\nlie/catalog\n");
        assert_eq!(run.stderr, format!("regatta: warning: {phrase}\n"));
    }

    /// `"tags": null` is what Distribution sends for a repository whose tags are all gone:
    /// an empty list, not a lie.
    #[test]
    fn null_tags_are_an_empty_list() {
        let server = measured(Lie::NullTags, Inspect::Skip);
        let run = Sandbox::new().run(&[
            "tags",
            &format!("{}/{}", server.addr(), Lie::NullTags.repo()),
        ]);
        run.ok();
        assert_eq!(run.stdout, "");
    }

    #[test]
    fn a_million_tags_in_one_answer() {
        let phrase = "answered with a body over 4194304 bytes";
        let server = caught(Lie::MillionTags, phrase, Inspect::Skip);
        Sandbox::new()
            .run(&[
                "tags",
                &format!("{}/{}", server.addr(), Lie::MillionTags.repo()),
            ])
            .fails_with_one_line(&[phrase]);
    }

    #[test]
    fn a_link_to_another_host_is_not_followed() {
        let phrase = "its Link header sends the next page to another host";
        let server = caught(Lie::ForeignLink, phrase, Inspect::Skip);
        Sandbox::new()
            .run(&[
                "tags",
                &format!("{}/{}", server.addr(), Lie::ForeignLink.repo()),
            ])
            .fails_with_one_line(&[phrase]);
        assert!(
            server.requests().iter().all(|s| !s.other_host),
            "a request went to the other host: {:#?}",
            server.requests()
        );
    }
}

mod blobs {
    use super::*;

    #[test]
    fn a_redirect_loop() {
        let phrase = "config sha256:";
        let server = Hostile::start(&[Lie::RedirectLoop]);
        let (_, du, _, audit) = scan(&server);
        for report in [&du, &audit] {
            assert_eq!(report["complete"], false);
            let failures = report["failures"].as_array().expect("failures");
            assert!(
                failures.iter().any(|f| f["what"].as_str().is_some_and(|w| {
                    w.starts_with(phrase) && w.contains(Lie::RedirectLoop.repo())
                }) && f["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("redirect"))),
                "{failures:#?}"
            );
        }
        for repo in HONEST {
            assert_exact(server.truth(), &du, repo);
        }
        check_inspect(&server, Lie::RedirectLoop, Inspect::Warns("redirect"));
    }

    /// Object storage on another host is legitimate: the config is read there, and the
    /// registry's credentials stay behind.
    #[test]
    fn a_redirect_to_another_host_carries_no_credentials() {
        let server = Hostile::with_basic_auth(&[Lie::CrossHostRedirect], "ci", "s3cr3t-hostile");
        let sandbox = Sandbox::new();
        let token = "Y2k6czNjcjN0LWhvc3RpbGU="; // base64("ci:s3cr3t-hostile")
        sandbox.write_docker_config(&serde_json::json!({
            "auths": { server.addr(): { "auth": token } }
        }));
        let du = sandbox.run(&["du", &server.addr(), "--json"]);
        du.no_panic().ok();
        let du = du.json();
        assert_eq!(du["complete"], true, "{du:#}");
        for repo in HONEST.into_iter().chain([Lie::CrossHostRedirect.repo()]) {
            assert_exact(server.truth(), &du, repo);
        }
        let seen = server.requests();
        let storage: Vec<_> = seen.iter().filter(|s| s.other_host).collect();
        assert!(
            !storage.is_empty(),
            "the config was never fetched from the other host"
        );
        assert!(
            storage.iter().all(|s| !s.authorization),
            "credentials followed the redirect: {storage:#?}"
        );
        assert!(
            seen.iter().any(|s| !s.other_host && s.authorization),
            "the registry itself never got the credentials"
        );
    }

    #[test]
    fn a_config_of_the_wrong_shape() {
        let phrase = "the config is not an image config";
        caught(Lie::ConfigWrongShape, phrase, Inspect::Warns(phrase));
    }

    /// 50,000 history entries fit under the 4 MiB a config may have: read, and measured.
    #[test]
    fn a_config_with_50000_history_entries() {
        let server = measured(Lie::ConfigLongHistory, Inspect::Exact);
        let run = Sandbox::new().run(&[
            "inspect",
            &format!("{}/{}:v1", server.addr(), Lie::ConfigLongHistory.repo()),
            "--json",
        ]);
        assert_eq!(
            run.json()["config"]["history"].as_array().map(Vec::len),
            Some(support::hostile::HISTORY)
        );
    }
}

mod time {
    use super::*;

    #[test]
    fn a_date_in_year_9999() {
        let phrase = "is in the future; the image's age is unknown";
        caught(Lie::DateFarFuture, phrase, Inspect::Warns(phrase));
    }

    #[test]
    fn a_date_before_1970() {
        let phrase = "is before 1970; the image's age is unknown";
        caught(Lie::DateBefore1970, phrase, Inspect::Warns(phrase));
    }

    #[test]
    fn a_date_that_is_not_rfc_3339() {
        let phrase = "is not an RFC 3339 time; the image's age is unknown";
        caught(Lie::DateNotRfc3339, phrase, Inspect::Warns(phrase));
    }
}

mod tui {
    use super::*;
    use support::tmux::Pane;

    /// The tag list has settled: listed and every tag resolved or failed (`tags N/N`), or
    /// the listing failed, or there are none.
    fn settled(screen: &str) -> bool {
        if screen.contains("could not list the tags") || screen.contains("no tags") {
            return true;
        }
        screen.split("tags ").skip(1).any(|rest| {
            let counts: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '/')
                .collect();
            matches!(counts.split_once('/'), Some((done, total)) if !done.is_empty() && done == total)
        })
    }

    /// The storage scan the TUI starts on its own reports skipped names in the status line.
    #[test]
    fn the_tui_status_line_counts_skipped_tag_names() {
        let server = Hostile::start(&[Lie::InvalidTagNames]);
        let pane = Pane::start_sized("hostile-names", &[&server.addr()], 200, 30);
        pane.wait_for_text("4 tags with invalid names skipped, 1 duplicate tag skipped");
        pane.keys(&["q"]);
        assert_eq!(pane.wait_for_exit().status, 0);
    }

    #[test]
    fn the_tui_opens_every_repository_of_a_lying_registry_and_quits_cleanly() {
        let server = Hostile::all();
        let addr = server.addr();
        let mut repos: Vec<&str> = HONEST
            .into_iter()
            .chain(Lie::ALL.iter().map(|l| l.repo()))
            .collect();
        repos.sort();
        repos.dedup();
        let pane = Pane::start_sized("hostile", &[&addr], 160, 60);
        let root = format!("regatta › {addr}");
        pane.wait_for_crumbs(&root);
        pane.wait_for_text(repos[repos.len() - 1]);
        for repo in &repos {
            pane.keys(&["Enter"]);
            pane.wait_for_crumbs(&format!("{addr} › {repo}"));
            pane.wait_for(&format!("the tags of {repo} to settle"), settled);
            pane.keys(&["Escape"]);
            pane.wait_for_crumbs(&root);
            pane.keys(&["Down"]);
        }
        pane.keys(&["q"]);
        let exit = pane.wait_for_exit();
        assert_eq!(exit.status, 0, "{exit:?}:\n{}", pane.screen());
        assert!(!exit.raw_mode, "the terminal was left in raw mode");
    }
}

mod memory {
    use super::*;

    /// Peak resident memory of `regatta du ADDR --json`, in KiB, as GNU time reports it
    /// (`None` without /usr/bin/time).
    fn du_peak_kib(server: &Hostile) -> Option<u64> {
        let time = std::path::Path::new("/usr/bin/time");
        if !time.exists() {
            eprintln!("/usr/bin/time not found: memory not measured");
            return None;
        }
        let sandbox = Sandbox::new();
        let plain = sandbox.std_command();
        let mut command = std::process::Command::new(time);
        command
            .env_clear()
            .envs(plain.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .current_dir(sandbox.root())
            .args(["-f", "peak-rss-kib=%M"])
            .arg(plain.get_program())
            .args(["du", &server.addr(), "--json"]);
        let output = command.output().expect("run regatta under /usr/bin/time");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let kib = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak-rss-kib="))
            .and_then(|v| v.trim().parse().ok());
        assert!(kib.is_some(), "no figure from /usr/bin/time: {stderr}");
        kib
    }

    /// The bound the README states: a `du` of a registry that lies with a million tags or
    /// thousands of platforms stays within 64 MiB (a listing is read up to 4 MiB, an index
    /// past 1,000 entries or a manifest past 1,000 layers is refused before anything it
    /// lists is fetched). The figures go to the test's output.
    #[test]
    fn du_stays_within_64_mib_under_the_large_lies() {
        const BOUND_KIB: u64 = 64 * 1024;
        for (name, lies) in [
            ("honest repositories only", vec![]),
            ("a million tags", vec![Lie::MillionTags]),
            ("5,000 platforms", vec![Lie::ManyPlatforms]),
            ("5,000 layers", vec![Lie::ManyLayers]),
            ("every lie at once", Lie::ALL.to_vec()),
        ] {
            let server = Hostile::start(&lies);
            let Some(kib) = du_peak_kib(&server) else {
                return;
            };
            eprintln!("peak RSS of `regatta du`, {name}: {kib} KiB");
            assert!(
                kib < BOUND_KIB,
                "{name}: {kib} KiB, over the stated bound of {BOUND_KIB} KiB"
            );
        }
    }
}
