//! Layers for the `files`, `hints` and `diff` tests: blobs made by GNU `tar` over real
//! directories or written here with the `tar` crate (whiteouts, links, devices, long names,
//! sparse files), pushed as images through the project's client; and `tar -tv` of a blob as
//! the independent truth a listing is compared with.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use regatta::registry::{Client, Digest, ManifestRef, RepoName, Tag};
use serde_json::json;

pub const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// A layer blob as pushed: its bytes and media type.
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.bytes)
    }

    /// The uncompressed tar, decompressed by the `gzip` or `zstd` tool.
    pub fn tar(&self) -> Vec<u8> {
        self.try_tar().expect("the blob decompresses")
    }

    /// [`tar`](Self::tar), or `None` when the tool refuses the blob (a broken fixture).
    pub fn try_tar(&self) -> Option<Vec<u8>> {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), &self.bytes).expect("write the blob");
        let flag = match self.media_type {
            OCI_GZIP => "-z",
            OCI_ZSTD => "--zstd",
            _ => return Some(self.bytes.clone()),
        };
        // Decompressed by the tool of the format.
        let tool = if flag == "-z" { "gzip" } else { "zstd" };
        let out = Command::new(tool)
            .args(["-dc"])
            .stdin(std::fs::File::open(file.path()).expect("open"))
            .output()
            .expect("decompress");
        out.status.success().then_some(out.stdout)
    }
}

/// `tar ARGS` writing the archive to stdout (`-f -`), from `dir`.
pub fn gnu_tar(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("tar")
        .current_dir(dir)
        .args(args)
        .args(["-f", "-"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run GNU tar");
    assert!(out.status.success(), "tar {args:?} failed");
    out.stdout
}

/// gzip of `bytes` by the `gzip` tool.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("gzip")
        .args(["-c", "-n", "-1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).expect("feed gzip"));
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read gzip");
    writer.join().expect("writer");
    assert!(child.wait().expect("wait").success());
    out
}

/// One line of `tar -tv --numeric-owner`: what a listing must agree with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TarLine {
    pub path: String,
    /// The mode column's first letter (`-`, `d`, `l`, `h`, `c`, `b`, `p`).
    pub kind: char,
    /// The size column: bytes, or `major,minor` for devices.
    pub size: String,
    /// A symlink's target or a hardlink's.
    pub link: Option<String>,
}

/// `tar -tv --numeric-owner` of a blob, as GNU tar reads it (it finds the compression
/// itself), in archive order, paths made relative as regatta makes them.
pub fn tar_tv(blob: &[u8]) -> Vec<TarLine> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), blob).expect("write the blob");
    let out = Command::new("tar")
        .env("LC_ALL", "C.UTF-8")
        .args(["-tv", "--numeric-owner", "--quoting-style=literal", "-f"])
        .arg(file.path())
        .output()
        .expect("run tar -tv");
    assert!(
        out.status.success(),
        "tar -tv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 listing")
        .lines()
        .map(parse_tv_line)
        .collect()
}

fn parse_tv_line(line: &str) -> TarLine {
    // mode, owner, size, date, time, then the name (which may hold spaces).
    let mut rest = line;
    let mut fields = Vec::new();
    for _ in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(' ').expect("five columns before the name");
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    let name = &rest[1..];
    let kind = fields[0].chars().next().expect("a mode");
    let (path, link) = match kind {
        'l' => {
            let (p, l) = name.split_once(" -> ").expect("a symlink target");
            (p, Some(l.to_string()))
        }
        'h' => {
            let (p, l) = name.split_once(" link to ").expect("a hardlink target");
            (p, Some(normalize(l)))
        }
        _ => (name, None),
    };
    TarLine {
        path: normalize(path),
        kind,
        size: fields[2].to_string(),
        link,
    }
}

/// As `regatta::layers::entry::normalize_path` (written again here on purpose).
pub fn normalize(raw: &str) -> String {
    let mut p = raw.trim_start_matches('/');
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.trim_start_matches('/');
    }
    let p = p.trim_end_matches('/');
    if p.is_empty() || p == "." {
        ".".into()
    } else {
        p.into()
    }
}

/// The same lines made from the JSON of `regatta files --json` for one layer.
pub fn lines_of_json(layer: &serde_json::Value) -> Vec<TarLine> {
    layer["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let kind = match e["kind"].as_str().expect("kind") {
                "file" => '-',
                "dir" => 'd',
                "symlink" => 'l',
                "hardlink" => 'h',
                "char_device" => 'c',
                "block_device" => 'b',
                "fifo" => 'p',
                other => panic!("unexpected kind {other}"),
            };
            let size = match e.get("device") {
                Some(d) => format!("{},{}", d[0], d[1]),
                None => e["size"].to_string(),
            };
            TarLine {
                path: e["path"].as_str().expect("path").to_string(),
                kind,
                size,
                link: e.get("link").map(|l| l.as_str().expect("link").to_string()),
            }
        })
        .collect()
}

