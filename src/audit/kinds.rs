//! Tag kinds: what a tag name says it is (a release, a CI build of a commit, a PR build, a
//! floating pointer, a signature), by patterns that `config.toml` can override.

use serde::{Deserialize, Serialize};

/// The kinds, in the order reports list them. Patterns are tried in another order (see
/// [`TagPatterns::compile`]); the first that matches wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    /// `sha256-<hex>.sig`, `.att`, `.sbom`: cosign-style signatures, attestations and SBOMs;
    /// `sha256-<hex>`: the OCI referrers fallback tag.
    Signature,
    /// `latest`, `stable`, `prod`, `dev`, ...: names that are meant to move.
    Floating,
    /// `1.2.3`, `v1.2`, `3.20`, `7`, `22.04`, and their variants (`3.20-alpine`).
    Release,
    /// `1.2.3-rc.1`, `v2.0.0-beta`, `1.0rc2`: versions with a pre-release stage.
    Prerelease,
    /// `20240501`, `2024-05-01`, `2024.05.01-1200`, `nightly-20240501`.
    Date,
    /// `pr-123`, `feature-x`, `fix-login`: builds of a branch or pull request.
    Branch,
    /// `sha-abc1234`, `abc1234`, `main-abc1234`: builds of a commit.
    Commit,
    /// Anything else.
    Other,
}

impl TagKind {
    pub const ALL: [TagKind; 8] = [
        TagKind::Signature,
        TagKind::Floating,
        TagKind::Release,
        TagKind::Prerelease,
        TagKind::Date,
        TagKind::Branch,
        TagKind::Commit,
        TagKind::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TagKind::Signature => "signature",
            TagKind::Floating => "floating",
            TagKind::Release => "release",
            TagKind::Prerelease => "prerelease",
            TagKind::Date => "date",
            TagKind::Commit => "commit",
            TagKind::Branch => "branch",
            TagKind::Other => "other",
        }
    }

    /// Kinds a cleanup may take: builds, not releases, pointers or signatures.
    pub fn is_build(self) -> bool {
        matches!(
            self,
            TagKind::Prerelease | TagKind::Date | TagKind::Commit | TagKind::Branch
        )
    }
}

/// The default patterns (regexes, anchored at both ends, matched case-insensitively).
/// `sha256-<hex>` alone is the OCI referrers fallback tag: an index of signatures and SBOMs.
pub const DEFAULT_SIGNATURE: &str = r"sha256-[0-9a-f]{64}(\.(sig|att|sbom))?";
pub const DEFAULT_FLOATING: &str = "latest|stable|prod|production|staging|stage|dev|develop|development|edge|nightly|main|master|trunk|current|canary|beta|alpha|next|lts|release|test|qa";
/// A pre-release names its stage (`-rc.1`, `-beta`, `rc2`); any other suffix is a variant of a
/// release (`3.20-alpine`, `1.25.3-bookworm`, `v1.2.3-arm64`).
pub const DEFAULT_PRERELEASE: &str = r"v?[0-9]{1,4}(\.[0-9]{1,6}){0,3}[-.]?(rc|alpha|beta|pre|preview|dev|snapshot|canary|nightly|a|b)([-.]?[0-9]+)*([-.+][0-9a-z.-]*)?";
pub const DEFAULT_DATE: &str = r"([a-z][a-z0-9._]*-)?(19|20)[0-9]{2}[-.]?(0[1-9]|1[0-2])[-.]?(0[1-9]|[12][0-9]|3[01])([-._t]?[0-9]{2,6}z?)?";
pub const DEFAULT_RELEASE: &str = r"v?[0-9]{1,4}(\.[0-9]{1,6}){0,3}(-[a-z][0-9a-z.-]*)?";
pub const DEFAULT_BRANCH: &str = r"(pr|mr|pull|merge)[-_.]?[0-9]+([-_.].*)?|(feature|feat|fix|bugfix|hotfix|branch|dependabot|renovate|chore|wip)[-_./].+";
pub const DEFAULT_COMMIT: &str = r"([a-z0-9._-]+-)?(sha-)?[0-9a-f]{7,40}";

/// Pattern overrides from `[audit.patterns]`; a missing key keeps the default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    pub signature: Option<String>,
    pub floating: Option<String>,
    pub release: Option<String>,
    pub prerelease: Option<String>,
    pub date: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
}

