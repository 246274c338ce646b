//! A real registry for tests: Debian's `docker-registry` (CNCF Distribution 2.8), started by
//! the test itself on a free loopback port with its own temporary storage.
//!
//! The process is started through a small shell wrapper that holds a pipe from the test
//! process on its stdin. When the test process ends, however it ends, the pipe closes and the
//! wrapper kills the registry and removes its directory, so even a registry kept in a static
//! (never dropped) does not outlive the tests.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use regatta::registry::{Client, ClientOptions, CredentialSource, RegistryAddr, Secret};
use tempfile::TempDir;

use super::tls::ServerTls;

const MISSING: &str =
    "docker-registry not found: install it with `apt-get install -y docker-registry`";

/// A response header naming the registry's directory, so the readiness probe knows it talks
/// to the registry it started.
const IDENTITY_HEADER: &str = "X-Regatta-Test-Registry";

/// How long a registry may take to answer `GET /v2/` after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The wrapper: `$1` binary, `$2` config, `$3` log file, `$4` directory to remove when the test
/// process goes away. A line `stop` on stdin is an orderly stop that keeps the storage.
const WRAPPER: &str = r#""$1" serve "$2" >>"$3" 2>&1 </dev/null &
c=$!
echo "$c"
read -r cmd
kill "$c" 2>/dev/null
wait "$c"
[ "$cmd" = stop ] || rm -rf "$4"
"#;

/// Knobs of the registry's configuration.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `storage.delete.enabled`; off makes manifest deletes answer 405.
    pub delete_enabled: bool,
    /// One access-log line per request in [`TestRegistry::log`], for tests that count requests.
    pub access_log: bool,
    /// `catalog.maxentries` (Distribution's default is 1000): a larger `n` is a 400.
    pub catalog_max_entries: Option<usize>,
    /// Serve HTTPS with these files (no auth); see [`super::tls`].
    pub server_tls: Option<ServerTls>,
    /// `auth.token`: token mode with this token server ([`super::token_server`]).
    pub token: Option<super::token_server::TokenAuth>,
    /// `storage.s3` instead of the filesystem: blobs kept in this bucket, and blob GETs
    /// redirected to it (Distribution's default for S3).
    pub s3: Option<S3Storage>,
}

/// An S3 bucket as the registry's storage ([`super::moto`]).
#[derive(Debug, Clone)]
pub struct S3Storage {
    /// `http://127.0.0.1:PORT`: where the registry sends its S3 requests, and where its
    /// redirects point.
    pub endpoint: String,
    pub bucket: String,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            delete_enabled: true,
            access_log: false,
            catalog_max_entries: None,
            server_tls: None,
            token: None,
            s3: None,
        }
    }
}

/// The TLS and htpasswd set-up of [`TestRegistry::start_tls_basic_auth`].
#[derive(Debug)]
struct TlsAuth {
    username: String,
    password: String,
    ca_pem: PathBuf,
}

struct Process {
    wrapper: Child,
    stdin: ChildStdin,
    /// The registry's own pid (a child of the wrapper).
    pid: u32,
}

/// One request as the access log recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogEntry {
    pub method: String,
    /// Path and query, as requested (`/v2/_catalog?n=7`).
    pub target: String,
    pub status: u16,
}

/// What a logged request was, for the tests that count requests by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    CatalogPage,
    TagList,
    ManifestHead,
    ManifestGet,
    BlobGet,
    Other,
}

impl AccessLogEntry {
    pub fn kind(&self) -> Logged {
        let path = self.target.split('?').next().unwrap_or("");
        match (self.method.as_str(), path) {
            ("GET", "/v2/_catalog") => Logged::CatalogPage,
            ("GET", p) if p.ends_with("/tags/list") => Logged::TagList,
            ("HEAD", p) if p.contains("/manifests/") => Logged::ManifestHead,
            ("GET", p) if p.contains("/manifests/") => Logged::ManifestGet,
            ("GET", p) if p.contains("/blobs/") => Logged::BlobGet,
            _ => Logged::Other,
        }
    }
}

