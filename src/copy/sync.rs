//! Mirrors (`regatta sync`, `[sync.NAME]` in the config): which repositories of a source go
//! to which repositories of a destination, and which of their tags.
//!
//! A mirror keeps each repository's name under the destination's prefix (`team/api` to
//! `mirror/team/api` for `destination = "reg-b/mirror"`): `repositories` only selects. The
//! tag filter is a cleanup policy read the other way round ([`crate::cleanup::policy::selected`]):
//! what a cleanup with these rules would keep among its candidates is what is mirrored.

use serde::Deserialize;

use crate::cleanup::policy::{Order, Policy, PolicyError, PolicySpec, UnknownDate};
use crate::copy::mirror::RepoMapping;
use crate::registry::RepoName;

/// `[sync.NAME]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// A configured registry's name, or host[:port] / URL.
    pub source: String,
    /// A registry (name, host[:port] or URL), optionally followed by `/PREFIX`.
    pub destination: String,
    /// Repository globs (`team/*`; `*` also matches `/`); empty: every repository.
    #[serde(default)]
    pub repositories: Vec<String>,
    /// Which tags: the cleanup policy's rules. Absent: every tag.
    #[serde(default)]
    pub tags: TagFilter,
    /// Delete on the destination the tags the source no longer has (or the filter no longer
    /// selects), in the synced repositories. Off by default.
    #[serde(default)]
    pub delete: bool,
    /// Also copy signatures, SBOMs and attestations, as `regatta cp --referrers`.
    #[serde(default)]
    pub referrers: bool,
}

/// `tags = { match = "^v", exclude = "rc", keep_last = 5, keep_within = "90d" }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagFilter {
    /// Only tags matching this regex (anchored, as in policies).
    #[serde(rename = "match")]
    pub match_re: Option<String>,
    /// Never tags matching this regex.
    pub exclude: Option<String>,
    /// Only the newest N of the tags left by match and exclude.
    pub keep_last: Option<usize>,
    /// Only tags created within this duration (`30d`, `12h`, `2w`).
    pub keep_within: Option<String>,
    /// The order of keep_last: `date` (default) or `semver`.
    #[serde(default)]
    pub sort: Order,
    /// Tags outside the order (no date, not a version): `keep` (mirrored, the default) or
    /// `delete` (not mirrored).
    #[serde(default)]
    pub unknown_date: UnknownDate,
}

impl TagFilter {
    /// The filter as a policy. Without `match` every tag is a candidate.
    pub fn policy(&self) -> Result<Policy, PolicyError> {
        Policy::compile(PolicySpec {
            repositories: Vec::new(),
            keep_last: self.keep_last,
            keep_within: self.keep_within.clone(),
            match_re: Some(self.match_re.clone().unwrap_or_else(|| ".*".to_string())),
            exclude: self.exclude.clone(),
            protect: Vec::new(),
            sort: self.sort,
            unknown_date: self.unknown_date,
        })
    }
}

/// A checked mirror: its globs compiled, its tag filter a policy.
#[derive(Debug, Clone)]
pub struct Mirror {
    repositories: Option<globset::GlobSet>,
    pub tags: Policy,
    /// The destination prefix without slashes at the ends; empty for none.
    pub prefix: String,
}

/// What is wrong with a `[sync.NAME]`: the key, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct MirrorError {
    pub key: &'static str,
    pub problem: String,
}

