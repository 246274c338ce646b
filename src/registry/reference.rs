//! Parsing of image references and the validated names that travel into URLs.
//!
//! `HOST[:PORT]/REPO[:TAG|@sha256:HEX]`, optionally prefixed with `http://` or `https://`.
//! Without a scheme, loopback hosts use plain HTTP (as Docker does) and all others HTTPS.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Docker Hub's canonical API host.
pub const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid reference {input:?}: {reason}")]
    Invalid { input: String, reason: &'static str },
}

fn invalid(input: &str, reason: &'static str) -> ReferenceError {
    ReferenceError::Invalid {
        input: input.to_string(),
        reason,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Where a registry lives: scheme plus `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryAddr {
    pub scheme: Scheme,
    /// `host` or `host:port`, as it appears in URLs and in Docker's config.json keys.
    pub host: String,
}

impl RegistryAddr {
    /// Parses `host[:port]` or `http(s)://host[:port][/]`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let (scheme, rest) = split_scheme(input);
        let host = rest.trim_end_matches('/');
        if host.contains('/') {
            return Err(invalid(input, "a registry address has no path"));
        }
        validate_host(input, host)?;
        let host = normalize_hub_host(host);
        let scheme = scheme.unwrap_or_else(|| default_scheme(&host));
        Ok(Self { scheme, host })
    }

    /// `scheme://host[:port]`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.host)
    }

    /// The host without a port (for TLS names and display).
    pub fn hostname(&self) -> &str {
        if self.host.starts_with('[') {
            return self.host.split(']').next().unwrap_or(&self.host);
        }
        self.host.split(':').next().unwrap_or(&self.host)
    }

    pub fn is_docker_hub(&self) -> bool {
        self.host == DOCKER_HUB_HOST
    }
}

impl fmt::Display for RegistryAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)
    }
}

fn split_scheme(input: &str) -> (Option<Scheme>, &str) {
    if let Some(rest) = input.strip_prefix("http://") {
        (Some(Scheme::Http), rest)
    } else if let Some(rest) = input.strip_prefix("https://") {
        (Some(Scheme::Https), rest)
    } else {
        (None, input)
    }
}

/// Host names are case-insensitive: `Docker.io` is Docker Hub too.
fn normalize_hub_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "index.docker.io" => DOCKER_HUB_HOST.to_string(),
        _ => host,
    }
}

/// Loopback registries speak plain HTTP by default, as Docker assumes.
fn default_scheme(host: &str) -> Scheme {
    let name = if host.starts_with('[') {
        host.trim_start_matches('[').split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let loopback = name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false);
    if loopback {
        Scheme::Http
    } else {
        Scheme::Https
    }
}

fn validate_host(input: &str, host: &str) -> Result<(), ReferenceError> {
    if host.is_empty() {
        return Err(invalid(input, "the registry host is empty"));
    }
    let ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if !ok {
        return Err(invalid(
            input,
            "the registry host has characters a host cannot have",
        ));
    }
    Ok(())
}

