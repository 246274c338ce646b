//! `GET /v2/_catalog` and `GET /v2/R/tags/list`, each followed to the last page.

use reqwest::{Method, header};
use serde::Deserialize;
use url::Url;

use super::client::{Call, Client, MAX_DOCUMENT_BYTES, RequestKind};
use super::error::RegistryError;
use super::manifest::null_as_empty;
use super::pagination::{PageGuard, next_link, same_origin, without_page_size};
use super::reference::{RepoName, Tag};
use super::source::{PageSink, Skipped};

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
        Ok(self.catalog_checked(on_page).await?.0)
    }

    /// [`catalog`](Self::catalog), with the names it left out (invalid or repeated).
    pub async fn catalog_checked(
        &self,
        on_page: PageSink<'_, RepoName>,
    ) -> Result<(Vec<RepoName>, Skipped), RegistryError> {
        let first = self.url(&format!("_catalog?n={}", self.page_size()))?;
        let result = self
            .list_pages(
                first,
                RequestKind::Catalog,
                "registry:catalog:*",
                "the catalog",
                |b| serde_json::from_slice::<CatalogPage>(b).map(|p| p.repositories),
                &|names: &[String]| {
                    on_page(&parse_all(names, RepoName::parse, Warn::Yes).0);
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
        Ok(self.tags_checked(repo).await?.0)
    }

    /// [`tags`](Self::tags), with the names it left out (invalid or repeated).
    pub async fn tags_checked(
        &self,
        repo: &RepoName,
    ) -> Result<(Vec<Tag>, Skipped), RegistryError> {
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
        let pages = Pages {
            first,
            kind,
            scope,
            what,
            accept: "application/json",
        };
        self.follow_pages(pages, |_, body| parse(body), String::clone, on_page)
            .await
    }

    /// Every page of a `Link`-paginated listing, from `first` to the last: each URL read
    /// once and a page repeating an earlier one's last item stops the walk
    /// ([`RegistryError::PaginationLoop`]); a `Link` to another host is refused, since the
    /// registry's credentials would go along. `parse` reads one page (its headers too);
    /// `key` names an item for the loop guard. The catalog, the tags and the referrers
    /// API all walk their pages here.
    pub(super) async fn follow_pages<T>(
        &self,
        pages: Pages<'_>,
        mut parse: impl FnMut(&header::HeaderMap, &[u8]) -> Result<Vec<T>, serde_json::Error>,
        key: impl Fn(&T) -> String,
        on_page: &(dyn Fn(&[T]) + Send + Sync),
    ) -> Result<Vec<T>, RegistryError> {
        let Pages {
            first,
            kind,
            scope,
            what,
            accept,
        } = pages;
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
            call.accept = Some(accept);
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
            let page =
                parse(&document.headers, &document.body).map_err(|e| RegistryError::Malformed {
                    url: url.to_string(),
                    detail: e.to_string(),
                })?;
            let keys: Vec<String> = page.iter().map(&key).collect();
            if !guard.accept_page(&keys) {
                return Err(RegistryError::PaginationLoop {
                    url: url.to_string(),
                });
            }
            on_page(&page);
            all.extend(page);
            next = link.and_then(|l| next_link(&url, &l));
            if let Some(n) = &next
                && !same_origin(n, &url)
            {
                // The registry's credentials would go along: a listing never leaves its host.
                return Err(RegistryError::Malformed {
                    url: url.to_string(),
                    detail: format!(
                        "its Link header sends the next page to another host ({}); regatta does not follow a listing off the registry",
                        n.origin().ascii_serialization()
                    ),
                });
            }
        }
        Ok(all)
    }
}

/// Where a paginated listing starts and how its requests are named.
pub(super) struct Pages<'a> {
    pub first: Url,
    pub kind: RequestKind,
    pub scope: &'a str,
    /// What is listed, for error sentences (`the catalog`).
    pub what: &'a str,
    pub accept: &'static str,
}

/// Whether [`parse_all`] logs the names it skips.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Warn {
    Yes,
    No,
}

/// Keeps the names that are valid, each once; a registry sending an invalid one (which could
/// not be used in a URL anyway) or one twice gets a log line and a count, not a failed listing.
fn parse_all<T, E>(
    names: &[String],
    parse: impl Fn(&str) -> Result<T, E>,
    warn: Warn,
) -> (Vec<T>, Skipped) {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    let mut skipped = Skipped::default();
    let mut kept = Vec::with_capacity(names.len());
    for n in names {
        match parse(n) {
            Ok(_) if !seen.insert(n.as_str()) => skipped.duplicates += 1,
            Ok(v) => kept.push(v),
            Err(_) => {
                skipped.invalid += 1;
                if warn == Warn::Yes {
                    tracing::warn!(name = %crate::sanitize::sanitize(n), "skipping an invalid name from the registry");
                }
            }
        }
    }
    (kept, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_and_repeated_names_are_counted_not_kept() {
        let names: Vec<String> = [
            "v1",
            "bad\0nul",
            "bad\nline",
            &"x".repeat(5_000),
            "../../etc/passwd",
            "v1",
            "v2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (tags, skipped) = parse_all(&names, Tag::parse, Warn::No);
        let tags: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
        assert_eq!(tags, ["v1", "v2"]);
        assert_eq!(
            skipped,
            Skipped {
                invalid: 4,
                duplicates: 1
            }
        );
        assert_eq!(
            skipped.sentence("tag").as_deref(),
            Some("4 tags with invalid names skipped, 1 duplicate tag skipped")
        );
        let (_, skipped) = parse_all(&names[1..3], RepoName::parse, Warn::No);
        assert_eq!(
            skipped.sentence("repository").as_deref(),
            Some("2 repositories with invalid names skipped")
        );
        assert_eq!(Skipped::default().sentence("tag"), None);
    }
}
