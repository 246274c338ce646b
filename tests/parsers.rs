//! Every parser of untrusted input, fed arbitrary and near-valid input: none may panic or
//! hang, and the ones with an inverse round-trip. (Property tests stand in for a fuzzer: the
//! toolchain here has no nightly for cargo-fuzz; proptest keeps failing cases in
//! `proptest-regressions/` so they are replayed on every run.)

use std::path::Path;

use proptest::prelude::*;
use regatta::config::Config;
use regatta::registry::challenge::parse_challenges;
use regatta::registry::error::ErrorEnvelope;
use regatta::registry::manifest::{ImageConfig, parse_manifest};
use regatta::registry::pagination::next_link;
use regatta::registry::{Digest, Reference, RepoName, Source, Tag};
use regatta::sanitize::sanitize;

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn references_never_panic(input in grammar_text()) {
        if let Ok(r) = Reference::parse(&input) {
            // What parses prints back to something that parses to the same reference.
            prop_assert_eq!(Reference::parse(&r.to_string()).ok(), Some(r));
        }
        let _ = RepoName::parse(&input);
        let _ = Tag::parse(&input);
        let _ = Digest::parse(&input);
    }

    #[test]
    fn valid_names_round_trip(repo in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,3}", tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}") {
        let r = Reference::parse(&format!("127.0.0.1:5000/{repo}:{tag}")).unwrap();
        prop_assert_eq!(r.repo.as_str(), repo.as_str());
        let parsed_tag = r.tag.unwrap();
        prop_assert_eq!(parsed_tag.as_str(), tag.as_str());
    }

    #[test]
    fn challenges_never_panic(input in grammar_text()) {
        let _ = parse_challenges(&input);
    }

    #[test]
    fn quoted_challenge_values_survive(realm in "[ -!#-\\[\\]-~]{0,40}", scope in "[a-z:,/*]{0,30}") {
        let header = format!(r#"Bearer realm="{realm}",service="svc",scope="{scope}""#);
        let c = parse_challenges(&header);
        prop_assert_eq!(c[0].param("realm"), Some(realm.as_str()));
        prop_assert_eq!(c[0].param("scope"), Some(scope.as_str()));
    }

    #[test]
    fn link_headers_never_panic(input in grammar_text()) {
        let base = url::Url::parse("http://127.0.0.1:5000/v2/_catalog?n=10").unwrap();
        let _ = next_link(&base, &input);
    }

    #[test]
    fn documents_never_panic(body in json_like(), content_type in grammar_text()) {
        let _ = parse_manifest(&body, &content_type);
        let _ = ImageConfig::parse(&body);
        let _ = ErrorEnvelope::parse(&body).summary();
    }

    #[test]
    fn config_files_never_panic(text in prop_oneof![
        grammar_text(),
        "(\\[registries\\.[a-z]{1,4}\\]\n|url = \"[a-z0-9.:]{0,12}\"\n|page_size = [0-9]{1,5}\n|insecure = (true|1|\"x\")\n|[a-z_]{1,9} = [0-9]{1,2}\n){0,6}",
    ]) {
        if let Err(e) = Config::parse(Path::new("config.toml"), &text) {
            // Every error names the file.
            prop_assert!(e.to_string().starts_with("config.toml"));
        }
    }

    #[test]
    fn sanitized_text_holds_no_controls(input in any::<String>()) {
        let out = sanitize(&input);
        prop_assert!(!out.chars().any(|c| c.is_control()));
        let bidi_override = '\u{202e}';
        prop_assert!(!out.contains(bidi_override), "bidi override left in the output");
    }
}

proptest! {
    // Each case writes a layout to disk: fewer cases.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn layout_index_json_never_panics(index in json_like()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        std::fs::write(dir.path().join("index.json"), &index).unwrap();
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        if let Ok(source) = regatta::layout::LayoutSource::open(dir.path()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                if let Ok(repos) = source.repositories(&|_| {}).await {
                    for repo in repos {
                        let _ = source.tags(&repo).await;
                    }
                }
            });
        }
    }
}
