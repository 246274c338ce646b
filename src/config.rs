//! `config.toml`: named registries and defaults. Plain data, readable by every layer.
//!
//! A bad file fails with the file, the line, the key and what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::registry::vendor::{Namespace, VendorKind};
use crate::registry::{ClientOptions, CredentialSource, MAX_PAGE_SIZE, RegistryAddr, Secret};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryConfig>,
    /// Cleanup policies by name (`regatta cleanup TARGET --policy NAME`).
    #[serde(default)]
    pub policies: BTreeMap<String, crate::cleanup::policy::PolicySpec>,
    /// Mirrors by name (`regatta sync [NAME...]`).
    #[serde(default)]
    pub sync: BTreeMap<String, crate::copy::sync::SyncSpec>,
    /// Settings of `regatta audit` and the TUI's audit view.
    #[serde(default)]
    pub audit: crate::audit::AuditConfig,
    /// `[keys]`: TUI action name -> the keys that do it. Plain text here; the TUI's keymap
    /// checks the names and keys when the config is loaded (`tui::keymap::Keymap::from_config`).
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
}

/// The keys of one `[keys]` entry, as written: `quit = "Q"` or `delete = ["d", "Delete"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyList {
    pub keys: Vec<String>,
    /// The line of the entry in the file, for errors found after parsing.
    pub line: Option<usize>,
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a key ("d") or a list of keys (["d", "Delete"])"#)
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<KeyList, E> {
                Ok(KeyList {
                    keys: vec![key.to_string()],
                    line: None,
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = seq.next_element::<String>()? {
                    keys.push(key);
                }
                Ok(KeyList { keys, line: None })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Requests in flight at once per registry (default 8).
    pub concurrency: Option<usize>,
    /// Page size for catalog and tag listings (default and maximum 1000).
    pub page_size: Option<usize>,
    /// Seconds before a request is abandoned (default 60).
    pub timeout_secs: Option<u64>,
    /// Backups before a delete also keep the blobs it frees, so `restore` works after garbage
    /// collection (default false; a registry's own setting wins).
    pub backup_blobs: Option<bool>,
}

/// `Debug` is written out by hand: it shows `password` as `<redacted>`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// `host[:port]` or `http(s)://host[:port]`.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A shell command whose standard output is the password.
    pub password_command: Option<String>,
    /// Look up credentials in Docker's config.json when no username is given (default true).
    pub docker_config: Option<bool>,
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) and key for registries that require mutual TLS; both or
    /// neither. Without them, certs.d's `client.cert`/`client.key` are used when present.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub insecure: Option<bool>,
    pub concurrency: Option<usize>,
    /// Requests per second at most to this registry (beside `concurrency`), for production
    /// registries that should not be scanned at full speed.
    pub max_requests_per_second: Option<f64>,
    pub page_size: Option<usize>,
    /// Repositories to show when the registry has no catalog API (Docker Hub, GHCR, ...).
    #[serde(default)]
    pub repositories: Vec<String>,
    /// A user or organisation whose repositories are listed through the vendor's own API
    /// (Docker Hub, GitHub's packages API for GHCR) instead of the catalog.
    pub namespace: Option<String>,
    /// `docker-hub` or `github`: the API that lists `namespace` (default: from the host).
    pub namespace_api: Option<String>,
    /// That API's base URL (default: the vendor's; GitHub Enterprise: `https://HOST/api/v3`).
    pub namespace_api_url: Option<String>,
    /// A shell command that runs the registry's garbage collection, offered after a cleanup.
    pub gc_command: Option<String>,
    /// The registry's own storage, read by `du` for what the API cannot see (untagged
    /// manifests, blobs waiting for garbage collection, uploads): the filesystem driver's
    /// rootdirectory (`/var/lib/registry`).
    pub storage: Option<String>,
    /// `[defaults] backup_blobs` for this registry.
    pub backup_blobs: Option<bool>,
    /// Upload blobs in chunks of this size (bytes, or a string such as "50MB" or "64MiB")
    /// instead of one request per blob, for registries behind proxies that cap a request's
    /// body (`regatta cp`, `import`).
    pub upload_chunk_size: Option<ByteSize>,
    /// A repository of this registry that holds signatures and other referrers of images in
    /// other repositories (where cosign's `COSIGN_REPOSITORY` puts them): `regatta referrers`
    /// looks there too, as with `--also-in`.
    pub referrers_repository: Option<String>,
}

