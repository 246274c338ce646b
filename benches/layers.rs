//! How fast a layer listing is against the floor of downloading and inflating the same
//! layer, against a real `docker-registry` on loopback.
//!
//! `cargo bench --bench layers` builds a gzip layer with GNU tar from `/usr/share/doc` (real
//! files; at least 50 MB compressed here, more directories are added when it is smaller),
//! pushes it, and in child processes (so each peak memory, VmHWM, is the measurement's own):
//! - floor: download the blob through the client's stream and inflate it (flate2 with the
//!   zlib-rs backend) into nothing, pipelined on two threads like the listing, the chunks
//!   read in place as the listing reads them;
//! - listing: `LayerSource::list` with no cache (download, digest check, inflate, tar
//!   parse, sha256 of every file).
//!
//! It prints the best of `ROUNDS` of each and their ratio (the target is at most 1.2), the
//! peak memory of each against the layer's size, and the inflate backends compared on the
//! blob in memory (zlib-rs through flate2, miniz_oxide, GNU gzip).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, Read};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use regatta::layers::{LayerSource, ListOptions};
use regatta::registry::{Client, ClientOptions, Descriptor, Digest, RegistryAddr, RepoName};
use support::layers::{OCI_GZIP, gnu_tar};
use support::registry::TestRegistry;

const ROUNDS: usize = 5;
const MIN_BYTES: usize = 50 * 1024 * 1024;

fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn client(addr: &str) -> Client {
    Client::new(
        RegistryAddr::parse(&format!("http://{addr}")).expect("address"),
        ClientOptions {
            credentials: regatta::registry::CredentialSource::Anonymous,
            certs_d_roots: Vec::new(),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

/// A child: one measurement, one JSON line on stdout.
fn child(kind: &str, addr: &str, repo: &str, digest: &str, size: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = client(addr);
    let repo = RepoName::parse(repo).expect("repo");
    let digest = Digest::parse(digest).expect("digest");
    let started = Instant::now();
    let detail = runtime.block_on(async {
        match kind {
            "floor" => {
                let mut body = client
                    .get_blob_stream(&repo, &digest, size)
                    .await
                    .expect("GET the blob");
                let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
                let inflate = std::thread::spawn(move || {
                    let reader = ChannelRead {
                        rx,
                        chunk: bytes::Bytes::new(),
                        at: 0,
                    };
                    let mut gz = flate2::bufread::MultiGzDecoder::new(reader);
                    std::io::copy(&mut gz, &mut std::io::sink()).expect("inflate")
                });
                while let Some(chunk) = body.chunk_bytes().await.expect("chunk") {
                    if tx.send(chunk).is_err() {
                        break;
                    }
                }
                drop(tx);
                format!("{} bytes inflated", inflate.join().expect("inflate thread"))
            }
            _ => {
                let source = LayerSource::Registry {
                    client: client.clone(),
                    repo: repo.clone(),
                };
                let layer = Descriptor {
                    media_type: OCI_GZIP.into(),
                    digest: digest.clone(),
                    size,
                    platform: None,
                    annotations: None,
                };
                let (listing, _) = source
                    .list(&layer, &ListOptions::default())
                    .await
                    .expect("list the layer");
                format!("{} entries", listing.entries.len())
            }
        }
    });
    println!(
        "{{\"ms\":{},\"peak_kb\":{},\"detail\":\"{detail}\"}}",
        started.elapsed().as_secs_f64() * 1000.0,
        peak_kb()
    );
}

/// The chunks as the client received them, read in place by the decompressor (no copy), as
/// the listing reads them.
struct ChannelRead {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    chunk: bytes::Bytes,
    at: usize,
}

impl BufRead for ChannelRead {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.at = 0;
                }
                Err(_) => return Ok(&[]),
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at += n;
    }
}

impl Read for ChannelRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = buf.len().min(available.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

fn run_child(kind: &str, addr: &str, repo: &str, digest: &Digest, size: u64) -> (f64, u64, String) {
    let out = Command::new(std::env::current_exe().expect("this binary"))
        .args([
            "--child",
            kind,
            addr,
            repo,
            digest.as_str(),
            &size.to_string(),
        ])
        .output()
        .expect("run a child");
    assert!(
        out.status.success(),
        "the {kind} child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).expect("UTF-8");
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    (
        v["ms"].as_f64().expect("ms"),
        v["peak_kb"].as_u64().expect("peak"),
        v["detail"].as_str().unwrap_or("").to_string(),
    )
}

fn build_layer() -> Vec<u8> {
    let mut dirs = vec!["usr/share/doc"];
    let extra = ["usr/share/locale", "usr/lib/x86_64-linux-gnu", "usr/share"];
    let mut blob = gnu_tar(Path::new("/"), &[&["-cz"][..], &dirs[..]].concat());
    for more in extra {
        if blob.len() >= MIN_BYTES {
            break;
        }
        dirs.push(more);
        blob = gnu_tar(Path::new("/"), &[&["-cz"][..], &dirs[..]].concat());
    }
    println!(
        "layer: GNU tar -cz over {} = {:.1} MB compressed",
        dirs.join(" "),
        blob.len() as f64 / 1e6
    );
    blob
}

fn inflate_backends(blob: &[u8]) {
    let time = |f: &dyn Fn() -> usize| {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..3 {
            let t = Instant::now();
            n = f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        (best, n)
    };
    let (zlib_rs, n) = time(&|| {
        let mut gz = flate2::read::MultiGzDecoder::new(blob);
        std::io::copy(&mut gz, &mut std::io::sink()).expect("inflate") as usize
    });
    // miniz_oxide on the raw deflate stream (a gzip member written by GNU tar through
    // gzip: a 10-byte header with no name, an 8-byte trailer).
    let (miniz, _) = time(&|| {
        miniz_oxide::inflate::decompress_to_vec(&blob[10..blob.len() - 8])
            .expect("miniz inflate")
            .len()
    });
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), blob).expect("write");
    let (gnu, _) = time(&|| {
        let out = Command::new("gzip")
            .args(["-dc"])
            .arg(file.path())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("gzip");
        assert!(out.success());
        0
    });
    let mbps = |s: f64| n as f64 / 1e6 / s;
    println!("inflate only, {:.1} MB out, best of 3:", n as f64 / 1e6);
    println!(
        "  flate2 + zlib-rs  {:>7.0} ms  {:>6.0} MB/s",
        zlib_rs * 1e3,
        mbps(zlib_rs)
    );
    println!(
        "  miniz_oxide       {:>7.0} ms  {:>6.0} MB/s",
        miniz * 1e3,
        mbps(miniz)
    );
    println!(
        "  GNU gzip -dc      {:>7.0} ms  {:>6.0} MB/s (a process, to /dev/null)",
        gnu * 1e3,
        mbps(gnu)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        let a = &args[at + 1..];
        child(&a[0], &a[1], &a[2], &a[3], a[4].parse().expect("size"));
        return;
    }
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return;
    }
    if cfg!(debug_assertions) {
        println!("(a debug build: the timings mean nothing; run `cargo bench --bench layers`)");
    }
    let blob = build_layer();
    inflate_backends(&blob);
    let registry = TestRegistry::start();
    let repo = "bench/layer";
    let size = blob.len() as u64;
    let digest = support::block_on(async {
        let client = registry.client();
        client
            .upload_blob(&RepoName::parse(repo).expect("repo"), blob)
            .await
            .expect("push the layer")
    });
    let addr = registry.addr();
    let (mut floor, mut listing) = (f64::MAX, f64::MAX);
    let (mut floor_peak, mut listing_peak) = (0, 0);
    let mut detail = String::new();
    for _ in 0..ROUNDS {
        let (ms, kb, _) = run_child("floor", &addr, repo, &digest, size);
        floor = floor.min(ms);
        floor_peak = floor_peak.max(kb);
        let (ms, kb, d) = run_child("list", &addr, repo, &digest, size);
        listing = listing.min(ms);
        listing_peak = listing_peak.max(kb);
        detail = d;
    }
    let mb = size as f64 / 1e6;
    println!("from the registry, best of {ROUNDS} (child processes):");
    println!(
        "  floor (download + inflate)  {floor:>7.0} ms  {:>6.0} MB/s compressed  peak {} MB",
        mb / (floor / 1e3),
        floor_peak / 1024
    );
    println!(
        "  listing ({detail:>13})  {listing:>7.0} ms  {:>6.0} MB/s compressed  peak {} MB",
        mb / (listing / 1e3),
        listing_peak / 1024
    );
    println!(
        "  ratio listing/floor: {:.2} (target <= 1.2); layer {:.1} MB, listing peak {:.0}% of it",
        listing / floor,
        mb,
        listing_peak as f64 / 1024.0 / mb * 100.0
    );
}
