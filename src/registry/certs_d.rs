//! Docker's and Podman's per-registry certificate directories: `<root>/<host[:port]>/` holding
//! CA certificates (`*.crt`) and client certificate pairs (`NAME.cert` + `NAME.key`), read the
//! way docker and containers/image (skopeo, podman) read them.
//!
//! Roots searched, first match wins (the directory of the first root that has one for this
//! host is used alone, as containers/image does): `~/.config/containers/certs.d`,
//! `/etc/containers/certs.d`, `~/.config/docker/certs.d` (rootless Docker),
//! `/etc/docker/certs.d`. `REGATTA_CERTS_D` (a `:`-separated list of roots) replaces that list,
//! for tests and for people who keep them elsewhere.

use std::path::{Path, PathBuf};

/// The environment variable that replaces the default roots.
pub const CERTS_D_ENV: &str = "REGATTA_CERTS_D";

/// What one registry's certificate directory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostCerts {
    /// The directory that was used.
    pub dir: Option<PathBuf>,
    /// `*.crt` files, sorted by name: extra CA certificates for this registry.
    pub ca_files: Vec<PathBuf>,
    /// The first `NAME.cert` (by name) that has a `NAME.key` beside it.
    pub client_pair: Option<(PathBuf, PathBuf)>,
}

/// The roots to search: `REGATTA_CERTS_D` when set, else the Podman and Docker defaults.
pub fn default_roots() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os(CERTS_D_ENV) {
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let home = directories::BaseDirs::new().map(|b| b.config_dir().to_path_buf());
    let mut roots = Vec::new();
    if let Some(config) = &home {
        roots.push(config.join("containers/certs.d"));
    }
    roots.push(PathBuf::from("/etc/containers/certs.d"));
    if let Some(config) = &home {
        roots.push(config.join("docker/certs.d"));
    }
    roots.push(PathBuf::from("/etc/docker/certs.d"));
    roots
}

/// The certificates for `host` (`host[:port]`, as in the directory name) under the first root
/// that has a directory for it. An unreadable directory counts as absent.
pub fn lookup(roots: &[PathBuf], host: &str) -> HostCerts {
    // A host name never holds a path separator; refuse one rather than read elsewhere.
    if host.is_empty() || host.contains('/') || host.contains("..") {
        return HostCerts::default();
    }
    for root in roots {
        let dir = root.join(host);
        if dir.is_dir() {
            return read_dir(&dir);
        }
    }
    HostCerts::default()
}

fn read_dir(dir: &Path) -> HostCerts {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    let has_ext = |p: &Path, ext: &str| p.extension().is_some_and(|e| e == ext) && p.is_file();
    let ca_files = names
        .iter()
        .filter(|p| has_ext(p, "crt"))
        .cloned()
        .collect();
    let client_pair = names
        .iter()
        .filter(|p| has_ext(p, "cert"))
        .find_map(|cert| {
            let key = cert.with_extension("key");
            key.is_file().then(|| (cert.clone(), key))
        });
    HostCerts {
        dir: Some(dir.to_path_buf()),
        ca_files,
        client_pair,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_root_with_the_host_wins_and_pairs_need_both_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let host = "reg.example:5000";
        std::fs::create_dir_all(b.path().join(host)).unwrap();
        for name in [
            "ca.crt",
            "extra.crt",
            "lonely.cert",
            "client.cert",
            "client.key",
        ] {
            std::fs::write(b.path().join(host).join(name), "x").unwrap();
        }
        let roots = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let found = lookup(&roots, host);
        assert_eq!(found.dir, Some(b.path().join(host)));
        assert_eq!(
            found.ca_files,
            vec![
                b.path().join(host).join("ca.crt"),
                b.path().join(host).join("extra.crt")
            ]
        );
        assert_eq!(
            found.client_pair,
            Some((
                b.path().join(host).join("client.cert"),
                b.path().join(host).join("client.key")
            ))
        );
        // A directory in the first root hides the second, even empty.
        std::fs::create_dir_all(a.path().join(host)).unwrap();
        let found = lookup(&roots, host);
        assert_eq!(found.dir, Some(a.path().join(host)));
        assert!(found.ca_files.is_empty() && found.client_pair.is_none());
        assert_eq!(lookup(&roots, "other:5000"), HostCerts::default());
        assert_eq!(lookup(&roots, "../x"), HostCerts::default());
    }
}