/// Pushes an OCI image of these layer blobs as `repo:tag`; returns the manifest digest.
pub async fn push_image(client: &Client, repo: &str, tag: &str, layers: &[Blob]) -> Digest {
    let history: Vec<String> = layers.iter().map(|_| "test layer".to_string()).collect();
    push_image_with(client, repo, tag, layers, json!({}), &history).await
}

/// [`push_image`] with this run config (`config` of the image config: Env, Labels, ...)
/// and these build steps as the history's `created_by`.
pub async fn push_image_with(
    client: &Client,
    repo: &str,
    tag: &str,
    layers: &[Blob],
    run_config: serde_json::Value,
    history: &[String],
) -> Digest {
    let none = vec![None; layers.len()];
    push_image_annotated(client, repo, tag, layers, run_config, history, &none).await
}

/// [`push_image_with`] with annotations on the layer descriptors (one per layer).
pub async fn push_image_annotated(
    client: &Client,
    repo: &str,
    tag: &str,
    layers: &[Blob],
    run_config: serde_json::Value,
    history: &[String],
    annotations: &[Option<serde_json::Value>],
) -> Digest {
    let repo = RepoName::parse(repo).expect("repo name");
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for (layer, annotation) in layers.iter().zip(annotations) {
        let digest = client
            .upload_blob(&repo, layer.bytes.clone())
            .await
            .expect("upload a layer");
        // A broken fixture has no uncompressed form; its diff_id is then only a placeholder.
        let tar = layer.try_tar().unwrap_or_else(|| layer.bytes.clone());
        diff_ids.push(Digest::sha256_of(&tar).to_string());
        let mut descriptor = json!({
            "mediaType": layer.media_type,
            "digest": digest.to_string(),
            "size": layer.bytes.len(),
        });
        if let Some(a) = annotation {
            descriptor["annotations"] = a.clone();
        }
        descriptors.push(descriptor);
    }
    let config = serde_json::to_vec(&json!({
        "created": "2025-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": run_config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history.iter().map(|h| json!({"created_by": h})).collect::<Vec<_>>(),
    }))
    .expect("config json");
    let config_len = config.len();
    let config_digest = client
        .upload_blob(&repo, config)
        .await
        .expect("upload the config");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config_len},
        "layers": descriptors,
    }))
    .expect("manifest json");
    client
        .put_manifest(
            &repo,
            &ManifestRef::Tag(Tag::parse(tag).expect("tag")),
            OCI_MANIFEST,
            manifest,
        )
        .await
        .expect("put the manifest")
}

