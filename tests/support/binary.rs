//! The built `regatta` binary, run in a home of its own.
//!
//! Every spawned `regatta` gets temporary `HOME`, `XDG_CONFIG_HOME`, `XDG_CACHE_HOME`,
//! `XDG_DATA_HOME`, `XDG_STATE_HOME` and `DOCKER_CONFIG`, set on its `Command` (never with
//! `set_var`, which would race with every other test of the process), so the developer's own
//! config, credentials, digest cache and audit log are never read or written.

use std::path::{Path, PathBuf};

use regatta::cleanup::journal::{AuditEntry, Journal};
use tempfile::TempDir;

/// The binary under test, as Cargo built it for these integration tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_regatta");

/// One isolated home for one or more runs of `regatta` (runs of one test share it, so a later
/// run finds the backups and the audit log of an earlier one).
pub struct Home {
    dir: TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("regatta-home-")
            .tempdir()
            .expect("create a temp home");
        for sub in ["home", "config", "cache", "data", "state", "docker"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a dir of the temp home");
        }
        Self { dir }
    }

    /// The variables a run gets, all pointing into this home.
    pub fn vars(&self) -> Vec<(&'static str, PathBuf)> {
        let d = self.dir.path();
        vec![
            ("HOME", d.join("home")),
            ("XDG_CONFIG_HOME", d.join("config")),
            ("XDG_CACHE_HOME", d.join("cache")),
            ("XDG_DATA_HOME", d.join("data")),
            ("XDG_STATE_HOME", d.join("state")),
            ("DOCKER_CONFIG", d.join("docker")),
        ]
    }

    /// `regatta ARGS...` with this home, no stdin (so never a terminal) and no inherited
    /// `REGATTA_CONFIG` or `REGATTA_LOG`.
    pub fn command<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = assert_cmd::Command::new(BINARY);
        command
            .args(args)
            .env_remove("REGATTA_CONFIG")
            .env_remove("REGATTA_LOG")
            .env("NO_COLOR", "1");
        for (name, value) in self.vars() {
            command.env(name, value);
        }
        command
    }

    /// Writes `$XDG_CONFIG_HOME/regatta/config.toml`.
    pub fn write_config(&self, toml: &str) {
        let dir = self.dir.path().join("config/regatta");
        std::fs::create_dir_all(&dir).expect("create the config dir");
        std::fs::write(dir.join("config.toml"), toml).expect("write config.toml");
    }

    /// `$XDG_DATA_HOME/regatta`: where the binary keeps backups and the audit log.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data/regatta")
    }

    /// The binary's journal, read through the library.
    pub fn journal(&self) -> Journal {
        Journal::new(self.data_dir())
    }

    /// Every line of the audit log.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.journal().audit()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Runs `command` and returns (exit code, stdout, stderr) as text.
pub fn run(mut command: assert_cmd::Command) -> (i32, String, String) {
    let output = command.output().expect("run regatta");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `command`, expects exit 0, and parses its stdout as JSON.
pub fn run_json(command: assert_cmd::Command) -> serde_json::Value {
    let (code, stdout, stderr) = run(command);
    assert_eq!(code, 0, "exit code\nstdout:\n{stdout}\nstderr:\n{stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"))
}
