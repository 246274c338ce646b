//! How fast regatta reads a Distribution storage directory, against `find`.
//!
//! `cargo bench --bench storage_walk` generates a filesystem-driver tree of 200,000 blobs
//! (`blobs/sha256/<2>/<hex>/data` as sparse files of up to 64 MiB, so the tree takes inodes and
//! directory blocks but next to no data) plus 500 repositories with layer links, then times
//! `find ROOT -type f -printf '%s\n'` (its output read through a pipe) and regatta's full
//! reading of the same tree (`storage::snapshot::read_snapshot`: every listing, every tag link
//! and upload file) on a warm cache, median of 5 runs each, and prints the ratio (target:
//! regatta within 1.5x of find). Both must see the same bytes; the bench fails otherwise.
//!
//! Options: `--blobs N` (default 200000), `--repos N` (default 500), `--runs N` (default 5),
//! `--check` (exit 1 when the ratio is above 1.5).
//!
//! `--s3` instead uploads a tree of `--blobs N` (default 5000) small blobs with boto3 to a
//! local moto server and reads it from the bucket at concurrency 16 and 1, reporting moto's
//! request count and the time of each.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regatta::storage::dir::DirStorage;
use regatta::storage::snapshot::{ReadOptions, read_snapshot};
use sha2::{Digest as _, Sha256};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hex_of(i: usize) -> String {
    hex::encode(Sha256::digest(i.to_le_bytes()))
}

/// Writes the tree; returns the sum of the blob sizes.
fn generate(root: &Path, blobs: usize, repos: usize) -> u64 {
    let v2 = root.join("docker/registry/v2");
    let mut total = 0u64;
    for i in 0..blobs {
        let hex = hex_of(i);
        let dir = v2.join("blobs/sha256").join(&hex[..2]).join(&hex);
        std::fs::create_dir_all(&dir).expect("mkdir a blob dir");
        let size = (i as u64).wrapping_mul(2_654_435_761) % (64 << 20);
        let file = std::fs::File::create(dir.join("data")).expect("create a blob");
        file.set_len(size).expect("size a sparse blob");
        total += size;
    }
    for r in 0..repos {
        let repo = v2.join(format!("repositories/team{}/app{r}", r % 20));
        for l in 0..4 {
            let hex = hex_of((r * 4 + l) % blobs.max(1));
            let dir = repo.join("_layers/sha256").join(&hex);
            std::fs::create_dir_all(&dir).expect("mkdir a layer link");
            std::fs::write(dir.join("link"), format!("sha256:{hex}")).expect("write a link");
        }
    }
    total
}

/// `find ROOT -type f -printf '%s\n'`, its output read through a pipe: the sum of the sizes of
/// the `data` files under blobs (all regular files there are).
fn find(root: &Path) -> (Duration, u64) {
    let blobs = root.join("docker/registry/v2");
    let start = Instant::now();
    let out = Command::new("find")
        .arg(&blobs)
        .args(["-type", "f", "-printf", "%s\n"])
        .stdout(Stdio::piped())
        .output()
        .expect("run find");
    let took = start.elapsed();
    assert!(out.status.success(), "find failed");
    let text = String::from_utf8_lossy(&out.stdout);
    // Link files are 71 bytes each; the bench compares the blob total below.
    let sum = text.lines().filter_map(|l| l.parse::<u64>().ok()).sum();
    (took, sum)
}

fn regatta(runtime: &tokio::runtime::Runtime, root: &Path) -> (Duration, u64) {
    let storage = DirStorage::open(root).expect("open the tree");
    let start = Instant::now();
    let snapshot = runtime
        .block_on(read_snapshot(&storage, &ReadOptions::default()))
        .expect("read the tree");
    let took = start.elapsed();
    (took, snapshot.blobs.values().sum())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The `--s3` run (see the module docs).
fn s3(blobs: usize, repos: usize) {
    let dir = tempfile::Builder::new()
        .prefix("regatta-storage-walk-s3-")
        .tempdir()
        .expect("a temporary directory");
    let v2 = dir.path().join("docker/registry/v2");
    let mut total = 0u64;
    for i in 0..blobs {
        let hex = hex_of(i);
        let d = v2.join("blobs/sha256").join(&hex[..2]).join(&hex);
        std::fs::create_dir_all(&d).expect("mkdir");
        let size = (i % 512) as u64;
        std::fs::write(d.join("data"), vec![0u8; size as usize]).expect("write");
        total += size;
    }
    for r in 0..repos {
        let hex = hex_of(r % blobs.max(1));
        let d = v2.join(format!(
            "repositories/team{}/app{r}/_layers/sha256/{hex}",
            r % 20
        ));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("link"), format!("sha256:{hex}")).expect("write");
    }
    let moto = support::moto::Moto::start();
    eprint!("uploading {blobs} blobs to moto ... ");
    let _ = std::io::stderr().flush();
    let start = Instant::now();
    moto.upload_tree("walk", "reg", dir.path());
    eprintln!("{:.1?}", start.elapsed());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let endpoint = moto.endpoint();
    let settings = [
        ("aws_endpoint", endpoint.as_str()),
        ("aws_region", "us-east-1"),
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
        ("aws_allow_http", "true"),
    ];
    let storage = regatta::storage::s3::S3Storage::open_with("s3://walk/reg", &settings)
        .expect("open the bucket");
    for concurrency in [16, 1] {
        let before = moto.requests().len();
        let start = Instant::now();
        let snapshot = runtime
            .block_on(read_snapshot(
                &storage,
                &ReadOptions {
                    concurrency,
                    ..ReadOptions::default()
                },
            ))
            .expect("read the bucket");
        let took = start.elapsed();
        assert_eq!(snapshot.blobs.len(), blobs);
        assert_eq!(snapshot.blobs.values().sum::<u64>(), total);
        println!(
            "s3 reading: {blobs} blobs, {repos} repositories, concurrency {concurrency}: {} requests ({} listings, {} reads), {took:.2?}",
            moto.requests().len() - before,
            snapshot.counts.listings,
            snapshot.counts.reads
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--s3") {
        s3(arg("--blobs", 5_000), arg("--repos", 100));
        return;
    }
    let blobs = arg("--blobs", 200_000);
    let repos = arg("--repos", 500);
    let runs = arg("--runs", 5).max(1);
    let check = std::env::args().any(|a| a == "--check");
    let dir = tempfile::Builder::new()
        .prefix("regatta-storage-walk-")
        .tempdir()
        .expect("a temporary directory");
    let root = dir.path();
    eprint!("generating {blobs} blobs and {repos} repositories ... ");
    let _ = std::io::stderr().flush();
    let start = Instant::now();
    let total = generate(root, blobs, repos);
    eprintln!("{:.1?}", start.elapsed());
    let links = (repos * 4) as u64 * 71;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Warm the cache for both.
    let _ = find(root);
    let _ = regatta(&runtime, root);
    let mut finds = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..runs {
        let (t, sum) = find(root);
        assert_eq!(sum, total + links, "find's sum");
        finds.push(t);
        let (t, sum) = regatta(&runtime, root);
        assert_eq!(sum, total, "regatta's sum of blob sizes");
        ours.push(t);
    }
    let (f, o) = (median(finds), median(ours));
    let ratio = o.as_secs_f64() / f.as_secs_f64();
    println!(
        "storage walk: {blobs} blobs, {repos} repositories ({} GiB apparent): find {:.2?}, regatta {:.2?}, ratio {ratio:.2}x (target <= 1.5x)",
        total >> 30,
        f,
        o
    );
    if check && ratio > 1.5 {
        std::process::exit(1);
    }
}
