//! A token server for a real Distribution in token mode (`auth.token`), as Docker's token
//! spec describes it: `GET /token?service=S&scope=repository:R:pull,push` with basic auth,
//! answered with an ES256 JWT whose `access` claim holds what that user may do, intersected
//! with what was asked. The registry checks the signature against the certificate in
//! `rootcertbundle`, finding the key by the JWT header's `kid` (the libtrust key id of the
//! certificate's public key), and enforces the `access` claim itself.
//!
//! Each user has the actions it may have on every repository (`pull`, `push`, `delete`, or
//! `*`); the catalog (`registry:catalog:*`) is granted to every known user. Tokens issued are
//! kept, so tests can check that none was ever printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rcgen::PublicKeyData as _;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const SERVICE: &str = "regatta-test-registry";
pub const ISSUER: &str = "regatta-test-token-server";

/// An account of the token server.
#[derive(Debug, Clone)]
pub struct TokenUser {
    pub name: String,
    pub password: String,
    /// What this user may do on any repository.
    pub actions: Vec<String>,
}

impl TokenUser {
    pub fn new(name: &str, password: &str, actions: &[&str]) -> Self {
        Self {
            name: name.to_string(),
            password: password.to_string(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }
}

/// What a registry's `auth.token` section needs.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub realm: String,
    pub service: String,
    pub issuer: String,
    pub rootcertbundle: PathBuf,
}

pub struct TokenServer {
    server: MockServer,
    cert_path: PathBuf,
    issued: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    /// Starts the server; the signing certificate is written into `dir`.
    pub async fn start(dir: &Path, users: Vec<TokenUser>) -> Self {
        let key = rcgen::KeyPair::generate().expect("generate a P-256 key");
        let params = rcgen::CertificateParams::new(vec!["token-server".to_string()])
            .expect("certificate parameters");
        let cert = params
            .self_signed(&key)
            .expect("self-sign the token certificate");
        let cert_path = dir.join("token-signer.pem");
        std::fs::write(&cert_path, cert.pem()).expect("write the token certificate");
        let kid = libtrust_key_id(&key.subject_public_key_info());
        let signer = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &ring::rand::SystemRandom::new(),
        )
        .expect("load the key into ring");
        let issued = Arc::new(Mutex::new(Vec::new()));
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/token"))
            .respond_with(Issuer {
                users: users.into_iter().map(|u| (u.name.clone(), u)).collect(),
                signer: Arc::new(signer),
                kid,
                issued: issued.clone(),
            })
            .mount(&server)
            .await;
        Self {
            server,
            cert_path,
            issued,
        }
    }

    /// The registry's `auth.token` settings pointing here.
    pub fn auth(&self) -> TokenAuth {
        TokenAuth {
            realm: format!("{}/token", self.server.uri()),
            service: SERVICE.to_string(),
            issuer: ISSUER.to_string(),
            rootcertbundle: self.cert_path.clone(),
        }
    }

    /// Every token handed out so far.
    pub fn issued(&self) -> Vec<String> {
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Token requests received.
    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

struct Issuer {
    users: BTreeMap<String, TokenUser>,
    signer: Arc<EcdsaKeyPair>,
    kid: String,
    issued: Arc<Mutex<Vec<String>>>,
}

impl Respond for Issuer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(user) = self.authenticated(request) else {
            return ResponseTemplate::new(401).set_body_string("unknown user or wrong password");
        };
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        if !query.iter().any(|(k, v)| k == "service" && v == SERVICE) {
            return ResponseTemplate::new(400).set_body_string("wrong or missing service");
        }
        let access: Vec<serde_json::Value> = query
            .iter()
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
            .filter_map(|scope| grant(user, &scope))
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": user.name,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("{}-{}", user.name, fastrand::u64(..)),
            "access": access,
        });
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "kid": self.kid});
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .signer
            .sign(&ring::rand::SystemRandom::new(), signing_input.as_bytes())
            .expect("sign the token");
        let token = format!("{signing_input}.{}", b64(signature.as_ref()));
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(token.clone());
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": token,
            "access_token": token,
            "expires_in": 300,
        }))
    }
}

impl Issuer {
    fn authenticated(&self, request: &Request) -> Option<&TokenUser> {
        let value = request.headers.get("authorization")?.to_str().ok()?;
        let encoded = value.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (name, password) = text.split_once(':')?;
        self.users.get(name).filter(|u| u.password == password)
    }
}

/// The `access` entry for one requested scope: what was asked, cut to what the user may do.
fn grant(user: &TokenUser, scope: &str) -> Option<serde_json::Value> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, asked) = rest.rsplit_once(':')?;
    let actions: Vec<&str> = if kind == "registry" && name == "catalog" {
        asked.split(',').collect()
    } else if user.actions.iter().any(|a| a == "*") {
        vec!["*"]
    } else {
        asked
            .split(',')
            .filter(|a| user.actions.iter().any(|mine| mine == a))
            .collect()
    };
    Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
}

/// libtrust's key id: the first 240 bits of the SHA-256 of the DER SubjectPublicKeyInfo, in
/// base32 (RFC 4648, no padding), in groups of four characters joined by `:`.
pub fn libtrust_key_id(spki_der: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(spki_der);
    let encoded = base32(&hash[..30]);
    encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}