/// A number of bytes in the config: an integer, or a string with a unit (`"50MB"`,
/// `"64MiB"`, `"1GB"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "toml::Value")]
pub struct ByteSize(pub u64);

impl TryFrom<toml::Value> for ByteSize {
    type Error = String;

    fn try_from(value: toml::Value) -> Result<Self, String> {
        let expected = "expected a size in bytes: a positive integer or a string such as \"50MB\" or \"64MiB\"";
        let bytes = match value {
            toml::Value::Integer(n) => u64::try_from(n).ok(),
            toml::Value::String(text) => parse_byte_size(&text),
            _ => None,
        };
        match bytes {
            Some(n) if n > 0 => Ok(ByteSize(n)),
            _ => Err(expected.to_string()),
        }
    }
}

fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

impl fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_command", &self.password_command)
            .field("docker_config", &self.docker_config)
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("insecure", &self.insecure)
            .field("concurrency", &self.concurrency)
            .field("max_requests_per_second", &self.max_requests_per_second)
            .field("page_size", &self.page_size)
            .field("repositories", &self.repositories)
            .field("namespace", &self.namespace)
            .field("namespace_api", &self.namespace_api)
            .field("namespace_api_url", &self.namespace_api_url)
            .field("gc_command", &self.gc_command)
            .field("storage", &self.storage)
            .field("upload_chunk_size", &self.upload_chunk_size)
            .field("backup_blobs", &self.backup_blobs)
            .field("referrers_repository", &self.referrers_repository)
            .finish()
    }
}

