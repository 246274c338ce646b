//! The built `regatta` binary, run in a home of its own: a thin layer over [`Sandbox`] for the
//! cleanup tests, which take `(exit code, stdout, stderr)` and read the journal back through
//! the library.

use std::path::{Path, PathBuf};

use regatta::cleanup::journal::{AuditEntry, Journal};

use super::cli::Sandbox;

/// The binary under test, as Cargo built it for these integration tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_regatta");

/// One isolated home for one or more runs of `regatta` (runs of one test share it, so a later
/// run finds the backups and the audit log of an earlier one).
#[derive(Default)]
pub struct Home {
    sandbox: Sandbox,
}

impl Home {
    pub fn new() -> Self {
        Self::default()
    }

    /// The variables a run gets, all pointing into this home.
    pub fn vars(&self) -> Vec<(&'static str, PathBuf)> {
        self.sandbox.vars()
    }

    /// `regatta ARGS...` with this home's environment and nothing else (see
    /// [`Sandbox::command`]), no stdin (so never a terminal) and `NO_COLOR=1`.
    pub fn command<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.sandbox.command();
        command.args(args).env("NO_COLOR", "1");
        command
    }

    /// Writes `$XDG_CONFIG_HOME/regatta/config.toml`.
    pub fn write_config(&self, toml: &str) {
        self.sandbox.write_default_config(toml);
    }

    /// `$XDG_DATA_HOME/regatta`: where the binary keeps backups and the audit log.
    pub fn data_dir(&self) -> PathBuf {
        self.sandbox.data_dir()
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
        self.sandbox.root()
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
