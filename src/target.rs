//! What a command-line TARGET names: a configured registry, a registry address, or an OCI
//! image layout on disk; and how to open it as a [`Source`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::config::{Config, RegistryConfig};
use crate::registry::cache::{CachingSource, DigestCache};
use crate::registry::vendor::{Namespace, VendorKind, github_token_from_env};
use crate::registry::{
    Client, ClientOptions, Digest, FetchedManifest, ManifestHead, ManifestRef, PageSink, Reference,
    RegistryAddr, RegistryError, RepoName, Source, Tag,
};

/// Flags that override the config for every registry a command touches.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    pub concurrency: Option<usize>,
}

/// A resolved target.
#[allow(clippy::large_enum_variant)] // one per command
#[derive(Debug, Clone)]
pub enum Target {
    Registry {
        /// The config name, or the address when not configured.
        name: String,
        addr: RegistryAddr,
        options: ClientOptions,
        /// The `repositories` fallback for registries without a catalog.
        repositories: Vec<RepoName>,
        /// The `namespace` listed through the vendor's API instead of the catalog.
        namespace: Option<Namespace>,
        /// The one client of this registry, built on first use and shared by every clone of
        /// the target: reads, deletes and restores go through one token cache, one
        /// connection pool and one concurrency limit.
        client: SharedClient,
    },
    Layout(PathBuf),
}

/// A registry's client, built once (see [`Target::client`]).
#[derive(Clone, Default)]
pub struct SharedClient(Arc<Mutex<Option<Client>>>);

impl SharedClient {
    fn get_or_build(
        &self,
        build: impl FnOnce() -> Result<Client, RegistryError>,
    ) -> Result<Client, RegistryError> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = &*slot {
            return Ok(client.clone());
        }
        let client = build()?;
        *slot = Some(client.clone());
        Ok(client)
    }
}

impl std::fmt::Debug for SharedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("SharedClient")
            .field("built", &built)
            .finish()
    }
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Registry { name, .. } => name.clone(),
            Target::Layout(path) => path.display().to_string(),
        }
    }

    /// Where it is, for display (`http://127.0.0.1:5000`, a path).
    pub fn location(&self) -> String {
        match self {
            Target::Registry { addr, .. } => addr.base_url(),
            Target::Layout(path) => path.display().to_string(),
        }
    }

    /// A warning a front end must show, if any (TLS verification off).
    pub fn warning(&self) -> Option<String> {
        match self {
            Target::Registry { options, addr, .. } if options.insecure => Some(format!(
                "TLS verification is off for {addr}: anyone on the network path can read and alter the traffic"
            )),
            _ => None,
        }
    }

    /// Opens the target for reading.
    pub fn open(&self) -> Result<Arc<dyn Source>, RegistryError> {
        match self {
            Target::Registry {
                repositories,
                namespace,
                ..
            } => {
                let registry: Arc<dyn Source> = Arc::new(RegistrySource {
                    client: self.client()?,
                    configured: repositories.clone(),
                    namespace: namespace.clone(),
                });
                // Manifests and configs are immutable by digest: keep them on disk.
                Ok(match DigestCache::default_location() {
                    Some(cache) => Arc::new(CachingSource::new(registry, cache)),
                    None => registry,
                })
            }
            Target::Layout(path) => open_layout(path),
        }
    }

    /// The HTTP client of a registry target (for writes, which layouts do not support): the
    /// same client every time, the one [`open`](Self::open) reads through.
    pub fn client(&self) -> Result<Client, RegistryError> {
        match self {
            Target::Registry {
                addr,
                options,
                client,
                ..
            } => client.get_or_build(|| Client::new(addr.clone(), options.clone())),
            Target::Layout(path) => Err(RegistryError::Io {
                path: path.display().to_string(),
                detail: "this is an OCI layout on disk; the command needs a registry".into(),
            }),
        }
    }
}

