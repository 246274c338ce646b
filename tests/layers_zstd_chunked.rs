//! zstd:chunked layers, written by skopeo (containers/image and containers/storage, code
//! nobody here wrote) from a GNU tar of real files, are listed from their table of contents
//! with one Range request: the listing equals `zstd -dc blob | tar -tv` and the listing of
//! the same blob streamed, and the registry's access log shows the bytes read. A TOC that
//! does not match its annotation, or a registry that ignores Range, gets the layer streamed.

mod support;

use std::path::Path;
use std::process::Command;

use regatta::layers::{ListOptions, Origin, list_layer};
use regatta::registry::{
    Client, ClientOptions, CredentialSource, Descriptor, Digest, ManifestRef, RegistryAddr,
    RepoName, Tag,
};
use serde_json::json;
use support::cli::Sandbox;
use support::layers::{
    Blob, OCI_TAR, OCI_ZSTD, TarLine, gnu_tar, lines_of_json, sent_bytes, tar_tv,
};
use support::registry::{RegistryOptions, TestRegistry};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MISSING: &str =
    "skopeo not found: install it with `apt-get install -y skopeo` (scripts/test does)";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The annotations as containers/storage spells them now, and as skopeo 1.9 did.
const PREFIXES: [&str; 2] = [
    "io.github.containers.zstd-chunked.",
    "io.containers.zstd-chunked.",
];

fn skopeo_missing() -> bool {
    let missing = Command::new("skopeo").arg("--version").output().is_err();
    if missing {
        eprintln!("skipped: {MISSING}");
    }
    missing
}

fn skopeo(args: &[&str]) {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{MISSING}: {e}"));
    assert!(
        output.status.success(),
        "skopeo {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A GNU tar of `extra/` (a file, a hardlink to it, a symlink, a whiteout and an opaque
/// directory marker, made on disk) followed by the real system directories `dirs`, every
/// member owned by 1234:5678.
fn fixture_tar(dirs: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let extra = dir.path().join("extra");
    std::fs::create_dir_all(extra.join("cache")).expect("mkdir");
    std::fs::write(extra.join("a.txt"), b"hello\n").expect("a file");
    std::fs::hard_link(extra.join("a.txt"), extra.join("hard")).expect("a hardlink");
    std::os::unix::fs::symlink("a.txt", extra.join("link")).expect("a symlink");
    std::fs::write(extra.join(".wh.gone"), b"").expect("a whiteout");
    std::fs::write(extra.join("cache/.wh..wh..opq"), b"").expect("an opaque marker");
    // Owners other than root, which the TOC writes down (it leaves out a 0).
    let mut args = vec!["-c", "--owner=u:1234", "--group=g:5678", "extra", "-C", "/"];
    args.extend_from_slice(dirs);
    gnu_tar(dir.path(), &args)
}

/// An OCI image layout at `dir` whose tag `v1` is one uncompressed layer, `tar`.
fn write_layout(dir: &Path, tar: Vec<u8>) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    let put = |bytes: &[u8]| {
        let digest = Digest::sha256_of(bytes);
        std::fs::write(blobs.join(digest.hex()), bytes).expect("a blob");
        json!({"digest": digest.to_string(), "size": bytes.len()})
    };
    let mut layer = put(&tar);
    layer["mediaType"] = OCI_TAR.into();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
    }))
    .expect("JSON");
    let mut config = put(&config);
    config["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": [layer],
    }))
    .expect("JSON");
    let mut manifest = put(&manifest);
    manifest["mediaType"] = OCI_MANIFEST.into();
    manifest["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let index = json!({"schemaVersion": 2, "manifests": [manifest]});
    std::fs::write(dir.join("index.json"), index.to_string()).expect("index.json");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("oci-layout");
}

/// A zstd:chunked image made by skopeo from `tar` and pushed as `repo:chunked`; returns its
/// layer's descriptor (as JSON) and blob.
fn convert(registry: &TestRegistry, repo: &str, tar: Vec<u8>) -> (serde_json::Value, Blob) {
    let client = registry.client();
    // The source is a layout: from a registry already holding the uncompressed layer,
    // skopeo would reuse that instead of compressing.
    let layout = tempfile::tempdir().expect("temp dir");
    write_layout(layout.path(), tar);
    skopeo(&[
        "copy",
        "-q",
        "--dest-tls-verify=false",
        "--dest-compress-format",
        "zstd:chunked",
        &format!("oci:{}:v1", layout.path().display()),
        &format!("docker://{}/{repo}:chunked", registry.addr()),
    ]);
    let manifest = manifest_json(&client, repo, "chunked");
    let layer = manifest["layers"][0].clone();
    assert_eq!(layer["mediaType"], OCI_ZSTD, "{layer}");
    let digest = Digest::parse(layer["digest"].as_str().expect("digest")).expect("a digest");
    let stored = registry
        .storage_root()
        .join("docker/registry/v2/blobs/sha256")
        .join(&digest.hex()[..2])
        .join(digest.hex())
        .join("data");
    let bytes = std::fs::read(&stored).expect("the layer in the registry's storage");
    assert!(digest.matches(&bytes));
    (
        layer,
        Blob {
            media_type: OCI_ZSTD,
            bytes,
        },
    )
}

