//! The bundled demo: a small registry stored as a root of OCI image layouts (`assets/demo/`,
//! written by `cargo run --example gen_demo`), compiled into the binary and unpacked to the
//! cache directory on first use, so the demo is read by the same [`LayoutSource`] as any
//! layout on disk.
//!
//! Cargo rebuilds when a file of `assets/demo/` changes (each is an `include_bytes!`); a
//! regenerated demo always changes `index.json` files, so added blobs are picked up too.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use sha2::{Digest as _, Sha256};

use crate::layout::LayoutSource;
use crate::registry::RegistryError;

static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/demo");

/// What the demo is called wherever a target is named: `regatta ls demo`, `regatta
/// inspect demo/acme/api`. A registry of that name in the config wins.
pub const DEMO_NAME: &str = "demo";

/// The demo unpacked: `<cache>/regatta/demo-<hash>/demo`, where the hash is of the embedded files,
/// so a binary with a different demo never reads a stale copy. It is unpacked into a staging
/// directory and renamed into place, so a half-written unpack is never used. The root itself is
/// a directory named `demo`, so the layout source opened on it is called `demo` as the TUI
/// calls it, whichever command opens it. Without a usable
/// cache directory (no `HOME`, a read-only one) it goes under the system temp directory.
pub fn demo_root() -> Result<PathBuf, RegistryError> {
    let cache = directories::ProjectDirs::from("", "", "regatta")
        .map(|dirs| dirs.cache_dir().to_path_buf());
    if let Some(cache) = cache {
        match unpack_into(&cache, false) {
            Ok(root) => return Ok(root),
            Err(e) => tracing::warn!("cannot unpack the demo into the cache directory: {e}"),
        }
    }
    unpack_into(&std::env::temp_dir().join("regatta-cache"), true)
}

/// The demo as a source named `demo`.
pub fn open_demo() -> Result<LayoutSource, RegistryError> {
    Ok(LayoutSource::open(demo_root()?)?.with_name(DEMO_NAME))
}

/// The first 12 hex digits of a hash over the embedded files' paths and contents.
fn content_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut files = Vec::new();
        collect_files(&DEMO, &mut files);
        files.sort_by_key(|f| f.path());
        let mut hasher = Sha256::new();
        for file in files {
            let path = file.path().to_string_lossy();
            hasher.update((path.len() as u64).to_le_bytes());
            hasher.update(path.as_bytes());
            hasher.update((file.contents().len() as u64).to_le_bytes());
            hasher.update(file.contents());
        }
        // The unpacked shape (the root is `demo-<hash>/demo`): a copy unpacked in an older
        // shape has another name and is never read.
        hasher.update(b"root: demo-<hash>/demo");
        hex::encode(hasher.finalize())[..12].to_string()
    })
}

fn collect_files<'a>(dir: &'a Dir<'a>, files: &mut Vec<&'a include_dir::File<'a>>) {
    files.extend(dir.files());
    for sub in dir.dirs() {
        collect_files(sub, files);
    }
}

/// Unpacks the demo into `parent/demo-<hash>/demo` unless it is there already; returns that
/// path.
/// A `shared` parent (under the system temp dir) is only used when this user owns it and
/// nobody else can write to it; otherwise the demo goes to a directory of this process's own,
/// so a copy planted by another user is never read.
fn unpack_into(parent: &Path, shared: bool) -> Result<PathBuf, RegistryError> {
    let hash = content_hash();
    let target = parent.join(format!("demo-{hash}"));
    create_private_dir(parent, true)?;
    let staging = parent.join(format!(
        ".demo-{hash}-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    create_private_dir(&staging, false)?;
    let discard = |staging: &Path| {
        if let Err(e) = fs::remove_dir_all(staging) {
            tracing::warn!("cannot remove {}: {e}", staging.display());
        }
    };
    let trusted = !shared
        || owned_privately(parent, &staging)
            && (!target.exists() || owned_privately(&target, &staging));
    if trusted && target.is_dir() {
        discard(&staging);
        return Ok(target.join(DEMO_NAME));
    }
    let root = staging.join(DEMO_NAME);
    if let Err(e) = create_private_dir(&root, false).and_then(|()| {
        DEMO.extract(&root)
            .map_err(|e| super::layout::io_error(&root, &e))
    }) {
        discard(&staging);
        return Err(e);
    }
    if !trusted {
        return Ok(root);
    }
    match fs::rename(&staging, &target) {
        Ok(()) => Ok(target.join(DEMO_NAME)),
        // Another process unpacked the same demo first.
        Err(_) if target.is_dir() => {
            discard(&staging);
            Ok(target.join(DEMO_NAME))
        }
        Err(e) => {
            discard(&staging);
            Err(super::layout::io_error(&target, &e))
        }
    }
}

/// Creates `dir` (and its parents when `parents`), private to the user where that exists.
fn create_private_dir(dir: &Path, parents: bool) -> Result<(), RegistryError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(parents);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| super::layout::io_error(dir, &e))
}

/// Whether `path` is a real directory (not a link) of the user who owns `ours` (a directory
/// this process just created), writable by nobody else.
#[cfg(unix)]
fn owned_privately(path: &Path, ours: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(meta), Ok(mine)) = (fs::symlink_metadata(path), fs::symlink_metadata(ours)) else {
        return false;
    };
    meta.is_dir() && meta.uid() == mine.uid() && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn owned_privately(path: &Path, _ours: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

#[cfg(test)]
mod tests;
