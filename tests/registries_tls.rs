//! TLS as operators set it up: certificates made by the `openssl` command line, served by the
//! real registry (Distribution 2.8), and judged by curl on the same files as independent
//! truth. Covers a CA and its leaf, the deployment docs' self-signed `CA:TRUE` certificate,
//! an expired certificate, a certificate for another name, a chain with an intermediate,
//! mutual TLS (`http.tls.clientcas`) and Docker's/Podman's `certs.d` directories.

mod support;

use std::path::{Path, PathBuf};

use regatta::registry::{Client, ClientOptions, RegistryAddr, RegistryError};
use support::block_on;
use support::cli::Sandbox;
use support::registry::{RegistryOptions, TestRegistry};
use support::tls::{CertFiles, LOOPBACK_SAN, Pki, ServerTls, curl_status};

fn serve(tls: ServerTls) -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        server_tls: Some(tls),
        ..RegistryOptions::default()
    })
}

/// Options trusting `ca_file` and nothing from any certs.d.
fn trusting(registry: &TestRegistry, ca_file: Option<&Path>) -> ClientOptions {
    ClientOptions {
        ca_file: ca_file.map(Path::to_path_buf),
        ..registry.client_options()
    }
}

fn ping(registry: &TestRegistry, options: ClientOptions) -> Result<(), RegistryError> {
    let client = registry.client_with(options);
    block_on(async move { client.ping().await })
}

fn ping_at(url: &str, options: ClientOptions) -> Result<(), RegistryError> {
    let client = Client::new(RegistryAddr::parse(url).expect("url"), options).expect("client");
    block_on(async move { client.ping().await })
}

#[test]
fn a_leaf_signed_by_a_ca_is_trusted_through_the_ca() {
    let pki = Pki::new();
    let ca = pki.root_ca("ca");
    let leaf = pki.server_leaf("server", &ca, LOOPBACK_SAN);
    let registry = serve(ServerTls::new(&leaf));

    assert_eq!(curl_status(&registry.url(), &ca.cert, None), Ok(200));
    ping(&registry, trusting(&registry, Some(&ca.cert))).expect("trusted through the CA");

    // Without the CA, the issuer is unknown, and the sentence says what to set.
    let err = ping(&registry, trusting(&registry, None)).unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not trusted") && text.contains("ca_file"),
        "{text}"
    );
}

#[test]
fn the_deployment_docs_self_signed_certificate_is_trusted_when_named() {
    let pki = Pki::new();
    let domain = pki.self_signed_like_docs("domain");
    // The recipe's certificate really is a CA certificate (the case webpki refuses).
    let text = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-ext", "basicConstraints", "-in"])
        .arg(&domain.cert)
        .output()
        .expect("openssl x509");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("CA:TRUE"),
        "{text:?}"
    );
    let registry = serve(ServerTls::new(&domain));

    assert_eq!(curl_status(&registry.url(), &domain.cert, None), Ok(200));
    ping(&registry, trusting(&registry, Some(&domain.cert))).expect("trusted when named");
    // By its other name too: the DNS name is checked, and matches.
    let by_name = format!("https://localhost:{}", registry.port());
    assert_eq!(curl_status(&by_name, &domain.cert, None), Ok(200));
    ping_at(&by_name, trusting(&registry, Some(&domain.cert))).expect("localhost");

    // Another certificate of the same kind is no licence for this one.
    let other = pki.self_signed_like_docs("other");
    assert!(curl_status(&registry.url(), &other.cert, None).is_err());
    let err = ping(&registry, trusting(&registry, Some(&other.cert))).unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(
            "presents a CA certificate as its own; name that exact certificate in ca_file"
        ),
        "{text}"
    );

    // The CLI reads the same file from --ca-file, and lists the (empty) catalog.
    let sandbox = Sandbox::new();
    let ca = domain.cert.to_string_lossy().into_owned();
    sandbox
        .run(&["ls", &registry.url(), "--ca-file", &ca, "--json"])
        .ok();
}