/// A config error with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// `$XDG_CONFIG_HOME/regatta/config.toml` on Linux (the platform config dir elsewhere).
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "regatta")
            .map(|d| d.config_dir().join("config.toml"))
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses config text; `path` is only used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let key = e.span().and_then(|s| key_at(text, s.start));
            ConfigError {
                path: path.to_path_buf(),
                line,
                key,
                message: e.message().trim().to_string(),
            }
        })?;
        config.validate(path, text)?;
        for (action, list) in &mut config.keys {
            list.line = find_key_line(text, "keys", action);
        }
        Ok(config)
    }

    fn validate(&self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let fail = |table: &str, key: &str, message: String| {
            let full = format!("{table}.{key}");
            ConfigError {
                path: path.to_path_buf(),
                line: find_key_line(text, table, key),
                key: Some(full),
                message,
            }
        };
        check_limits(&self.defaults.concurrency, &self.defaults.page_size)
            .map_err(|(key, msg)| fail("defaults", key, msg))?;
        for (name, registry) in &self.registries {
            let table = format!("registries.{name}");
            if let Err(e) = RegistryAddr::parse(&registry.url) {
                return Err(fail(
                    &table,
                    "url",
                    format!("expected host[:port] or an http(s) URL: {e}"),
                ));
            }
            if registry.password.is_some() && registry.password_command.is_some() {
                return Err(fail(
                    &table,
                    "password_command",
                    "give either password or password_command, not both".into(),
                ));
            }
            if (registry.password.is_some() || registry.password_command.is_some())
                && registry.username.is_none()
            {
                return Err(fail(
                    &table,
                    "username",
                    "a password needs a username".into(),
                ));
            }
            check_limits(&registry.concurrency, &registry.page_size)
                .map_err(|(key, msg)| fail(&table, key, msg))?;
            match (&registry.client_cert, &registry.client_key) {
                (Some(_), None) => {
                    return Err(fail(
                        &table,
                        "client_cert",
                        "a client certificate needs client_key too".into(),
                    ));
                }
                (None, Some(_)) => {
                    return Err(fail(
                        &table,
                        "client_key",
                        "a client key needs client_cert too".into(),
                    ));
                }
                _ => {}
            }
            if let Some(rate) = registry.max_requests_per_second
                && !(rate.is_finite() && rate > 0.0)
            {
                return Err(fail(
                    &table,
                    "max_requests_per_second",
                    "expected a number of requests per second above 0 (0.5 is one request every 2 s)"
                        .into(),
                ));
            }
            if let Some(repo) = &registry.referrers_repository
                && let Err(e) = crate::registry::RepoName::parse(repo)
            {
                return Err(fail(&table, "referrers_repository", e.to_string()));
            }
            if let Err((key, message)) = namespace_of(registry) {
                return Err(fail(&table, key, message));
            }
            for repo in &registry.repositories {
                if let Err(e) = crate::registry::RepoName::parse(repo) {
                    return Err(fail(&table, "repositories", e.to_string()));
                }
            }
        }
        for (name, spec) in &self.policies {
            if let Err(e) = crate::cleanup::policy::Policy::compile(spec.clone()) {
                return Err(fail(&format!("policies.{name}"), e.key(), e.to_string()));
            }
        }
        for (name, spec) in &self.sync {
            if let Err(e) = self.mirror(spec) {
                // `tags.match` is written inside `tags = { ... }`: that line.
                let table = format!("sync.{name}");
                let written = e.key.split('.').next().unwrap_or(e.key);
                return Err(ConfigError {
                    path: path.to_path_buf(),
                    line: find_key_line(text, &table, written),
                    key: Some(format!("{table}.{}", e.key)),
                    message: e.problem,
                });
            }
        }
        if let Err(e) = crate::audit::AuditSettings::from_config(&self.audit) {
            let key = e.key();
            let (table, key) = match key.split_once('.') {
                Some((sub, key)) => (format!("audit.{sub}"), key.to_string()),
                None => ("audit".to_string(), key),
            };
            return Err(fail(&table, &key, e.to_string()));
        }
        Ok(())
    }

    /// A `[sync.NAME]` checked: its globs, its tag filter, its destination prefix.
    pub fn mirror(
        &self,
        spec: &crate::copy::sync::SyncSpec,
    ) -> Result<crate::copy::sync::Mirror, crate::copy::sync::MirrorError> {
        let (_, prefix) = crate::copy::mirror::split_target(&spec.destination);
        crate::copy::sync::Mirror::new(spec, prefix)
    }

    /// Client options for a configured registry, defaults applied.
    pub fn client_options(&self, registry: &RegistryConfig) -> ClientOptions {
        let mut options = ClientOptions::default();
        if let Some(c) = registry.concurrency.or(self.defaults.concurrency) {
            options.concurrency = c;
        }
        if let Some(n) = registry.page_size.or(self.defaults.page_size) {
            options.page_size = n;
        }
        if let Some(t) = self.defaults.timeout_secs {
            options.request_timeout = std::time::Duration::from_secs(t);
        }
        options.max_requests_per_second = registry.max_requests_per_second;
        options.upload_chunk_size = registry.upload_chunk_size.map(|s| s.0);
        options.ca_file = registry.ca_file.clone();
        options.client_cert = registry.client_cert.clone();
        options.client_key = registry.client_key.clone();
        options.insecure = registry.insecure.unwrap_or(false);
        options.credentials = match (
            &registry.username,
            &registry.password,
            &registry.password_command,
        ) {
            (Some(username), Some(password), _) => CredentialSource::Plain {
                username: username.clone(),
                password: Secret::new(password.clone()),
            },
            (Some(username), None, Some(command)) => CredentialSource::Command {
                username: username.clone(),
                command: command.clone(),
            },
            _ if registry.docker_config.unwrap_or(true) => CredentialSource::DockerConfig,
            _ => CredentialSource::Anonymous,
        };
        options
    }

    /// The namespace a registry's repositories are listed from, if one is configured (the
    /// file was validated, so an unusable one is `None`).
    pub fn namespace(&self, registry: &RegistryConfig) -> Option<Namespace> {
        namespace_of(registry).ok().flatten()
    }

    /// Default client options for a registry that is not in the config.
    pub fn default_client_options(&self) -> ClientOptions {
        self.client_options(&RegistryConfig::default())
    }

    /// The configured registry whose name or address is `target`.
    pub fn find_registry(&self, target: &str) -> Option<(&str, &RegistryConfig)> {
        if let Some((name, r)) = self.registries.get_key_value(target) {
            return Some((name.as_str(), r));
        }
        let wanted = RegistryAddr::parse(target).ok()?;
        self.registries.iter().find_map(|(name, r)| {
            let addr = RegistryAddr::parse(&r.url).ok()?;
            (addr.host == wanted.host).then_some((name.as_str(), r))
        })
    }

    /// Whether deletions on `target` keep the blobs they free in their backups: the
    /// registry's `backup_blobs`, else `[defaults] backup_blobs`, else no.
    /// The configured registry's `referrers_repository`, if any.
    pub fn referrers_repository(&self, target: &str) -> Option<&str> {
        self.find_registry(target)
            .and_then(|(_, r)| r.referrers_repository.as_deref())
    }

    pub fn backup_blobs(&self, target: &str) -> bool {
        self.find_registry(target)
            .and_then(|(_, r)| r.backup_blobs)
            .or(self.defaults.backup_blobs)
            .unwrap_or(false)
    }

    /// The error of the `[keys]` entry `action`, placed at its line like every config error.
    pub fn key_error(&self, path: &Path, action: &str, message: String) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            line: self.keys.get(action).and_then(|k| k.line),
            key: Some(format!("keys.{action}")),
            message,
        }
    }

    /// A warning when `path` holds a plain password and other users can read it.
    pub fn exposure_warning(&self, path: &Path) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        if !self.has_plain_password() {
            return None;
        }
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o044 != 0).then(|| {
            format!(
                "{} holds a plain password and is readable by other users (mode {:o}); run chmod 600 on it, or use password_command",
                path.display(),
                mode & 0o777
            )
        })
    }

    /// Whether any registry keeps a plain password in the file.
    pub fn has_plain_password(&self) -> bool {
        self.registries.values().any(|r| r.password.is_some())
    }
}

