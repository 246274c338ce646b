//! Running the built `regatta` binary the way a user does, but sealed off from the machine it
//! runs on: every run gets an environment of its own (home, XDG directories, Docker config dir,
//! runtime dir) under a temporary [`Sandbox`], and nothing else from the test's environment.
//!
//! ```ignore
//! let sandbox = Sandbox::new();
//! let run = sandbox.run(&["ls", &addr, "--json"]);
//! assert_eq!(run.json_strings(), fixture.repo_names());
//! sandbox.run(&["tags", "127.0.0.1:1/x"]).fails_with_one_line(&["cannot reach"]);
//! ```

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

/// A run that takes longer than this is a hang, not a slow test.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The subdirectories every run gets, by the variable that points at them.
const DIRS: [(&str, &str); 8] = [
    ("HOME", "home"),
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_RUNTIME_DIR", "runtime"),
    ("DOCKER_CONFIG", "docker"),
    // Docker's and Podman's per-registry certificate directories (never the machine's own).
    ("REGATTA_CERTS_D", "certs.d"),
];

/// A home for runs of the binary. Runs from one sandbox share its config, cache and log file
/// (as a user's successive commands do); a fresh sandbox starts from nothing.
pub struct Sandbox {
    dir: TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("regatta-cli-")
            .tempdir()
            .expect("create the sandbox dir");
        for (_, sub) in DIRS {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create a sandbox subdir");
        }
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `DOCKER_CONFIG`: where a `config.json` goes.
    pub fn docker_dir(&self) -> PathBuf {
        self.root().join("docker")
    }

    /// `$XDG_CONFIG_HOME/regatta/config.toml`: what regatta reads without `--config`.
    pub fn default_config_path(&self) -> PathBuf {
        self.root().join("config/regatta/config.toml")
    }

    /// Writes the config regatta reads by default and returns its path.
    pub fn write_default_config(&self, text: &str) -> PathBuf {
        let path = self.default_config_path();
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        write_private(&path, text);
        path
    }

    /// Writes `name` (relative to the sandbox root) and returns its path.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.root().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        write_private(&path, contents);
        path
    }

    /// Writes Docker's `config.json` into [`docker_dir`](Self::docker_dir).
    pub fn write_docker_config(&self, json: &serde_json::Value) {
        std::fs::write(
            self.docker_dir().join("config.json"),
            serde_json::to_vec_pretty(json).expect("json"),
        )
        .expect("write config.json");
    }

    /// `$XDG_STATE_HOME/regatta/regatta.log`.
    pub fn log_path(&self) -> PathBuf {
        self.root().join("state/regatta/regatta.log")
    }

    /// The log file's contents (empty when there is none).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The variables every run gets, each pointing into the sandbox.
    pub fn vars(&self) -> Vec<(&'static str, PathBuf)> {
        DIRS.iter()
            .map(|(var, sub)| (*var, self.root().join(sub)))
            .collect()
    }

    /// The binary with the sandbox's environment and nothing else (`PATH` aside, for
    /// `password_command`). `RUST_BACKTRACE=1`, so a panic could not pass for an error line.
    pub fn command(&self) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::from_std(self.std_command());
        command.timeout(RUN_TIMEOUT);
        command
    }

    /// The same program and environment as [`command`](Self::command) on a plain
    /// `std::process::Command`, for a run the test interrupts (spawn, signal, wait).
    pub fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_regatta"));
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("RUST_BACKTRACE", "1")
            .current_dir(self.root())
            .envs(self.vars());
        command
    }

    /// `$XDG_CACHE_HOME/regatta`: where the digest cache lives.
    pub fn cache_dir(&self) -> PathBuf {
        self.root().join("cache/regatta")
    }

    /// `$XDG_DATA_HOME/regatta`: the audit log and the backups.
    pub fn data_dir(&self) -> PathBuf {
        self.root().join("data/regatta")
    }

    /// Runs the binary with `args`.
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        Run::of(self.command().args(args))
    }

    /// Runs the binary with `args` and extra environment variables.
    pub fn run_env<S: AsRef<OsStr>>(&self, args: &[S], env: &[(&str, &str)]) -> Run {
        let mut command = self.command();
        for (k, v) in env {
            command.env(k, v);
        }
        Run::of(command.args(args))
    }
}

/// What one run printed and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    /// What was run, for failure messages.
    pub args: String,
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` (built from [`Sandbox::command`], with any changes) to the end.
    pub fn of(command: &mut assert_cmd::Command) -> Self {
        let args = format!("{command:?}");
        let output = command.output().expect("run regatta");
        Self {
            args,
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// The command, its exit code and its output, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    /// Exit code 0 and nothing on stderr.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        assert!(
            self.stderr.is_empty(),
            "expected a quiet stderr:\n{}",
            self.describe()
        );
        self
    }

    /// Exit code 0, whatever stderr holds (warnings).
    #[track_caller]
    pub fn ok_with_stderr(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self
    }

    /// Stdout, parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.describe()))
    }

    /// Stdout as a JSON array of strings.
    #[track_caller]
    pub fn json_strings(&self) -> Vec<String> {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON array of strings ({e}):\n{}",
                self.describe()
            )
        })
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Asserts how a failure must look: exit code 1, nothing on stdout, exactly one line on
    /// stderr, `regatta: ...`, holding every one of `needles`, and no trace of a panic.
    /// Returns the line.
    #[track_caller]
    pub fn fails_with_one_line(&self, needles: &[&str]) -> &str {
        self.fails_with_one_line_after(0, needles)
    }

    /// [`fails_with_one_line`](Self::fails_with_one_line) where `warnings` lines of
    /// `regatta: warning: ...` may come first.
    #[track_caller]
    pub fn fails_with_one_line_after(&self, warnings: usize, needles: &[&str]) -> &str {
        let d = self.describe();
        assert_eq!(self.code, Some(1), "expected exit code 1:\n{d}");
        assert!(self.stdout.is_empty(), "expected nothing on stdout:\n{d}");
        self.no_panic();
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            warnings + 1,
            "expected exactly one error line:\n{d}"
        );
        assert!(self.stderr.ends_with('\n'), "an unfinished line:\n{d}");
        for warning in &lines[..warnings] {
            assert!(
                warning.starts_with("regatta: warning: "),
                "expected a warning:\n{d}"
            );
        }
        let line = lines[warnings];
        assert!(
            line.starts_with("regatta: "),
            "expected `regatta: ...`:\n{d}"
        );
        for needle in needles {
            assert!(
                line.contains(needle),
                "expected {needle:?} in the line:\n{d}"
            );
        }
        line
    }

    /// Asserts that nothing on stderr looks like a panic or a backtrace.
    #[track_caller]
    pub fn no_panic(&self) -> &Self {
        for sign in ["panicked", "backtrace", "RUST_BACKTRACE"] {
            assert!(
                !self.stderr.contains(sign),
                "a panic ({sign}):\n{}",
                self.describe()
            );
        }
        self
    }

    /// Asserts that `secret` is in neither stdout nor stderr.
    #[track_caller]
    pub fn never_shows(&self, secret: &str) -> &Self {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "{secret:?} was printed:\n{}",
            self.describe()
        );
        self
    }
}

/// Runs `f` over `items` on a few threads (each call spawns a process and mostly waits),
/// keeping the results in order.
pub fn parallel_map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    const THREADS: usize = 8;
    let chunk = items.len().div_ceil(THREADS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Writes a file only its owner can read, as a careful user keeps a file with a password
/// (regatta warns about the others; `config_readable_by_others_is_warned_once` covers that).
fn write_private(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).expect("write a sandbox file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}
