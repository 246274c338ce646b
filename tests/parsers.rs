//! Every parser of untrusted input, fed arbitrary, near-valid and mutated-real input: none may
//! panic or hang, and the ones with an inverse round-trip.
//!
//! Property tests stand in for a coverage-guided fuzzer (the toolchain here has no nightly for
//! cargo-fuzz). Each target is a plain `check_*` function fed three ways:
//! - a short property run on every `cargo test` (random and grammar-shaped input);
//! - the corpus in `tests/corpus/<target>/`, real-world samples replayed as a normal test and
//!   used as seeds that the mutation strategy flips, cuts and splices;
//! - `scripts/fuzz-parsers` runs the ignored `fuzz_for_a_while` test, which keeps one target
//!   going for `FUZZ_SECONDS` (default 600) with fresh seeds and reports cases run and the
//!   slowest case.
//!
//! A failing case, from a short run or a long one, is saved in
//! `tests/proptest-regressions/<target>.txt` (commit it) and replayed first by every later run
//! of that target.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{
    Config as RunnerConfig, FileFailurePersistence, TestCaseError, TestRunner,
};
use regatta::config::Config;
use regatta::registry::challenge::parse_challenges;
use regatta::registry::error::ErrorEnvelope;
use regatta::registry::manifest::{ImageConfig, parse_manifest};
use regatta::registry::pagination::next_link;
use regatta::registry::{Digest, Reference, RepoName, Source, Tag};
use regatta::sanitize::sanitize;

// ---- the targets -------------------------------------------------------------------------

fn check_reference(input: &str) -> Result<(), TestCaseError> {
    if let Ok(r) = Reference::parse(input) {
        // What parses prints back to something that parses to the same reference.
        prop_assert_eq!(Reference::parse(&r.to_string()).ok(), Some(r));
    }
    let _ = RepoName::parse(input);
    let _ = Tag::parse(input);
    let _ = Digest::parse(input);
    Ok(())
}

fn check_challenge(input: &str) -> Result<(), TestCaseError> {
    for challenge in parse_challenges(input) {
        // Whatever parsed is printable without panicking.
        let _ = format!("{challenge:?}");
    }
    Ok(())
}

fn check_link(input: &str) -> Result<(), TestCaseError> {
    let base = url::Url::parse("http://127.0.0.1:5000/v2/_catalog?n=10").expect("base url");
    if let Some(next) = next_link(&base, input) {
        prop_assert!(!next.as_str().is_empty());
    }
    Ok(())
}

fn check_document(body: &[u8], content_type: &str) -> Result<(), TestCaseError> {
    let _ = parse_manifest(body, content_type);
    let _ = ImageConfig::parse(body);
    let _ = ErrorEnvelope::parse(body).summary();
    Ok(())
}

fn check_config_toml(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = Config::parse(Path::new("config.toml"), text) {
        // Every error names the file.
        prop_assert!(e.to_string().starts_with("config.toml"), "{e}");
    }
    Ok(())
}

fn check_layout_index(index: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write");
    std::fs::write(dir.path().join("index.json"), index).expect("write");
    std::fs::create_dir_all(dir.path().join("blobs/sha256")).expect("mkdir");
    if let Ok(source) = regatta::layout::LayoutSource::open(dir.path()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            if let Ok(repos) = source.repositories(&|_| {}).await {
                for repo in repos {
                    let _ = source.tags(&repo).await;
                }
            }
        });
    }
    Ok(())
}

fn check_sanitize(input: &str) -> Result<(), TestCaseError> {
    let out = sanitize(input);
    prop_assert!(!out.chars().any(|c| c.is_control()));
    let bidi_override = '\u{202e}';
    prop_assert!(
        !out.contains(bidi_override),
        "bidi override left in the output"
    );
    Ok(())
}

// ---- inputs ------------------------------------------------------------------------------

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target))
        .expect("corpus directory")
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("corpus file"))
        .collect()
}

/// Strings built from the characters that matter to these grammars, plus anything.
fn grammar_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._:/@<>=;,\" -]{0,80}",
        "\\PC{0,60}",
        any::<String>(),
    ]
}

