//! The HTTP client: one cheap-to-clone handle per registry, shared by every task and the CLI.
//! Requests run through [`Client::execute`], which adds auth, bounds concurrency, retries what
//! is safe to retry and turns failures into [`RegistryError`]s.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use tokio::sync::{OnceCell, Semaphore};
use url::Url;

use super::auth::AuthState;
use super::credentials::{CredentialSource, Credentials};
use super::error::{
    ErrorEnvelope, RegistryError, describe_reqwest_error, error_chain, is_tls_error, tls_detail,
};
use super::ratelimit::{Pacer, RateBudget};
use super::reference::RegistryAddr;
use super::tls::{self, TlsFiles};

/// Bodies of manifests, configs and list pages are refused past this size (Distribution's own
/// manifest limit), so a hostile registry cannot make us buffer without bound.
pub const MAX_DOCUMENT_BYTES: u64 = 4 * 1024 * 1024;

/// The largest page size Distribution accepts (`catalog.maxentries`); more is a 400.
pub const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub credentials: CredentialSource,
    /// A PEM file of extra CA certificates trusted for this registry. A certificate in it
    /// that the server presents as its own is trusted even when marked `CA:TRUE`.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM chain) and key for mutual TLS; both or neither.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Where Docker's and Podman's per-registry certificate directories are looked up
    /// (`<root>/<host:port>/{*.crt, NAME.cert, NAME.key}`); see [`super::certs_d`].
    pub certs_d_roots: Vec<PathBuf>,
    /// Skip TLS verification (front ends warn visibly when this is on).
    pub insecure: bool,
    /// Requests in flight at once to this registry.
    pub concurrency: usize,
    /// Requests sent per second at most (a token bucket with one second's burst); `None`
    /// for no limit of our own. The registry's announced budget is honoured either way.
    pub max_requests_per_second: Option<f64>,
    /// Page size (`n`) for catalog and tag listings, at most [`MAX_PAGE_SIZE`].
    pub page_size: usize,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Retries of idempotent requests after connection errors, bodies that broke off, 5xx
    /// and 429. A request that timed out is not retried: `request_timeout` bounds the wait.
    pub max_retries: u32,
    /// First backoff delay; doubled each retry, with jitter.
    pub retry_base: Duration,
    /// Upload blobs in chunks of this many bytes (PATCH requests) instead of one streamed
    /// PUT, for registries behind proxies that cap a request's body. `None`: one PUT, unless
    /// the registry asks for chunks (`OCI-Chunk-Min-Length`).
    pub upload_chunk_size: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            credentials: CredentialSource::default(),
            ca_file: None,
            client_cert: None,
            client_key: None,
            certs_d_roots: super::certs_d::default_roots(),
            insecure: false,
            concurrency: 8,
            max_requests_per_second: None,
            page_size: MAX_PAGE_SIZE,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_retries: 3,
            retry_base: Duration::from_millis(250),
            upload_chunk_size: None,
        }
    }
}

/// What a request is, for the request counters (benchmarks and cache tests read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Ping,
    Catalog,
    Tags,
    ManifestHead,
    ManifestGet,
    ManifestPut,
    ManifestDelete,
    BlobHead,
    BlobGet,
    BlobUpload,
    /// `GET /v2/R/referrers/DIGEST` (OCI 1.1).
    Referrers,
}

const KINDS: usize = 11;

/// Requests sent, by kind (retries and auth round trips included).
#[derive(Debug, Default)]
pub struct RequestCounters {
    counts: [AtomicU64; KINDS],
}

