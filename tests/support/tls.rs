//! Certificates made the way operators make them: with the `openssl` command line (not a Rust
//! library), and a registry served over HTTPS with them ([`ServerTls`] in
//! [`super::registry::RegistryOptions::server_tls`]). `curl` gives an independent verdict on
//! the same files.
//!
//! ```ignore
//! let pki = Pki::new();
//! let cert = pki.self_signed_like_docs("domain"); // CA:TRUE, SAN 127.0.0.1 + localhost
//! let registry = TestRegistry::start_with(RegistryOptions {
//!     server_tls: Some(ServerTls::new(&cert)),
//!     ..RegistryOptions::default()
//! });
//! assert_eq!(curl_status(&registry.url(), &cert.cert, None), Ok(200));
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// `subjectAltName` of a certificate valid for the test registry's addresses.
pub const LOOPBACK_SAN: &str = "IP:127.0.0.1,DNS:localhost";

/// A certificate and its private key (PEM files).
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How a registry serves TLS: `http.tls.certificate`, `key` and `clientcas`.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The certificate file the registry presents (leaf first, then intermediates).
    pub certificate: PathBuf,
    pub key: PathBuf,
    /// CA certificates client certificates must chain to; set, the registry requires one.
    pub client_cas: Option<PathBuf>,
    /// A client certificate the readiness probe presents to an mTLS registry.
    pub probe_client: Option<CertFiles>,
}

impl ServerTls {
    pub fn new(served: &CertFiles) -> Self {
        Self {
            certificate: served.cert.clone(),
            key: served.key.clone(),
            client_cas: None,
            probe_client: None,
        }
    }

    /// Requires client certificates issued by `client_ca`; `probe` is one of them.
    pub fn requiring_clients(mut self, client_ca: &CertFiles, probe: &CertFiles) -> Self {
        self.client_cas = Some(client_ca.cert.clone());
        self.probe_client = Some(probe.clone());
        self
    }

    /// The lines under `http:` in the registry's config.
    pub fn yaml(&self) -> String {
        let mut yaml = format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            self.certificate.display(),
            self.key.display()
        );
        if let Some(cas) = &self.client_cas {
            yaml.push_str(&format!("    clientcas:\n      - {}\n", cas.display()));
        }
        yaml
    }

    pub fn probe_identity(&self) -> Option<reqwest::Identity> {
        let client = self.probe_client.as_ref()?;
        let mut pem = std::fs::read(&client.cert).expect("read the probe's certificate");
        pem.extend(std::fs::read(&client.key).expect("read the probe's key"));
        Some(reqwest::Identity::from_pem(&pem).expect("the probe's identity parses"))
    }
}

/// A directory of certificates made by `openssl`.
pub struct Pki {
    dir: TempDir,
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

impl Pki {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("regatta-pki-")
                .tempdir()
                .expect("create the pki dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The registry's deployment-docs recipe, as curl users run it:
    /// `openssl req -x509 -newkey rsa:4096 -nodes -keyout domain.key -out domain.crt -days 365
    /// -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"`. OpenSSL
    /// marks such a certificate `CA:TRUE`, and it is also the server's own.
    pub fn self_signed_like_docs(&self, name: &str) -> CertFiles {
        self.self_signed_for(name, LOOPBACK_SAN)
    }

    /// The docs recipe with another `subjectAltName`.
    pub fn self_signed_for(&self, name: &str, san: &str) -> CertFiles {
        let files = self.files(name);
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:4096",
                "-nodes",
                "-keyout",
                &files.key.to_string_lossy(),
                "-out",
                &files.cert.to_string_lossy(),
                "-days",
                "365",
                "-subj",
                "/CN=localhost",
                "-addext",
                &format!("subjectAltName={san}"),
            ],
        );
        files
    }

    /// A root CA (self-signed, `CA:TRUE`, may sign certificates).
    pub fn root_ca(&self, name: &str) -> CertFiles {
        let files = self.files(name);
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &files.key.to_string_lossy(),
                "-out",
                &files.cert.to_string_lossy(),
                "-days",
                "365",
                "-subj",
                &format!("/CN=regatta test {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        files
    }

    /// A server certificate for `san`, signed by `issuer`, valid for a year from now.
    pub fn server_leaf(&self, name: &str, issuer: &CertFiles, san: &str) -> CertFiles {
        self.sign(
            name,
            Some(issuer),
            &format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName={san}\n"
            ),
            Validity::Year,
        )
    }

    /// A client certificate (extendedKeyUsage clientAuth) signed by `issuer`.
    pub fn client_leaf(&self, name: &str, issuer: &CertFiles) -> CertFiles {
        self.sign(
            name,
            Some(issuer),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
            Validity::Year,
        )
    }

