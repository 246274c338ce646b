//! Running a registry's garbage collection (the config's `gc_command`) and reading what it
//! removed from its own output, so that the space it gave back can be stated in bytes
//! (Distribution prints each blob it deletes, or would delete with `--dry-run`; their sizes
//! come from the scan). The CLI's `--gc` and the TUI's offer after a delete both run it here.

use std::collections::{BTreeSet, HashMap};

use crate::registry::Digest;

/// One run of the collector: its exit and everything it printed (stdout, then stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcRun {
    pub command: String,
    pub success: bool,
    /// How it ended (`exit status: 1`), for the sentence when it failed.
    pub status: String,
    pub output: String,
}

/// The command could not be started at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot run the garbage collection ({command}): {detail}")]
pub struct GcError {
    pub command: String,
    pub detail: String,
}

/// Runs `command` with `sh -c` and collects its output. Hazard: it runs whatever the config
/// says, as the user; it is only ever run after a delete, when asked.
pub async fn run(command: &str) -> Result<GcRun, GcError> {
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| GcError {
            command: command.to_string(),
            detail: e.to_string(),
        })?;
    Ok(GcRun {
        command: command.to_string(),
        success: output.status.success(),
        status: output.status.to_string(),
        output: String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    })
}

impl GcSummary {
    /// The measured change in a sentence, when the collector listed what it removed;
    /// `human` is `known_bytes` as the front end writes sizes.
    pub fn sentence(&self, human: &str) -> Option<String> {
        if self.blobs == 0 {
            return None;
        }
        let mut line = format!(
            "garbage collection removed {} blob(s), {human} ({} bytes) of them known from the scan",
            self.blobs, self.known_bytes
        );
        if self.unknown_blobs > 0 {
            line.push_str(&format!(
                "; {} blob(s) the scan had not seen (untagged manifests, interrupted uploads)",
                self.unknown_blobs
            ));
        }
        Some(line)
    }
}

/// Blobs the collector reports as deleted (or eligible, in a dry run) and their known bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcSummary {
    pub blobs: usize,
    /// Bytes of the blobs whose size the scan knew.
    pub known_bytes: u64,
    /// Blobs the scan had not seen (untagged manifests, interrupted uploads).
    pub unknown_blobs: usize,
}

/// Parses Distribution's `garbage-collect` output: `blob eligible for deletion: sha256:HEX`
/// and `Deleting blob: /docker/registry/v2/blobs/sha256/ab/HEX`.
pub fn summarize(output: &str, sizes: &HashMap<Digest, u64>) -> GcSummary {
    let mut seen = BTreeSet::new();
    for line in output.lines() {
        let digest = if let Some(at) = line.find("blob eligible for deletion: ") {
            line[at + "blob eligible for deletion: ".len()..]
                .split_whitespace()
                .next()
                .and_then(|d| Digest::parse(d.trim_matches('"')).ok())
        } else if let Some(at) = line.find("Deleting blob: ") {
            let path = line[at + "Deleting blob: ".len()..]
                .trim()
                .trim_matches('"');
            let hex = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            Digest::parse(&format!("sha256:{hex}")).ok()
        } else {
            None
        };
        if let Some(d) = digest {
            seen.insert(d);
        }
    }
    let mut summary = GcSummary {
        blobs: seen.len(),
        ..GcSummary::default()
    };
    for d in &seen {
        match sizes.get(d) {
            Some(size) => summary.known_bytes += size,
            None => summary.unknown_blobs += 1,
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_output_forms_are_read_and_counted_once() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = Digest::sha256_of(b"c");
        let output = format!(
            "app\napp: marking manifest {a}\n3 blobs marked, 2 blobs and 0 manifests eligible for deletion\nblob eligible for deletion: {b}\nINFO[0000] Deleting blob: /docker/registry/v2/blobs/sha256/{}/{}  go.version=go1.19\nblob eligible for deletion: {c}\n",
            &b.hex()[..2],
            b.hex()
        );
        let sizes = HashMap::from([(b.clone(), 100), (a.clone(), 5)]);
        let s = summarize(&output, &sizes);
        assert_eq!(
            s,
            GcSummary {
                blobs: 2,
                known_bytes: 100,
                unknown_blobs: 1
            }
        );
        assert_eq!(summarize("nothing here", &sizes), GcSummary::default());
    }
}