impl RequestCounters {
    pub fn get(&self, kind: RequestKind) -> u64 {
        self.counts[kind as usize].load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    fn bump(&self, kind: RequestKind) {
        self.counts[kind as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// One request as the endpoint code describes it.
#[derive(Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub kind: RequestKind,
    /// The token scope the request needs (`repository:R:pull`, `registry:catalog:*`).
    pub scope: String,
    /// What the request is about, for "404 Not Found: ..." sentences.
    pub what: String,
    pub accept: Option<&'static str>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    /// Return any final status instead of mapping 4xx/5xx to errors (the capability probe
    /// reads the status itself). Auth challenges and retries are handled as usual.
    pub any_status: bool,
    /// Overrides the client's request timeout (a layer's body takes longer than a manifest's).
    pub timeout: Option<Duration>,
    /// A `Range` header (`bytes=START-END`), for reading part of a blob.
    pub range: Option<String>,
    /// A `Content-Range` header (`START-END`), for one chunk of a chunked upload.
    pub content_range: Option<String>,
}

impl Call {
    pub fn new(method: Method, url: Url, kind: RequestKind, scope: String, what: String) -> Self {
        Self {
            method,
            url,
            kind,
            scope,
            what,
            accept: None,
            content_type: None,
            body: None,
            any_status: false,
            timeout: None,
            range: None,
            content_range: None,
        }
    }

    fn idempotent(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// A response read whole: its headers and its body.
pub(crate) struct Document {
    pub headers: header::HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    addr: RegistryAddr,
    http: reqwest::Client,
    options: ClientOptions,
    permits: Semaphore,
    pacer: Pacer,
    auth: AuthState,
    credentials: OnceCell<Credentials>,
    counters: RequestCounters,
    /// Whether the TLS set-up presents a client certificate (for the sentence when a
    /// registry that requires one closes the connection).
    presents_client_cert: bool,
    /// What the registry can do, probed once per client (see [`super::probe`]).
    capabilities: OnceCell<super::probe::Capabilities>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.inner.addr)
            .finish()
    }
}

/// Installs the ring crypto provider for rustls once per process.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    pub fn new(addr: RegistryAddr, options: ClientOptions) -> Result<Self, RegistryError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("regatta/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            // reqwest drops Authorization when a redirect leaves the host (blob storage).
            .redirect(reqwest::redirect::Policy::limited(5));
        let tls_files = TlsFiles::for_registry(&options, &addr);
        let presents_client_cert = tls_files.client.is_some();
        match tls::client_config(&tls_files, &options)? {
            // Our own rustls configuration: the user's CA certificates (including a
            // self-signed CA:TRUE server certificate they named), a client certificate.
            Some(config) => builder = builder.tls_backend_preconfigured(config),
            None if options.insecure => builder = builder.tls_danger_accept_invalid_certs(true),
            None => {}
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Setup(describe_reqwest_error(&e)))?;
        let permits = Semaphore::new(options.concurrency.max(1));
        let pacer = Pacer::new(options.concurrency, options.max_requests_per_second);
        Ok(Self {
            inner: Arc::new(Inner {
                addr,
                http,
                options,
                permits,
                pacer,
                auth: AuthState::default(),
                credentials: OnceCell::new(),
                counters: RequestCounters::default(),
                presents_client_cert,
                capabilities: OnceCell::new(),
            }),
        })
    }

    pub fn registry(&self) -> &RegistryAddr {
        &self.inner.addr
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    pub(crate) fn capabilities_cell(&self) -> &OnceCell<super::probe::Capabilities> {
        &self.inner.capabilities
    }

    pub fn counters(&self) -> &RequestCounters {
        &self.inner.counters
    }

    /// The request budget the registry announced last (`RateLimit-*` headers), if any.
    pub fn rate_budget(&self) -> Option<RateBudget> {
        self.inner.pacer.budget()
    }

    /// The HTTP client and auth state, for asking the token server directly (grants).
    pub(crate) fn auth_parts(&self) -> (&reqwest::Client, &AuthState) {
        (&self.inner.http, &self.inner.auth)
    }

    pub(crate) fn page_size(&self) -> usize {
        self.inner.options.page_size.clamp(1, MAX_PAGE_SIZE)
    }

    /// `scheme://host/v2/` followed by `path`.
    pub(crate) fn url(&self, path: &str) -> Result<Url, RegistryError> {
        let text = format!("{}/v2/{}", self.inner.addr.base_url(), path);
        Url::parse(&text).map_err(|e| RegistryError::Setup(format!("bad URL {text}: {e}")))
    }

    pub(crate) async fn credentials(&self) -> Result<&Credentials, RegistryError> {
        let addr = &self.inner.addr;
        self.inner
            .credentials
            .get_or_try_init(|| {
                self.inner
                    .options
                    .credentials
                    .resolve(&addr.host, addr.is_docker_hub())
            })
            .await
    }

    /// Checks that the registry answers the API base (`GET /v2/`) with these credentials.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        let url = self.url("")?;
        let call = Call::new(
            Method::GET,
            url,
            RequestKind::Ping,
            String::new(),
            format!("the API base of {}", self.inner.addr),
        );
        self.execute(call).await.map(|_| ())
    }

    /// Sends a request: adds auth (answering a 401 challenge once), waits for a concurrency
    /// permit, retries idempotent requests on connection errors, 5xx and 429 (honouring
    /// `Retry-After`), and maps failures. Returns only 2xx/3xx responses.
    pub(crate) async fn execute(&self, call: Call) -> Result<reqwest::Response, RegistryError> {
        self.execute_counting(&call, &mut 0).await
    }

    /// Sends `call` and reads its whole body, refusing one over `limit` bytes. A body that
    /// breaks off (a reset connection, fewer bytes than announced) fails an idempotent
    /// request like a failed send does, so it is retried too, from the same retry budget:
    /// a status line alone is not an answer.
    pub(crate) async fn fetch(&self, call: Call, limit: u64) -> Result<Document, RegistryError> {
        let url = call.url.to_string();
        let mut attempt: u32 = 0;
        loop {
            let response = self.execute_counting(&call, &mut attempt).await?;
            let headers = response.headers().clone();
            let host = response.url().host_str().unwrap_or_default().to_string();
            let broken = match read_body(response, limit).await {
                Ok(body) => return Ok(Document { headers, body }),
                Err(BodyError::TooLarge) => return Err(RegistryError::TooLarge { url, limit }),
                Err(BodyError::Broken(e)) => e,
            };
            if broken.is_timeout() {
                return Err(RegistryError::Timeout {
                    url,
                    seconds: self.inner.options.request_timeout.as_secs(),
                });
            }
            if call.idempotent() && attempt < self.inner.options.max_retries {
                tracing::debug!(%url, "the body broke off: {broken}");
                self.backoff(attempt, None).await;
                attempt += 1;
                continue;
            }
            return Err(body_broke_off(host, &url, &broken));
        }
    }

    /// [`execute`](Self::execute) with the retry count kept in `attempt`, shared with the
    /// caller's own retries.
    async fn execute_counting(
        &self,
        call: &Call,
        attempt: &mut u32,
    ) -> Result<reqwest::Response, RegistryError> {
        let inner = &self.inner;
        let host = inner.addr.host.clone();
        let credentials = self.credentials().await?.clone();
        let mut answered_challenge = false;
        loop {
            let auth = inner
                .auth
                .header(&inner.http, &host, &credentials, &call.scope)
                .await?;
            let mut request = inner.http.request(call.method.clone(), call.url.clone());
            if let Some(auth) = &auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            if let Some(accept) = call.accept {
                request = request.header(header::ACCEPT, accept);
            }
            if let Some(ct) = &call.content_type {
                request = request.header(header::CONTENT_TYPE, ct);
            }
            if let Some(body) = &call.body {
                request = request.body(body.clone());
            }
            if let Some(timeout) = call.timeout {
                request = request.timeout(timeout);
            }
            if let Some(range) = &call.range {
                request = request.header(header::RANGE, range);
            }
            if let Some(range) = &call.content_range {
                request = request.header(header::CONTENT_RANGE, range);
            }
            let outcome = {
                let _permit = inner
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| RegistryError::Setup("client shut down".into()))?;
                // Within the configured rate, after any Retry-After, one at a time while
                // the registry's budget is low.
                let _pace = inner.pacer.before_send().await;
                inner.counters.bump(call.kind);
                request.send().await
            };
            let retry_left = *attempt < inner.options.max_retries;
            let response = match outcome {
                Ok(response) => response,
                Err(e) => {
                    // A connect error means nothing was sent, so even a PUT may be retried.
                    let safe = call.idempotent() || e.is_connect();
                    // A timeout is not retried: the configured time is what the user gives a
                    // request, and retries would multiply it before anything is reported.
                    if retry_left && safe && !e.is_timeout() && !is_tls_error(&e) {
                        self.backoff(*attempt, None).await;
                        *attempt += 1;
                        continue;
                    }
                    return Err(self.transport_error(call, &e));
                }
            };
            let status = response.status();
            inner.pacer.observe(status, response.headers());
            if status.is_success() || status.is_redirection() {
                return Ok(response);
            }
            // A token refused for want of scope would be refused again: the token server
            // already granted all it will.
            let scope_refused = auth.is_some() && insufficient_scope(&response);
            if status == StatusCode::UNAUTHORIZED && !answered_challenge && !scope_refused {
                let challenge = response
                    .headers()
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if inner.auth.learn(challenge) {
                    inner.auth.forget(&call.scope);
                    answered_challenge = true;
                    continue;
                }
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            let will_retry = retryable && retry_left && call.idempotent();
            if call.any_status && !will_retry {
                return Ok(response);
            }
            if will_retry {
                let wait = retry_after(&response);
                self.backoff(*attempt, wait).await;
                *attempt += 1;
                continue;
            }
            return Err(self
                .status_error(call, &credentials, response, *attempt + 1)
                .await);
        }
    }

    /// Sends `call` once with a streamed `body` (a blob on its way from another registry):
    /// auth from the token cache (the caller made a request of the same scope first, which
    /// answered any challenge), a concurrency permit, no retry, since a stream cannot be sent
    /// twice. Failures map as in [`execute`](Self::execute).
    pub(crate) async fn send_streaming(
        &self,
        call: &Call,
        body: reqwest::Body,
    ) -> Result<reqwest::Response, RegistryError> {
        let inner = &self.inner;
        let credentials = self.credentials().await?.clone();
        let auth = inner
            .auth
            .header(&inner.http, &inner.addr.host, &credentials, &call.scope)
            .await?;
        let mut request = inner.http.request(call.method.clone(), call.url.clone());
        if let Some(auth) = &auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        if let Some(ct) = &call.content_type {
            request = request.header(header::CONTENT_TYPE, ct);
        }
        if let Some(timeout) = call.timeout {
            request = request.timeout(timeout);
        }
        let outcome = {
            let _permit = inner
                .permits
                .acquire()
                .await
                .map_err(|_| RegistryError::Setup("client shut down".into()))?;
            let _pace = inner.pacer.before_send().await;
            inner.counters.bump(call.kind);
            request.body(body).send().await
        };
        let response = outcome.map_err(|e| self.transport_error(call, &e))?;
        inner.pacer.observe(response.status(), response.headers());
        if response.status().is_success() || response.status().is_redirection() {
            return Ok(response);
        }
        Err(self.status_error(call, &credentials, response, 1).await)
    }

    pub(crate) async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let base = self.inner.options.retry_base;
        let exp = base.saturating_mul(1u32 << attempt.min(10));
        let jitter = exp.mul_f64(fastrand::f64() * 0.5);
        // A registry's Retry-After wins, but is capped so a typo cannot stall us for hours.
        let wait = retry_after
            .map(|w| w.min(Duration::from_secs(60)))
            .unwrap_or(exp + jitter);
        tracing::debug!(attempt, ?wait, "retrying after backoff");
        tokio::time::sleep(wait).await;
    }