    /// An intermediate CA signed by `issuer`.
    pub fn intermediate_ca(&self, name: &str, issuer: &CertFiles) -> CertFiles {
        self.sign(
            name,
            Some(issuer),
            "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
            Validity::Year,
        )
    }

    /// The docs recipe's kind of certificate (self-signed, `CA:TRUE`, SAN loopback), valid
    /// only in 2020: expired.
    pub fn expired_self_signed(&self, name: &str) -> CertFiles {
        self.sign(
            name,
            None,
            &format!("basicConstraints=critical,CA:TRUE\nsubjectAltName={LOOPBACK_SAN}\n"),
            Validity::In2020,
        )
    }

    /// A file holding `parts` one after the other (a leaf and its intermediates).
    pub fn bundle(&self, name: &str, parts: &[&Path]) -> PathBuf {
        let mut pem = Vec::new();
        for part in parts {
            pem.extend(std::fs::read(part).expect("read a PEM part"));
        }
        let path = self.path(name);
        std::fs::write(&path, pem).expect("write the bundle");
        path
    }

    fn files(&self, name: &str) -> CertFiles {
        CertFiles {
            cert: self.path(&format!("{name}.crt")),
            key: self.path(&format!("{name}.key")),
        }
    }

    /// A new key and request for `name`, signed by `issuer` (or by itself) with `openssl ca`,
    /// which is the command line's way to set both ends of the validity period.
    fn sign(
        &self,
        name: &str,
        issuer: Option<&CertFiles>,
        extensions: &str,
        validity: Validity,
    ) -> CertFiles {
        let files = self.files(name);
        let dir = self.dir.path();
        let csr = self.path(&format!("{name}.csr"));
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &files.key.to_string_lossy(),
                "-out",
                &csr.to_string_lossy(),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        // `openssl ca` keeps a database; one per certificate keeps them independent.
        let db = self.path(&format!("{name}.db"));
        std::fs::create_dir_all(&db).expect("create the ca db");
        std::fs::write(db.join("index.txt"), "").expect("index.txt");
        std::fs::write(
            db.join("serial"),
            format!("{:02X}\n", fastrand::u8(1..=250)),
        )
        .expect("serial");
        let config = self.path(&format!("{name}.cnf"));
        std::fs::write(
            &config,
            format!(
                "[ca]\ndefault_ca = d\n[d]\ndatabase = {db}/index.txt\nnew_certs_dir = {db}\nserial = {db}/serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = none\n[p]\ncommonName = supplied\n[ext]\n{extensions}",
                db = db.display()
            ),
        )
        .expect("write the ca config");
        let mut args: Vec<String> = [
            "ca",
            "-batch",
            "-notext",
            "-config",
            &config.to_string_lossy(),
            "-extensions",
            "ext",
            "-in",
            &csr.to_string_lossy(),
            "-out",
            &files.cert.to_string_lossy(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        match issuer {
            Some(issuer) => args.extend([
                "-cert".to_string(),
                issuer.cert.display().to_string(),
                "-keyfile".to_string(),
                issuer.key.display().to_string(),
            ]),
            None => args.extend([
                "-selfsign".to_string(),
                "-keyfile".to_string(),
                files.key.display().to_string(),
            ]),
        }
        match validity {
            Validity::Year => args.extend(["-days".to_string(), "365".to_string()]),
            Validity::In2020 => args.extend([
                "-startdate".to_string(),
                "20200101000000Z".to_string(),
                "-enddate".to_string(),
                "20201231000000Z".to_string(),
            ]),
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(dir, &args);
        files
    }
}

#[derive(Clone, Copy)]
enum Validity {
    Year,
    In2020,
}

/// Runs `openssl ARGS` in `dir`; a failure fails the test with openssl's own words.
pub fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (apt-get install -y openssl)");
    assert!(
        output.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// curl's verdict on `GET {base}/v2/` trusting only `ca_file` (and presenting `client`):
/// `Ok(status)` after a completed handshake, `Err(curl's message)` when it refused.
pub fn curl_status(base: &str, ca_file: &Path, client: Option<&CertFiles>) -> Result<u16, String> {
    let mut command = Command::new("curl");
    command
        .args([
            "-sS",
            "--noproxy",
            "*",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("--cacert")
        .arg(ca_file);
    if let Some(client) = client {
        command
            .arg("--cert")
            .arg(&client.cert)
            .arg("--key")
            .arg(&client.key);
    }
    let output = command
        .arg(format!("{base}/v2/"))
        .output()
        .expect("run curl (apt-get install -y curl)");
    if output.status.success() {
        let code = String::from_utf8_lossy(&output.stdout);
        Ok(code.trim().parse().expect("curl printed a status"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}