/// A tag-kind pattern that is not a valid regex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {pattern:?} is not a valid regex: {reason}", kind.name())]
pub struct PatternError {
    pub kind: TagKind,
    pub pattern: String,
    /// The regex compiler's explanation.
    pub reason: String,
}

/// Compiled patterns, one per kind but `Other`.
#[derive(Debug, Clone)]
pub struct TagPatterns {
    patterns: Vec<(TagKind, String, regex::Regex)>,
}

impl TagPatterns {
    /// Compiles the defaults with `spec`'s overrides; the error names the key.
    pub fn compile(spec: &PatternSpec) -> Result<Self, PatternError> {
        // The order they are tried in: a pre-release before the release pattern that would
        // take it as a variant, a date (2024.05.01) before the release pattern too.
        let entries = [
            (TagKind::Signature, &spec.signature, DEFAULT_SIGNATURE),
            (TagKind::Floating, &spec.floating, DEFAULT_FLOATING),
            (TagKind::Prerelease, &spec.prerelease, DEFAULT_PRERELEASE),
            (TagKind::Date, &spec.date, DEFAULT_DATE),
            (TagKind::Release, &spec.release, DEFAULT_RELEASE),
            (TagKind::Branch, &spec.branch, DEFAULT_BRANCH),
            (TagKind::Commit, &spec.commit, DEFAULT_COMMIT),
        ];
        let mut patterns = Vec::new();
        for (kind, custom, default) in entries {
            let source = custom.as_deref().unwrap_or(default);
            let re = regex::RegexBuilder::new(&format!("^(?:{source})$"))
                .case_insensitive(true)
                .build()
                .map_err(|e| PatternError {
                    kind,
                    pattern: source.to_string(),
                    reason: e.to_string(),
                })?;
            patterns.push((kind, source.to_string(), re));
        }
        Ok(Self { patterns })
    }

    /// The built-in patterns.
    pub fn defaults() -> Self {
        #[allow(clippy::expect_used)]
        Self::compile(&PatternSpec::default()).expect("the default patterns compile")
    }

    pub fn classify(&self, tag: &str) -> TagKind {
        self.patterns
            .iter()
            .find(|(_, _, re)| re.is_match(tag))
            .map_or(TagKind::Other, |(kind, _, _)| *kind)
    }