fn manifest_json(client: &Client, repo: &str, tag: &str) -> serde_json::Value {
    let fetched = support::block_on(client.get_manifest(
        &RepoName::parse(repo).expect("repo"),
        &ManifestRef::Tag(Tag::parse(tag).expect("tag")),
    ))
    .expect("the manifest");
    serde_json::from_slice(&fetched.bytes).expect("manifest JSON")
}

/// `repo:chunked` again as `repo:tag`, its layer's annotations changed by `edit`.
fn retag_with(
    client: &Client,
    repo: &str,
    tag: &str,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) {
    let mut manifest = manifest_json(client, repo, "chunked");
    edit(
        manifest["layers"][0]["annotations"]
            .as_object_mut()
            .expect("annotations"),
    );
    support::block_on(client.put_manifest(
        &RepoName::parse(repo).expect("repo"),
        &ManifestRef::Tag(Tag::parse(tag).expect("tag")),
        OCI_MANIFEST,
        serde_json::to_vec(&manifest).expect("JSON"),
    ))
    .expect("put the manifest");
}

/// The annotation `name` (without its prefix), in whichever spelling skopeo wrote.
fn annotation<'a>(layer: &'a serde_json::Value, name: &str) -> (String, &'a str) {
    PREFIXES
        .iter()
        .find_map(|p| {
            let key = format!("{p}{name}");
            let value = layer["annotations"][&key].as_str()?;
            Some((key, value))
        })
        .unwrap_or_else(|| panic!("no {name} annotation in {layer}"))
}

/// The compressed length of the TOC, from `manifest-position`.
fn toc_length(layer: &serde_json::Value) -> u64 {
    let (_, position) = annotation(layer, "manifest-position");
    let fields: Vec<u64> = position
        .split(':')
        .map(|f| f.parse().expect("a number"))
        .collect();
    assert_eq!(fields.len(), 4, "{position}");
    fields[1]
}

/// Lists `tag` with the binary in a fresh sandbox (so no cache), returning the layer's JSON
/// and what the registry sent for the blob.
fn list(
    registry: &TestRegistry,
    repo: &str,
    tag: &str,
    blob: &Blob,
) -> (serde_json::Value, Vec<(u16, u64)>) {
    let before = registry.log().len();
    let run = Sandbox::new().run(&[
        "files",
        &format!("{}/{repo}:{tag}", registry.addr()),
        "--json",
    ]);
    run.ok();
    // Waits until the registry has logged every request answered so far.
    registry.access_log_since(0);
    let sent = sent_bytes(
        &registry.log()[before..],
        &format!("/v2/{repo}/blobs/{}", blob.digest()),
    );
    (run.json()["layers"][0].clone(), sent)
}

