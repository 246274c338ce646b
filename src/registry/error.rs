//! Typed errors of the registry client. Each variant's `Display` is one sentence a person can
//! act on; front ends print it as it is.

use thiserror::Error;

use super::reference::ReferenceError;

#[derive(Debug, Error, Clone)]
pub enum RegistryError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),

    #[error("cannot reach {host}: {detail}")]
    Unreachable { host: String, detail: String },

    /// `detail` says what to do (it names ca_file, certs.d or client_cert where they help).
    #[error("TLS failure talking to {host}: {detail}")]
    Tls { host: String, detail: String },

    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },

    #[error("401 Unauthorized from {host}: {detail}")]
    Unauthorized { host: String, detail: String },

    #[error("403 Forbidden: {host} refused the scope {scope}")]
    Forbidden { host: String, scope: String },

    #[error("404 Not Found: {what}")]
    NotFound { what: String },

    #[error(
        "405 Method Not Allowed: deletes are disabled on {host}; Distribution needs storage.delete.enabled: true"
    )]
    DeleteDisabled { host: String },

    #[error(
        "{host} has no catalog API ({detail}); list the repositories under `repositories` for this registry in config.toml, or, on Docker Hub and GHCR, set `namespace` to a user or organisation to list through the vendor's API"
    )]
    NoCatalog { host: String, detail: String },

    #[error("429 Too Many Requests from {host}: still rate-limited after {attempts} attempts")]
    RateLimited { host: String, attempts: u32 },

    #[error("{status} from {url}: the registry failed (server error){detail}")]
    Server {
        status: u16,
        url: String,
        detail: String,
    },

    #[error("{status} from {url}: {detail}")]
    Status {
        status: u16,
        url: String,
        detail: String,
    },

    #[error("malformed response from {url}: {detail}")]
    Malformed { url: String, detail: String },

    #[error(
        "unsupported manifest at {what}: Docker schema 1 is deprecated and not supported (schema 1)"
    )]
    Schema1 { what: String },

    #[error("unsupported manifest media type {media_type:?} at {what}")]
    UnsupportedMediaType { what: String, media_type: String },

    #[error("digest mismatch for {what}: expected {expected}, the body hashes to {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    /// A blob's body broke off and asking for the rest (`Range`) got no further.
    #[error(
        "{cause}; resumed {resumes} times, the last {stalled} without getting past byte {at} of {size}"
    )]
    BrokeOff {
        at: u64,
        size: u64,
        resumes: u32,
        stalled: u32,
        cause: Box<RegistryError>,
    },

    #[error(
        "asked for the rest of a blob from byte {asked}, the registry answered with bytes from {answered}; regatta does not read on from the wrong place"
    )]
    WrongRange { asked: u64, answered: u64 },

    #[error("{url} answered with a body over {limit} bytes; refusing to read it")]
    TooLarge { url: String, limit: u64 },

    #[error("{url} served a page it had already served; stopping to avoid an endless loop")]
    PaginationLoop { url: String },

    #[error("authentication with {host} failed: {detail}")]
    Auth { host: String, detail: String },

    #[error("credentials for {host}: {detail}")]
    Credentials { host: String, detail: String },

    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),

    #[error("{path}: {detail}")]
    Io { path: String, detail: String },
}

impl RegistryError {
    /// Whether the thing asked for does not exist (as opposed to a failure to ask).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }
}

/// The OCI error envelope: `{"errors":[{"code":..,"message":..,"detail":..}]}`. Parsed with our
/// own types because vendors add codes a closed enum would refuse.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ErrorEnvelope {
    #[serde(default, deserialize_with = "super::manifest::null_as_empty")]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorEnvelope {
    /// Parses a body; anything else (HTML error pages, empty bodies) gives no items.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    /// `CODE: message; CODE: message`, or an empty string.
    pub fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|e| {
                if e.message.is_empty() {
                    e.code.clone()
                } else {
                    format!("{}: {}", e.code, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

// ---- describing transport errors (shared by the client and the token fetch) ----------

/// An error's message and those of its sources, outermost first.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}

/// Whether a request failed in the TLS handshake or on a certificate.
pub(crate) fn is_tls_error(e: &reqwest::Error) -> bool {
    error_chain(e).iter().any(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("certificate")
            || m.contains("tls")
            || m.contains("handshake")
            || m.contains("corrupt message")
    })
}

/// The innermost message of a TLS failure.
pub(crate) fn tls_detail(e: &reqwest::Error) -> String {
    error_chain(e)
        .into_iter()
        .rev()
        .find(|m| !m.is_empty())
        .unwrap_or_else(|| "handshake failed".to_string())
}

/// The innermost useful message of a reqwest error, without the URL (which callers add).
pub(crate) fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    let innermost = chain.last().cloned().unwrap_or_default();
    if e.is_connect() {
        format!("connection failed ({innermost})")
    } else if e.is_timeout() {
        "timed out".to_string()
    } else {
        innermost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_parses_vendor_codes_and_garbage() {
        let e = ErrorEnvelope::parse(
            br#"{"errors":[{"code":"VENDOR_THING","message":"nope","detail":{"x":1}}]}"#,
        );
        assert!(e.has_code("VENDOR_THING"));
        assert_eq!(e.summary(), "VENDOR_THING: nope");
        assert!(ErrorEnvelope::parse(b"<html>").errors.is_empty());
        assert!(
            ErrorEnvelope::parse(br#"{"errors":null}"#)
                .errors
                .is_empty()
        );
    }

    #[test]
    fn sentences_name_the_fix() {
        let e = RegistryError::DeleteDisabled {
            host: "r:5000".into(),
        };
        assert!(e.to_string().contains("storage.delete.enabled"));
        let e = RegistryError::Tls {
            host: "r".into(),
            detail: "unknown issuer; set ca_file".into(),
        };
        assert!(e.to_string().contains("ca_file"));
    }
}