#[test]
fn a_named_self_signed_certificate_for_another_name_is_refused() {
    let pki = Pki::new();
    // The recipe's kind of certificate, named by the user, but made for another host: the
    // leniency for named CA:TRUE certificates must still check the name.
    let domain = pki.self_signed_for("domain", "DNS:elsewhere.example");
    let registry = serve(ServerTls::new(&domain));

    let curl = curl_status(&registry.url(), &domain.cert, None).unwrap_err();
    assert!(curl.contains("127.0.0.1"), "curl: {curl}");
    let err = ping(&registry, trusting(&registry, Some(&domain.cert))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("is for elsewhere.example and not for 127.0.0.1"),
        "{text}"
    );
}

#[test]
fn an_expired_certificate_is_one_clear_sentence() {
    let pki = Pki::new();
    // Self-signed and CA:TRUE like the docs recipe, so the leniency for named certificates
    // is what must still refuse it: webpki checks dates before basic constraints.
    let old = pki.expired_self_signed("old");
    let registry = serve(ServerTls::new(&old));

    let curl = curl_status(&registry.url(), &old.cert, None).unwrap_err();
    assert!(curl.contains("expired"), "curl: {curl}");
    let err = ping(&registry, trusting(&registry, Some(&old.cert))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("certificate expired on 2020-12-31 00:00:00 UTC"),
        "{text}"
    );

    let sandbox = Sandbox::new();
    let ca = old.cert.to_string_lossy().into_owned();
    sandbox
        .run(&["ls", &registry.url(), "--ca-file", &ca])
        .fails_with_one_line(&["expired on 2020-12-31", "renewed certificate"]);
}

#[test]
fn a_certificate_for_another_host_is_one_clear_sentence() {
    let pki = Pki::new();
    let ca = pki.root_ca("ca");
    let leaf = pki.server_leaf("server", &ca, "DNS:registry.example,DNS:other.example");
    let registry = serve(ServerTls::new(&leaf));

    let curl = curl_status(&registry.url(), &ca.cert, None).unwrap_err();
    assert!(curl.contains("127.0.0.1"), "curl: {curl}");
    let err = ping(&registry, trusting(&registry, Some(&ca.cert))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("is for registry.example, other.example and not for 127.0.0.1"),
        "{text}"
    );
}

#[test]
fn a_chain_with_an_intermediate_is_trusted_through_the_root() {
    let pki = Pki::new();
    let root = pki.root_ca("root");
    let intermediate = pki.intermediate_ca("intermediate", &root);
    let leaf = pki.server_leaf("server", &intermediate, LOOPBACK_SAN);
    let chain = pki.bundle("chain.crt", &[&leaf.cert, &intermediate.cert]);
    let registry = serve(ServerTls {
        certificate: chain,
        ..ServerTls::new(&leaf)
    });

    assert_eq!(curl_status(&registry.url(), &root.cert, None), Ok(200));
    ping(&registry, trusting(&registry, Some(&root.cert))).expect("trusted through the root");
}

/// A registry requiring client certificates from `client_ca`, with `probe` for readiness.
struct Mutual {
    pki: Pki,
    ca: CertFiles,
    client: CertFiles,
    registry: TestRegistry,
}

fn mutual_tls_registry() -> Mutual {
    let pki = Pki::new();
    let ca = pki.root_ca("ca");
    let server = pki.server_leaf("server", &ca, LOOPBACK_SAN);
    let client_ca = pki.root_ca("client-ca");
    let client = pki.client_leaf("client", &client_ca);
    let registry = serve(ServerTls::new(&server).requiring_clients(&client_ca, &client));
    Mutual {
        pki,
        ca,
        client,
        registry,
    }
}

