//! What the certificate of a cosign signature says: who signed and who vouched for them.
//!
//! Keyless cosign (Fulcio) keeps the signing certificate, PEM, in the signature layer's
//! annotation `dev.sigstore.cosign/certificate`. A Fulcio certificate has an empty subject
//! name: the signer's identity is in SubjectAlternativeName (an email address, or a URI
//! for a workload such as a CI job), and the OIDC provider that vouched for it is in
//! Fulcio's extension `1.3.6.1.4.1.57264.1.8` (a DER UTF8String) or, in older
//! certificates, `1.3.6.1.4.1.57264.1.1` (the raw string). The certificate is only read,
//! never verified: regatta says what it claims, not whether to trust it.
//!
//! Pure and panic-free: a body that is not a PEM X.509 certificate gives
//! [`Certificate::Unreadable`] with a short reason. Text here comes from the network; front
//! ends sanitize it where they print it.

use serde::Serialize;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

/// Fulcio's OIDC issuer extension (v2, a DER UTF8String).
const FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// Fulcio's first OIDC issuer extension (deprecated; the string's bytes, not DER).
const FULCIO_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";

/// A signature's certificate, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Certificate {
    Read {
        /// The subject's distinguished name in the certificate's order (`O=…, CN=…`);
        /// empty for Fulcio's certificates.
        subject: String,
        /// The email addresses and URIs of SubjectAlternativeName: the signer's identity.
        identities: Vec<String>,
        /// The issuer's distinguished name.
        issuer: String,
        /// The OIDC issuer Fulcio recorded, when the certificate has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        oidc_issuer: Option<String>,
    },
    Unreadable {
        unreadable: String,
    },
}

fn unreadable(reason: &str) -> Certificate {
    Certificate::Unreadable {
        unreadable: reason.to_string(),
    }
}

/// Reads the first certificate of a PEM text (a chain's leaf comes first).
pub fn read_pem(pem: &str) -> Certificate {
    let Ok((pem, _)) = Pem::read(std::io::Cursor::new(pem.as_bytes())) else {
        return unreadable("not PEM");
    };
    if pem.label != "CERTIFICATE" {
        return unreadable("not a certificate");
    }
    let Ok(cert) = pem.parse_x509() else {
        return unreadable("not an X.509 certificate");
    };
    let name = |n: &x509_parser::x509::X509Name| {
        n.to_string_with_registry(x509_parser::objects::oid_registry())
            .unwrap_or_else(|_| "(unreadable name)".to_string())
    };
    let identities = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|g| match g {
                GeneralName::RFC822Name(s) | GeneralName::URI(s) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let extension = |oid: &str| {
        cert.extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == oid)
            .map(|e| e.value)
    };
    let oidc_issuer = extension(FULCIO_ISSUER_V2)
        .and_then(der_string)
        .or_else(|| {
            extension(FULCIO_ISSUER_V1).and_then(|raw| der_string(raw).or_else(|| utf8(raw)))
        });
    Certificate::Read {
        subject: name(cert.subject()),
        identities,
        issuer: name(cert.issuer()),
        oidc_issuer,
    }
}