#[test]
fn zstd_chunked_layers_are_listed_from_their_toc_with_one_range_request() {
    if skopeo_missing() {
        return;
    }
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let (layer, blob) = convert(&registry, "chunky", fixture_tar(&["usr/share/doc"]));
    // The independent truth: `zstd -dc blob | tar -tv`.
    let truth: Vec<TarLine> = tar_tv(&blob.tar());
    for (path, kind) in [
        ("extra/.wh.gone", '-'),
        ("extra/cache/.wh..wh..opq", '-'),
        ("extra/link", 'l'),
    ] {
        assert!(
            truth.iter().any(|l| l.path == path && l.kind == kind),
            "the fixture holds {path}"
        );
    }
    assert!(
        truth.iter().any(|l| l.kind == 'h'),
        "the fixture holds a hardlink"
    );

    // From the TOC: one Range request of exactly the TOC's bytes, under 1% of the layer.
    let (from_toc, sent) = list(&registry, "chunky", "chunked", &blob);
    let toc_bytes = toc_length(&layer);
    assert_eq!(sent, [(206, toc_bytes)], "one Range GET of the TOC");
    assert!(
        toc_bytes * 100 < blob.bytes.len() as u64,
        "{toc_bytes} bytes read of {}",
        blob.bytes.len()
    );
    assert_eq!(lines_of_json(&from_toc), truth);
    assert_eq!(from_toc["compression"], "zstd");
    assert_eq!(from_toc["compressed_bytes"], blob.bytes.len() as u64);
    // The content hash of a real file, checked against the file itself.
    let copyright = std::fs::read("/usr/share/doc/tar/copyright").expect("tar's copyright file");
    let entry = from_toc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["path"] == "usr/share/doc/tar/copyright")
        .expect("the copyright file is listed");
    assert_eq!(entry["sha256"], Digest::sha256_of(&copyright).hex());

    // The same blob without the annotations is streamed: every field of every entry
    // (modes, owners, times, hashes, whiteouts) is the same.
    let client = registry.client();
    retag_with(&client, "chunky", "plain", |a| a.clear());
    let (streamed, sent) = list(&registry, "chunky", "plain", &blob);
    assert_eq!(sent, [(200, blob.bytes.len() as u64)], "streamed whole");
    assert_eq!(streamed["entries"], from_toc["entries"]);
    assert_eq!(from_toc["entries"][0]["uid"], 1234);
    assert_eq!(from_toc["entries"][0]["gid"], 5678);
    assert!(streamed["tar_bytes"].as_u64().expect("tar bytes") > 0);

    // A checksum that is not the TOC's: the TOC is read, not believed, and the layer is
    // streamed.
    retag_with(&client, "chunky", "wrong", |a| {
        let (key, _) = annotation(&layer, "manifest-checksum");
        let other = Digest::sha256_of(b"another TOC").to_string();
        a.insert(key, other.into());
    });
    let (fallback, sent) = list(&registry, "chunky", "wrong", &blob);
    assert_eq!(
        sent,
        [(206, toc_bytes), (200, blob.bytes.len() as u64)],
        "the TOC, then the whole layer"
    );
    assert_eq!(fallback["entries"], from_toc["entries"]);

    // The annotations in the other spelling (skopeo 1.9 writes `io.containers.`, newer
    // containers tools `io.github.containers.`): listed from the TOC all the same.
    retag_with(&client, "chunky", "respelled", |a| {
        let respelled = std::mem::take(a).into_iter().map(|(key, value)| {
            let key = match key.strip_prefix(PREFIXES[1]) {
                Some(name) => format!("{}{name}", PREFIXES[0]),
                None => key.replacen(PREFIXES[0], PREFIXES[1], 1),
            };
            (key, value)
        });
        a.extend(respelled);
    });
    let (respelled, sent) = list(&registry, "chunky", "respelled", &blob);
    assert_eq!(sent, [(206, toc_bytes)], "one Range GET of the TOC");
    assert_eq!(respelled["entries"], from_toc["entries"]);
    eprintln!(
        "zstd:chunked layer of {} bytes, {} entries: listed from a TOC of {toc_bytes} bytes",
        blob.bytes.len(),
        truth.len()
    );
}

/// A registry that ignores `Range` (an HTTP server may answer 200 with the whole body): the
/// zstd:chunked layer is then streamed, with the listing the TOC gives. Distribution honours
/// Range, so this one is a fake server (wiremock) serving skopeo's blob.
#[test]
fn zstd_chunked_falls_back_to_streaming_when_range_is_ignored() {
    if skopeo_missing() {
        return;
    }
    let registry = TestRegistry::start();
    let (layer, blob) = convert(&registry, "small", fixture_tar(&["usr/share/doc/tar"]));
    let descriptor: Descriptor = serde_json::from_value(layer).expect("a descriptor");
    let repo = RepoName::parse("small").expect("repo");
    support::block_on(async {
        let (from_toc, origin) = list_layer(
            &registry.client(),
            &repo,
            &descriptor,
            &ListOptions::default(),
        )
        .await
        .expect("listed from the TOC");
        assert_eq!(origin, Origin::Registry);
        assert_eq!(
            from_toc.tar_bytes, 0,
            "from the TOC, the tar's size is unknown"
        );
        let paths: Vec<&str> = from_toc.entries.iter().map(|e| e.path.as_str()).collect();
        let truth: Vec<String> = tar_tv(&blob.tar()).into_iter().map(|l| l.path).collect();
        assert_eq!(paths, truth);

        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/v2/small/blobs/{}", blob.digest())))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(blob.bytes.clone()))
            .mount(&server)
            .await;
        let client = Client::new(
            RegistryAddr::parse(&server.address().to_string()).expect("addr"),
            ClientOptions {
                credentials: CredentialSource::Anonymous,
                certs_d_roots: Vec::new(),
                ..ClientOptions::default()
            },
        )
        .expect("client");
        let (streamed, _) = list_layer(&client, &repo, &descriptor, &ListOptions::default())
            .await
            .expect("listed by streaming");
        assert_eq!(streamed.entries, from_toc.entries);
        assert_eq!(streamed.tar_bytes, blob.tar().len() as u64, "streamed");
        let requests = server.received_requests().await.expect("recording on");
        let ranged: Vec<bool> = requests
            .iter()
            .map(|r| r.headers.contains_key("range"))
            .collect();
        // The TOC was asked for with Range, answered whole and dropped; then one GET.
        assert_eq!(ranged, [true, false]);
    });
}