pub struct TestRegistry {
    dir: TempDir,
    port: u16,
    tls: Option<TlsAuth>,
    server_tls: Option<ServerTls>,
    process: Mutex<Option<Process>>,
}

impl std::fmt::Debug for TestRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRegistry")
            .field("url", &self.url())
            .field("dir", &self.dir.path())
            .finish()
    }
}

/// The registry binary: on `PATH`, else Debian's location. Never skips: a missing registry
/// fails the test with the command that installs it.
pub fn registry_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("docker-registry"))
            .find(|candidate| candidate.is_file())
    });
    let fallback = PathBuf::from("/usr/bin/docker-registry");
    match on_path {
        Some(path) => path,
        None if fallback.is_file() => fallback,
        None => panic!("{MISSING}"),
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

impl TestRegistry {
    /// A plain-HTTP registry with deletes enabled and no access log.
    pub fn start() -> Self {
        Self::start_with(RegistryOptions::default())
    }

    pub fn start_with(options: RegistryOptions) -> Self {
        Self::launch(options, None)
    }

    /// An HTTPS registry with a self-signed certificate (SAN `127.0.0.1` and `localhost`) and
    /// htpasswd basic auth for one user (bcrypt entry). Its [`client`](Self::client) trusts the
    /// certificate through `ca_file` and sends the user's credentials.
    pub fn start_tls_basic_auth(username: &str, password: &str) -> Self {
        Self::launch(
            RegistryOptions::default(),
            Some((username.to_string(), password.to_string())),
        )
    }

    fn launch(options: RegistryOptions, auth: Option<(String, String)>) -> Self {
        let binary = registry_binary();
        let dir = tempfile::Builder::new()
            .prefix("regatta-registry-")
            .tempdir()
            .expect("create the registry's temp dir");
        std::fs::create_dir_all(dir.path().join("data")).expect("create the storage dir");
        let tls =
            auth.map(|(username, password)| write_tls_and_htpasswd(dir.path(), username, password));
        let mut registry = Self {
            dir,
            port: free_port(),
            tls,
            server_tls: options.server_tls.clone(),
            process: Mutex::new(None),
        };
        // A port freed by `free_port` can be taken by someone else before the registry binds
        // it; then the registry exits at once and we try another port.
        let mut last_log = String::new();
        for _ in 0..5 {
            registry.write_config(&options);
            let _ = std::fs::remove_file(registry.log_path());
            match registry.spawn(&binary) {
                Ok(()) => return registry,
                Err(log) if log.contains("address already in use") => {
                    last_log = log;
                    registry.port = free_port();
                }
                Err(log) => panic!("docker-registry did not start:\n{log}"),
            }
        }
        panic!("docker-registry did not start, five ports were taken:\n{last_log}")
    }

    /// `127.0.0.1:PORT`, as it appears in references and Docker's config.json.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        let https = self.tls.is_some() || self.server_tls.is_some();
        let scheme = if https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr())
    }

    pub fn registry_addr(&self) -> RegistryAddr {
        RegistryAddr::parse(&self.url()).expect("the test registry's URL parses")
    }

    /// Options that work with this registry: anonymous for a plain one (never the developer's
    /// own Docker config), the CA file and the user for a TLS one. Tests adjust them with
    /// struct update syntax.
    pub fn client_options(&self) -> ClientOptions {
        let mut options = ClientOptions {
            credentials: CredentialSource::Anonymous,
            // Local and fast: keep failures quick.
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retry_base: Duration::from_millis(20),
            // Never the machine's own /etc/docker/certs.d.
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        };
        if let Some(tls) = &self.tls {
            options.ca_file = Some(tls.ca_pem.clone());
            options.credentials = CredentialSource::Plain {
                username: tls.username.clone(),
                password: Secret::new(tls.password.clone()),
            };
        }
        options
    }

    pub fn client(&self) -> Client {
        self.client_with(self.client_options())
    }

    /// A client with exactly these options (nothing added).
    pub fn client_with(&self, options: ClientOptions) -> Client {
        Client::new(self.registry_addr(), options).expect("build a client for the test registry")
    }

    /// Pushes `builder` through this registry's own client (from sync or async code) and
    /// returns the ground truth.
    pub fn push(&self, builder: &super::fixtures::FixtureBuilder) -> super::truth::Fixture {
        builder.push_blocking(&self.client())
    }

    /// Writes `builder` straight into this (empty) registry's storage, stopping it meanwhile,
    /// and returns the ground truth: see [`FixtureBuilder::write_storage`]. For benchmarks
    /// that need thousands of images; tests use [`push`](Self::push).
    ///
    /// [`FixtureBuilder::write_storage`]: super::fixtures::FixtureBuilder::write_storage
    pub fn write_directly(
        &self,
        builder: &super::fixtures::FixtureBuilder,
    ) -> super::truth::Fixture {
        let was_running = self.stop();
        let truth = builder.write_storage(&self.storage_root());
        if was_running {
            self.start_again();
        }
        truth
    }

    /// The PEM certificate the TLS registry serves (it is its own CA).
    pub fn ca_pem_path(&self) -> &Path {
        &self
            .tls
            .as_ref()
            .expect("ca_pem_path() is only for start_tls_basic_auth registries")
            .ca_pem
    }

    /// The htpasswd user and password of a TLS registry.
    pub fn user(&self) -> Option<(&str, &str)> {
        self.tls
            .as_ref()
            .map(|t| (t.username.as_str(), t.password.as_str()))
    }

    /// The CPU time (user and system) the registry process has used so far, from
    /// `/proc/PID/stat`; `None` when it is not running or that cannot be read.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.lock().as_ref()?.pid;
        cpu_seconds_of(&format!("/proc/{pid}/stat"))
    }

    /// The registry's configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yml")
    }

    /// `storage.filesystem.rootdirectory`.
    pub fn storage_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Bytes the registry stores: the sum of the sizes of the `data` files under
    /// `docker/registry/v2/blobs/` (blobs and manifests; link files are not counted).
    pub fn blob_store_bytes(&self) -> u64 {
        fn walk(dir: &Path, total: &mut u64) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    walk(&entry.path(), total);
                } else if kind.is_file() && entry.file_name() == "data" {
                    *total += entry.metadata().map(|m| m.len()).unwrap_or(0);
                }
            }
        }
        let mut total = 0;
        walk(
            &self.storage_root().join("docker/registry/v2/blobs"),
            &mut total,
        );
        total
    }

    /// Everything the registry wrote to stdout and stderr (access log lines included when on).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The access log (needs [`RegistryOptions::access_log`]), oldest first.
    pub fn access_log(&self) -> Vec<AccessLogEntry> {
        self.log().lines().filter_map(parse_access_line).collect()
    }

    /// Requests with this method whose path and query start with `target_prefix`.
    pub fn count_requests(&self, method: &str, target_prefix: &str) -> usize {
        self.access_log()
            .iter()
            .filter(|e| e.method == method && e.target.starts_with(target_prefix))
            .count()
    }

    /// The access log from entry `from` on, with every request answered before this call in
    /// it. The registry writes a request's line around the time it answers, so a client can
    /// be done a moment before its last lines are there; this sends a marker request of its
    /// own and waits for the marker's line, which comes after theirs. The marker (a 404) is
    /// not returned. Waits on that line, not on a clock; fails after a minute without it.
    pub fn access_log_since(&self, from: usize) -> Vec<AccessLogEntry> {
        use std::io::{Read, Write};
        static MARKERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MARKERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let marker = format!(
            "/v2/regatta-log-marker-{}-{n}/tags/list",
            std::process::id()
        );
        let mut stream = std::net::TcpStream::connect(self.addr()).expect("connect for a marker");
        write!(
            stream,
            "GET {marker} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr()
        )
        .expect("send the marker request");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .expect("read the marker's answer");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = self.access_log();
            if let Some(at) = log.iter().position(|e| e.target == marker) {
                let mut log = log;
                log.truncate(at);
                return log.split_off(from.min(at));
            }
            assert!(
                Instant::now() < deadline,
                "the registry never logged the marker request {marker}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    /// Stops the registry, keeping its storage and port. Returns whether it was running.
    pub fn stop(&self) -> bool {
        let Some(process) = self.lock().take() else {
            return false;
        };
        shut_down(process);
        true
    }

    /// Starts a stopped registry again on the same port with the same storage.
    pub fn start_again(&self) {
        assert!(!self.is_running(), "start_again() on a running registry");
        if let Err(log) = self.spawn(&registry_binary()) {
            panic!("docker-registry did not start again:\n{log}");
        }
    }

    /// Runs `docker-registry garbage-collect` (registry stopped, as it must be) and starts the
    /// registry again, which also empties its in-memory blob cache. Returns the tool's output.
    pub fn garbage_collect(&self) -> String {
        self.garbage_collect_with(&[])
    }

    /// [`garbage_collect`](Self::garbage_collect) with extra flags (`--dry-run`,
    /// `--delete-untagged`).
    pub fn garbage_collect_with(&self, flags: &[&str]) -> String {
        let was_running = self.stop();
        let output = Command::new(registry_binary())
            .arg("garbage-collect")
            .arg(self.config_path())
            .args(flags)
            .stdin(Stdio::null())
            .output()
            .expect("run docker-registry garbage-collect");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "garbage-collect failed ({}):\n{text}",
            output.status
        );
        if was_running {
            self.start_again();
        }
        text
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Process>> {
        self.process.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_config(&self, options: &RegistryOptions) {
        let mut yaml = format!(
            "version: 0.1
log:
  level: warn
  accesslog:
    disabled: {access_log_off}
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: {delete}
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {addr}
  secret: regatta-test-secret
  headers:
    {IDENTITY_HEADER}: [{identity}]
",
            access_log_off = !options.access_log,
            root = self.storage_root().display(),
            delete = options.delete_enabled,
            addr = self.addr(),
            identity = self.identity(),
        );
        if let Some(s3) = &options.s3 {
            let filesystem = format!(
                "  filesystem:\n    rootdirectory: {}\n",
                self.storage_root().display()
            );
            let bucket = format!(
                "  s3:\n    accesskey: testing\n    secretkey: testing\n    region: us-east-1\n    regionendpoint: {}\n    bucket: {}\n    secure: false\n    v4auth: true\n",
                s3.endpoint, s3.bucket
            );
            yaml = yaml.replacen(&filesystem, &bucket, 1);
        }
        if let Some(max) = options.catalog_max_entries {
            yaml.push_str(&format!("catalog:\n  maxentries: {max}\n"));
        }
        if let Some(tls) = &options.server_tls {
            yaml = yaml.replacen("\nhttp:\n", &format!("\nhttp:\n{}", tls.yaml()), 1);
        }
        if self.tls.is_some() {
            let d = self.dir.path();
            yaml.push_str(&format!(
                "  tls:
    certificate: {cert}
    key: {key}
auth:
  htpasswd:
    realm: regatta-test
    path: {htpasswd}
",
                cert = d.join("tls/cert.pem").display(),
                key = d.join("tls/key.pem").display(),
                htpasswd = d.join("htpasswd").display(),
            ));
        }
        if let Some(token) = &options.token {
            yaml.push_str(&format!(
                "auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
",
                realm = token.realm,
                service = token.service,
                issuer = token.issuer,
                bundle = token.rootcertbundle.display(),
            ));
        }
        std::fs::write(self.config_path(), yaml).expect("write the registry config");
    }

    /// Starts the wrapper and waits until `GET /v2/` answers. On failure returns the log.
    fn spawn(&self, binary: &Path) -> Result<(), String> {
        let mut wrapper = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("sh")
            .arg(binary)
            .arg(self.config_path())
            .arg(self.log_path())
            .arg(self.dir.path())
            // The S3 driver refuses to start with a CA bundle it cannot load into its client.
            .env_remove("AWS_CA_BUNDLE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sh for docker-registry");
        let stdin = wrapper.stdin.take().expect("piped stdin");
        let stdout = wrapper.stdout.take().expect("piped stdout");
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("read the registry's pid");
        let pid: u32 = first_line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the wrapper printed {first_line:?}, not a pid"));
        let process = Process {
            wrapper,
            stdin,
            pid,
        };
        match self.wait_ready(pid) {
            Ok(()) => {
                *self.lock() = Some(process);
                Ok(())
            }
            Err(why) => {
                shut_down(process);
                Err(format!("{why}\n--- registry log ---\n{}", self.log()))
            }
        }
    }

    /// Waits until `GET /v2/` answers 200 or 401 **from this registry**: every response of
    /// ours carries an `X-Regatta-Test-Registry` header naming its directory, so a stranger
    /// that took the port in between cannot pass for it.
    fn wait_ready(&self, pid: u32) -> Result<(), String> {
        regatta::registry::install_crypto_provider();
        // Trusts any certificate: the probe asks whether the server is up, not whether the
        // client verifies it (the tests do that).
        let mut builder = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(true)
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(5));
        // A registry that requires client certificates answers nobody else.
        if let Some(identity) = self.server_tls.as_ref().and_then(ServerTls::probe_identity) {
            builder = builder.identity(identity);
        }
        let http = builder.build().expect("build the readiness probe");
        let url = format!("{}/v2/", self.url());
        let identity = self.identity();
        let deadline = Instant::now() + READY_TIMEOUT;
        super::block_on(async move {
            loop {
                let last = match http.get(&url).send().await {
                    Ok(response) => {
                        let ours = response
                            .headers()
                            .get(IDENTITY_HEADER)
                            .is_some_and(|v| v.as_bytes() == identity.as_bytes());
                        let status = response.status().as_u16();
                        if ours && (status == 200 || status == 401) {
                            return Ok(());
                        }
                        format!("{status} from {url} (our registry: {ours})")
                    }
                    Err(e) => e.to_string(),
                };
                if !process_alive(pid) {
                    return Err(format!("docker-registry exited during start-up ({last})"));
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "docker-registry did not answer GET /v2/ within {READY_TIMEOUT:?}: {last}"
                    ));
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    }

    /// The value of [`IDENTITY_HEADER`] in this registry's responses.
    fn identity(&self) -> String {
        self.dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Asks the wrapper to stop the registry (keeping the storage) and waits for both to exit.
fn shut_down(mut process: Process) {
    let _ = process.stdin.write_all(b"stop\n");
    drop(process.stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match process.wrapper.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => break,
        }
    }
    // The registry ignored SIGTERM: end it and its wrapper by their ids.
    let _ = Command::new("kill")
        .args(["-KILL", &process.pid.to_string()])
        .status();
    let _ = process.wrapper.kill();
    let _ = process.wrapper.wait();
}

/// Whether `pid` is a live process (not gone, not a zombie). Off Linux, assume it is.
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return !Path::new("/proc/self").exists();
    };
    // `pid (comm) S ...`: the state follows the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// `127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 200 2 "" "agent"` -> entry.
fn parse_access_line(line: &str) -> Option<AccessLogEntry> {
    let (_, rest) = line.split_once("] \"")?;
    let (request, rest) = rest.split_once('"')?;
    let mut parts = request.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let status = rest.trim_start().split(' ').next()?.parse().ok()?;
    Some(AccessLogEntry {
        method,
        target,
        status,
    })
}

fn write_tls_and_htpasswd(dir: &Path, username: String, password: String) -> TlsAuth {
    let tls_dir = dir.join("tls");
    std::fs::create_dir_all(&tls_dir).expect("create the tls dir");
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("generate a self-signed certificate");
    let cert_path = tls_dir.join("cert.pem");
    std::fs::write(&cert_path, cert.pem()).expect("write cert.pem");
    std::fs::write(tls_dir.join("key.pem"), signing_key.serialize_pem()).expect("write key.pem");
    // The lowest bcrypt cost: the registry checks it on every request.
    let hash = bcrypt::hash(&password, 4).expect("bcrypt the password");
    std::fs::write(dir.join("htpasswd"), format!("{username}:{hash}\n")).expect("write htpasswd");
    TlsAuth {
        username,
        password,
        ca_pem: cert_path,
    }
}

/// User plus system CPU seconds from a `/proc/PID/stat` file (fields 14 and 15, in clock
/// ticks of 1/100 s, as Linux reports them to user space).
pub fn cpu_seconds_of(stat_path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name may hold spaces and parentheses: fields count from its last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}