/// `namespace`, `namespace_api` and `namespace_api_url` resolved, or the key at fault and why.
fn namespace_of(registry: &RegistryConfig) -> Result<Option<Namespace>, (&'static str, String)> {
    let Some(name) = &registry.namespace else {
        if registry.namespace_api.is_some() || registry.namespace_api_url.is_some() {
            return Err((
                "namespace",
                "namespace_api needs a namespace to list".into(),
            ));
        }
        return Ok(None);
    };
    if name.is_empty() || name.contains('/') {
        return Err((
            "namespace",
            "expected a user or organisation name, without slashes".into(),
        ));
    }
    let kind = match &registry.namespace_api {
        Some(api) => VendorKind::parse(api).ok_or((
            "namespace_api",
            "expected \"docker-hub\" or \"github\"".to_string(),
        ))?,
        None => RegistryAddr::parse(&registry.url)
            .ok()
            .and_then(|addr| VendorKind::for_host(&addr.host))
            .ok_or((
                "namespace",
                "namespace listing is known for Docker Hub and GHCR; for another host set namespace_api = \"docker-hub\" or \"github\"".to_string(),
            ))?,
    };
    let url = registry
        .namespace_api_url
        .as_deref()
        .unwrap_or(kind.default_api());
    let api = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or(("namespace_api_url", "expected an http(s) URL".to_string()))?;
    Ok(Some(Namespace {
        name: name.clone(),
        kind,
        api,
    }))
}

fn check_limits(
    concurrency: &Option<usize>,
    page_size: &Option<usize>,
) -> Result<(), (&'static str, String)> {
    if *concurrency == Some(0) {
        return Err(("concurrency", "expected at least 1".into()));
    }
    if let Some(n) = page_size
        && (*n == 0 || *n > MAX_PAGE_SIZE)
    {
        return Err((
            "page_size",
            format!("expected 1 to {MAX_PAGE_SIZE} (registries refuse larger pages)"),
        ));
    }
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The dotted key at `offset`: the enclosing `[table]` header plus the key of that line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    // On a table header (an unknown table, a table missing a field): the header's own name.
    if let Some(header) = line.trim().strip_prefix('[') {
        let name = header
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("");
        let name = name.trim();
        return (!name.is_empty()).then(|| name.to_string());
    }
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty());
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) => Some(t),
        (None, None) => None,
    }
}

