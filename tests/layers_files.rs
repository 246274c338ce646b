//! `regatta files`: layer listings read from a real registry, compared with GNU `tar -tv` of
//! the same blobs; the second run reads no blob (the cache), as the registry's access log
//! shows; corrupt layers and hostile names.

mod support;

use std::collections::BTreeSet;

use sha2::{Digest as _, Sha256};
use support::cli::Sandbox;
use support::layers::{
    Blob, HOSTILE_NAME, OCI_GZIP, OCI_TAR, OCI_ZSTD, TarLine, gnu_tar, gzip, lines_of_json,
    push_image, sparse_content, sparse_dir, special_entries, tar_tv,
};
use support::registry::{Logged, RegistryOptions, TestRegistry};

fn registry() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

fn layer_gets(registry: &TestRegistry, from: usize, layers: &[Blob]) -> usize {
    let digests: Vec<String> = layers.iter().map(|l| l.digest().to_string()).collect();
    registry
        .access_log_since(from)
        .iter()
        .filter(|e| e.kind() == Logged::BlobGet && digests.iter().any(|d| e.target.contains(d)))
        .count()
}

#[track_caller]
fn assert_same_listing(layer_json: &serde_json::Value, blob: &Blob) {
    let ours = lines_of_json(layer_json);
    let truth: Vec<TarLine> = tar_tv(&blob.bytes);
    assert_eq!(
        ours.len(),
        truth.len(),
        "entry count of {} ({})",
        blob.digest(),
        blob.media_type
    );
    for (a, b) in ours.iter().zip(&truth) {
        // GNU tar shows an old-GNU sparse member with the `S` letter of its type flag.
        let kind_ok = a.kind == b.kind || (a.kind == '-' && b.kind == 'S');
        assert!(
            kind_ok && a.path == b.path && a.size == b.size && a.link == b.link,
            "regatta: {a:?}\ntar -tv: {b:?}"
        );
    }
}

/// GNU tar over real system directories (`/usr/share/doc`: about 5,000 files, 120 MB),
/// gzip'd, zstd'd and plain, pushed as one image:
/// each listing equals `tar -tv` of its blob; the second run makes no layer GET.
#[test]
fn gnu_tar_layers_of_real_directories_list_as_tar_tv_and_are_cached() {
    let registry = registry();
    let root = std::path::Path::new("/");
    let layers = vec![
        Blob {
            media_type: OCI_GZIP,
            bytes: gnu_tar(root, &["-cz", "usr/share/doc"]),
        },
        Blob {
            media_type: OCI_ZSTD,
            bytes: gnu_tar(root, &["--zstd", "-c", "usr/share/perl5"]),
        },
        Blob {
            media_type: OCI_TAR,
            bytes: gnu_tar(root, &["-c", "usr/share/zoneinfo"]),
        },
    ];
    support::block_on(push_image(&registry.client(), "sys/docs", "v1", &layers));
    let reference = format!("{}/sys/docs:v1", registry.addr());
    let sandbox = Sandbox::new();

    let before = registry.access_log().len();
    let run = sandbox.run(&["files", &reference, "--json"]);
    run.ok();
    let report = run.json();
    let listed = report["layers"].as_array().expect("layers");
    assert_eq!(listed.len(), 3);
    for (json, blob) in listed.iter().zip(&layers) {
        assert_eq!(json["digest"], blob.digest().to_string());
        assert_eq!(json["compressed_bytes"], blob.bytes.len() as u64);
        assert_eq!(json["tar_bytes"], blob.tar().len() as u64);
        assert_same_listing(json, blob);
    }
    assert_eq!(listed[0]["compression"], "gzip");
    assert_eq!(listed[1]["compression"], "zstd");
    assert_eq!(listed[2]["compression"], "none");
    // Each layer was read exactly once.
    assert_eq!(layer_gets(&registry, before, &layers), 3);

    // The content hash of a real file, checked against the file itself.
    let copyright = std::fs::read("/usr/share/doc/tar/copyright").expect("tar's copyright file");
    let entry = listed[0]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["path"] == "usr/share/doc/tar/copyright")
        .expect("the copyright file is listed");
    assert_eq!(entry["sha256"], hex::encode(Sha256::digest(&copyright)));

    // Again, as text: the same entries, and no layer read from the registry.
    let before = registry.access_log().len();
    let again = sandbox.run(&["files", &reference, "--layer", "3"]);
    again.ok();
    assert_eq!(
        layer_gets(&registry, before, &layers),
        0,
        "{}",
        again.stdout
    );
    let lines = again.stdout_lines();
    assert!(
        lines[0].starts_with(&format!("Layer 3/3 {}", layers[2].digest())),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len() - 1, tar_tv(&layers[2].bytes).len());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('l') && l.contains(" -> ")),
        "zoneinfo has symlinks:\n{}",
        again.stdout
    );
}

