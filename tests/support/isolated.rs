//! The `regatta` binary in an environment of its own: `HOME`, every `XDG_*_HOME` and
//! `DOCKER_CONFIG` point into a temp dir, set on the child's `Command` (never with
//! `set_var`, which would race with the other tests of the process). The developer's config,
//! credentials, cache, backups and logs are never read or written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub struct Isolated {
    dir: TempDir,
}

impl Default for Isolated {
    fn default() -> Self {
        Self::new()
    }
}

impl Isolated {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("regatta-home-")
            .tempdir()
            .expect("create a temp home");
        for sub in [
            "home", "config", "cache", "data", "state", "runtime", "docker",
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a temp home dir");
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_CACHE_HOME/regatta`: where the digest cache lives.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache/regatta")
    }

    /// `$XDG_DATA_HOME/regatta`: backups and the audit log.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data/regatta")
    }

    /// `regatta ARGS` with this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut command = Command::new(env!("CARGO_BIN_EXE_regatta"));
        command
            .args(args)
            .env("HOME", d.join("home"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_RUNTIME_DIR", d.join("runtime"))
            .env("DOCKER_CONFIG", d.join("docker"))
            .env_remove("REGATTA_CONFIG")
            .env_remove("REGATTA_LOG")
            .env_remove("REGISTRY_AUTH_FILE")
            .stdin(std::process::Stdio::null());
        command
    }

    /// Runs `regatta ARGS`, which must succeed.
    pub fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("run regatta");
        assert!(
            output.status.success(),
            "regatta {} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs `regatta ARGS` (which must succeed) and parses its stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.run(args);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "regatta {} printed no JSON ({e}):\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}
