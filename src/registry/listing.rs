//! `GET /v2/_catalog` and `GET /v2/R/tags/list`, each followed to the last page.

use reqwest::{Method, header};
use serde::Deserialize;
use url::Url;

use super::client::{Call, Client, MAX_DOCUMENT_BYTES, RequestKind};
use super::error::RegistryError;
use super::manifest::null_as_empty;
use super::pagination::{PageGuard, next_link, without_page_size};
use super::reference::{RepoName, Tag};
use super::source::PageSink;

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default, deserialize_with = "null_as_empty")]
    repositories: Vec<String>,
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default, deserialize_with = "null_as_empty")]
    tags: Vec<String>,
}

impl Client {
    /// Every repository in the catalog, following `Link` pagination to the end. Registries
    /// without a catalog (401/403/404 there) give [`RegistryError::NoCatalog`].
    pub async fn catalog(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<Vec<RepoName>, RegistryError> {
        let first = self.url(&format!("_catalog?n={}", self.page_size()))?;
        let result = self
            .list_pages(
                first,
                RequestKind::Catalog,
                "registry:catalog:*",
                "the catalog",
                |b| serde_json::from_slice::<CatalogPage>(b).map(|p| p.repositories),
                &|names: &[String]| {
                    on_page(&parse_all(names, RepoName::parse, Warn::Yes));
                },
            )
            .await;
        match result {
            // Each page was parsed (and its invalid names logged) as it came.
            Ok(names) => Ok(parse_all(&names, RepoName::parse, Warn::No)),
            Err(RegistryError::NotFound { .. }) => Err(RegistryError::NoCatalog {
                host: self.registry().host.clone(),
                detail: "404 on /v2/_catalog".into(),
            }),
            Err(RegistryError::Unauthorized { detail, .. }) => {
                // A 401 here is either a catalog closed to these credentials or credentials
                // refused everywhere; the API base tells which, so a wrong password is not
                // reported as a missing catalog.
                if let Err(refused @ RegistryError::Unauthorized { .. }) = self.ping().await {
                    return Err(refused);
                }
                Err(RegistryError::NoCatalog {
                    host: self.registry().host.clone(),
                    detail: format!("401 on /v2/_catalog: {detail}"),
                })
            }
            Err(RegistryError::Forbidden { .. }) => Err(RegistryError::NoCatalog {
                host: self.registry().host.clone(),
                detail: "403 on /v2/_catalog".into(),
            }),
            Err(other) => Err(other),
        }
    }

    /// Every tag of `repo`, following pagination (Distribution returns them all at once and
    /// unsorted; Harbor, GHCR and ECR page).
    pub async fn tags(&self, repo: &RepoName) -> Result<Vec<Tag>, RegistryError> {
        let first = self.url(&format!("{repo}/tags/list?n={}", self.page_size()))?;
        let names = self
            .list_pages(
                first,
                RequestKind::Tags,
                &format!("repository:{repo}:pull"),
                &format!("repository {repo}"),
                |b| serde_json::from_slice::<TagsPage>(b).map(|p| p.tags),
                &|_| {},
            )
            .await?;
        Ok(parse_all(&names, Tag::parse, Warn::Yes))
    }

    async fn list_pages(
        &self,
        first: Url,
        kind: RequestKind,
        scope: &str,
        what: &str,
        parse: impl Fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
        on_page: &(dyn Fn(&[String]) + Send + Sync),
    ) -> Result<Vec<String>, RegistryError> {
        let mut guard = PageGuard::default();
        let mut all = Vec::new();
        let mut first_page = true;
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if !guard.visit_url(&url) {
                return Err(RegistryError::PaginationLoop {
                    url: url.to_string(),
                });
            }
            let mut call = Call::new(
                Method::GET,
                url.clone(),
                kind,
                scope.to_string(),
                what.to_string(),
            );
            call.accept = Some("application/json");
            let document = match self.fetch(call, MAX_DOCUMENT_BYTES).await {
                Ok(document) => document,
                // A registry that refuses our page size (Distribution with catalog.maxentries
                // below it: 400 PAGINATION_NUMBER_INVALID) is asked once more without one;
                // it then picks its own, and its Link pages carry that size on.
                Err(RegistryError::Status { status: 400, .. })
                    if first_page && without_page_size(&url).is_some() =>
                {
                    tracing::info!(%url, "the registry refused the page size; asking without one");
                    first_page = false;
                    next = without_page_size(&url);
                    continue;
                }
                Err(e) => return Err(e),
            };
            first_page = false;
            let link = document
                .headers
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let page = parse(&document.body).map_err(|e| RegistryError::Malformed {
                url: url.to_string(),
                detail: e.to_string(),
            })?;
            if !guard.accept_page(&page) {
                return Err(RegistryError::PaginationLoop {
                    url: url.to_string(),
                });
            }
            on_page(&page);
            all.extend(page);
            next = link.and_then(|l| next_link(&url, &l));
        }
        Ok(all)
    }
}

/// Whether [`parse_all`] logs the names it skips.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Warn {
    Yes,
    No,
}

/// Keeps the names that are valid; a registry sending an invalid one (which could not be
/// used in a URL anyway) gets a log line, not a failed listing.
fn parse_all<T, E>(names: &[String], parse: impl Fn(&str) -> Result<T, E>, warn: Warn) -> Vec<T> {
    names
        .iter()
        .filter_map(|n| match parse(n) {
            Ok(v) => Some(v),
            Err(_) => {
                if warn == Warn::Yes {
                    tracing::warn!(name = %crate::sanitize::sanitize(n), "skipping an invalid name from the registry");
                }
                None
            }
        })
        .collect()
}