/// Every kind of entry, written entry by entry (and sparse files by GNU tar in both of its
/// sparse formats): the listing equals `tar -tv`; whiteouts are named; sparse files are
/// hashed with their holes; a hostile name reaches the terminal sanitized.
#[test]
fn special_entries_list_as_tar_tv() {
    let registry = registry();
    let (dir, sparse_file) = sparse_dir();
    let layers = vec![
        Blob {
            media_type: OCI_GZIP,
            bytes: gzip(&special_entries()),
        },
        Blob {
            media_type: OCI_GZIP,
            bytes: gzip(&gnu_tar(
                dir.path(),
                &["-S", "--format=gnu", "-c", "sparse.bin"],
            )),
        },
        Blob {
            media_type: OCI_TAR,
            bytes: gnu_tar(
                dir.path(),
                &[
                    "-S",
                    "--format=pax",
                    "--sparse-version=1.0",
                    "-c",
                    "sparse.bin",
                ],
            ),
        },
        Blob {
            media_type: OCI_TAR,
            bytes: gnu_tar(
                dir.path(),
                &[
                    "-S",
                    "--format=pax",
                    "--sparse-version=0.1",
                    "-c",
                    "sparse.bin",
                ],
            ),
        },
    ];
    support::block_on(push_image(&registry.client(), "special", "v1", &layers));
    let reference = format!("{}/special:v1", registry.addr());
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["files", &reference, "--json"]);
    run.ok();
    let report = run.json();
    let listed = report["layers"].as_array().expect("layers");
    for (json, blob) in listed.iter().zip(&layers) {
        assert_same_listing(json, blob);
    }
    let entries = listed[0]["entries"].as_array().expect("entries");
    let find = |path: &str| {
        entries
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("{path} is listed"))
    };
    assert_eq!(find("dev/null")["device"], serde_json::json!([1, 3]));
    assert_eq!(find("etc/hosts")["uid"], 1000);
    assert_eq!(find("etc/hosts")["mode"], 0o644);
    assert_eq!(find("etc/hosts")["mtime"], 1_700_000_000);
    assert_eq!(
        find("var/sparse.img")["sha256"],
        hex::encode(Sha256::digest(sparse_content()))
    );
    assert_eq!(
        listed[1]["entries"][0]["sha256"],
        hex::encode(Sha256::digest(&sparse_file)),
        "GNU tar's sparse file, holes included"
    );
    assert_eq!(listed[2]["entries"][0]["path"], "sparse.bin");
    assert_eq!(listed[2]["entries"][0]["size"], 8 * 1024 * 1024);
    let names: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert!(names.contains(HOSTILE_NAME), "JSON keeps the name as it is");

    let text = sandbox.run(&["files", &reference, "--layer", "1"]);
    text.ok();
    assert!(!text.stdout.contains('\u{1b}'), "{:?}", text.stdout);
    assert!(!text.stdout.contains('\u{7}'), "{:?}", text.stdout);
    assert!(
        text.stdout
            .contains("etc/.wh.motd  [whiteout: deletes etc/motd]"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("[opaque: hides what lower layers had in var/cache]"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("etc/hosts.bak link to etc/hosts"));
    assert!(text.stdout.contains(" 1,3 "), "{}", text.stdout);
}

/// A layer cut short (its digest is that of the cut bytes, so the registry serves it) and a
/// layer that is no archive: one sentence naming the layer, exit 1.
#[test]
fn corrupt_layers_are_one_sentence_naming_the_layer() {
    let registry = registry();
    let whole = gzip(&gnu_tar(
        std::path::Path::new("/"),
        &["-c", "usr/share/doc/tar"],
    ));
    let cut = Blob {
        media_type: OCI_GZIP,
        bytes: whole[..whole.len() / 2].to_vec(),
    };
    let garbage = Blob {
        media_type: OCI_TAR,
        bytes: b"this is not a tar archive, only a sentence long enough to fill no header"
            .repeat(10),
    };
    let client = registry.client();
    support::block_on(push_image(
        &client,
        "broken",
        "cut",
        std::slice::from_ref(&cut),
    ));
    support::block_on(push_image(
        &client,
        "broken",
        "garbage",
        std::slice::from_ref(&garbage),
    ));
    let sandbox = Sandbox::new();
    for (tag, blob) in [("cut", &cut), ("garbage", &garbage)] {
        let run = sandbox.run(&["files", &format!("{}/broken:{tag}", registry.addr())]);
        let line = run.fails_with_one_line(&[blob.digest().as_str(), "corrupt or truncated"]);
        assert!(!line.contains("panicked"), "{line}");
    }
    // Nothing was cached for them: a second run fails the same way.
    let run = sandbox.run(&["files", &format!("{}/broken:cut", registry.addr())]);
    run.fails_with_one_line(&[cut.digest().as_str()]);
}

/// `--layer` and `--platform` mistakes are one sentence each.
#[test]
fn bad_selections_are_one_sentence() {
    let registry = registry();
    let layer = Blob {
        media_type: OCI_GZIP,
        bytes: gzip(&special_entries()),
    };
    support::block_on(push_image(&registry.client(), "sel", "v1", &[layer]));
    let reference = format!("{}/sel:v1", registry.addr());
    let sandbox = Sandbox::new();
    sandbox
        .run(&["files", &reference, "--layer", "2"])
        .fails_with_one_line(&["--layer 2", "1 layers"]);
    sandbox
        .run(&["files", &reference, "--layer", "abcdef"])
        .fails_with_one_line(&["no layer"]);
    sandbox
        .run(&["files", &reference, "--platform", "linux/arm64"])
        .fails_with_one_line(&["no platform linux/arm64", "linux/amd64"]);
}

/// A download that breaks off on every GET (a reset connection, a body shorter than
/// announced) is resumed, each time bringing half of what is left, until one brings nothing;
/// three of those in a row end in one sentence naming the layer and the resumes, nothing is
/// cached, and the next run lists the layer whole. (`layers_resume.rs` cuts at set bytes.)
#[test]
fn a_download_that_breaks_off_is_one_sentence_and_caches_nothing() {
    use support::fault_proxy::{Fault, FaultProxy, Rule};
    let registry = registry();
    let layer = Blob {
        media_type: OCI_GZIP,
        bytes: gnu_tar(std::path::Path::new("/"), &["-cz", "usr/share/doc/tar"]),
    };
    support::block_on(push_image(
        &registry.client(),
        "flaky",
        "v1",
        std::slice::from_ref(&layer),
    ));
    let proxy = FaultProxy::start(&registry.addr());
    let reference = format!("{}/flaky:v1", proxy.addr());
    let blob_path = format!("/v2/flaky/blobs/{}", layer.digest());
    let sandbox = Sandbox::new();
    for fault in [Fault::ResetMidBody, Fault::TruncateBody] {
        proxy.clear();
        proxy.add(Rule::always("GET", &blob_path, fault.clone()));
        let run = sandbox.run(&["files", &reference]);
        run.fails_with_one_line(&[layer.digest().as_str(), "broke off", "resumed"]);
    }
    proxy.clear();
    let run = sandbox.run(&["files", &reference, "--json"]);
    run.ok();
    assert_same_listing(&run.json()["layers"][0], &layer);
}

/// An eStargz layer is listed from its TOC through Range requests: the footer and the TOC,
/// less than 1% of the layer's bytes by the registry's access log, and the listing equals
/// `tar -tv` of the blob (less the TOC's own entry). A TOC that does not match its
/// annotation is not believed: the layer is streamed instead.
#[test]
fn estargz_layers_are_listed_from_their_toc_with_range_requests() {
    use sha2::Digest as _;
    use support::layers::{estargz, push_image_annotated, sent_bytes};
    let registry = registry();
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| {
            let mut state = 0x9e37_79b9_u64.wrapping_mul(i + 1);
            let data = (0..200_000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            (format!("data/file-{i:02}.bin"), data)
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect();
    let (bytes, toc) = estargz(&refs);
    let layer = Blob {
        media_type: OCI_GZIP,
        bytes,
    };
    let good = json_annotation(&hex::encode(sha2::Sha256::digest(&toc)));
    let wrong = json_annotation(&hex::encode(sha2::Sha256::digest(b"another toc")));
    let client = registry.client();
    let steps = vec!["eStargz".to_string()];
    for (tag, annotation) in [("good", good), ("wrong", wrong)] {
        support::block_on(push_image_annotated(
            &client,
            "lazy",
            tag,
            std::slice::from_ref(&layer),
            serde_json::json!({}),
            &steps,
            &[Some(annotation)],
        ));
    }
    let blob_path = format!("/v2/lazy/blobs/{}", layer.digest());
    let truth: Vec<TarLine> = tar_tv(&layer.bytes)
        .into_iter()
        .filter(|l| l.path != "stargz.index.json")
        .collect();

    let sandbox = Sandbox::new();
    let before = registry.log().len();
    let run = sandbox.run(&["files", &format!("{}/lazy:good", registry.addr()), "--json"]);
    run.ok();
    registry.access_log_since(0);
    let sent = sent_bytes(&registry.log()[before..], &blob_path);
    assert_eq!(sent.len(), 2, "footer and TOC: {sent:?}");
    assert!(sent.iter().all(|(status, _)| *status == 206), "{sent:?}");
    let read: u64 = sent.iter().map(|(_, b)| b).sum();
    assert!(
        sent.contains(&(206, 51)),
        "the footer read is logged with its size: {sent:?}"
    );
    assert!(
        read * 100 < layer.bytes.len() as u64,
        "{read} bytes read of {}",
        layer.bytes.len()
    );
    let listed = &run.json()["layers"][0];
    assert_eq!(lines_of_json(listed), truth);
    assert_eq!(
        listed["entries"][1]["sha256"],
        hex::encode(sha2::Sha256::digest(&files[0].1))
    );

    // Another sandbox (no cache): the wrong annotation makes regatta stream the layer.
    let before = registry.log().len();
    let run = Sandbox::new().run(&[
        "files",
        &format!("{}/lazy:wrong", registry.addr()),
        "--json",
    ]);
    run.ok();
    registry.access_log_since(0);
    let sent = sent_bytes(&registry.log()[before..], &blob_path);
    assert!(sent.iter().any(|(status, _)| *status == 200), "{sent:?}");
    // Streamed, the TOC's own tar entry is listed too, as tar -tv lists it.
    assert_same_listing(&run.json()["layers"][0], &layer);
}

fn json_annotation(toc_hex: &str) -> serde_json::Value {
    serde_json::json!({ "containerd.io/snapshot/stargz/toc.digest": format!("sha256:{toc_hex}") })
}