    fn transport_error(&self, call: &Call, e: &reqwest::Error) -> RegistryError {
        let host = self.inner.addr.host.clone();
        if is_tls_error(e) {
            let detail = tls::describe_failure(e, &host).unwrap_or_else(|| {
                format!(
                    "{} (set ca_file to the registry's CA certificate, or insecure = true to skip verification)",
                    tls_detail(e)
                )
            });
            return RegistryError::Tls { host, detail };
        }
        if e.is_timeout() {
            let seconds = if e.is_connect() {
                self.inner.options.connect_timeout.as_secs()
            } else {
                self.inner.options.request_timeout.as_secs()
            };
            return RegistryError::Timeout {
                url: call.url.to_string(),
                seconds,
            };
        }
        let mut detail = describe_reqwest_error(e);
        // With TLS 1.3 a registry refuses a missing client certificate after the handshake;
        // over HTTP/2 that reaches us as a closed connection, not as the alert: closed, or
        // (when the close wins the race with the first request) "connection was not ready".
        if self.inner.addr.scheme == super::reference::Scheme::Https
            && !self.inner.presents_client_cert
            && error_chain(e)
                .iter()
                .any(|m| m.contains("closed") || m.contains("not ready"))
        {
            detail.push_str(&format!(
                "; if the registry requires a client certificate, set client_cert and client_key or put client.cert and client.key in certs.d/{}/",
                self.inner.addr.host
            ));
        }
        RegistryError::Unreachable { host, detail }
    }

