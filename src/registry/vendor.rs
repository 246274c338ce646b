//! Listing a namespace's repositories through a registry vendor's own API, for registries that
//! refuse `_catalog` (Docker Hub, GHCR):
//!
//! - Docker Hub: `GET {api}/v2/namespaces/{ns}/repositories?page_size=100` (falling back to the
//!   older `GET {api}/v2/repositories/{ns}/?page_size=100`), an object
//!   `{count, next, previous, results: [{name, namespace, ...}]}` followed through `next`.
//!   Without a login this lists public repositories.
//! - GitHub (GHCR): `GET {api}/orgs/{org}/packages?package_type=container&per_page=100`
//!   (falling back to `users/{user}/packages` when there is no such organisation), an array of
//!   `{name, package_type, owner: {login}, ...}` followed through `Link: <...>; rel="next"`,
//!   with a token (`read:packages`) from `GITHUB_TOKEN` or `GH_TOKEN`.
//!
//! Pages are followed only on the API's own origin, so a token never travels elsewhere.

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde::Deserialize;
use url::Url;

use super::credentials::Secret;
use super::error::{RegistryError, describe_reqwest_error};
use super::pagination::{PageGuard, next_link};
use super::reference::RepoName;
use super::source::PageSink;

pub const DOCKER_HUB_API: &str = "https://hub.docker.com";
pub const GITHUB_API: &str = "https://api.github.com";

/// Which vendor API lists a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorKind {
    DockerHub,
    GitHub,
}

impl VendorKind {
    /// `docker-hub` or `github`, as the config names them.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "docker-hub" => Some(Self::DockerHub),
            "github" => Some(Self::GitHub),
            _ => None,
        }
    }

    /// The vendor whose registry lives at `host` (`registry-1.docker.io`, `docker.io`,
    /// `ghcr.io`).
    pub fn for_host(host: &str) -> Option<Self> {
        match host {
            "docker.io" | "index.docker.io" | "registry-1.docker.io" => Some(Self::DockerHub),
            "ghcr.io" => Some(Self::GitHub),
            _ => None,
        }
    }

    pub fn default_api(self) -> &'static str {
        match self {
            Self::DockerHub => DOCKER_HUB_API,
            Self::GitHub => GITHUB_API,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::DockerHub => "Docker Hub's API",
            Self::GitHub => "GitHub's packages API",
        }
    }
}

/// A namespace to list and the API that lists it.
#[derive(Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The user or organisation.
    pub name: String,
    pub kind: VendorKind,
    /// The API's base URL (the vendor's, or a test's, or GitHub Enterprise's `/api/v3`).
    pub api: Url,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("api", &self.api.as_str())
            .finish()
    }
}

impl Namespace {
    /// Every repository of the namespace, page by page. For GitHub, `token` is required.
    pub async fn repositories(
        &self,
        token: Option<&Secret>,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        super::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("regatta/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            // Pages are followed by hand, on the API's origin only.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RegistryError::Setup(describe_reqwest_error(&e)))?;
        match self.kind {
            VendorKind::DockerHub => self.docker_hub(&http, token, on_page).await,
            VendorKind::GitHub => {
                let token = token.ok_or_else(|| RegistryError::Unauthorized {
                    host: self.host(),
                    detail: "GitHub's packages API needs a token with read:packages: set GITHUB_TOKEN or GH_TOKEN".to_string(),
                })?;
                self.github(&http, token, on_page).await
            }
        }
    }

    fn host(&self) -> String {
        self.api.host_str().unwrap_or_default().to_string()
    }

    /// `{api}/{path}`, keeping a path the base URL has (`/api/v3`).
    fn endpoint(&self, path: &str) -> Result<Url, RegistryError> {
        let text = format!("{}/{path}", self.api.as_str().trim_end_matches('/'));
        Url::parse(&text).map_err(|e| RegistryError::Setup(format!("bad URL {text}: {e}")))
    }

    async fn docker_hub(
        &self,
        http: &reqwest::Client,
        token: Option<&Secret>,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        let ns = url_segment(&self.name);
        let current = self.endpoint(&format!("v2/namespaces/{ns}/repositories?page_size=100"))?;
        let older = self.endpoint(&format!("v2/repositories/{ns}/?page_size=100"))?;
        match self
            .follow(http, token, current, Format::DockerHub, on_page)
            .await
        {
            Err(RegistryError::NotFound { .. }) => {
                self.follow(http, token, older, Format::DockerHub, on_page)
                    .await
            }
            other => other,
        }
    }

    async fn github(
        &self,
        http: &reqwest::Client,
        token: &Secret,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        let ns = url_segment(&self.name);
        let query = "packages?package_type=container&per_page=100";
        let org = self.endpoint(&format!("orgs/{ns}/{query}"))?;
        let user = self.endpoint(&format!("users/{ns}/{query}"))?;
        match self
            .follow(http, Some(token), org, Format::GitHub, on_page)
            .await
        {
            Err(RegistryError::NotFound { .. }) => {
                self.follow(http, Some(token), user, Format::GitHub, on_page)
                    .await
            }
            other => other,
        }
    }

    /// Reads `first` and every next page (on the API's origin only).
    async fn follow(
        &self,
        http: &reqwest::Client,
        token: Option<&Secret>,
        first: Url,
        format: Format,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        let mut guard = PageGuard::default();
        let mut all = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if url.origin() != self.api.origin() {
                return Err(RegistryError::Malformed {
                    url: url.to_string(),
                    detail: format!(
                        "{} pointed the next page at another server; not followed",
                        self.kind.title()
                    ),
                });
            }
            if !guard.visit_url(&url) {
                return Err(RegistryError::PaginationLoop {
                    url: url.to_string(),
                });
            }
            let (body, link) = self.get(http, token, &url).await?;
            let (names, next_url) = match format {
                Format::DockerHub => {
                    let page: HubPage =
                        serde_json::from_slice(&body).map_err(|e| malformed(&url, &e))?;
                    let names: Vec<String> = page
                        .results
                        .into_iter()
                        .map(|r| {
                            let ns = r.namespace.unwrap_or_else(|| self.name.clone());
                            format!("{ns}/{}", r.name).to_ascii_lowercase()
                        })
                        .collect();
                    let next = page.next.and_then(|n| url.join(&n).ok());
                    (names, next)
                }
                Format::GitHub => {
                    let page: Vec<GitHubPackage> =
                        serde_json::from_slice(&body).map_err(|e| malformed(&url, &e))?;
                    let names = page
                        .into_iter()
                        .filter(|p| p.package_type.as_deref().is_none_or(|t| t == "container"))
                        .map(|p| {
                            let owner = p.owner.map_or_else(|| self.name.clone(), |o| o.login);
                            format!("{owner}/{}", p.name).to_ascii_lowercase()
                        })
                        .collect();
                    let next = link.and_then(|l| next_link(&url, &l));
                    (names, next)
                }
            };
            if !guard.accept_page(&names) {
                return Err(RegistryError::PaginationLoop {
                    url: url.to_string(),
                });
            }
            let parsed: Vec<RepoName> = names
                .iter()
                .filter_map(|n| match RepoName::parse(n) {
                    Ok(name) => Some(name),
                    Err(_) => {
                        tracing::warn!(name = %crate::sanitize::sanitize(n), "skipping an invalid repository name from the vendor API");
                        None
                    }
                })
                .collect();
            on_page(&parsed);
            all.extend(parsed);
            next = next_url;
        }
        Ok(all)
    }