impl Mirror {
    /// Checks a spec. `prefix`: what follows the destination's registry (`mirror`, or empty).
    pub fn new(spec: &SyncSpec, prefix: &str) -> Result<Self, MirrorError> {
        let repositories = if spec.repositories.is_empty() {
            None
        } else {
            let mut set = globset::GlobSetBuilder::new();
            for r in &spec.repositories {
                let glob = globset::GlobBuilder::new(r)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| MirrorError {
                        key: "repositories",
                        problem: format!("{r:?} is not a valid pattern: {e}"),
                    })?;
                set.add(glob);
            }
            Some(set.build().map_err(|e| MirrorError {
                key: "repositories",
                problem: e.to_string(),
            })?)
        };
        let tags = spec.tags.policy().map_err(|e| MirrorError {
            key: match e.key() {
                "match" => "tags.match",
                "exclude" => "tags.exclude",
                "keep_within" => "tags.keep_within",
                _ => "tags",
            },
            problem: e.to_string(),
        })?;
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.contains([':', '@']) {
            return Err(MirrorError {
                key: "destination",
                problem: "expected a registry and an optional /PREFIX, without a tag or digest"
                    .into(),
            });
        }
        // The same check `cp` makes of a destination prefix.
        RepoMapping::new(None, &prefix).map_err(|problem| MirrorError {
            key: "destination",
            problem,
        })?;
        Ok(Self {
            repositories,
            tags,
            prefix,
        })
    }

    /// Whether a source repository is mirrored.
    pub fn selects(&self, repo: &RepoName) -> bool {
        self.repositories
            .as_ref()
            .is_none_or(|s| s.is_match(repo.as_str()))
    }

    /// A source repository's name on the destination.
    pub fn destination(&self, repo: &RepoName) -> Option<RepoName> {
        if self.prefix.is_empty() {
            return Some(repo.clone());
        }
        RepoName::parse(&format!("{}/{repo}", self.prefix)).ok()
    }

    /// The source repository a destination repository mirrors, when it is one of this
    /// mirror's: under the prefix, and selected by the globs.
    pub fn source_of(&self, destination: &RepoName) -> Option<RepoName> {
        let name = if self.prefix.is_empty() {
            destination.as_str()
        } else {
            destination
                .as_str()
                .strip_prefix(&self.prefix)?
                .strip_prefix('/')?
        };
        let repo = RepoName::parse(name).ok()?;
        self.selects(&repo).then_some(repo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepoName {
        RepoName::parse(s).expect("a repository name")
    }

    fn spec(repositories: &[&str]) -> SyncSpec {
        SyncSpec {
            source: "a".into(),
            destination: "b/mirror".into(),
            repositories: repositories.iter().map(|r| r.to_string()).collect(),
            tags: TagFilter::default(),
            delete: false,
            referrers: false,
        }
    }

    #[test]
    fn repositories_keep_their_names_under_the_prefix_both_ways() {
        let m = Mirror::new(&spec(&["team/*", "base"]), "mirror/").expect("valid");
        assert!(m.selects(&name("team/api")));
        assert!(m.selects(&name("base")));
        assert!(!m.selects(&name("other/api")));
        assert_eq!(
            m.destination(&name("team/api")),
            Some(name("mirror/team/api"))
        );
        assert_eq!(
            m.source_of(&name("mirror/team/api")),
            Some(name("team/api"))
        );
        assert_eq!(m.source_of(&name("mirror/other/api")), None);
        assert_eq!(m.source_of(&name("mirrors/team/api")), None);
        assert_eq!(m.source_of(&name("team/api")), None);
        let all = Mirror::new(&spec(&[]), "").expect("valid");
        assert_eq!(all.destination(&name("x/y")), Some(name("x/y")));
        assert_eq!(all.source_of(&name("x/y")), Some(name("x/y")));
    }

    #[test]
    fn bad_fields_name_their_key() {
        let e = Mirror::new(&spec(&["team/[*"]), "").expect_err("a bad glob");
        assert_eq!(e.key, "repositories");
        let mut bad = spec(&[]);
        bad.tags.match_re = Some("(".into());
        assert_eq!(Mirror::new(&bad, "").expect_err("bad").key, "tags.match");
        let mut bad = spec(&[]);
        bad.tags.keep_within = Some("soon".into());
        let e = Mirror::new(&bad, "").expect_err("bad");
        assert_eq!(e.key, "tags.keep_within");
        assert!(e.problem.contains("30d"), "{e}");
        assert_eq!(
            Mirror::new(&spec(&[]), "m:1").expect_err("a tag").key,
            "destination"
        );
    }
}