    async fn status_error(
        &self,
        call: &Call,
        credentials: &Credentials,
        response: reqwest::Response,
        attempts: u32,
    ) -> RegistryError {
        let status = response.status();
        let host = self.inner.addr.host.clone();
        let url = call.url.to_string();
        let scope_refused = insufficient_scope(&response);
        let body = read_capped(response, 64 * 1024, &url)
            .await
            .unwrap_or_default();
        let envelope = ErrorEnvelope::parse(&body);
        let summary = envelope.summary();
        match status.as_u16() {
            // Credentials accepted, scope refused: the token lacks the action (a read-only
            // account deleting), which is no wrong password.
            401 if scope_refused => RegistryError::Unauthorized {
                host,
                detail: format!(
                    "the credentials were accepted but do not grant {} (insufficient_scope)",
                    call.scope
                ),
            },
            401 => RegistryError::Unauthorized {
                host,
                detail: match credentials {
                    Credentials::Anonymous => {
                        "credentials are required and none are configured for this registry"
                            .to_string()
                    }
                    Credentials::Basic { username, .. } => {
                        format!("the registry refused the credentials of user {username:?}")
                    }
                    Credentials::IdentityToken(_) => {
                        "the registry refused the identity token".to_string()
                    }
                },
            },
            403 => RegistryError::Forbidden {
                host,
                scope: if call.scope.is_empty() {
                    "(none)".to_string()
                } else {
                    call.scope.clone()
                },
            },
            404 => RegistryError::NotFound {
                what: if summary.is_empty() {
                    call.what.clone()
                } else {
                    format!("{} ({summary})", call.what)
                },
            },
            405 if call.method == Method::DELETE => RegistryError::DeleteDisabled { host },
            429 => RegistryError::RateLimited { host, attempts },
            500..=599 => RegistryError::Server {
                status: status.as_u16(),
                url,
                detail: if summary.is_empty() {
                    String::new()
                } else {
                    format!(": {summary}")
                },
            },
            code => RegistryError::Status {
                status: code,
                url,
                detail: if !summary.is_empty() {
                    summary
                } else if code == 400 && call.url.scheme() == "http" && is_plain_http_refusal(&body)
                {
                    format!("the registry speaks HTTPS on this port: name it https://{host}")
                } else {
                    status
                        .canonical_reason()
                        .unwrap_or("unexpected status")
                        .to_string()
                },
            },
        }
    }
}