/// A repository name as the distribution spec allows it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() || input.len() > 255 {
            return Err(invalid(input, "a repository name has 1 to 255 characters"));
        }
        for component in input.split('/') {
            if !valid_path_component(component) {
                return Err(invalid(
                    input,
                    "a repository name is lowercase letters, digits and separators (. _ __ -) between path components",
                ));
            }
        }
        Ok(Self(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    // Separators: '.', '_', '__', or one or more '-'; never two different ones in a row.
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl TryFrom<String> for RepoName {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RepoName> for String {
    fn from(value: RepoName) -> Self {
        value.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let bytes = input.as_bytes();
        let first_ok = bytes
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
        let rest_ok = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !first_ok || !rest_ok || bytes.len() > 128 {
            return Err(invalid(
                input,
                "a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
            ));
        }
        Ok(Self(input.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Tag> for String {
    fn from(value: Tag) -> Self {
        value.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A content digest `algorithm:hex`. Only sha256 and sha512 are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let (algorithm, hex) = input
            .split_once(':')
            .ok_or_else(|| invalid(input, "a digest is algorithm:hex"))?;
        let expected_len = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => {
                return Err(invalid(
                    input,
                    "only sha256 and sha512 digests are supported",
                ));
            }
        };
        let hex_ok = hex.len() == expected_len
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(invalid(
                input,
                "the digest's hex part has the wrong length or characters",
            ));
        }
        Ok(Self(input.to_string()))
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(bytes))
        ))
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        use sha2::Digest as _;
        let actual = match self.algorithm() {
            "sha256" => hex::encode(sha2::Sha256::digest(bytes)),
            "sha512" => hex::encode(sha2::Sha512::digest(bytes)),
            _ => return false,
        };
        actual == self.hex()
    }

    pub fn algorithm(&self) -> &str {
        self.0.split(':').next().unwrap_or("")
    }

    pub fn hex(&self) -> &str {
        self.0.split(':').nth(1).unwrap_or("")
    }

    /// The first 12 hex characters, as `docker images` shows them.
    pub fn short(&self) -> &str {
        let hex = self.hex();
        &hex[..hex.len().min(12)]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Digest {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Digest> for String {
    fn from(value: Digest) -> Self {
        value.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a manifest request names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ManifestRef {
    Tag(Tag),
    Digest(Digest),
}

impl ManifestRef {
    pub fn as_str(&self) -> &str {
        match self {
            ManifestRef::Tag(t) => t.as_str(),
            ManifestRef::Digest(d) => d.as_str(),
        }
    }

    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ManifestRef::Digest(d) => Some(d),
            ManifestRef::Tag(_) => None,
        }
    }
}

impl From<Tag> for ManifestRef {
    fn from(value: Tag) -> Self {
        ManifestRef::Tag(value)
    }
}

impl From<Digest> for ManifestRef {
    fn from(value: Digest) -> Self {
        ManifestRef::Digest(value)
    }
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A full image reference. `tag` and `digest` may both be absent (then `latest` is meant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: RegistryAddr,
    pub repo: RepoName,
    pub tag: Option<Tag>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parses `[scheme://]HOST[:PORT]/REPO[:TAG][@DIGEST]`. A first component without a dot,
    /// colon or `localhost` is a Docker Hub repository (`nginx` -> `docker.io/library/nginx`).
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let (scheme, rest) = split_scheme(input);
        let (name, tag, digest) = split_tag_and_digest(rest)?;
        let (host, repo) = split_host(name);
        let registry = match host {
            Some(host) => {
                let mut addr = RegistryAddr::parse(host)?;
                if let Some(scheme) = scheme {
                    addr.scheme = scheme;
                }
                addr
            }
            None if scheme.is_some() => return Err(invalid(input, "a URL needs a host")),
            None => RegistryAddr {
                scheme: Scheme::Https,
                host: DOCKER_HUB_HOST.to_string(),
            },
        };
        let repo = if registry.is_docker_hub() && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo.to_string()
        };
        Ok(Self {
            registry,
            repo: RepoName::parse(&repo)?,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when pinned, else the tag, else `latest`.
    pub fn manifest_ref(&self) -> ManifestRef {
        if let Some(d) = &self.digest {
            return ManifestRef::Digest(d.clone());
        }
        match &self.tag {
            Some(t) => ManifestRef::Tag(t.clone()),
            None => ManifestRef::Tag(Tag("latest".to_string())),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry.host, self.repo)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Splits `NAME[:TAG][@DIGEST]` into its parts. The tag is after the last ':' that follows
/// the last '/', so `host:5000/repo` has no tag.
pub fn split_tag_and_digest(
    input: &str,
) -> Result<(&str, Option<Tag>, Option<Digest>), ReferenceError> {
    let (name_part, digest) = match input.split_once('@') {
        Some((name, digest)) => (name, Some(Digest::parse(digest)?)),
        None => (input, None),
    };
    let last_slash = name_part.rfind('/');
    Ok(match name_part.rfind(':') {
        Some(colon) if last_slash.is_none_or(|s| colon > s) => (
            &name_part[..colon],
            Some(Tag::parse(&name_part[colon + 1..])?),
            digest,
        ),
        _ => (name_part, None, digest),
    })
}

/// Splits `host/repo` when the first component looks like a host (Docker's rule).
fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.starts_with('[') =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_default_to_http() {
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.3.2.1",
            "[::1]:5000",
        ] {
            assert_eq!(
                RegistryAddr::parse(host).unwrap().scheme,
                Scheme::Http,
                "{host}"
            );
        }
        assert_eq!(
            RegistryAddr::parse("ghcr.io").unwrap().scheme,
            Scheme::Https
        );
        assert_eq!(
            RegistryAddr::parse("https://localhost:5000/")
                .unwrap()
                .scheme,
            Scheme::Https
        );
    }

    #[test]
    fn docker_hub_is_normalized() {
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(r.registry.host, DOCKER_HUB_HOST);
        assert_eq!(r.repo.as_str(), "library/nginx");
        assert_eq!(r.manifest_ref().as_str(), "latest");
        // Found by fuzzing: the Hub's aliases are host names, so any case.
        let upper = Reference::parse("Docker.IO/l").unwrap();
        assert_eq!(upper.registry.host, DOCKER_HUB_HOST);
        assert_eq!(upper.repo.as_str(), "library/l");
        assert_eq!(Reference::parse(&upper.to_string()).unwrap(), upper);
        let r = Reference::parse("docker.io/bitnami/redis:7").unwrap();
        assert_eq!(r.repo.as_str(), "bitnami/redis");
        assert_eq!(r.tag.unwrap().as_str(), "7");
    }

    #[test]
    fn host_port_repo_tag_and_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("127.0.0.1:5000/team/app:v1@{d}")).unwrap();
        assert_eq!(r.registry.host, "127.0.0.1:5000");
        assert_eq!(r.registry.scheme, Scheme::Http);
        assert_eq!(r.repo.as_str(), "team/app");
        assert_eq!(r.tag.as_ref().unwrap().as_str(), "v1");
        assert_eq!(r.manifest_ref().as_str(), d);
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/team/app:v1@{d}"));
    }

    #[test]
    fn explicit_scheme_wins() {
        let r = Reference::parse("https://127.0.0.1:5443/app:1").unwrap();
        assert_eq!(r.registry.scheme, Scheme::Https);
        assert_eq!(r.registry.base_url(), "https://127.0.0.1:5443");
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "UPPER", "a//b", "-a", "a-", "a..b", "a_-b"] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?}");
        }
        for good in [
            "a",
            "a/b",
            "a-b",
            "a--b",
            "a__b",
            "a.b/c_d",
            "library/nginx",
        ] {
            assert!(RepoName::parse(good).is_ok(), "{good:?}");
        }
        assert!(Tag::parse(".x").is_err());
        assert!(Tag::parse(&"x".repeat(129)).is_err());
        assert!(Tag::parse("v1.2.3-rc_1").is_ok());
        assert!(Digest::parse("sha256:abc").is_err());
        assert!(Digest::parse(&format!("md5:{}", "a".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
    }

    #[test]
    fn digest_of_bytes_matches() {
        let d = Digest::sha256_of(b"hello");
        assert!(d.matches(b"hello"));
        assert!(!d.matches(b"hellO"));
        assert_eq!(d.short().len(), 12);
    }
}