/// The line of `key = ...` inside `[table]`, when written that way.
fn find_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut in_table = false;
    let mut table_line = None;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            in_table = l.trim_matches(|c| c == '[' || c == ']').trim() == table;
            if in_table {
                table_line = Some(i + 1);
            }
            continue;
        }
        if in_table && l.split_once('=').is_some_and(|(k, _)| k.trim() == key) {
            return Some(i + 1);
        }
    }
    table_line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("config.toml"), text)
    }

    /// The config is plain data that front ends may show with `{:?}` (a panic, a log line):
    /// a password written in it must not come along.
    #[test]
    fn a_config_in_debug_shows_no_password() {
        let c = parse(
            "[registries.r]\nurl = \"r:5000\"\nusername = \"alice\"\npassword = \"hunter2-in-config\"\n",
        )
        .unwrap();
        let shown = format!("{c:?} {c:#?} {:?}", c.registries["r"]);
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains("hunter2-in-config"), "{shown}");
        assert_eq!(
            c.registries["r"].password.as_deref(),
            Some("hunter2-in-config")
        );
    }

    #[test]
    fn a_full_config_parses() {
        let c = parse(
            r#"
[defaults]
concurrency = 4

[registries.local]
url = "127.0.0.1:5000"

[registries.hub]
url = "docker.io"
username = "me"
password_command = "pass show hub"
repositories = ["library/nginx"]
"#,
        )
        .unwrap();
        assert_eq!(c.registries.len(), 2);
        let opts = c.client_options(&c.registries["hub"]);
        assert_eq!(opts.concurrency, 4);
        assert!(matches!(opts.credentials, CredentialSource::Command { .. }));
        assert_eq!(c.find_registry("127.0.0.1:5000").unwrap().0, "local");
    }

    #[test]
    fn referrers_repository_is_a_repository_name() {
        let c = parse("[registries.a]\nurl = \"a:5000\"\nreferrers_repository = \"team/sigs\"\n")
            .unwrap();
        assert_eq!(c.referrers_repository("a"), Some("team/sigs"));
        assert_eq!(c.referrers_repository("a:5000"), Some("team/sigs"));
        assert_eq!(c.referrers_repository("b:5000"), None);
        let e = parse("[registries.a]\nurl = \"a:5000\"\nreferrers_repository = \"Not A Repo\"\n")
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("registries.a.referrers_repository"));
    }

    #[test]
    fn backup_blobs_is_per_registry_then_global() {
        let c = parse("[registries.a]\nurl = \"a:5000\"\n[registries.b]\nurl = \"b:5000\"\nbackup_blobs = false\n").unwrap();
        assert!(!c.backup_blobs("a"));
        let c = parse("[defaults]\nbackup_blobs = true\n[registries.a]\nurl = \"a:5000\"\n[registries.b]\nurl = \"b:5000\"\nbackup_blobs = false\n").unwrap();
        assert!(c.backup_blobs("a"));
        assert!(c.backup_blobs("a:5000"));
        assert!(!c.backup_blobs("b"));
        assert!(c.backup_blobs("unconfigured:5000"));
    }

    #[test]
    fn client_certificates_come_in_pairs() {
        let c = parse(
            "[registries.m]\nurl = \"https://r:5000\"\nclient_cert = \"/c/client.cert\"\nclient_key = \"/c/client.key\"\n",
        )
        .unwrap();
        let opts = c.client_options(&c.registries["m"]);
        assert_eq!(opts.client_cert, Some(PathBuf::from("/c/client.cert")));
        assert_eq!(opts.client_key, Some(PathBuf::from("/c/client.key")));
        let e = parse("[registries.m]\nurl = \"r:5000\"\n\nclient_cert = \"/c/client.cert\"\n")
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("registries.m.client_cert"));
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("client_key"), "{e}");
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("[registries.local]\nurl = \"x:1\"\ninsecur = true\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("registries.local.insecur"));
        let text = e.to_string();
        assert!(
            text.starts_with("config.toml:3: key `registries.local.insecur`"),
            "{text}"
        );
        assert!(text.contains("unknown field"), "{text}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = parse("[registries.a]\nurl = \"h:1\"\ninsecure = \"yes\"\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("registries.a.insecure"));
    }

    #[test]
    fn a_sync_section_parses_and_its_errors_name_file_line_and_key() {
        let c = parse(
            "[sync.mirror]\nsource = \"reg-a\"\ndestination = \"reg-b/mirror\"\nrepositories = [\"team/*\"]\ntags = { match = \"v.*\", exclude = \".*rc.*\", keep_last = 5, keep_within = \"90d\" }\ndelete = true\n",
        )
        .unwrap();
        let spec = &c.sync["mirror"];
        assert!(spec.delete && !spec.referrers);
        assert_eq!(spec.tags.keep_last, Some(5));
        assert_eq!(c.mirror(spec).expect("valid").prefix, "mirror");
        let e = parse(
            "[sync.m]\nsource = \"a\"\ndestination = \"b\"\n\ntags = { keep_within = \"soon\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sync.m.tags.keep_within"));
        assert_eq!(e.line, Some(5));
        let e = parse("[sync.m]\nsource = \"a\"\ndestination = \"b\"\ndelet = true\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sync.m.delet"));
        assert_eq!(e.line, Some(4));
        let e = parse("[sync.m]\nsource = \"a\"\n").unwrap_err();
        assert!(e.message.contains("destination"), "{e}");
    }

    #[test]
    fn semantic_errors_have_lines_too() {
        let e = parse("[registries.a]\nurl = \"h:1\"\npage_size = 5000\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("registries.a.page_size"));
        let e = parse("[registries.a]\nurl = \"bad host/x\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("registries.a.url"));
        assert_eq!(e.line, Some(2));
        let e = parse("[registries.a]\nurl = \"h\"\npassword = \"p\"\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("registries.a.username"));
    }

    #[test]
    fn upload_chunk_size_takes_bytes_or_a_unit_and_reaches_the_client() {
        for (value, bytes) in [
            ("52428800", 52_428_800),
            ("\"50MB\"", 50_000_000),
            ("\"64MiB\"", 64 << 20),
        ] {
            let c = parse(&format!(
                "[registries.a]\nurl = \"h:1\"\nupload_chunk_size = {value}\n"
            ))
            .unwrap();
            let options = c.client_options(&c.registries["a"]);
            assert_eq!(options.upload_chunk_size, Some(bytes), "{value}");
        }
        for bad in ["0", "-5", "\"50 parsecs\"", "\"MB\"", "true"] {
            let e = parse(&format!(
                "[registries.a]\nurl = \"h:1\"\nupload_chunk_size = {bad}\n"
            ))
            .unwrap_err();
            assert!(
                e.to_string().contains("expected a size in bytes"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn max_requests_per_second_reaches_the_client_and_must_be_positive() {
        let c = parse("[registries.a]\nurl = \"h:1\"\nmax_requests_per_second = 2.5\n").unwrap();
        let options = c.client_options(&c.registries["a"]);
        assert_eq!(options.max_requests_per_second, Some(2.5));
        assert_eq!(c.default_client_options().max_requests_per_second, None);
        for bad in ["0", "-1", "nan", "inf"] {
            let text = format!("[registries.a]\nurl = \"h:1\"\nmax_requests_per_second = {bad}\n");
            let e = parse(&text).unwrap_err();
            assert_eq!(
                e.key.as_deref(),
                Some("registries.a.max_requests_per_second"),
                "{bad}"
            );
            assert_eq!(e.line, Some(3), "{bad}");
            assert!(e.message.contains("above 0"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_namespace_is_listed_through_the_vendor_of_the_host_or_the_one_named() {
        use crate::registry::vendor::VendorKind;
        let c = parse("[registries.hub]\nurl = \"docker.io\"\nnamespace = \"acme\"\n").unwrap();
        let ns = c.namespace(&c.registries["hub"]).expect("a namespace");
        assert_eq!((ns.name.as_str(), ns.kind), ("acme", VendorKind::DockerHub));
        assert_eq!(ns.api.as_str(), "https://hub.docker.com/");
        let c = parse("[registries.gh]\nurl = \"ghcr.io\"\nnamespace = \"acme\"\n").unwrap();
        let ns = c.namespace(&c.registries["gh"]).expect("a namespace");
        assert_eq!(ns.kind, VendorKind::GitHub);
        assert_eq!(ns.api.as_str(), "https://api.github.com/");
        let c = parse(
            "[registries.ghe]\nurl = \"containers.ghe.example\"\nnamespace = \"acme\"\nnamespace_api = \"github\"\nnamespace_api_url = \"https://ghe.example/api/v3\"\n",
        )
        .unwrap();
        let ns = c.namespace(&c.registries["ghe"]).expect("a namespace");
        assert_eq!(ns.api.as_str(), "https://ghe.example/api/v3");
        assert_eq!(c.namespace(&RegistryConfig::default()), None);
        for (text, key) in [
            ("url = \"r.example\"\nnamespace = \"acme\"", "namespace"),
            ("url = \"docker.io\"\nnamespace = \"a/b\"", "namespace"),
            (
                "url = \"docker.io\"\nnamespace = \"a\"\nnamespace_api = \"quay\"",
                "namespace_api",
            ),
            (
                "url = \"docker.io\"\nnamespace = \"a\"\nnamespace_api_url = \"ftp://x\"",
                "namespace_api_url",
            ),
            (
                "url = \"docker.io\"\nnamespace_api = \"github\"",
                "namespace",
            ),
        ] {
            let e = parse(&format!("[registries.x]\n{text}\n")).unwrap_err();
            assert_eq!(
                e.key.as_deref(),
                Some(format!("registries.x.{key}").as_str()),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn the_example_config_is_valid() {
        let c = parse(include_str!("../config.example.toml")).unwrap();
        assert_eq!(c.registries.len(), 3);
        assert_eq!(c.registries["hub"].repositories.len(), 2);
        assert!(c.registries["company"].gc_command.is_some());
        assert_eq!(c.registries["company"].max_requests_per_second, Some(20.0));
        assert_eq!(c.policies["ci-builds"].keep_last, Some(10));
    }

    #[test]
    fn a_readable_password_file_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[registries.a]\nurl = \"h:1\"\nusername = \"u\"\npassword = \"p\"\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            config
                .exposure_warning(&path)
                .unwrap()
                .contains("chmod 600")
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(config.exposure_warning(&path).is_none());
        let no_password = parse("[registries.a]\nurl = \"h:1\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(no_password.exposure_warning(&path).is_none());
    }

    #[test]
    fn an_unknown_or_incomplete_table_names_its_header() {
        let e =
            parse("[defaults]\nconcurrency = 2\n\n[registry.local]\nurl = \"h:1\"\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert_eq!(e.key.as_deref(), Some("registry.local"));
        assert!(e.message.contains("unknown field `registry`"), "{e}");
        let e = parse("[registries.a]\nurl = \"h:1\"\n\n[registries.b]\ninsecure = true\n")
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("registries.b"), "{e}");
        assert!(e.message.contains("missing field `url`"), "{e}");
    }

    #[test]
    fn a_bad_audit_pattern_names_file_line_and_key() {
        let err = parse("[audit]\nstale_days = 30\n\n[audit.patterns]\nfloating = \"latest\"\ncommit = \"([\"\n")
            .unwrap_err();
        assert_eq!(err.line, Some(6), "{err}");
        assert_eq!(err.key.as_deref(), Some("audit.patterns.commit"), "{err}");
        let ok = parse("[audit]\nstale_days = 30\n[audit.patterns]\nfloating = \"latest|blue\"\n")
            .unwrap();
        assert_eq!(ok.audit.stale_days, Some(30));
        assert_eq!(ok.audit.patterns.floating.as_deref(), Some("latest|blue"));
    }

    #[test]
    fn keys_are_one_key_or_a_list_with_their_lines() {
        let c = parse("[defaults]\nconcurrency = 2\n\n[keys]\nquit = \"Q\"\nrequest_delete = [\"d\", \"Delete\"]\n")
            .unwrap();
        assert_eq!(c.keys["quit"].keys, ["Q"]);
        assert_eq!(c.keys["quit"].line, Some(5));
        assert_eq!(c.keys["request_delete"].keys, ["d", "Delete"]);
        assert_eq!(c.keys["request_delete"].line, Some(6));
        let e = c.key_error(Path::new("c.toml"), "quit", "no".into());
        assert_eq!(e.to_string(), "c.toml:5: key `keys.quit`: no");
        let e = parse("[keys]\nquit = 5\n").unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("keys.quit")),
            "{e}"
        );
        assert!(e.message.contains("a list of keys"), "{e}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let e = parse("[registries.a\nurl = 1\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
