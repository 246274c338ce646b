//! Copying many repositories at once (`regatta cp reg-a/team/* reg-b/mirror/team/`, or a whole
//! registry): which source repositories a pattern selects and what each is called on the
//! destination.
//!
//! The part of the pattern before its first wildcard, up to the last `/`, is the source
//! prefix; it is replaced by the destination prefix: `team/*` to `mirror/team/` maps
//! `team/api` to `mirror/team/api` and `team/tools/cli` to `mirror/team/tools/cli` (`*` also
//! matches `/`, as everywhere in regatta). Without a pattern every repository is selected and
//! keeps its name under the destination prefix.

use crate::registry::RepoName;
use crate::registry::reference::ReferenceError;

/// `TARGET` and what follows it (`team/*`, `mirror/team/`), split at the first `/` after an
/// optional scheme.
pub fn split_target(input: &str) -> (&str, &str) {
    let scheme = ["http://", "https://"]
        .iter()
        .find(|p| input.starts_with(**p))
        .map_or(0, |p| p.len());
    match input[scheme..].split_once('/') {
        Some((host, rest)) => (&input[..scheme + host.len()], rest),
        None => (input, ""),
    }
}

/// Which repositories, and how they are renamed.
#[derive(Debug, Clone)]
pub struct RepoMapping {
    matcher: Option<globset::GlobMatcher>,
    /// Removed from each selected repository's name (`team/`).
    source_prefix: String,
    /// Put in front instead (`mirror/team/`); empty for none.
    destination_prefix: String,
}

/// Whether a repository argument is a pattern rather than a name.
pub fn is_pattern(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

impl RepoMapping {
    /// `pattern`: `None` for every repository. `destination`: a prefix, with or without a
    /// trailing `/`, or empty.
    pub fn new(pattern: Option<&str>, destination: &str) -> Result<Self, String> {
        let matcher = pattern
            .map(|p| {
                globset::Glob::new(p)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("repository pattern {p:?}: {e}"))
            })
            .transpose()?;
        let source_prefix = match pattern {
            Some(p) => {
                let literal = &p[..p.find(['*', '?', '[', '{']).unwrap_or(p.len())];
                literal
                    .rfind('/')
                    .map_or(String::new(), |at| literal[..=at].to_string())
            }
            None => String::new(),
        };
        let trimmed = destination.trim_matches('/');
        let destination_prefix = if trimmed.is_empty() {
            String::new()
        } else {
            RepoName::parse(trimmed).map_err(|e| e.to_string())?;
            format!("{trimmed}/")
        };
        Ok(Self {
            matcher,
            source_prefix,
            destination_prefix,
        })
    }

    pub fn selects(&self, repo: &RepoName) -> bool {
        self.matcher
            .as_ref()
            .is_none_or(|m| m.is_match(repo.as_str()))
    }

    /// The destination name of a selected repository.
    pub fn destination(&self, repo: &RepoName) -> Result<RepoName, ReferenceError> {
        let rest = repo
            .as_str()
            .strip_prefix(&self.source_prefix)
            .unwrap_or(repo.as_str());
        RepoName::parse(&format!("{}{rest}", self.destination_prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepoName {
        RepoName::parse(s).expect("a repository name")
    }

    #[test]
    fn a_pattern_selects_and_its_literal_directory_is_replaced() {
        let m = RepoMapping::new(Some("team/*"), "mirror/team/").expect("valid");
        assert!(m.selects(&name("team/api")));
        assert!(m.selects(&name("team/tools/cli")));
        assert!(!m.selects(&name("other/api")));
        assert_eq!(
            m.destination(&name("team/api")).ok(),
            Some(name("mirror/team/api"))
        );
        assert_eq!(
            m.destination(&name("team/tools/cli")).ok(),
            Some(name("mirror/team/tools/cli"))
        );
        let partial = RepoMapping::new(Some("team/ap*"), "x").expect("valid");
        assert_eq!(
            partial.destination(&name("team/api")).ok(),
            Some(name("x/api"))
        );
    }

    #[test]
    fn without_a_pattern_everything_keeps_its_name_under_the_prefix() {
        let all = RepoMapping::new(None, "").expect("valid");
        assert!(all.selects(&name("a/b")));
        assert_eq!(all.destination(&name("a/b")).ok(), Some(name("a/b")));
        let under = RepoMapping::new(None, "/backup/").expect("valid");
        assert_eq!(
            under.destination(&name("a/b")).ok(),
            Some(name("backup/a/b"))
        );
        assert!(RepoMapping::new(None, "Bad Name").is_err());
        assert!(RepoMapping::new(Some("team/[*"), "").is_err());
    }

    #[test]
    fn the_target_is_the_first_component_after_the_scheme() {
        assert_eq!(split_target("reg-a/team/*"), ("reg-a", "team/*"));
        assert_eq!(
            split_target("http://127.0.0.1:5000/a/b"),
            ("http://127.0.0.1:5000", "a/b")
        );
        assert_eq!(split_target("127.0.0.1:5000"), ("127.0.0.1:5000", ""));
        assert_eq!(split_target("reg-b/mirror/"), ("reg-b", "mirror/"));
    }
}
