//! Generates the bundled demo, `assets/demo/`: a root of OCI image layouts (one per
//! repository, nested by name, as zot stores them) holding a small but realistic registry.
//!
//! ```text
//! cargo run --example gen_demo             # rewrite assets/demo/
//! cargo run --example gen_demo -- --check  # fail if assets/demo/ differs from the output
//! cargo run --example gen_demo -- OUT_DIR  # write elsewhere
//! cargo run --example gen_demo -- --public-key > demo.pub  # the key of the cosign signatures
//! ```
//!
//! The output is byte-for-byte reproducible: every date is fixed, nothing reads the clock or
//! the environment. What is in it:
//! - `base/debian-slim`: three Debian releases, each an OCI index (linux/amd64, linux/arm64/v8);
//! - `acme/api`, `acme/worker`: OCI images built on those bases, sharing an apt layer; one
//!   multi-arch release, untagged leftovers, semver, `sha-`, `pr-` and dated tags;
//! - `acme/web`, `library/redis`: Docker schema 2 images;
//! - `tools/debug`: Docker manifest lists and a whiteout layer;
//! - on `acme/api`'s releases `v1.3.0` and `v1.2.3`: a cosign signature and SLSA provenance
//!   attestation (`sha256-<hex>.sig`, `.att`), an SPDX SBOM attached the OCI 1.1 way and a
//!   Notation signature of that SBOM, each listed in its subject's referrers fallback index
//!   (`sha256-<hex>`), see `artifacts.rs`;
//! - `charts/api`: a Helm chart in two versions.

mod acme;
pub mod artifacts;
mod base;
mod charts;
mod content;
mod image;
mod layer;
mod oci;
mod sbom;
mod utility;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use base::Bases;
use content::Release;
use oci::Repo;

pub const BOOKWORM_12_8: Release = Release {
    version: "12.8",
    codename: "bookworm",
    created: "2025-01-13T00:00:00Z",
};
pub const BOOKWORM_12_11: Release = Release {
    version: "12.11",
    codename: "bookworm",
    created: "2025-05-19T00:00:00Z",
};
pub const TRIXIE_13_1: Release = Release {
    version: "13.1",
    codename: "trixie",
    created: "2025-09-08T00:00:00Z",
};

pub const REGISTRY: &str = "registry.acme.example";
pub const GIT: &str = "https://git.acme.example";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    match args.as_slice() {
        [] => replace(&default),
        [flag] if flag == "--check" => check(&default),
        [flag] if flag == "--public-key" => {
            print!("{}", artifacts::public_key_pem()?);
            Ok(())
        }
        [out] if !out.starts_with('-') => replace(Path::new(out)),
        _ => bail!("usage: gen_demo [--check | --public-key | OUT_DIR]"),
    }
}

/// Writes the demo into `out`, which should be empty.
pub fn generate(out: &Path) -> Result<()> {
    for repo in demo()? {
        repo.write(out)?;
    }
    Ok(())
}

/// Every file under `dir`, relative path to bytes.
pub fn tree(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| dir.display().to_string())? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, files)?;
            } else {
                let relative = path.strip_prefix(root)?.to_path_buf();
                files.insert(relative, fs::read(&path)?);
            }
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files)?;
    Ok(files)
}

/// Generates beside `out`, then swaps it in, so a failed run leaves the old demo whole.
fn replace(out: &Path) -> Result<()> {
    let looks_like_demo = out.join("acme/api/oci-layout").is_file();
    let empty = fs::read_dir(out).map_or(true, |mut d| d.next().is_none());
    if out.exists() && !looks_like_demo && !empty {
        bail!(
            "refusing to replace {}: it does not look like the demo",
            out.display()
        );
    }
    let parent = out
        .parent()
        .context("the output needs a parent directory")?;
    fs::create_dir_all(parent)?;
    let fresh = tempfile::Builder::new()
        .prefix(".demo-new-")
        .tempdir_in(parent)?;
    generate(fresh.path())?;
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| out.display().to_string())?;
    }
    fs::rename(fresh.keep(), out)?;
    let files = tree(out)?;
    let bytes: usize = files.values().map(Vec::len).sum();
    println!(
        "wrote {} files, {bytes} bytes, to {}",
        files.len(),
        out.display()
    );
    Ok(())
}

fn check(out: &Path) -> Result<()> {
    let fresh = tempfile::tempdir()?;
    generate(fresh.path())?;
    let (want, have) = (tree(fresh.path())?, tree(out)?);
    let mut differences = 0;
    for path in want.keys().chain(have.keys()) {
        if want.get(path) != have.get(path) {
            differences += 1;
            println!("differs: {}", path.display());
        }
    }
    if differences > 0 {
        bail!(
            "{} is not what the generator writes; run `cargo run --example gen_demo`",
            out.display()
        );
    }
    println!("{} is up to date ({} files)", out.display(), have.len());
    Ok(())
}

fn demo() -> Result<Vec<Repo>> {
    let bases = Bases::build()?;
    Ok(vec![
        bases.repo()?,
        acme::api(&bases)?,
        acme::web(&bases)?,
        acme::worker(&bases)?,
        charts::api()?,
        utility::debug_tools(&bases)?,
        utility::redis(&bases)?,
    ])
}