/// Whether a 400 body is a TLS server's answer to plain HTTP: Go's "Client sent an HTTP
/// request to an HTTPS server." (Distribution), nginx's "The plain HTTP request was sent to
/// HTTPS port". Plain HTTP is the default for loopback hosts, so this is a common first try.
fn is_plain_http_refusal(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    text.contains("http request") && text.contains("https")
}

/// Whether a 401's challenge says `error="insufficient_scope"` (RFC 6750): the token is
/// valid but does not grant what the request needs.
fn insufficient_scope(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(super::challenge::parse_challenges)
        .any(|c| c.param("error") == Some("insufficient_scope"))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    super::ratelimit::retry_after(response.headers())
}

/// Why a body could not be read whole.
enum BodyError {
    TooLarge,
    Broken(reqwest::Error),
}

/// Reads a body up to `limit` bytes; a larger one is refused, not truncated.
async fn read_body(mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(BodyError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(BodyError::Broken(e)),
        }
    }
}

/// `host`: where the body came from (after redirects).
pub(crate) fn body_broke_off(host: String, url: &str, e: &reqwest::Error) -> RegistryError {
    RegistryError::Unreachable {
        host,
        detail: format!("the body of {url} broke off: {}", describe_reqwest_error(e)),
    }
}

/// Reads a body up to `limit` bytes, without retrying (error bodies, upload answers).
pub(crate) async fn read_capped(
    response: reqwest::Response,
    limit: u64,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
    let host = response.url().host_str().unwrap_or_default().to_string();
    read_body(response, limit).await.map_err(|e| match e {
        BodyError::TooLarge => RegistryError::TooLarge {
            url: url.to_string(),
            limit,
        },
        BodyError::Broken(e) => body_broke_off(host, url, &e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Secret;

    /// A panic message or a `{:?}` in a log line shows options as `Debug` does.
    #[test]
    fn options_in_debug_show_no_password() {
        let options = ClientOptions {
            credentials: CredentialSource::Plain {
                username: "alice".into(),
                password: Secret::new("hunter2-in-options"),
            },
            ..ClientOptions::default()
        };
        let shown = format!("{options:?} {options:#?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains("hunter2-in-options"), "{shown}");
    }
}