fn open_layout(path: &Path) -> Result<Arc<dyn Source>, RegistryError> {
    Ok(Arc::new(crate::layout::LayoutSource::open(path)?))
}

fn apply(options: &mut ClientOptions, overrides: &Overrides) {
    if overrides.insecure {
        options.insecure = true;
    }
    if let Some(ca) = &overrides.ca_file {
        options.ca_file = Some(ca.clone());
    }
    if let Some(c) = overrides.concurrency {
        options.concurrency = c.max(1);
    }
}

fn registry_target(
    config: &Config,
    overrides: &Overrides,
    name: &str,
    registry: &RegistryConfig,
) -> Result<Target, RegistryError> {
    let addr = RegistryAddr::parse(&registry.url)?;
    let mut options = config.client_options(registry);
    apply(&mut options, overrides);
    let repositories = registry
        .repositories
        .iter()
        .map(|r| RepoName::parse(r))
        .collect::<Result<_, _>>()?;
    Ok(Target::Registry {
        name: name.to_string(),
        addr,
        options,
        repositories,
        namespace: config.namespace(registry),
        client: SharedClient::default(),
    })
}

fn looks_like_path(input: &str) -> bool {
    input.starts_with('/')
        || input.starts_with("./")
        || input.starts_with("../")
        || input == "."
        || Path::new(input).is_dir()
}

/// Whether `name` is the bundled demo: `demo`, unless the config has a registry of that name
/// (then that registry wins, as configured names win over directories and hosts).
pub fn is_demo(name: &str, config: &Config) -> bool {
    name == crate::demo::DEMO_NAME && !config.registries.contains_key(name)
}

/// Resolves TARGET: a config name, the bundled demo, an existing directory (OCI layout), or a
/// registry address. A directory called `demo` is named `./demo`.
pub fn resolve(
    input: &str,
    config: &Config,
    overrides: &Overrides,
) -> Result<Target, RegistryError> {
    if let Some((name, registry)) = config.registries.get_key_value(input) {
        return registry_target(config, overrides, name, registry);
    }
    if is_demo(input, config) {
        return Ok(Target::Layout(crate::demo::demo_root()?));
    }
    if looks_like_path(input) {
        return Ok(Target::Layout(PathBuf::from(input)));
    }
    if let Some((name, registry)) = config.find_registry(input) {
        let mut target = registry_target(config, overrides, name, registry)?;
        // An explicit scheme on the command line wins over the config's.
        if let (Target::Registry { addr, .. }, Ok(given)) =
            (&mut target, RegistryAddr::parse(input))
            && (input.starts_with("http://") || input.starts_with("https://"))
        {
            addr.scheme = given.scheme;
        }
        return Ok(target);
    }
    let addr = RegistryAddr::parse(input)?;
    let mut options = config.default_client_options();
    apply(&mut options, overrides);
    Ok(Target::Registry {
        name: addr.host.clone(),
        addr,
        options,
        repositories: Vec::new(),
        namespace: None,
        client: SharedClient::default(),
    })
}

/// Splits `TARGET/REPO` (for `tags`): a config name, the demo, or a layout directory prefix,
/// else a registry host (Docker's rule: a first component with a dot or colon, or `localhost`).
pub fn resolve_repo(
    input: &str,
    config: &Config,
    overrides: &Overrides,
) -> Result<(Target, RepoName), RegistryError> {
    let invalid = |reason: &'static str| crate::registry::reference::ReferenceError::Invalid {
        input: input.to_string(),
        reason,
    };
    if let Some((first, rest)) = input.split_once('/')
        && (config.registries.contains_key(first) || is_demo(first, config))
    {
        return Ok((resolve(first, config, overrides)?, RepoName::parse(rest)?));
    }
    if looks_like_path(input) || Path::new(input).exists() {
        return split_layout_path(input).ok_or_else(|| {
            invalid(
                "name a repository's layout directory (the one holding oci-layout and index.json)",
            )
            .into()
        });
    }
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|p| input.starts_with(**p))
        .map_or(0, |p| p.len());
    let (host, repo) = input[scheme_len..]
        .split_once('/')
        .ok_or_else(|| invalid("expected TARGET/REPOSITORY"))?;
    let target = resolve(&input[..scheme_len + host.len()], config, overrides)?;
    Ok((target, RepoName::parse(repo)?))
}

