//! A local S3-compatible server for the storage tests: `moto` (PyPI `moto[server]`) run as
//! `PYTHON -m moto.server`, where PYTHON is `$REGATTA_MOTO_PYTHON` (the virtualenv
//! `scripts/test` makes) or `python3` when that imports moto. Buckets are filled with boto3
//! from the same Python, so what is in them was put there by a tool regatta did not write.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    port: u16,
    python: String,
    /// Every request line moto logged, in order.
    log: Arc<Mutex<Vec<String>>>,
}

fn python() -> String {
    if let Ok(p) = std::env::var("REGATTA_MOTO_PYTHON") {
        return p;
    }
    let ok = Command::new("python3")
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the S3 tests need moto: run scripts/test (it makes a virtualenv with moto[server]) or set REGATTA_MOTO_PYTHON"
    );
    "python3".to_string()
}

impl Moto {
    pub fn start() -> Self {
        let python = python();
        let port = super::registry::free_port();
        let mut child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-p",
                &port.to_string(),
                "-H",
                "127.0.0.1",
            ])
            .env_remove("AWS_CA_BUNDLE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("moto's stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            python,
            log,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment an S3 client needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
        ]
    }

    /// Creates `bucket` and uploads every file under `dir` to `prefix/<relative path>`.
    pub fn upload_tree(&self, bucket: &str, prefix: &str, dir: &Path) {
        let script = r#"
import os, sys, boto3
endpoint, bucket, prefix, root = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
s3.create_bucket(Bucket=bucket)
n = 0
for base, _, files in os.walk(root):
    for name in files:
        path = os.path.join(base, name)
        key = prefix + "/" + os.path.relpath(path, root)
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f.read())
        n += 1
print(n)
"#;
        let out = Command::new(&self.python)
            .args(["-c", script, &self.endpoint(), bucket, prefix])
            .arg(dir)
            .env_remove("AWS_CA_BUNDLE")
            .output()
            .expect("run the boto3 uploader");
        assert!(
            out.status.success(),
            "upload failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Creates an empty `bucket`.
    pub fn create_bucket(&self, bucket: &str) {
        let empty = tempfile::tempdir().expect("temp dir");
        self.upload_tree(bucket, "none", empty.path());
    }

    /// Request lines logged so far (`"GET /bucket?list-type=2... HTTP/1.1" 200 -`).
    pub fn requests(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| l.contains("\" 2") || l.contains("\" 3") || l.contains("\" 4"))
            .cloned()
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
