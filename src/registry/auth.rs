//! The auth half of the transport: what `Authorization` header a request carries, learned from
//! the registry's `WWW-Authenticate` challenge, with bearer tokens cached per scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use super::challenge::{Challenge, parse_challenges};
use super::credentials::{Credentials, Secret};
use super::error::{RegistryError, describe_reqwest_error};

/// The scheme a registry asked for, with what is needed to answer it.
#[derive(Debug, Clone)]
pub(crate) enum AuthScheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Clone)]
struct Token {
    value: Secret,
    expires: Instant,
}

/// Per-registry auth state shared by every clone of a client.
pub(crate) struct AuthState {
    scheme: Mutex<Option<AuthScheme>>,
    /// One slot per scope, each behind its own async lock so that concurrent requests for the
    /// same scope fetch one token, while different scopes do not wait for each other.
    tokens: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Token>>>>>,
    /// The clock tokens expire by: `Instant::now`, or a test's, which moves only when told.
    now: fn() -> Instant,
}

impl Default for AuthState {
    fn default() -> Self {
        Self {
            scheme: Mutex::default(),
            tokens: Mutex::default(),
            now: Instant::now,
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-update of plain data; keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AuthState {
    pub(crate) fn scheme(&self) -> Option<AuthScheme> {
        lock(&self.scheme).clone()
    }

    /// Records the challenge of a 401 answer. Returns false when it holds nothing usable.
    pub(crate) fn learn(&self, www_authenticate: &str) -> bool {
        let challenges = parse_challenges(www_authenticate);
        let pick = |scheme: &str| challenges.iter().find(|c| c.scheme == scheme);
        let learned = if let Some(bearer) = pick("bearer") {
            bearer_scheme(bearer)
        } else {
            pick("basic").map(|_| AuthScheme::Basic)
        };
        let usable = learned.is_some();
        if usable {
            *lock(&self.scheme) = learned;
        }
        usable
    }

    /// Forgets the token of `scope` (after the registry refused it).
    pub(crate) fn forget(&self, scope: &str) {
        lock(&self.tokens).remove(scope);
    }

    /// The `Authorization` header value for a request needing `scope`, if any.
    pub(crate) async fn header(
        &self,
        http: &reqwest::Client,
        host: &str,
        credentials: &Credentials,
        scope: &str,
    ) -> Result<Option<String>, RegistryError> {
        match self.scheme() {
            None => Ok(None),
            Some(AuthScheme::Basic) => Ok(basic_header(credentials)),
            Some(AuthScheme::Bearer { realm, service }) => {
                let slot = lock(&self.tokens)
                    .entry(scope.to_string())
                    .or_default()
                    .clone();
                let mut guard = slot.lock().await;
                if let Some(token) = guard.as_ref()
                    && token.expires > (self.now)()
                {
                    return Ok(Some(format!("Bearer {}", token.value.expose())));
                }
                let (value, expires_in) =
                    fetch_token(http, host, credentials, &realm, service.as_deref(), scope).await?;
                let token = Token {
                    value,
                    expires: token_expiry((self.now)(), expires_in),
                };
                let header = format!("Bearer {}", token.value.expose());
                *guard = Some(token);
                Ok(Some(header))
            }
        }
    }
}

fn bearer_scheme(c: &Challenge) -> Option<AuthScheme> {
    let realm = c.param("realm")?.to_string();
    Some(AuthScheme::Bearer {
        realm,
        service: c.param("service").map(str::to_string),
    })
}

pub(crate) fn basic_header(credentials: &Credentials) -> Option<String> {
    match credentials {
        Credentials::Basic { username, password } => {
            let raw = format!("{username}:{}", password.expose());
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
        }
        _ => None,
    }
}

/// When a token fetched at `now` stops being used: its lifetime (`expires_in`, the spec's
/// default 60 s) from now, renewed a tenth early.
fn token_expiry(now: Instant, expires_in: Option<u64>) -> Instant {
    let lifetime = expires_in.unwrap_or(60).max(1);
    now + Duration::from_secs(lifetime) - Duration::from_secs(lifetime / 10)
}

/// Asks the token realm for a token (Docker token spec; OAuth2 refresh for identity tokens):
/// the token and its `expires_in`.
async fn fetch_token(
    http: &reqwest::Client,
    host: &str,
    credentials: &Credentials,
    realm: &str,
    service: Option<&str>,
    scope: &str,
) -> Result<(Secret, Option<u64>), RegistryError> {
    let auth_err = |detail: String| RegistryError::Auth {
        host: host.to_string(),
        detail,
    };
    let realm_url = url::Url::parse(realm)
        .map_err(|_| auth_err(format!("the token realm {realm:?} is not a URL")))?;
    let mut params: Vec<(&str, &str)> = Vec::new();
    if let Some(service) = service {
        params.push(("service", service));
    }
    if !scope.is_empty() {
        params.push(("scope", scope));
    }
    let request = match credentials {
        Credentials::IdentityToken(refresh) => {
            params.push(("grant_type", "refresh_token"));
            params.push(("client_id", "regatta"));
            params.push(("refresh_token", refresh.expose()));
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish();
            http.post(realm_url.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        }
        other => {
            let mut builder = http.get(realm_url.clone()).query(&params);
            if let Some(header) = basic_header(other) {
                builder = builder.header(reqwest::header::AUTHORIZATION, header);
            }
            builder
        }
    };
    let response = request.send().await.map_err(|e| {
        auth_err(format!(
            "the token server at {realm_url} failed: {}",
            describe_reqwest_error(&e)
        ))
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(RegistryError::Unauthorized {
            host: host.to_string(),
            detail: match credentials {
                Credentials::Anonymous => {
                    "the token server refused anonymous access; configure credentials".to_string()
                }
                _ => "the token server refused the credentials".to_string(),
            },
        });
    }
    if !status.is_success() {
        return Err(auth_err(format!("the token server answered {status}")));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| auth_err(format!("reading the token failed: {e}")))?;
    let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
        auth_err("the token server's answer is not a token JSON object".to_string())
    })?;
    let value = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| auth_err("the token server's answer holds no token".to_string()))?;
    Ok((Secret::new(value), parsed.expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_preferred_over_basic() {
        let s = AuthState::default();
        assert!(s.learn(r#"Basic realm="r", Bearer realm="https://a/token",service="svc""#));
        match s.scheme() {
            Some(AuthScheme::Bearer { realm, service }) => {
                assert_eq!(realm, "https://a/token");
                assert_eq!(service.as_deref(), Some("svc"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let s = AuthState::default();
        assert!(!s.learn("Negotiate"));
        assert!(s.scheme().is_none());
    }

    #[test]
    fn basic_header_encodes_user_and_password() {
        let c = Credentials::Basic {
            username: "alice".into(),
            password: Secret::new("pw"),
        };
        assert_eq!(basic_header(&c).unwrap(), "Basic YWxpY2U6cHc=");
        assert!(basic_header(&Credentials::Anonymous).is_none());
    }

    #[test]
    fn a_token_lives_its_lifetime_less_a_tenth() {
        let now = Instant::now();
        assert_eq!(token_expiry(now, Some(300)), now + Duration::from_secs(270));
        assert_eq!(token_expiry(now, None), now + Duration::from_secs(54));
        // A lifetime of 0 would mean a token request per request: one second at least.
        assert_eq!(token_expiry(now, Some(0)), now + Duration::from_secs(1));
    }

    thread_local! {
        /// The test clock: a fixed start plus what the test has moved it by. `tokio::test`
        /// runs on the test's own thread, so each test has a clock of its own.
        static START: Instant = Instant::now();
        static MOVED: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
    }

    fn test_now() -> Instant {
        START.with(|s| *s) + MOVED.with(|m| m.get())
    }

    fn move_clock_to(at: Duration) {
        MOVED.with(|m| m.set(at));
    }

    /// The cache through `header`, against a token endpoint that counts its requests: a
    /// 60-second token is reused until 54 s have passed on the test clock, and fetched again
    /// from then on. No real time passes.
    #[tokio::test]
    async fn an_expired_token_is_fetched_again_and_a_live_one_is_not() {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"token": "tok", "expires_in": 60})),
            )
            .mount(&server)
            .await;
        let state = AuthState {
            now: test_now,
            ..AuthState::default()
        };
        assert!(state.learn(&format!(r#"Bearer realm="{}/token""#, server.uri())));
        crate::registry::install_crypto_provider();
        let http = reqwest::Client::new();
        let fetched = || async {
            let requests = server.received_requests().await.expect("recording on");
            requests.iter().filter(|r| r.url.path() == "/token").count()
        };
        let header = || state.header(&http, "h", &Credentials::Anonymous, "repository:a:pull");
        for (at, fetches) in [(0, 1), (1, 1), (53, 1), (54, 2), (55, 2), (108, 3)] {
            move_clock_to(Duration::from_secs(at));
            let h = header().await.expect("a header");
            assert_eq!(h.as_deref(), Some("Bearer tok"));
            assert_eq!(fetched().await, fetches, "token requests after {at} s");
        }
    }
}