    /// One GET: the body and the `Link` header, or an error naming what went wrong.
    async fn get(
        &self,
        http: &reqwest::Client,
        token: Option<&Secret>,
        url: &Url,
    ) -> Result<(Vec<u8>, Option<String>), RegistryError> {
        let mut request = http.get(url.clone());
        request = match self.kind {
            VendorKind::GitHub => request
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28"),
            VendorKind::DockerHub => request.header(header::ACCEPT, "application/json"),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| RegistryError::Unreachable {
                host: self.host(),
                detail: describe_reqwest_error(&e),
            })?;
        let status = response.status();
        match status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => {
                return Err(RegistryError::NotFound {
                    what: format!(
                        "the user or organisation {:?} on {}",
                        self.name,
                        self.kind.title()
                    ),
                });
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(RegistryError::Unauthorized {
                    host: self.host(),
                    detail: format!(
                        "{} refused to list {:?} ({status}){}",
                        self.kind.title(),
                        self.name,
                        match self.kind {
                            VendorKind::GitHub => {
                                "; the token needs the read:packages scope"
                            }
                            VendorKind::DockerHub => "",
                        }
                    ),
                });
            }
            _ => {
                return Err(RegistryError::Status {
                    status: status.as_u16(),
                    url: url.to_string(),
                    detail: status
                        .canonical_reason()
                        .unwrap_or("unexpected status")
                        .to_string(),
                });
            }
        }
        let link = response
            .headers()
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body =
            super::client::read_capped(response, super::client::MAX_DOCUMENT_BYTES, url.as_str())
                .await?;
        Ok((body, link))
    }
}

/// The GitHub token from the environment (`GITHUB_TOKEN`, then `GH_TOKEN`), as the `gh` CLI
/// reads it.
pub fn github_token_from_env() -> Option<Secret> {
    ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .map(|v| Secret::new(v.trim()))
}

#[derive(Clone, Copy)]
enum Format {
    DockerHub,
    GitHub,
}

#[derive(Deserialize)]
struct HubPage {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    results: Vec<HubRepository>,
}

#[derive(Deserialize)]
struct HubRepository {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct GitHubPackage {
    name: String,
    #[serde(default)]
    package_type: Option<String>,
    #[serde(default)]
    owner: Option<GitHubOwner>,
}

#[derive(Deserialize)]
struct GitHubOwner {
    login: String,
}

fn malformed(url: &Url, e: &serde_json::Error) -> RegistryError {
    RegistryError::Malformed {
        url: url.to_string(),
        detail: e.to_string(),
    }
}

/// A namespace as one URL path segment (percent-encoded; a `/` cannot escape the path).
fn url_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

#[cfg(test)]
#[path = "vendor_tests.rs"]
mod tests;
