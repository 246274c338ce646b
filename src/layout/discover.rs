//! Finding OCI image layouts on disk: one layout, or a root of layouts nested by repository
//! name (`root/acme/api/{oci-layout,index.json,blobs}` is `acme/api`), which is how zot stores
//! its repositories and how skopeo, crane and oras are usually pointed at a directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::registry::{RegistryError, RepoName};

use super::io_error;

/// Names nest at most this deep; a deeper tree is not a registry layout.
const MAX_DEPTH: usize = 32;

/// A root is walked through at most this many directories (layouts' `blobs/` are never
/// entered, so a zot root with tens of thousands of repositories fits). Opening a home
/// directory by mistake stops here instead of walking the whole tree.
const MAX_DIRECTORIES: usize = 200_000;

/// Whether `dir` is an OCI image layout: it has `oci-layout` or `index.json`. Either one is
/// enough to recognise it, so a layout missing the other is reported when it is read rather
/// than silently skipped.
pub(crate) fn is_layout(dir: &Path) -> bool {
    dir.join("oci-layout").is_file() || dir.join("index.json").is_file()
}

/// Every layout below `root` (not `root` itself), keyed by repository name. Each directory
/// name is sanitized into a valid name component; when two directories sanitize to the same
/// name the first in byte order wins. Symbolic links are not followed (a link loop would
/// otherwise nest forever), and directories starting with `.` or `_` are skipped: zot keeps
/// `.uploads`, `_trivy` and similar beside repositories.
pub(crate) fn scan_root(root: &Path) -> Result<BTreeMap<RepoName, PathBuf>, RegistryError> {
    let mut walk = Walk {
        found: BTreeMap::new(),
        components: Vec::new(),
        budget: MAX_DIRECTORIES,
    };
    walk.visit(root)?;
    if walk.budget == 0 {
        tracing::warn!(
            "stopped looking for layouts under {} after {MAX_DIRECTORIES} directories",
            root.display()
        );
    }
    Ok(walk.found)
}

struct Walk {
    found: BTreeMap<RepoName, PathBuf>,
    /// The sanitized names from the root down to the directory being visited.
    components: Vec<String>,
    /// Directories still allowed to be visited.
    budget: usize,
}

impl Walk {
    fn visit(&mut self, dir: &Path) -> Result<(), RegistryError> {
        if self.budget == 0 {
            return Ok(());
        }
        self.budget -= 1;
        let at_root = self.components.is_empty();
        let layout_here = !at_root && is_layout(dir);
        if layout_here {
            self.record(dir);
        }
        if self.components.len() >= MAX_DEPTH {
            return Ok(());
        }
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            // The root must be readable; below it, an unreadable directory is skipped.
            Err(e) if at_root => return Err(io_error(dir, &e)),
            Err(e) => {
                tracing::warn!("skipping {}: {e}", dir.display());
                return Ok(());
            }
        };
        let mut children = Vec::new();
        for entry in entries.flatten() {
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            // A layout's own `blobs` holds content, not repositories.
            let skip =
                name.starts_with('.') || name.starts_with('_') || (layout_here && name == "blobs");
            if file_type.is_dir() && !skip {
                children.push((name, entry.path()));
            }
        }
        children.sort();
        for (name, path) in children {
            let Some(component) = sanitize_component(&name) else {
                continue;
            };
            self.components.push(component);
            let visited = self.visit(&path);
            self.components.pop();
            visited?;
        }
        Ok(())
    }

    fn record(&mut self, dir: &Path) {
        match RepoName::parse(&self.components.join("/")) {
            Ok(name) if !self.found.contains_key(&name) => {
                self.found.insert(name, dir.to_path_buf());
            }
            Ok(name) => tracing::warn!(
                "{} also sanitizes to repository {name}; keeping the first",
                dir.display()
            ),
            Err(e) => tracing::warn!("skipping layout {}: {e}", dir.display()),
        }
    }
}

/// The repository name for a single layout directory: its (canonical) name, sanitized; a
/// directory whose name has nothing usable (`/`, `___`) is called `layout`.
pub(crate) fn repo_name_for_dir(dir: &Path) -> Result<RepoName, RegistryError> {
    let canonical = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = canonical
        .file_name()
        .and_then(|n| sanitize_component(&n.to_string_lossy()))
        .unwrap_or_else(|| "layout".to_string());
    Ok(RepoName::parse(&name)?)
}

/// Turns a directory name into a valid repository path component: lowercase, other characters
/// become `-`, separator runs the spec does not allow (`.-`, `...`) become `-`, and separators
/// at either end are dropped. `None` when nothing alphanumeric is left.
pub(crate) fn sanitize_component(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut separator = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if !separator.is_empty() && !out.is_empty() {
                let allowed = matches!(separator.as_str(), "." | "_" | "__")
                    || separator.chars().all(|s| s == '-');
                out.push_str(if allowed { &separator } else { "-" });
            }
            separator.clear();
            out.push(c);
        } else if matches!(c, '.' | '_' | '-') {
            separator.push(c);
        } else {
            separator.push('-');
        }
    }
    // A name component is at most what a whole name may be.
    out.truncate(255);
    while out.ends_with(['.', '_', '-']) {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_makes_valid_components() {
        let cases = [
            ("api", Some("api")),
            ("My Image", Some("my-image")),
            ("web.oci", Some("web.oci")),
            ("a__b", Some("a__b")),
            ("a___b", Some("a-b")),
            ("a.-b", Some("a-b")),
            ("--x--", Some("x")),
            ("café", Some("caf")),
            ("___", None),
            ("", None),
        ];
        for (input, expected) in cases {
            let got = sanitize_component(input);
            assert_eq!(got.as_deref(), expected, "{input:?}");
            if let Some(got) = got {
                assert!(RepoName::parse(&got).is_ok(), "{got:?}");
            }
        }
    }

    #[test]
    fn scan_finds_nested_layouts_and_skips_blobs_and_hidden() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for dir in [
            "acme/api",
            "acme",
            "Tools/Debug",
            ".uploads/x",
            "_trivy/db",
            "empty/dir",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        for layout in ["acme/api", "acme", "Tools/Debug", ".uploads/x", "_trivy/db"] {
            fs::write(root.join(layout).join("index.json"), "{}").unwrap();
        }
        // A repository called `blobs` inside a layout would be unreachable; it is content.
        fs::create_dir_all(root.join("acme/blobs/sha256")).unwrap();
        fs::write(root.join("acme/blobs/sha256/index.json"), "{}").unwrap();
        let found = scan_root(root).unwrap();
        let names: Vec<_> = found.keys().map(RepoName::as_str).collect();
        assert_eq!(names, ["acme", "acme/api", "tools/debug"]);
        assert_eq!(
            found[&RepoName::parse("tools/debug").unwrap()],
            root.join("Tools/Debug")
        );
    }

    #[test]
    fn single_layout_is_named_after_its_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("My_App.OCI");
        fs::create_dir(&dir).unwrap();
        assert_eq!(repo_name_for_dir(&dir).unwrap().as_str(), "my_app.oci");
        assert_eq!(
            repo_name_for_dir(Path::new("/")).unwrap().as_str(),
            "layout"
        );
    }
}