#[test]
fn mutual_tls_with_the_client_certificate_from_the_config() {
    let m = mutual_tls_registry();
    let url = m.registry.url();
    assert_eq!(curl_status(&url, &m.ca.cert, Some(&m.client)), Ok(200));
    assert!(curl_status(&url, &m.ca.cert, None).is_err());

    let with_cert = ClientOptions {
        client_cert: Some(m.client.cert.clone()),
        client_key: Some(m.client.key.clone()),
        ..trusting(&m.registry, Some(&m.ca.cert))
    };
    ping(&m.registry, with_cert).expect("the client certificate is accepted");

    // Without one the registry ends the handshake; the sentence names the way out.
    let err = ping(&m.registry, trusting(&m.registry, Some(&m.ca.cert))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("client_cert") && text.contains("certs.d"),
        "{text}"
    );

    // The CLI, from config.toml.
    let sandbox = Sandbox::new();
    let config = sandbox.write_default_config(&format!(
        "[registries.mtls]\nurl = \"{url}\"\nca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
        m.ca.cert.display(),
        m.client.cert.display(),
        m.client.key.display()
    ));
    assert!(config.exists());
    sandbox.run(&["ls", "mtls", "--json"]).ok();
    // A certificate the registry's clientcas did not issue is refused.
    let stranger_ca = m.pki.root_ca("stranger-ca");
    let stranger = m.pki.client_leaf("stranger", &stranger_ca);
    let refused = ClientOptions {
        client_cert: Some(stranger.cert.clone()),
        client_key: Some(stranger.key.clone()),
        ..trusting(&m.registry, Some(&m.ca.cert))
    };
    assert!(curl_status(&url, &m.ca.cert, Some(&stranger)).is_err());
    assert!(ping(&m.registry, refused).is_err());
}

/// `<root>/127.0.0.1:PORT/{ca.crt, client.cert, client.key}`, as Docker documents it.
fn certs_d(root: &Path, registry: &TestRegistry, ca: &Path, client: &CertFiles) -> PathBuf {
    let dir = root.join(registry.addr());
    std::fs::create_dir_all(&dir).expect("mkdir certs.d/host:port");
    std::fs::copy(ca, dir.join("ca.crt")).expect("ca.crt");
    std::fs::copy(&client.cert, dir.join("client.cert")).expect("client.cert");
    std::fs::copy(&client.key, dir.join("client.key")).expect("client.key");
    dir
}

#[test]
fn docker_certs_d_supplies_the_ca_and_the_client_certificate() {
    let m = mutual_tls_registry();
    let roots = tempfile::tempdir().expect("tempdir");
    // The first root (say ~/.config/containers/certs.d) has nothing for this host; the
    // second (say /etc/docker/certs.d) has.
    let first = roots.path().join("containers-certs.d");
    let second = roots.path().join("docker-certs.d");
    std::fs::create_dir_all(&first).expect("mkdir");
    certs_d(&second, &m.registry, &m.ca.cert, &m.client);

    let options = ClientOptions {
        certs_d_roots: vec![first.clone(), second.clone()],
        ..trusting(&m.registry, None)
    };
    ping(&m.registry, options).expect("ca.crt and client.cert/client.key from certs.d");

    // The CLI, through REGATTA_CERTS_D (the sandbox points it at its own directory).
    let sandbox = Sandbox::new();
    certs_d(
        &sandbox.root().join("certs.d"),
        &m.registry,
        &m.ca.cert,
        &m.client,
    );
    sandbox.run(&["ls", &m.registry.url(), "--json"]).ok();
    // Without the directory: the handshake fails with one sentence.
    Sandbox::new()
        .run(&["ls", &m.registry.url()])
        .fails_with_one_line(&["TLS failure", "not trusted"]);
}

#[test]
fn podman_certs_d_with_the_docs_certificate_as_ca_crt() {
    // Podman's /etc/containers/certs.d/HOST/ca.crt holding the docs recipe's certificate:
    // the server's own CA:TRUE certificate, trusted because the user put it there.
    let pki = Pki::new();
    let domain = pki.self_signed_like_docs("domain");
    let registry = serve(ServerTls::new(&domain));
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join(registry.addr());
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(&domain.cert, dir.join("ca.crt")).expect("ca.crt");
    let options = ClientOptions {
        certs_d_roots: vec![root.path().to_path_buf()],
        ..trusting(&registry, None)
    };
    ping(&registry, options).expect("trusted through certs.d/HOST/ca.crt");
}
