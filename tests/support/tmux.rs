//! A real terminal for end-to-end tests: the built `regatta` runs in a tmux pane, keys go in
//! with `send-keys`, the screen comes out with `capture-pane`.
//!
//! Every [`Pane`] has a tmux server of its own (`-L` with a name unique to the test, its
//! socket in the pane's temp dir) and temporary `HOME`, `XDG_*_HOME` and `DOCKER_CONFIG`
//! directories, so neither the developer's tmux nor their regatta or Docker config is ever
//! touched. The server is killed when the `Pane` is dropped, a failing test included.
//!
//! regatta runs inside the pane's shell as `regatta ARGS; echo "EXIT=$? TTY=..."`, so a test
//! can wait for the exit status and for whether the terminal was left in raw mode. The shell
//! then sleeps rather than exit, because tmux may drop the last output of a pane whose
//! process has just ended.
//! Everything the program writes is also copied, byte for byte, to a file (`pipe-pane`), for
//! assertions on what reached the terminal rather than what tmux made of it.
//!
//! Waits poll the screen until a condition holds, and fail with the screen after a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a wait may take before the test fails. Generous: tests run in parallel with a
/// debug binary, and a passing wait returns as soon as the text is there.
pub const WAIT: Duration = Duration::from_secs(15);
/// How often the screen is captured while waiting.
const POLL: Duration = Duration::from_millis(20);

const MISSING: &str = "the TUI end-to-end tests need tmux, which is not on PATH: install it \
                       (`apt-get install -y tmux`, or run `scripts/test`, which does)";

/// The tmux configuration of every test server: no status line (the pane is the whole
/// window) and a known shell.
const TMUX_CONF: &str = "set -g status off
set -g default-shell /bin/sh
";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// How the program in the pane ended, as the pane's shell saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub status: i32,
    /// `stty -a` after the program exited still showed `-icanon`: raw mode was left on.
    pub raw_mode: bool,
}

pub struct Pane {
    socket: String,
    dir: TempDir,
    /// The tmux to run: `tmux` from `PATH`, or another program in the test of `drop`.
    program: &'static str,
}

impl std::fmt::Debug for Pane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pane")
            .field("socket", &self.socket)
            .finish()
    }
}

impl Pane {
    /// `regatta ARGS` in a new 120x40 pane. `name` goes into the socket name, for whoever
    /// lists tmux servers while tests run.
    pub fn start(name: &str, args: &[&str]) -> Self {
        Self::start_sized(name, args, 120, 40)
    }

    pub fn start_sized(name: &str, args: &[&str], width: u16, height: u16) -> Self {
        Self::launch(name, args, &[], width, height, |_| {})
    }

    /// `regatta ARGS` in a new 120x40 pane with extra environment variables (`REGATTA_LOG`,
    /// say), after `prepare` was given the pane's root directory (see [`dir`](Self::dir)) to
    /// write files regatta reads at start, such as its config.
    pub fn start_with(
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Self {
        Self::launch(name, args, env, 120, 40, prepare)
    }

    fn launch(
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
        width: u16,
        height: u16,
        prepare: impl FnOnce(&Path),
    ) -> Self {
        // Checked before a `Pane` exists: a failure here has no server to end in `drop`.
        require_tmux();
        let dir = tempfile::Builder::new()
            .prefix("regatta-e2e-")
            .tempdir()
            .expect("create the pane's temp dir");
        for sub in HOMES {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create an isolated home");
        }
        std::fs::write(dir.path().join("tmux.conf"), TMUX_CONF).expect("write tmux.conf");
        prepare(dir.path());
        let pane = Self {
            socket: format!(
                "regatta-e2e-{}-{}-{name}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            dir,
            program: "tmux",
        };
        let command = pane.shell_command(args, env);
        let raw = format!("cat >> {}", quote(&pane.raw_path().display().to_string()));
        let (w, h) = (width.to_string(), height.to_string());
        // One tmux invocation: the output is piped before the server reads any of it.
        pane.tmux_ok(&[
            "-f",
            &pane.dir.path().join("tmux.conf").display().to_string(),
            "new-session",
            "-d",
            "-x",
            &w,
            "-y",
            &h,
            &command,
            ";",
            "pipe-pane",
            "-o",
            &raw,
        ]);
        pane
    }

    /// `env HOME=.. XDG_..=.. TERM=xterm-256color [ENV..] regatta ARGS; echo "EXIT=.. TTY=.."`.
    fn shell_command(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let d = self.dir.path();
        let home = |sub: &str| quote(&d.join(sub).display().to_string());
        let mut line = format!(
            "env HOME={} XDG_CONFIG_HOME={} XDG_CACHE_HOME={} XDG_DATA_HOME={} \
             XDG_STATE_HOME={} DOCKER_CONFIG={} TERM=xterm-256color",
            home("home"),
            home("config"),
            home("cache"),
            home("data"),
            home("state"),
            home("docker"),
        );
        for (name, value) in env {
            line.push_str(&format!(" {name}={}", quote(value)));
        }
        line.push(' ');
        line.push_str(&quote(env!("CARGO_BIN_EXE_regatta")));
        for arg in args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        line.push_str(
            "; st=$?; if stty -a | grep -q -- -icanon; then tty=raw; else tty=cooked; fi; \
             echo \"EXIT=$st TTY=$tty\"; exec sleep 600",
        );
        line
    }

    /// A pane whose server was never started and whose tmux is `program` (a name that may
    /// not exist): for the test that dropping a pane never panics.
    pub fn unstarted(program: &'static str) -> Self {
        Self {
            socket: "regatta-e2e-unstarted".to_string(),
            dir: tempfile::tempdir().expect("a temp dir"),
            program,
        }
    }

    /// The isolated `XDG_CACHE_HOME` (where the demo is unpacked).
    pub fn cache_home(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// One of the pane's isolated directories: `home`, `config`, `cache`, `data`, `state`
    /// or `docker` (`HOME`, `XDG_CONFIG_HOME`, ... and `DOCKER_CONFIG`).
    pub fn dir(&self, sub: &str) -> PathBuf {
        assert!(HOMES.contains(&sub), "no directory {sub:?} in a pane");
        self.dir.path().join(sub)
    }

    /// The screen as text (`capture-pane -p`): one line per row, trailing spaces trimmed.
    pub fn screen(&self) -> String {
        self.capture(&[])
    }

    /// The screen with its attributes as escape sequences (`capture-pane -p -e`).
    pub fn screen_with_escapes(&self) -> String {
        self.capture(&["-e"])
    }

    fn capture(&self, extra: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p"];
        args.extend_from_slice(extra);
        String::from_utf8_lossy(&self.tmux_ok(&args).stdout).into_owned()
    }

    /// Named keys or characters, one `send-keys` argument each (`"Enter"`, `"Escape"`, `"j"`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux_ok(&args);
    }

    /// Text typed as is (`send-keys -l`).
    pub fn type_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-l", text]);
    }

    /// Resizes the window (and so the pane and the program's terminal).
    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.tmux_ok(&["resize-window", "-x", &w, "-y", &h]);
    }

