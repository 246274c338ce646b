//! The CLI's progress bar for a scan: tags resolved of tags listed, repositories listed, the
//! rate and an estimate of the time left, drawn on stderr. It is for a person watching a
//! terminal: never drawn when stderr is not a terminal (a pipe, a file, CI logs) nor when
//! the command prints JSON, so scripts only ever see the result.
//!
//! It reads the scan's own event stream ([`ScanEvent`]), the same stream the TUI's status
//! bar counts.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::analysis::model::{ScanEvent, StorageModel};
use crate::registry::Source;
use crate::scan::{ScanOptions, scan};

/// Set once by the command line when the command prints JSON.
static JSON_OUTPUT: AtomicBool = AtomicBool::new(false);

/// Records that this run's command prints JSON (progress stays off).
pub fn set_json_output(json: bool) {
    JSON_OUTPUT.store(json, Ordering::Relaxed);
}

/// Whether to draw progress: only for a person at a terminal, never beside JSON.
pub fn should_draw(stderr_is_terminal: bool, json_output: bool) -> bool {
    stderr_is_terminal && !json_output
}

/// Scans `source`, with a progress bar on stderr when [`should_draw`] says so.
pub(crate) async fn scan_with_progress(
    source: &dyn Source,
    options: &ScanOptions,
) -> anyhow::Result<StorageModel> {
    let draw = should_draw(
        std::io::stderr().is_terminal(),
        JSON_OUTPUT.load(Ordering::Relaxed),
    );
    let progress = ScanProgress::new(draw);
    let result = scan(source, options, &|event| progress.count(event)).await;
    progress.bar.finish_and_clear();
    Ok(result?)
}

/// The bar's length grows as tag lists arrive; its position is the tags resolved.
struct ScanProgress {
    bar: ProgressBar,
    repositories: AtomicUsize,
    repositories_listed: AtomicUsize,
    manifests: AtomicUsize,
}

impl ScanProgress {
    fn new(draw: bool) -> Self {
        let target = if draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        // Short enough for an 80-column terminal with a large registry's counts.
        let style = ProgressStyle::with_template(
            "{spinner} scanning [{bar:20}] {pos}/{len} tags · {msg} · {rate} · ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} tags/s", state.per_sec());
            },
        )
        .progress_chars("=> ");
        bar.set_style(style);
        if draw {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Self {
            bar,
            repositories: AtomicUsize::new(0),
            repositories_listed: AtomicUsize::new(0),
            manifests: AtomicUsize::new(0),
        }
    }

    fn count(&self, event: &ScanEvent) {
        match event {
            ScanEvent::Repositories(page) => {
                self.repositories.fetch_add(page.len(), Ordering::Relaxed);
            }
            ScanEvent::Tags { tags, .. } => {
                self.repositories_listed.fetch_add(1, Ordering::Relaxed);
                self.bar.inc_length(tags.len() as u64);
            }
            ScanEvent::Resolved { .. } => self.bar.inc(1),
            ScanEvent::Manifest { .. } => {
                self.manifests.fetch_add(1, Ordering::Relaxed);
            }
            _ => return,
        }
        self.bar.set_message(format!(
            "repos {}/{} · manifests {}",
            self.repositories_listed.load(Ordering::Relaxed),
            self.repositories.load(Ordering::Relaxed),
            self.manifests.load(Ordering::Relaxed),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Digest, RepoName, Tag};

    #[test]
    fn progress_is_drawn_only_for_a_terminal_and_never_beside_json() {
        assert!(should_draw(true, false));
        assert!(!should_draw(true, true));
        assert!(!should_draw(false, false));
        assert!(!should_draw(false, true));
    }

    #[test]
    fn the_bar_counts_tags_listed_and_resolved() {
        let p = ScanProgress::new(false);
        let repo = RepoName::parse("a/b").unwrap();
        p.count(&ScanEvent::Repositories(vec![repo.clone(), repo.clone()]));
        p.count(&ScanEvent::Tags {
            repo: repo.clone(),
            tags: vec![Tag::parse("1").unwrap(), Tag::parse("2").unwrap()],
        });
        p.count(&ScanEvent::Resolved {
            repo,
            tag: Tag::parse("1").unwrap(),
            digest: Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap(),
        });
        assert_eq!(p.bar.length(), Some(2));
        assert_eq!(p.bar.position(), 1);
        assert_eq!(p.bar.message(), "repos 1/2 · manifests 0");
    }
}
