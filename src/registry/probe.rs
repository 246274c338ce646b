//! What a registry can do, found before the user tries: a handful of requests that change
//! nothing, made once per [`Client`] and kept while it lives.
//!
//! - `GET /v2/`: `Docker-Distribution-API-Version` and `Server`.
//! - `GET /v2/_catalog?n=1000`, and without `n` when that is refused: whether the catalog
//!   works and what page size the registry uses.
//! - `GET /v2/R/referrers/sha256:0…0` on the first repository of the catalog (a made-up name
//!   when there is none): the OCI 1.1 referrers API answers 200 with an empty index; a
//!   registry without it has no such route (Distribution 2.8: a plain-text 404).
//! - `DELETE /v2/R/manifests/<a tag that does not exist>` (a HEAD first makes sure it does
//!   not): registries with the OCI tag delete answer 404 (the tag is unknown); Distribution
//!   2.8 answers 400 DIGEST_INVALID.
//! - `DELETE /v2/R/manifests/sha256:0…0` (a digest that does not exist): 404
//!   MANIFEST_UNKNOWN where deletes are enabled, 405 UNSUPPORTED where they are not.
//!
//! Both deletes name things that do not exist, so the probe deletes nothing. Distribution
//! answers a catalog request without `n` with min(100, `catalog.maxentries`) entries, so a
//! smaller page size there is the registry's cap.

use reqwest::{Method, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::client::{Call, Client, RequestKind, read_capped};
use super::credentials::Credentials;
use super::error::{ErrorEnvelope, RegistryError};
use super::manifest::null_as_empty;
use super::pagination::{next_link, page_size_of};
use super::reference::RepoName;

/// The page size regatta asks for first (and the largest Distribution accepts by default).
const PROBE_PAGE_SIZE: usize = super::client::MAX_PAGE_SIZE;
/// Distribution's page size for a catalog request without `n`.
const DISTRIBUTION_DEFAULT_PAGE: usize = 100;
/// A digest no registry holds (64 zeros).
const ABSENT_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
/// A tag nobody pushes.
const ABSENT_TAG: &str = "regatta-probe-absent-tag";
/// The repository the repository-level probes ask when the catalog gives none.
const MADE_UP_REPO: &str = "regatta-probe/absent";
/// Error bodies are short; more is not read.
const BODY_LIMIT: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Yes,
    No,
    Unknown,
}

impl Answer {
    pub fn word(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Unknown => "unknown",
        }
    }
}

/// One finding and what it rests on (`404 MANIFEST_UNKNOWN on DELETE …`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub answer: Answer,
    pub evidence: String,
}

impl Finding {
    fn new(answer: Answer, evidence: impl Into<String>) -> Self {
        Self {
            answer,
            evidence: evidence.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogFinding {
    pub works: Finding,
    /// Whether `n=1000` was accepted (`None` when the catalog did not answer at all).
    pub accepts_page_size_1000: Option<bool>,
    /// The page size the registry chose when asked without `n` (from its `Link`).
    pub registry_page_size: Option<usize>,
    /// The largest `n` accepted, when the probe found it: 1000 when that was accepted, or the
    /// registry's own page size when it is below Distribution's default (then it is the
    /// `catalog.maxentries` cap).
    pub page_cap: Option<usize>,
}

/// What one registry can do. Serialized as is by `regatta info --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// `Docker-Distribution-API-Version` of `GET /v2/`.
    pub api_version: Option<String>,
    /// The `Server` header, a hint of the implementation.
    pub server: Option<String>,
    /// Who regatta is there: `anonymous`, `user "alice" (basic auth)`, `an identity token`.
    /// What that credential may do shows in the findings (a delete refused with 401/403).
    pub credential: String,
    /// The registry asked for a token (a Bearer challenge): what a credential may do there
    /// can be asked of its token server ([`Client::grants`](super::client::Client::grants)).
    pub token_auth: bool,
    pub catalog: CatalogFinding,
    /// The repository the repository-level probes asked.
    pub probe_repository: String,
    pub referrers_api: Finding,
    pub tag_delete: Finding,
    pub deletes_enabled: Finding,
}

impl Capabilities {
    /// One short line, what matters most first (a narrow column cuts the end):
    /// `deletes no · catalog yes · tag delete no · referrers no`.
    pub fn summary(&self) -> String {
        format!(
            "deletes {} · catalog {} · tag delete {} · referrers {}",
            self.deletes_enabled.answer.word(),
            self.catalog.works.answer.word(),
            self.tag_delete.answer.word(),
            self.referrers_api.answer.word()
        )
    }

    /// `(label, text)` lines for people, written once for the CLI and the TUI.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let finding = |f: &Finding| format!("{} ({})", f.answer.word(), f.evidence);
        let mut catalog = finding(&self.catalog.works);
        if let Some(cap) = self.catalog.page_cap {
            catalog.push_str(&format!("; page cap {cap}"));
        }
        vec![
            (
                "API version",
                self.api_version.clone().unwrap_or_else(|| "-".into()),
            ),
            ("server", self.server.clone().unwrap_or_else(|| "-".into())),
            ("credential", self.credential.clone()),
            ("catalog", catalog),
            ("probed repository", self.probe_repository.clone()),
            ("referrers API", finding(&self.referrers_api)),
            ("tag delete", finding(&self.tag_delete)),
            ("deletes enabled", finding(&self.deletes_enabled)),
        ]
    }
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default, deserialize_with = "null_as_empty")]
    repositories: Vec<String>,
}