/// A path naming one repository's layout (`layouts/acme/api`, with its own `oci-layout`): that
/// repository, named as the TUI names it when opened on the root of layouts it sits in
/// (`acme/api`, not `api`), and read from that root, so sharing with the other repositories
/// counts as it does in the TUI. See [`root_of_layout`]; without such a root, the layout
/// alone, named after its directory.
fn split_layout_path(input: &str) -> Option<(Target, RepoName)> {
    let path = Path::new(input.trim_end_matches('/'));
    if !path.join("oci-layout").is_file() {
        return None;
    }
    if let Some(found) = root_of_layout(path) {
        return Some(found);
    }
    let source = crate::layout::LayoutSource::open(path).ok()?;
    let name = source.single_repository()?;
    Some((Target::Layout(path.to_path_buf()), name))
}

/// Directories looked at to decide whether a directory holds only layouts.
const ROOT_CHECK_BUDGET: usize = 100_000;

/// The root of layouts `layout` belongs to and its repository name there: the highest
/// directory of the path as written that holds nothing but layouts (files, and directories
/// starting with `.` or `_`, aside, as when a root is opened). `layouts/acme/api` is
/// `acme/api` of `layouts` when `layouts/` holds only layouts; a relative path is never looked
/// above its first component, an absolute one up to the first directory holding something
/// else. The name is checked by opening the root: it must find this very directory.
fn root_of_layout(layout: &Path) -> Option<(Target, RepoName)> {
    use std::path::Component;
    let mut budget = ROOT_CHECK_BUDGET;
    let mut names: Vec<String> = Vec::new();
    let mut root = None;
    let mut dir = layout;
    while let Some(parent) = dir.parent() {
        // Only directories the path names: not `.` or `..`, nor the empty parent of a
        // relative path's first component.
        let named = matches!(
            parent.components().next_back(),
            Some(Component::Normal(_) | Component::RootDir)
        );
        if !named || !holds_only_layouts(parent, &mut budget) {
            break;
        }
        names.push(dir.file_name()?.to_str()?.to_string());
        root = Some(parent);
        dir = parent;
    }
    let root = root?;
    names.reverse();
    let repo = RepoName::parse(&names.join("/")).ok()?;
    let source = crate::layout::LayoutSource::open(root).ok()?;
    let found = source.layout_dir(&repo).ok()?;
    (std::fs::canonicalize(found).ok()? == std::fs::canonicalize(layout).ok()?)
        .then(|| (Target::Layout(root.to_path_buf()), repo))
}

/// Whether `dir` is not itself a layout and every directory in it is a layout or holds only
/// layouts, with at least one. Symbolic links are not followed, as when a root is opened.
fn holds_only_layouts(dir: &Path, budget: &mut usize) -> bool {
    if *budget == 0 || crate::layout::is_layout(dir) {
        return false;
    }
    *budget -= 1;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut any = false;
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            return false;
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !kind.is_dir() || name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        any = true;
        let child = entry.path();
        if !crate::layout::is_layout(&child) && !holds_only_layouts(&child, budget) {
            return false;
        }
    }
    any
}