/// Octal in a GNU header field, NUL-terminated.
fn octal(field: &mut [u8], value: u64) {
    let text = format!("{:0width$o}\0", value, width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

/// The bytes of the hand-built old-GNU sparse file of [`special_entries`]: 512 `A`s, a
/// hole to 1 MiB, 100 `B`s, a hole to 2 MiB.
pub fn sparse_content() -> Vec<u8> {
    let mut v = vec![0u8; 2 * 1024 * 1024];
    v[..512].fill(b'A');
    v[1024 * 1024..1024 * 1024 + 100].fill(b'B');
    v
}

/// A name carrying a terminal escape sequence (clear screen, then an OSC 52 clipboard write).
pub const HOSTILE_NAME: &str = "etc/evil\u{1b}[2J\u{1b}]52;c;aGk=\u{7}name";

/// A tar written entry by entry with the `tar` crate: a directory, a file, a symlink, a
/// hardlink, character and block devices, a fifo, a whiteout and an opaque marker, a PAX
/// long name and long link target, a GNU long name, an old-GNU sparse file, and a name with
/// escape sequences.
pub fn special_entries() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let gnu = |path: &str, kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("a short path");
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_mtime(1_700_000_000);
        h
    };
    let mut add = |mut h: tar::Header, data: &[u8]| {
        h.set_cksum();
        b.append(&h, data).expect("append");
    };
    add(gnu("etc/", tar::EntryType::Directory, 0, 0o755), b"");
    add(
        gnu("etc/hosts", tar::EntryType::Regular, 10, 0o644),
        b"127.0.0.1\n",
    );
    let mut link = gnu("etc/localtime", tar::EntryType::Symlink, 0, 0o777);
    link.set_link_name("/usr/share/zoneinfo/UTC").expect("link");
    add(link, b"");
    let mut hard = gnu("etc/hosts.bak", tar::EntryType::Link, 0, 0o644);
    hard.set_link_name("etc/hosts").expect("link");
    add(hard, b"");
    let mut null = gnu("dev/null", tar::EntryType::Char, 0, 0o666);
    null.set_device_major(1).expect("major");
    null.set_device_minor(3).expect("minor");
    add(null, b"");
    let mut sda = gnu("dev/sda", tar::EntryType::Block, 0, 0o660);
    sda.set_device_major(8).expect("major");
    sda.set_device_minor(0).expect("minor");
    add(sda, b"");
    add(gnu("run/fifo", tar::EntryType::Fifo, 0, 0o644), b"");
    add(gnu("etc/.wh.motd", tar::EntryType::Regular, 0, 0o644), b"");
    add(
        gnu("var/cache/.wh..wh..opq", tar::EntryType::Regular, 0, 0o644),
        b"",
    );
    add(gnu(HOSTILE_NAME, tar::EntryType::Regular, 3, 0o644), b"bad");
    // Old GNU sparse: the map in the header, the runs back to back as data.
    let mut sparse = gnu("var/sparse.img", tar::EntryType::GNUSparse, 612, 0o644);
    {
        let g = sparse.as_gnu_mut().expect("a GNU header");
        octal(&mut g.sparse[0].offset, 0);
        octal(&mut g.sparse[0].numbytes, 512);
        octal(&mut g.sparse[1].offset, 1024 * 1024);
        octal(&mut g.sparse[1].numbytes, 100);
        octal(&mut g.realsize, 2 * 1024 * 1024);
    }
    let mut runs = vec![b'A'; 512];
    runs.extend(vec![b'B'; 100]);
    add(sparse, &runs);
    // PAX long name and long link target (ustar headers with PAX records before them).
    let long_dir = format!("opt/{}", "very-long-directory-name/".repeat(8));
    let pax_name = format!("{long_dir}pax-file.txt");
    b.append_pax_extensions([("path", pax_name.as_bytes())])
        .expect("pax");
    let mut h = tar::Header::new_ustar();
    h.set_path("opt/pax-file.txt").expect("path");
    h.set_size(4);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &b"pax\n"[..]).expect("append");
    let pax_target = format!("/{long_dir}target");
    b.append_pax_extensions([
        ("path", format!("{long_dir}pax-link").as_bytes()),
        ("linkpath", pax_target.as_bytes()),
    ])
    .expect("pax");
    let mut h = tar::Header::new_ustar();
    h.set_path("opt/pax-link").expect("path");
    h.set_mode(0o777);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_cksum();
    b.append(&h, &b""[..]).expect("append");
    // GNU long name (a `././@LongLink` member before the entry).
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o600);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(
        &mut h,
        format!("{long_dir}gnu-long-name.txt"),
        &b"long\n"[..],
    )
    .expect("append");
    b.into_inner().expect("finish the tar")
}

/// A directory holding one sparse file (`sparse.bin`: 8 MiB, data at 0 and at 4 MiB), and
/// the file's bytes.
pub fn sparse_dir() -> (tempfile::TempDir, Vec<u8>) {
    use std::io::{Seek, SeekFrom};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sparse.bin");
    let mut f = std::fs::File::create(&path).expect("create");
    f.set_len(8 * 1024 * 1024).expect("set_len");
    f.write_all(b"head of a sparse file\n").expect("write");
    f.seek(SeekFrom::Start(4 * 1024 * 1024)).expect("seek");
    f.write_all(&[b'x'; 10_000]).expect("write");
    drop(f);
    let bytes = std::fs::read(&path).expect("read back");
    (dir, bytes)
}

pub fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A layer of these entries: `(path, Some(content))` for a file, `(path/, None)` for a dir.
pub fn layer(entries: &[(&str, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("path");
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        match content {
            Some(data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, &data[..]).expect("file");
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_cksum();
                b.append(&h, &b""[..]).expect("dir");
            }
        }
    }
    b.into_inner().expect("tar")
}

/// (path, size) of each tar entry as the `tar` crate reads it.
pub fn entries_of(tar_bytes: &[u8]) -> Vec<(String, u64, bool)> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive
        .entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            let path = e.path().expect("path").to_string_lossy().into_owned();
            let is_dir = e.header().entry_type().is_dir();
            (
                path.trim_end_matches('/').to_string(),
                e.header().size().expect("size"),
                is_dir,
            )
        })
        .collect()
}