fn utf8(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A DER string (UTF8String, PrintableString or IA5String) that fills `der` exactly.
fn der_string(der: &[u8]) -> Option<String> {
    let (&tag, rest) = der.split_first()?;
    if !matches!(tag, 0x0c | 0x13 | 0x16) {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, body) = match first {
        n if n < 0x80 => (usize::from(n), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => (
            usize::from(*rest.first()?) << 8 | usize::from(*rest.get(1)?),
            rest.get(2..)?,
        ),
        _ => return None,
    };
    if body.len() != len {
        return None;
    }
    utf8(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair, SanType};

    fn pem(params: CertificateParams) -> String {
        let key = KeyPair::generate().expect("a key");
        params.self_signed(&key).expect("a certificate").pem()
    }

    fn fulcio_like(extensions: Vec<CustomExtension>) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.subject_alt_names = vec![SanType::URI(
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
                .try_into()
                .expect("a URI"),
        )];
        p.custom_extensions = extensions;
        p
    }

    #[test]
    fn a_subject_its_email_identity_and_the_issuer() {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::OrganizationName, "Example");
        p.distinguished_name.push(DnType::CommonName, "dev");
        p.subject_alt_names = vec![
            SanType::Rfc822Name("dev@example.com".try_into().expect("an email")),
            SanType::DnsName("example.com".try_into().expect("a name")),
        ];
        let read = read_pem(&pem(p));
        assert_eq!(
            read,
            Certificate::Read {
                subject: "O=Example, CN=dev".into(),
                identities: vec!["dev@example.com".into()],
                issuer: "O=Example, CN=dev".into(),
                oidc_issuer: None,
            }
        );
    }

    #[test]
    fn fulcio_identity_and_oidc_issuer_from_either_extension() {
        let v2 = [1, 3, 6, 1, 4, 1, 57264, 1, 8];
        let v1 = [1, 3, 6, 1, 4, 1, 57264, 1, 1];
        let url = "https://token.actions.githubusercontent.com";
        let mut der = vec![0x0c, url.len() as u8];
        der.extend_from_slice(url.as_bytes());
        for extension in [
            CustomExtension::from_oid_content(&v2, der.clone()),
            CustomExtension::from_oid_content(&v1, url.as_bytes().to_vec()),
        ] {
            let Certificate::Read {
                subject,
                identities,
                oidc_issuer,
                ..
            } = read_pem(&pem(fulcio_like(vec![extension])))
            else {
                panic!("readable")
            };
            assert_eq!(subject, "");
            assert_eq!(
                identities,
                ["https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"]
            );
            assert_eq!(oidc_issuer.as_deref(), Some(url));
        }
        let Certificate::Read { oidc_issuer, .. } = read_pem(&pem(fulcio_like(vec![]))) else {
            panic!("readable")
        };
        assert_eq!(oidc_issuer, None);
    }

    #[test]
    fn malformed_certificates_are_unreadable_not_a_panic() {
        let good = pem(fulcio_like(vec![]));
        let truncated = {
            let body: Vec<&str> = good.lines().collect();
            format!(
                "{}\n{}\n{}\n",
                body[0],
                &body[1][..20],
                body[body.len() - 1]
            )
        };
        for (text, reason) in [
            ("", "not PEM"),
            ("hello", "not PEM"),
            (
                "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n",
                "not an X.509 certificate",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "not a certificate",
            ),
            (truncated.as_str(), "not an X.509 certificate"),
        ] {
            assert_eq!(
                read_pem(text),
                Certificate::Unreadable {
                    unreadable: reason.into()
                },
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        /// A certificate damaged anywhere (a byte changed, the rest cut off) reads as
        /// something or as unreadable, never a panic.
        #[test]
        fn a_damaged_certificate_never_panics(at in 0usize..2048, byte: u8, cut in 0usize..2048) {
            use base64::Engine;
            let good = pem(fulcio_like(vec![CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
                b"\x0c\x03abc".to_vec(),
            )]));
            let Ok((parsed, _)) = Pem::read(std::io::Cursor::new(good.as_bytes())) else {
                panic!("the certificate made is PEM")
            };
            let mut der = parsed.contents;
            let len = der.len();
            der[at % len] = byte;
            der.truncate(len - cut % len);
            let body = base64::engine::general_purpose::STANDARD.encode(&der);
            let _ = read_pem(&format!(
                "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
            ));
        }
    }

    #[test]
    fn der_strings_are_read_only_when_whole() {
        assert_eq!(der_string(b"\x0c\x03abc").as_deref(), Some("abc"));
        assert_eq!(der_string(b"\x16\x03abc").as_deref(), Some("abc"));
        assert_eq!(der_string(b"\x0c\x04abc"), None);
        assert_eq!(der_string(b"\x04\x03abc"), None);
        assert_eq!(der_string(b"\x0c"), None);
        assert_eq!(der_string(b""), None);
        let long = "x".repeat(300);
        let mut der = vec![0x0c, 0x82, 0x01, 0x2c];
        der.extend_from_slice(long.as_bytes());
        assert_eq!(der_string(&der), Some(long));
    }
}