    /// The regex source of a kind (without the anchors).
    pub fn source(&self, kind: TagKind) -> Option<&str> {
        self.patterns
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, s, _)| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX64: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn default_classification_table() {
        let patterns = TagPatterns::defaults();
        let sig = format!("sha256-{HEX64}.sig");
        let att = format!("sha256-{HEX64}.att");
        let sbom = format!("sha256-{HEX64}.sbom");
        let referrers = format!("sha256-{HEX64}");
        let table: &[(&str, TagKind)] = &[
            (&sig, TagKind::Signature),
            (&att, TagKind::Signature),
            (&sbom, TagKind::Signature),
            (&referrers, TagKind::Signature),
            ("latest", TagKind::Floating),
            ("stable", TagKind::Floating),
            ("prod", TagKind::Floating),
            ("dev", TagKind::Floating),
            ("main", TagKind::Floating),
            ("Latest", TagKind::Floating),
            ("1.2.3", TagKind::Release),
            ("v1.2.3", TagKind::Release),
            ("7", TagKind::Release),
            ("13", TagKind::Release),
            ("20.04", TagKind::Release),
            ("2019.1", TagKind::Release),
            ("3.20-alpine", TagKind::Release),
            ("1.25.3-bookworm", TagKind::Release),
            ("3.12-slim-bookworm", TagKind::Release),
            ("v1.2.3-arm64", TagKind::Release),
            ("7.4.2-trixie", TagKind::Release),
            ("1.2.3-alpine3.20", TagKind::Release),
            ("v1.2", TagKind::Release),
            ("3.20", TagKind::Release),
            ("v2", TagKind::Release),
            ("1.2.3.4", TagKind::Release),
            ("1.2.3-rc.1", TagKind::Prerelease),
            ("v2.0.0-beta", TagKind::Prerelease),
            ("1.0.0-alpha+build.5", TagKind::Prerelease),
            ("v1.2.3-rc1", TagKind::Prerelease),
            ("1.0rc2", TagKind::Prerelease),
            ("1.2-beta.1", TagKind::Prerelease),
            ("2.0.0-preview.3-alpine", TagKind::Prerelease),
            ("20240501", TagKind::Date),
            ("2024-05-01", TagKind::Date),
            ("2024.05.01", TagKind::Date),
            ("2024.10.15", TagKind::Date),
            ("20240501-1200", TagKind::Date),
            ("2024-05-01T120000Z", TagKind::Date),
            ("nightly-20260518", TagKind::Date),
            ("trixie-20250908", TagKind::Date),
            ("sha-abc1234", TagKind::Commit),
            ("sha-1234567", TagKind::Commit),
            ("abc1234", TagKind::Commit),
            ("deadbeefcafe", TagKind::Commit),
            ("main-abc1234", TagKind::Commit),
            (
                "git-0123456789abcdef0123456789abcdef01234567",
                TagKind::Commit,
            ),
            ("pr-123", TagKind::Branch),
            ("pr123", TagKind::Branch),
            ("pr-7-abcdefg", TagKind::Branch),
            ("pr-1234567", TagKind::Branch),
            ("1234567", TagKind::Commit),
            ("feature-x", TagKind::Branch),
            ("feature/login", TagKind::Branch),
            ("fix-login", TagKind::Branch),
            ("dependabot-npm", TagKind::Branch),
            ("hello", TagKind::Other),
            ("v1.2.3.4.5", TagKind::Other),
            ("bookworm-slim", TagKind::Other),
            ("latest-arm64", TagKind::Other),
            ("buildcache", TagKind::Other),
            ("2024-13-01", TagKind::Other),
            ("1234", TagKind::Release),
            ("12345678", TagKind::Commit),
            ("abc", TagKind::Other),
            ("sha256-abc.sig", TagKind::Other),
            ("latest-old", TagKind::Other),
        ];
        for (tag, kind) in table {
            assert_eq!(patterns.classify(tag), *kind, "{tag}");
        }
    }

    #[test]
    fn a_pattern_can_be_overridden_and_others_keep_their_default() {
        let spec = PatternSpec {
            floating: Some("latest|blue|green".into()),
            release: Some(r"release-[0-9]+".into()),
            ..PatternSpec::default()
        };
        let patterns = TagPatterns::compile(&spec).unwrap();
        assert_eq!(patterns.classify("blue"), TagKind::Floating);
        assert_eq!(patterns.classify("stable"), TagKind::Other);
        assert_eq!(patterns.classify("release-42"), TagKind::Release);
        assert_eq!(patterns.classify("1.2.3"), TagKind::Other);
        assert_eq!(patterns.classify("pr-1"), TagKind::Branch);
        assert_eq!(
            patterns.source(TagKind::Floating),
            Some("latest|blue|green")
        );
    }

    #[test]
    fn a_bad_pattern_names_its_kind() {
        let spec = PatternSpec {
            commit: Some("([".into()),
            ..PatternSpec::default()
        };
        let err = TagPatterns::compile(&spec).unwrap_err();
        assert_eq!((err.kind, err.pattern.as_str()), (TagKind::Commit, "(["));
        assert!(
            err.to_string()
                .starts_with("commit: \"([\" is not a valid regex: "),
            "{err}"
        );
    }
}

#[cfg(test)]
mod example_config {
    use super::*;

    /// config.example.toml spells out the defaults: keep it in step with them.
    #[test]
    fn the_example_config_lists_the_default_patterns() {
        let text = include_str!("../../config.example.toml");
        let config = crate::config::Config::parse(std::path::Path::new("x"), text).unwrap();
        let p = &config.audit.patterns;
        assert_eq!(p.signature.as_deref(), Some(DEFAULT_SIGNATURE));
        assert_eq!(p.floating.as_deref(), Some(DEFAULT_FLOATING));
        assert_eq!(p.release.as_deref(), Some(DEFAULT_RELEASE));
        assert_eq!(p.prerelease.as_deref(), Some(DEFAULT_PRERELEASE));
        assert_eq!(p.date.as_deref(), Some(DEFAULT_DATE));
        assert_eq!(p.branch.as_deref(), Some(DEFAULT_BRANCH));
        assert_eq!(p.commit.as_deref(), Some(DEFAULT_COMMIT));
    }
}