/// The merged filesystem worked out naively: path -> (layer from 1, size, is_dir).
pub fn merged_naively(tars: &[Vec<u8>]) -> std::collections::BTreeMap<String, (usize, u64, bool)> {
    let mut fs: std::collections::BTreeMap<String, (usize, u64, bool)> =
        std::collections::BTreeMap::new();
    for (i, t) in tars.iter().enumerate() {
        let entries = entries_of(t);
        for (path, _, _) in &entries {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            if name == ".wh..wh..opq" {
                fs.retain(|p, _| !p.starts_with(&format!("{dir}/")));
            } else if let Some(gone) = name.strip_prefix(".wh.") {
                let gone = if dir.is_empty() {
                    gone.to_string()
                } else {
                    format!("{dir}/{gone}")
                };
                fs.retain(|p, _| *p != gone && !p.starts_with(&format!("{gone}/")));
            }
        }
        for (path, size, is_dir) in entries {
            if !path.rsplit('/').next().unwrap_or("").starts_with(".wh.") {
                fs.insert(path, (i + 1, size, is_dir));
            }
        }
    }
    fs
}

/// An eStargz blob (containerd/stargz-snapshotter `docs/estargz.md`) of these files: each
/// entry in a gzip member of its own, then the TOC (`stargz.index.json` in a gzip'd tar,
/// with the end-of-archive blocks), then the 51-byte footer pointing at the TOC. Also a
/// valid `tar.gz` (multi-member gzip), which GNU tar reads. Returns the blob and the TOC
/// JSON (whose sha256 is the `toc.digest` annotation).
pub fn estargz(files: &[(&str, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    use flate2::write::GzEncoder;
    use sha2::{Digest as _, Sha256};
    let member = |bytes: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).expect("gzip");
        e.finish().expect("gzip")
    };
    let header = |path: &str, kind: tar::EntryType, size: u64, mode: u32| {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).expect("path");
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        h.as_bytes().to_vec()
    };
    let pad = |n: usize| vec![0u8; (512 - n % 512) % 512];
    let mut blob = Vec::new();
    let mut toc = vec![json!({
        "name": "data/", "type": "dir", "modtime": "2023-11-14T22:13:20Z", "mode": 0o755,
    })];
    blob.extend(member(&header(
        "data/",
        tar::EntryType::Directory,
        0,
        0o755,
    )));
    for (path, content) in files {
        let mut raw = header(path, tar::EntryType::Regular, content.len() as u64, 0o644);
        raw.extend_from_slice(content);
        raw.extend(pad(content.len()));
        toc.push(json!({
            "name": path, "type": "reg", "size": content.len(),
            "modtime": "2023-11-14T22:13:20Z", "mode": 0o644,
            "offset": blob.len(),
            "digest": format!("sha256:{}", hex::encode(Sha256::digest(content))),
        }));
        blob.extend(member(&raw));
    }
    let toc_json = serde_json::to_vec(&json!({"version": 1, "entries": toc})).expect("toc");
    let toc_offset = blob.len();
    let mut raw = header(
        "stargz.index.json",
        tar::EntryType::Regular,
        toc_json.len() as u64,
        0o644,
    );
    raw.extend_from_slice(&toc_json);
    raw.extend(pad(toc_json.len()));
    raw.extend(vec![0u8; 1024]);
    blob.extend(member(&raw));
    // The footer: an empty gzip member whose extra field `SG` holds the TOC offset.
    let mut footer = vec![0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 26, 0];
    footer.extend_from_slice(b"SG");
    footer.extend_from_slice(&22u16.to_le_bytes());
    footer.extend_from_slice(format!("{toc_offset:016x}STARGZ").as_bytes());
    footer.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    footer.extend_from_slice(&[0; 8]);
    assert_eq!(footer.len(), 51);
    blob.extend(footer);
    (blob, toc_json)
}

/// Bytes the registry sent for GETs whose path starts with `prefix`, by status, from its
/// access log (Distribution logs the response size after the status).
pub fn sent_bytes(log: &str, prefix: &str) -> Vec<(u16, u64)> {
    log.lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("] \"")?;
            let (request, rest) = rest.split_once('"')?;
            let mut parts = request.split(' ');
            if parts.next()? != "GET" || !parts.next()?.starts_with(prefix) {
                return None;
            }
            let mut fields = rest.split_whitespace();
            let status = fields.next()?.parse().ok()?;
            let bytes = fields.next()?.parse().unwrap_or(0);
            Some((status, bytes))
        })
        .collect()
}
