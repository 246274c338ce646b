//! TLS set-up for one registry: the CA certificates the user named (`ca_file`, certs.d
//! `*.crt`), a client certificate for mutual TLS (config `client_cert`/`client_key`, or a
//! certs.d `NAME.cert`/`NAME.key` pair), and the one leniency curl, skopeo and docker share:
//! a server certificate the user named themselves is trusted even when it is marked `CA:TRUE`.
//!
//! Why that leniency: the usual recipe for a registry certificate (`openssl req -x509 -newkey
//! rsa:4096 -nodes ... -addext subjectAltName=...`, as in the registry's own deployment docs)
//! makes a self-signed certificate with `basicConstraints = CA:TRUE`. webpki refuses a CA
//! certificate as the server's own (`CaUsedAsEndEntity`); OpenSSL and Go accept it. We accept
//! it only when the presented certificate is byte for byte one the user named, and still
//! check its validity period and its names.
//!
//! When nothing here is configured, reqwest's own rustls set-up (the platform verifier) is
//! used unchanged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use super::certs_d;
use super::client::ClientOptions;
use super::error::RegistryError;
use super::reference::{RegistryAddr, Scheme};

/// The certificate files that apply to one registry, and where each came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Extra CA certificates (PEM bundles): `ca_file` first, then certs.d `*.crt`.
    pub ca_files: Vec<PathBuf>,
    /// Client certificate chain and key (PEM).
    pub client: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// The files for `addr` under `options`. certs.d is read for HTTPS registries only; a
    /// client pair from the config wins over one from certs.d.
    pub fn for_registry(options: &ClientOptions, addr: &RegistryAddr) -> Self {
        let mut files = TlsFiles::default();
        files.ca_files.extend(options.ca_file.iter().cloned());
        if addr.scheme == Scheme::Https {
            let found = certs_d::lookup(&options.certs_d_roots, &addr.host);
            files.ca_files.extend(found.ca_files);
            files.client = found.client_pair;
        }
        if let (Some(cert), Some(key)) = (&options.client_cert, &options.client_key) {
            files.client = Some((cert.clone(), key.clone()));
        }
        files
    }
}

/// A rustls configuration for these files, or `None` when nothing is configured (then the
/// caller keeps reqwest's defaults). `insecure` skips server verification but still presents
/// a client certificate.
pub(crate) fn client_config(
    files: &TlsFiles,
    options: &ClientOptions,
) -> Result<Option<rustls::ClientConfig>, RegistryError> {
    if options.client_cert.is_some() != options.client_key.is_some() {
        return Err(RegistryError::Setup(
            "client_cert and client_key go together: give both or neither".into(),
        ));
    }
    if files.ca_files.is_empty() && files.client.is_none() {
        return Ok(None);
    }
    let mut named = Vec::new();
    for path in &files.ca_files {
        let what = if options.ca_file.as_ref() == Some(path) {
            "ca_file"
        } else {
            "the certs.d CA certificate"
        };
        named.extend(read_certificates(path, what)?);
    }
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::Setup(format!("TLS versions: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if options.insecure {
        Arc::new(AnyServer {
            provider: provider.clone(),
        })
    } else {
        let platform = if named.is_empty() {
            rustls_platform_verifier::Verifier::new(provider.clone())
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                named.iter().cloned(),
                provider.clone(),
            )
        }
        .map_err(|e| RegistryError::Setup(format!("cannot load the CA certificates: {e}")))?;
        Arc::new(NamedCertVerifier {
            inner: Arc::new(platform),
            named,
        })
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &files.client {
        Some((cert, key)) => {
            let chain = read_certificates(cert, "the client certificate")?;
            let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| RegistryError::Io {
                path: key.display().to_string(),
                detail: format!("cannot read the client key (a PEM private key): {e}"),
            })?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| RegistryError::Io {
                    path: cert.display().to_string(),
                    detail: format!("the client certificate and key do not go together: {e}"),
                })?
        }
        None => builder.with_no_client_auth(),
    };
    // As reqwest does for its own configuration: HTTP/2 when the server offers it.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(config))
}