/// Splits `TARGET/REPO[:TAG|@DIGEST]` (for `inspect`).
pub fn resolve_reference(
    input: &str,
    config: &Config,
    overrides: &Overrides,
) -> Result<(Target, RepoName, ManifestRef), RegistryError> {
    let (name, tag, digest) = crate::registry::reference::split_tag_and_digest(input)?;
    let reference = match (digest, tag) {
        (Some(d), _) => ManifestRef::Digest(d),
        (None, Some(t)) => ManifestRef::Tag(t),
        (None, None) => ManifestRef::Tag(Tag::parse("latest")?),
    };
    let first = name.split('/').next().unwrap_or("");
    let is_registry_like = config.registries.contains_key(first)
        || is_demo(first, config)
        || looks_like_path(name)
        || Path::new(name).exists()
        || first.contains('.')
        || first.contains(':')
        || first == "localhost";
    if is_registry_like {
        let (target, repo) = resolve_repo(name, config, overrides)?;
        return Ok((target, repo, reference));
    }
    // A Docker Hub short name (`nginx`, `bitnami/redis`).
    let parsed = Reference::parse(name)?;
    let target = resolve(&parsed.registry.host, config, overrides)?;
    Ok((target, parsed.repo, reference))
}

/// A registry as a [`Source`], with the config's `repositories` list, or its `namespace`
/// listed through the vendor's API, standing in for the catalog where a registry has none.
pub struct RegistrySource {
    pub client: Client,
    configured: Vec<RepoName>,
    namespace: Option<Namespace>,
}

#[async_trait]
impl Source for RegistrySource {
    fn name(&self) -> String {
        self.client.name()
    }

    fn reference_prefix(&self, repo: &RepoName) -> String {
        self.client.reference_prefix(repo)
    }

    async fn ping(&self) -> Result<(), RegistryError> {
        self.client.ping().await
    }

    async fn repositories(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        self.repositories_checked(on_page)
            .await
            .map(|(repos, _)| repos)
    }

    async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        self.client.tags(repo).await
    }

    async fn repositories_checked(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<(Vec<RepoName>, crate::registry::Skipped), RegistryError> {
        if !self.configured.is_empty() {
            on_page(&self.configured);
            return Ok((self.configured.clone(), crate::registry::Skipped::default()));
        }
        // A configured namespace is listed through the vendor's API, never the catalog.
        if let Some(namespace) = &self.namespace {
            let token = match namespace.kind {
                VendorKind::GitHub => github_token_from_env(),
                VendorKind::DockerHub => None,
            };
            let repos = namespace.repositories(token.as_ref(), on_page).await?;
            return Ok((repos, crate::registry::Skipped::default()));
        }
        self.client.catalog_checked(on_page).await
    }

    async fn tags_checked(
        &self,
        repo: &RepoName,
    ) -> Result<(Vec<Tag>, crate::registry::Skipped), RegistryError> {
        self.client.tags_checked(repo).await
    }

    async fn resolve(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<ManifestHead, RegistryError> {
        self.client.head_manifest(repo, reference).await
    }

    async fn manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> Result<FetchedManifest, RegistryError> {
        self.client.get_manifest(repo, reference).await
    }

    async fn blob(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.client.get_blob(repo, digest).await
    }

    async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<crate::registry::referrers::ReferrersListing>, RegistryError> {
        self.client.referrers(repo, subject, artifact_type).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_target_builds_one_client_for_every_use() {
        let target = resolve("localhost:5999", &Config::default(), &Overrides::default())
            .expect("a registry target");
        let first = target.client().expect("a client");
        let again = target.client().expect("a client");
        let through_a_clone = target.clone().client().expect("a client");
        // Each client counts its own requests: one set of counters means one client (and
        // so one token cache, one connection pool, one concurrency limit).
        assert!(std::ptr::eq(first.counters(), again.counters()));
        assert!(std::ptr::eq(first.counters(), through_a_clone.counters()));
        // The client belongs to the target: a target resolved anew builds its own.
        let other = resolve("localhost:5999", &Config::default(), &Overrides::default())
            .expect("a registry target");
        let other = other.client().expect("a client");
        assert!(!std::ptr::eq(first.counters(), other.counters()));
    }
}