/// A response as the probe reads it: status, `Link`, and the body's error codes.
struct Answered {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Vec<u8>,
}

impl Answered {
    fn codes(&self) -> String {
        let envelope = ErrorEnvelope::parse(&self.body);
        envelope
            .errors
            .iter()
            .map(|e| e.code.clone())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `404 MANIFEST_UNKNOWN` or `404`.
    fn status_and_codes(&self) -> String {
        let codes = self.codes();
        if codes.is_empty() {
            self.status.as_u16().to_string()
        } else {
            format!("{} {codes}", self.status.as_u16())
        }
    }
}

impl Client {
    /// What the registry can do, probed on the first call and kept for the client's life.
    /// Fails only when the registry cannot be reached or refuses the credentials at `/v2/`.
    pub async fn capabilities(&self) -> Result<Capabilities, RegistryError> {
        self.capabilities_cell()
            .get_or_try_init(|| self.probe())
            .await
            .cloned()
    }

    async fn probe(&self) -> Result<Capabilities, RegistryError> {
        // The API base maps failures as every request does: unreachable, TLS, credentials.
        let mut call = self.probe_call(Method::GET, "", RequestKind::Ping, String::new())?;
        call.any_status = false;
        let base = self.execute(call).await?;
        let header_text = |name: &str| {
            base.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| crate::sanitize::sanitize(v).into_owned())
        };
        let api_version = header_text("docker-distribution-api-version");
        let server = header_text("server");
        drop(base);

        let token_auth = matches!(
            self.auth_parts().1.scheme(),
            Some(super::auth::AuthScheme::Bearer { .. })
        );
        let credential = match self.credentials().await? {
            Credentials::Anonymous => "anonymous".to_string(),
            Credentials::Basic { username, .. } => format!(
                "user {:?} ({})",
                crate::sanitize::sanitize(username),
                // The base answered, so the scheme is learned: a token server vouches for
                // the user where the challenge was Bearer.
                if token_auth {
                    "token auth"
                } else {
                    "basic auth"
                }
            ),
            Credentials::IdentityToken(_) => "an identity token".to_string(),
        };
        let (catalog, first_repo) = self.probe_catalog().await?;
        let repo = first_repo.unwrap_or_else(|| MADE_UP_REPO.to_string());
        let referrers_api = self.probe_referrers(&repo).await?;
        let tag_delete = self.probe_tag_delete(&repo).await?;
        let deletes_enabled = self.probe_deletes(&repo).await?;
        Ok(Capabilities {
            api_version,
            server,
            credential,
            token_auth,
            catalog,
            probe_repository: repo,
            referrers_api,
            tag_delete,
            deletes_enabled,
        })
    }

    fn probe_call(
        &self,
        method: Method,
        path: &str,
        kind: RequestKind,
        scope: String,
    ) -> Result<Call, RegistryError> {
        let url = self.url(path)?;
        let what = format!("{} {}", method, url.path());
        let mut call = Call::new(method, url, kind, scope, what);
        call.any_status = true;
        Ok(call)
    }

    async fn answer(&self, call: Call) -> Result<Answered, RegistryError> {
        let url = call.url.to_string();
        let response = self.execute(call).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_capped(response, BODY_LIMIT, &url)
            .await
            .unwrap_or_default();
        Ok(Answered {
            status,
            headers,
            body,
        })
    }