/// JSON-ish bytes: real manifests with fields dropped or retyped, and noise.
fn json_like() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just(r#""schemaVersion":2"#.to_string()),
        Just(r#""schemaVersion":1"#.to_string()),
        Just(r#""schemaVersion":"2""#.to_string()),
        Just(r#""mediaType":"application/vnd.oci.image.index.v1+json""#.to_string()),
        Just(r#""mediaType":"application/vnd.docker.distribution.manifest.v2+json""#.to_string()),
        Just(r#""mediaType":null"#.to_string()),
        Just(r#""manifests":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1,"platform":{"os":"linux"}}]"#.to_string()),
        Just(r#""manifests":null"#.to_string()),
        Just(r#""config":{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":-1}"#.to_string()),
        Just(r#""config":{"Env":null,"Labels":{"a":1}}"#.to_string()),
        Just(r#""layers":[{"digest":"md5:x","size":1}]"#.to_string()),
        Just(r#""history":[{"created_by":"\u001b[2J","empty_layer":"yes"}]"#.to_string()),
        Just(r#""errors":[{"code":7}]"#.to_string()),
        "\"[a-zA-Z]{1,8}\":[0-9]{1,3}",
    ];
    prop_oneof![
        proptest::collection::vec(field, 0..6)
            .prop_map(|f| format!("{{{}}}", f.join(",")).into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

/// One edit a mutating fuzzer would make.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Flip(at, bits) => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= bits;
                }
            }
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Remove(at, n) => {
                let start = at % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Edit::Duplicate(at, n) => {
                let start = at % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    let slice = bytes[start..end].to_vec();
                    bytes.splice(end..end, slice);
                }
            }
            Edit::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// A corpus sample with a few byte-level edits: near-valid input, the kind that finds bugs.
fn mutated(target: &str) -> impl Strategy<Value = Vec<u8>> + use<> {
    let seeds = corpus(target);
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Flip(a, b)),
        (
            any::<usize>(),
            prop_oneof![Just(b'"'), Just(b','), Just(b'{'), Just(b'\\'), any::<u8>()]
        )
            .prop_map(|(a, b)| Edit::Insert(a, b)),
        (any::<usize>(), 1usize..16).prop_map(|(a, n)| Edit::Remove(a, n)),
        (any::<usize>(), 1usize..64).prop_map(|(a, n)| Edit::Duplicate(a, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    (
        proptest::sample::select(seeds),
        proptest::collection::vec(edit, 0..6),
    )
        .prop_map(|(seed, edits)| apply(seed, &edits))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mutated_text(target: &str) -> impl Strategy<Value = String> + use<> {
    prop_oneof![grammar_text(), mutated(target).prop_map(|b| text(&b))]
}

fn document_input() -> impl Strategy<Value = (Vec<u8>, String)> {
    let content_type = prop_oneof![
        Just("application/vnd.oci.image.manifest.v1+json".to_string()),
        Just("application/vnd.oci.image.index.v1+json".to_string()),
        Just("application/vnd.docker.distribution.manifest.v1+prettyjws".to_string()),
        Just(String::new()),
        grammar_text(),
    ];
    (prop_oneof![json_like(), mutated("document")], content_type)
}

fn config_input() -> impl Strategy<Value = String> {
    prop_oneof![
        mutated_text("config_toml"),
        "(\\[registries\\.[a-z]{1,4}\\]\n|url = \"[a-z0-9.:]{0,12}\"\n|page_size = [0-9]{1,5}\n|insecure = (true|1|\"x\")\n|[a-z_]{1,9} = [0-9]{1,2}\n){0,6}",
    ]
}

// ---- every cargo test: a short run of each target, and the corpus ------------------------

/// The file of one target's failing cases, in the repository: proptest writes the seed of a
/// failure there (with the shrunk input as a comment) and every later run of any test of that
/// target replays it first, the short runs of `cargo test` and the long fuzz run alike.
macro_rules! regressions {
    ($target:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/",
            $target,
            ".txt"
        )
    };
}

/// A short run's config: `cases` cases after the target's saved failures.
fn persisted(file: &'static str, cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(persisted(regressions!("reference"), 512))]

    #[test]
    fn references_never_panic(input in mutated_text("reference")) {
        check_reference(&input)?;
    }

    #[test]
    fn valid_names_round_trip(repo in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,3}", tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}") {
        let r = Reference::parse(&format!("127.0.0.1:5000/{repo}:{tag}")).unwrap();
        prop_assert_eq!(r.repo.as_str(), repo.as_str());
        let parsed_tag = r.tag.unwrap();
        prop_assert_eq!(parsed_tag.as_str(), tag.as_str());
    }
}

proptest! {
    #![proptest_config(persisted(regressions!("challenge"), 512))]

    #[test]
    fn challenges_never_panic(input in mutated_text("challenge")) {
        check_challenge(&input)?;
    }

    #[test]
    fn quoted_challenge_values_survive(realm in "[ -!#-\\[\\]-~]{0,40}", scope in "[a-z:,/*]{0,30}") {
        let header = format!(r#"Bearer realm="{realm}",service="svc",scope="{scope}""#);
        let c = parse_challenges(&header);
        prop_assert_eq!(c[0].param("realm"), Some(realm.as_str()));
        prop_assert_eq!(c[0].param("scope"), Some(scope.as_str()));
    }
}

proptest! {
    #![proptest_config(persisted(regressions!("link"), 512))]

    #[test]
    fn link_headers_never_panic(input in mutated_text("link")) {
        check_link(&input)?;
    }
}

proptest! {
    #![proptest_config(persisted(regressions!("document"), 512))]

    #[test]
    fn documents_never_panic((body, content_type) in document_input()) {
        check_document(&body, &content_type)?;
    }
}

proptest! {
    #![proptest_config(persisted(regressions!("config_toml"), 512))]

    #[test]
    fn config_files_never_panic(text in config_input()) {
        check_config_toml(&text)?;
    }
}

proptest! {
    #![proptest_config(persisted(regressions!("sanitize"), 512))]

    #[test]
    fn sanitized_text_holds_no_controls(input in any::<String>()) {
        check_sanitize(&input)?;
    }
}

proptest! {
    // Each case writes a layout to disk: fewer cases.
    #![proptest_config(persisted(regressions!("layout_index"), 64))]

    #[test]
    fn layout_index_json_never_panics(index in prop_oneof![json_like(), mutated("layout_index")]) {
        check_layout_index(&index)?;
    }
}

#[test]
fn corpus_replays_cleanly() {
    let content_types = ["", "application/vnd.oci.image.index.v1+json"];
    let mut replayed = 0;
    for sample in corpus("reference") {
        check_reference(&text(&sample)).unwrap();
        assert!(
            Reference::parse(&text(&sample)).is_ok(),
            "corpus reference {} no longer parses",
            text(&sample)
        );
        replayed += 1;
    }
    for sample in corpus("challenge") {
        check_challenge(&text(&sample)).unwrap();
        assert!(!parse_challenges(&text(&sample)).is_empty());
        replayed += 1;
    }
    for sample in corpus("link") {
        check_link(&text(&sample)).unwrap();
        replayed += 1;
    }
    for sample in corpus("document") {
        for content_type in content_types {
            check_document(&sample, content_type).unwrap();
        }
        replayed += 1;
    }
    for sample in corpus("config_toml") {
        check_config_toml(&text(&sample)).unwrap();
        replayed += 1;
    }
    for sample in corpus("layout_index") {
        check_layout_index(&sample).unwrap();
        replayed += 1;
    }
    assert!(replayed >= 15, "the corpus shrank to {replayed} samples");
    // The shipped example config is in the corpus and must stay valid.
    let example = std::fs::read_to_string(corpus_dir("config_toml").join("example.toml")).unwrap();
    Config::parse(Path::new("example.toml"), &example).unwrap();
}

// ---- the long run ------------------------------------------------------------------------

/// Runs `strategy` through `check` with fresh seeds until `deadline`; returns cases run and
/// the slowest case. A failure is saved in `file` (the target's regressions file, which the
/// short runs replay) before the test fails.
fn fuzz<S: Strategy>(
    file: &'static str,
    deadline: Instant,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> (u64, Duration) {
    let cases = std::cell::Cell::new(0u64);
    let slowest = std::cell::Cell::new(Duration::ZERO);
    while Instant::now() < deadline {
        let mut runner = TestRunner::new(RunnerConfig {
            cases: 2_000,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
            ..RunnerConfig::default()
        });
        let result = runner.run(&strategy, |value| {
            let started = Instant::now();
            let outcome = check(value);
            slowest.set(slowest.get().max(started.elapsed()));
            cases.set(cases.get() + 1);
            outcome
        });
        if let Err(failure) = result {
            panic!("fuzzing found a failing input (its seed is saved in {file}): {failure}");
        }
    }
    (cases.get(), slowest.get())
}

/// `FUZZ_TARGET=<name> FUZZ_SECONDS=600 cargo test --release --test parsers -- --ignored`
#[test]
#[ignore = "long-running; scripts/fuzz-parsers runs it"]
fn fuzz_for_a_while() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let target = std::env::var("FUZZ_TARGET").unwrap_or_else(|_| "reference".into());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (cases, slowest) = match target.as_str() {
        "reference" => fuzz(
            regressions!("reference"),
            deadline,
            mutated_text("reference"),
            |s| check_reference(&s),
        ),
        "challenge" => fuzz(
            regressions!("challenge"),
            deadline,
            mutated_text("challenge"),
            |s| check_challenge(&s),
        ),
        "link" => fuzz(regressions!("link"), deadline, mutated_text("link"), |s| {
            check_link(&s)
        }),
        "document" => fuzz(
            regressions!("document"),
            deadline,
            document_input(),
            |(b, t)| check_document(&b, &t),
        ),
        "config_toml" => fuzz(regressions!("config_toml"), deadline, config_input(), |s| {
            check_config_toml(&s)
        }),
        "layout_index" => fuzz(
            regressions!("layout_index"),
            deadline,
            prop_oneof![json_like(), mutated("layout_index")],
            |b| check_layout_index(&b),
        ),
        "sanitize" => fuzz(regressions!("sanitize"), deadline, any::<String>(), |s| {
            check_sanitize(&s)
        }),
        other => panic!("unknown FUZZ_TARGET {other}"),
    };
    println!(
        "fuzz {target}: {cases} cases in {seconds} s, slowest case {:.1} ms, no failure",
        slowest.as_secs_f64() * 1000.0
    );
    assert!(cases > 0);
}