/// Every certificate in a PEM file; a file without one is an error (a wrong path would
/// otherwise turn into a TLS error telling the user to set the file they set).
fn read_certificates(
    path: &Path,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, RegistryError> {
    let io = |detail: String| RegistryError::Io {
        path: path.display().to_string(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| io(format!("cannot read {what}: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io(format!("{what} is not a PEM certificate bundle: {e}")))?;
    if certs.is_empty() {
        return Err(io(format!("{what} holds no PEM certificate")));
    }
    Ok(certs)
}

/// The platform verifier (system roots plus the user's certificates), and the user's own
/// certificates trusted as they are when the server presents one of them (see the module
/// docs). Everything else is the platform verifier's verdict.
#[derive(Debug)]
struct NamedCertVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    named: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for NamedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verdict {
            Err(e) if is_ca_used_as_end_entity(&e) && self.is_named(end_entity) => {
                // webpki checks the end entity's validity period before its basic
                // constraints, so reaching CaUsedAsEndEntity means the certificate is within
                // its dates (tests/registries_tls.rs has an expired CA:TRUE certificate
                // that must still fail). The name is checked here, as webpki would next.
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

impl NamedCertVerifier {
    fn is_named(&self, presented: &CertificateDer<'_>) -> bool {
        self.named.iter().any(|c| c.as_ref() == presented.as_ref())
    }
}

fn is_ca_used_as_end_entity(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => other
            .0
            .downcast_ref::<webpki::Error>()
            .is_some_and(|w| matches!(w, webpki::Error::CaUsedAsEndEntity)),
        _ => false,
    }
}

/// `insecure = true` with a client certificate: no server verification, but the handshake
/// signatures are still checked (they prove nothing without a trusted certificate; checking
/// them keeps the code path the same as the verified one).
#[derive(Debug)]
struct AnyServer {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// One sentence for a failed handshake, from the rustls error in `e`'s chain when there is
/// one: an expired certificate, a certificate for other names, an unknown issuer, a refused
/// client certificate. `None` when the chain holds no rustls error.
pub(crate) fn describe_failure(
    e: &(dyn std::error::Error + 'static),
    host: &str,
) -> Option<String> {
    let Some(tls) = find_rustls_error(e) else {
        // An alert after the handshake (TLS 1.3 refuses a client certificate then) reaches
        // us as text only.
        let mut current = Some(e);
        while let Some(err) = current {
            let text = err.to_string();
            if let Some(alert) = text.split("received fatal alert: ").nth(1) {
                return Some(alert_sentence(alert.trim(), host));
            }
            current = err.source();
        }
        return None;
    };
    let trust_hint = format!(
        "set ca_file (or certs.d/{host}/ca.crt) to the registry's CA certificate, or insecure = true to skip verification"
    );
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                let when = match cert {
                    CertificateError::ExpiredContext { not_after, .. } => {
                        format!(" on {}", unix_time(*not_after))
                    }
                    _ => String::new(),
                };
                format!(
                    "the registry's certificate expired{when}; the registry needs a renewed certificate"
                )
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the registry's certificate is not valid yet (check the clocks of both machines)"
                    .to_string()
            }
            CertificateError::NotValidForName => {
                format!("the registry's certificate is not valid for the name {host}")
            }
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => format!(
                "the registry's certificate is for {} and not for {}; connect by one of those names or reissue the certificate with this name in subjectAltName",
                if presented.is_empty() {
                    "no name at all".to_string()
                } else {
                    presented
                        .iter()
                        .map(|p| bare_name(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                expected.to_str()
            ),
            CertificateError::UnknownIssuer => format!(
                "the registry's certificate is signed by an issuer that is not trusted; {trust_hint}"
            ),
            CertificateError::Other(other)
                if other
                    .0
                    .downcast_ref::<webpki::Error>()
                    .is_some_and(|w| matches!(w, webpki::Error::CaUsedAsEndEntity)) =>
            {
                format!(
                    "the registry presents a CA certificate as its own; name that exact certificate in ca_file (or certs.d/{host}/ca.crt) to trust it, or set insecure = true to skip verification"
                )
            }
            other => format!("invalid peer certificate: {other}; {trust_hint}"),
        },
        rustls::Error::AlertReceived(alert) => alert_sentence(&format!("{alert:?}"), host),
        other => format!("{other}; {trust_hint}"),
    })
}

fn alert_sentence(alert: &str, host: &str) -> String {
    format!(
        "the registry ended the handshake ({alert}); if it requires a client certificate, set client_cert and client_key or put client.cert and client.key in certs.d/{host}/"
    )
}

/// `DnsName("a.example")` -> `a.example`, `IpAddress(10.0.0.1)` -> `10.0.0.1`: webpki shows
/// the names a certificate holds in `Debug` form.
fn bare_name(presented: &str) -> &str {
    match (presented.find('('), presented.rfind(')')) {
        (Some(open), Some(close)) if open < close => presented[open + 1..close].trim_matches('"'),
        _ => presented,
    }
}

/// The first `rustls::Error` in the chain. An `io::Error` hides its payload from `source()`
/// (it goes on with the payload's own source), so each one is opened with `get_ref` too.
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut pending: Vec<&'a (dyn std::error::Error + 'static)> = vec![e];
    while let Some(err) = pending.pop() {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            pending.push(inner);
        }
        if let Some(source) = err.source() {
            pending.push(source);
        }
    }
    None
}

fn unix_time(t: UnixTime) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{} s after 1970", t.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_configured_keeps_reqwest_defaults() {
        let options = ClientOptions {
            certs_d_roots: vec![],
            ..ClientOptions::default()
        };
        let addr = RegistryAddr::parse("https://r.example").unwrap();
        let files = TlsFiles::for_registry(&options, &addr);
        assert_eq!(files, TlsFiles::default());
        assert!(client_config(&files, &options).unwrap().is_none());
    }

    #[test]
    fn half_a_client_pair_is_one_sentence() {
        let options = ClientOptions {
            client_cert: Some("/x/client.cert".into()),
            certs_d_roots: vec![],
            ..ClientOptions::default()
        };
        let addr = RegistryAddr::parse("https://r.example").unwrap();
        let err = client_config(&TlsFiles::for_registry(&options, &addr), &options).unwrap_err();
        assert!(err.to_string().contains("client_key"), "{err}");
    }

    #[test]
    fn presented_names_lose_their_debug_dress() {
        assert_eq!(bare_name(r#"DnsName("a.example")"#), "a.example");
        assert_eq!(bare_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(bare_name("plain"), "plain");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = read_certificates(&path, "ca_file").unwrap_err();
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
    }
}