    /// A tmux format about the pane (`#{alternate_on}`, `#{cursor_flag}`, ...).
    pub fn display(&self, format: &str) -> String {
        let out = self.tmux_ok(&["display-message", "-p", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until `done` holds for the screen and returns that screen; on timeout fails
    /// with `what` and the screen.
    pub fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.wait_until(what, |s| if done(s) { Ok(()) } else { Err(String::new()) })
    }

    /// Waits until `check` accepts the screen and returns that screen; on timeout fails with
    /// `what`, the last complaint of `check` and the screen.
    ///
    /// A capture may catch a frame half drawn (tmux reads the terminal in pieces): everything
    /// a test asserts on a screen belongs in the check, so that the screen it gets back is
    /// one where every expected text was there at once.
    pub fn wait_until(&self, what: &str, check: impl Fn(&str) -> Result<(), String>) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            let complaint = match check(&screen) {
                Ok(()) => return screen,
                Err(complaint) => complaint,
            };
            if start.elapsed() > WAIT {
                let why = if complaint.is_empty() {
                    String::new()
                } else {
                    format!(" ({complaint})")
                };
                panic!(
                    "timed out after {WAIT:?} waiting for {what}{why}; the pane shows:\n{}\n{}\n{}",
                    "-".repeat(40),
                    screen.trim_end(),
                    "-".repeat(40)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen contains `text`.
    pub fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Waits until the screen contains every one of `texts` at once, and returns that screen;
    /// on timeout fails naming the missing ones. A test that then asserts what is *not* on
    /// the screen should list here the texts of the same frame drawn below it (the status
    /// line, say): a frame reaches the terminal top to bottom, so their presence means the
    /// rows above are drawn.
    pub fn wait_for_all<S: AsRef<str>>(&self, texts: &[S]) -> String {
        let what = texts
            .iter()
            .map(|t| format!("{:?}", t.as_ref()))
            .collect::<Vec<_>>()
            .join(", ");
        self.wait_until(&format!("all of {what}"), |s| shows_all(s, texts))
    }

    /// Waits until the screen no longer contains `text`.
    pub fn wait_for_no_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} to go"), |s| !s.contains(text))
    }

    /// Waits until the breadcrumbs (the first line) end with `crumbs`: `acme/api` matches
    /// `regatta › demo › acme/api` but not `regatta › demo › acme/api › latest`.
    pub fn wait_for_crumbs(&self, crumbs: &str) -> String {
        self.wait_for(&format!("breadcrumbs ending {crumbs:?}"), |s| {
            ends_crumbs(s, crumbs)
        })
    }

    /// Waits for the line the shell prints after the program exits.
    pub fn wait_for_exit(&self) -> Exit {
        // Anywhere in a line: a program that leaves the terminal raw or in the alternate
        // screen has the shell print it wherever the cursor was.
        let screen = self.wait_for("the program to exit (EXIT=...)", |s| s.contains("EXIT="));
        let line = screen
            .lines()
            .find_map(|l| l.find("EXIT=").map(|at| &l[at..]))
            .expect("an EXIT line");
        let mut status = None;
        let mut raw_mode = None;
        for part in line.split_whitespace() {
            if let Some(s) = part.strip_prefix("EXIT=") {
                status = s.parse().ok();
            } else if let Some(t) = part.strip_prefix("TTY=") {
                raw_mode = Some(t == "raw");
            }
        }
        Exit {
            status: status.unwrap_or_else(|| panic!("no exit status in {line:?}")),
            raw_mode: raw_mode.unwrap_or_else(|| panic!("no tty mode in {line:?}")),
        }
    }

    fn raw_path(&self) -> PathBuf {
        self.dir.path().join("output.raw")
    }

    /// Everything the program has written to the terminal so far, as bytes.
    pub fn raw_output(&self) -> Vec<u8> {
        std::fs::read(self.raw_path()).unwrap_or_default()
    }

    /// Waits until the bytes written since `offset` contain `needle`, and returns them.
    pub fn wait_for_output(&self, offset: usize, needle: &[u8]) -> Vec<u8> {
        let start = Instant::now();
        loop {
            let out = self.raw_output();
            let since = out.get(offset..).unwrap_or_default();
            if since.windows(needle.len()).any(|w| w == needle) {
                return since.to_vec();
            }
            if start.elapsed() > WAIT {
                panic!(
                    "timed out after {WAIT:?} waiting for {:?} in the program's output; \
                     since then it wrote:\n{}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(since).escape_debug()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn tmux_ok(&self, args: &[&str]) -> Output {
        let out = self.tmux(args).unwrap_or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => panic!("{MISSING}"),
            _ => panic!("run tmux {args:?}: {e}"),
        });
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs tmux against this pane's own server, with an environment of its own: the server
    /// (started by the first call) and so the pane's shell inherit nothing from the test.
    fn tmux(&self, args: &[&str]) -> std::io::Result<Output> {
        Command::new(self.program)
            .arg("-u") // UTF-8 whatever the locale: the UI draws `›` and `…`
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            // The socket goes into the temp dir too, so it goes with it.
            .env("TMUX_TMPDIR", self.dir.path())
            .stdin(Stdio::null())
            .output()
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        // Ends the server, the pane's shell and whatever still runs in it. Never panics: a
        // panic here while a failing test unwinds would abort the whole test binary.
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Whether `screen` contains every one of `texts`; if not, which ones it lacks. For the
/// checks of [`Pane::wait_until`].
pub fn shows_all<S: AsRef<str>>(screen: &str, texts: &[S]) -> Result<(), String> {
    let missing: Vec<String> = texts
        .iter()
        .map(AsRef::as_ref)
        .filter(|t| !screen.contains(t))
        .map(|t| format!("{t:?}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing {}", missing.join(", ")))
    }
}

/// The first line of `screen` that contains `needle`; if none, says so. For the checks of
/// [`Pane::wait_until`].
pub fn find_line<'a>(screen: &'a str, needle: &str) -> Result<&'a str, String> {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .ok_or_else(|| format!("no line contains {needle:?}"))
}

/// Whether the first line of `screen` with `needle` contains every one of `expected`; if
/// not, which one it lacks. For the checks of [`Pane::wait_until`].
pub fn row_shows<S: AsRef<str>>(screen: &str, needle: &str, expected: &[S]) -> Result<(), String> {
    let row = find_line(screen, needle)?;
    match expected.iter().find(|e| !row.contains(e.as_ref())) {
        Some(e) => Err(format!("no {:?} in the row {row:?}", e.as_ref())),
        None => Ok(()),
    }
}

/// Whether the breadcrumbs (the first line of `screen`) end with `crumbs`, as
/// [`Pane::wait_for_crumbs`] waits for: for a wait on the crumbs and more at once.
pub fn ends_crumbs(screen: &str, crumbs: &str) -> bool {
    let first = screen.lines().next().unwrap_or_default();
    first
        .match_indices(crumbs)
        .any(|(at, _)| !first[at + crumbs.len()..].starts_with(" › "))
}

/// Fails the test with one sentence when tmux cannot be run at all.
fn require_tmux() {
    match Command::new("tmux").arg("-V").stdin(Stdio::null()).output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{MISSING}"),
        Err(e) => panic!("the TUI end-to-end tests cannot run tmux: {e}"),
    }
}

/// The isolated directories, under the pane's temp dir.
const HOMES: [&str; 6] = ["home", "config", "cache", "data", "state", "docker"];

/// `text` in single quotes for `sh`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Whether `parent` holds a directory whose name starts with `prefix`.
pub fn has_dir_starting_with(parent: &Path, prefix: &str) -> bool {
    std::fs::read_dir(parent).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(prefix)
                && e.file_type().is_ok_and(|t| t.is_dir())
        })
    })
}