    async fn probe_catalog(&self) -> Result<(CatalogFinding, Option<String>), RegistryError> {
        let scope = "registry:catalog:*".to_string();
        let mut call = self.probe_call(
            Method::GET,
            &format!("_catalog?n={PROBE_PAGE_SIZE}"),
            RequestKind::Catalog,
            scope.clone(),
        )?;
        call.accept = Some("application/json");
        let sized = self.answer(call).await?;
        let first_repo = |a: &Answered| {
            serde_json::from_slice::<CatalogPage>(&a.body)
                .ok()
                .and_then(|p| {
                    p.repositories
                        .into_iter()
                        .find(|r| RepoName::parse(r).is_ok())
                })
        };
        if sized.status.is_success() {
            let finding = CatalogFinding {
                works: Finding::new(Answer::Yes, format!("answers n={PROBE_PAGE_SIZE}")),
                accepts_page_size_1000: Some(true),
                registry_page_size: None,
                page_cap: Some(PROBE_PAGE_SIZE),
            };
            return Ok((finding, first_repo(&sized)));
        }
        if sized.status != StatusCode::BAD_REQUEST {
            let answer = match sized.status.as_u16() {
                401 | 403 | 404 => Answer::No,
                _ => Answer::Unknown,
            };
            let finding = CatalogFinding {
                works: Finding::new(
                    answer,
                    format!("{} on /v2/_catalog", sized.status_and_codes()),
                ),
                accepts_page_size_1000: None,
                registry_page_size: None,
                page_cap: None,
            };
            return Ok((finding, None));
        }
        let mut call = self.probe_call(Method::GET, "_catalog", RequestKind::Catalog, scope)?;
        call.accept = Some("application/json");
        let url = call.url.clone();
        let plain = self.answer(call).await?;
        let refused = format!("refuses n={PROBE_PAGE_SIZE} ({})", sized.status_and_codes());
        if !plain.status.is_success() {
            let finding = CatalogFinding {
                works: Finding::new(
                    Answer::Unknown,
                    format!("{refused}; {} without n", plain.status_and_codes()),
                ),
                accepts_page_size_1000: Some(false),
                registry_page_size: None,
                page_cap: None,
            };
            return Ok((finding, None));
        }
        let own = plain
            .headers
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| next_link(&url, l))
            .and_then(|next| page_size_of(&next));
        let evidence = match own {
            Some(n) => format!("{refused}; pages of {n} without n"),
            None => format!("{refused}; one page without n"),
        };
        let finding = CatalogFinding {
            works: Finding::new(Answer::Yes, evidence),
            accepts_page_size_1000: Some(false),
            registry_page_size: own,
            page_cap: own.filter(|&n| n < DISTRIBUTION_DEFAULT_PAGE),
        };
        Ok((finding, first_repo(&plain)))
    }

    async fn probe_referrers(&self, repo: &str) -> Result<Finding, RegistryError> {
        let mut call = self.probe_call(
            Method::GET,
            &format!("{repo}/referrers/{ABSENT_DIGEST}"),
            RequestKind::ManifestGet,
            format!("repository:{repo}:pull"),
        )?;
        call.accept = Some("application/vnd.oci.image.index.v1+json");
        let a = self.answer(call).await?;
        let evidence = format!(
            "{} on GET /v2/{repo}/referrers/<digest>",
            a.status_and_codes()
        );
        Ok(match a.status.as_u16() {
            200 => Finding::new(Answer::Yes, evidence),
            // No route at all: a 404 without the OCI error envelope.
            404 if a.codes().is_empty() => Finding::new(Answer::No, evidence),
            _ => Finding::new(Answer::Unknown, evidence),
        })
    }

    async fn probe_tag_delete(&self, repo: &str) -> Result<Finding, RegistryError> {
        // Where tag delete works, a tag of this name would really go: make sure there is none.
        let mut head = self.probe_call(
            Method::HEAD,
            &format!("{repo}/manifests/{ABSENT_TAG}"),
            RequestKind::ManifestHead,
            format!("repository:{repo}:pull"),
        )?;
        head.accept = Some(super::manifest::MANIFEST_ACCEPT);
        let exists = self.answer(head).await?;
        if exists.status.is_success() {
            return Ok(Finding::new(
                Answer::Unknown,
                format!("not probed: {repo} has a tag named {ABSENT_TAG}"),
            ));
        }
        let call = self.probe_call(
            Method::DELETE,
            &format!("{repo}/manifests/{ABSENT_TAG}"),
            RequestKind::ManifestDelete,
            format!("repository:{repo}:delete"),
        )?;
        let a = self.answer(call).await?;
        let evidence = format!(
            "{} on DELETE of a tag that does not exist",
            a.status_and_codes()
        );
        Ok(match a.status.as_u16() {
            202 | 404 => Finding::new(Answer::Yes, evidence),
            400 => Finding::new(Answer::No, evidence),
            405 => Finding::new(Answer::No, format!("{evidence}; deletes are off")),
            _ => Finding::new(Answer::Unknown, evidence),
        })
    }

    async fn probe_deletes(&self, repo: &str) -> Result<Finding, RegistryError> {
        let call = self.probe_call(
            Method::DELETE,
            &format!("{repo}/manifests/{ABSENT_DIGEST}"),
            RequestKind::ManifestDelete,
            format!("repository:{repo}:delete"),
        )?;
        let a = self.answer(call).await?;
        let evidence = format!(
            "{} on DELETE of a digest that does not exist",
            a.status_and_codes()
        );
        Ok(match a.status.as_u16() {
            202 | 404 => Finding::new(Answer::Yes, evidence),
            405 => Finding::new(Answer::No, evidence),
            401 | 403 => Finding::new(
                Answer::Unknown,
                format!("{evidence}: these credentials may not delete"),
            ),
            _ => Finding::new(Answer::Unknown, evidence),
        })
    }
}
