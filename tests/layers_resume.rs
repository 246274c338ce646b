//! A layer download that breaks off is resumed where it stopped (`Range: bytes=N-`). No
//! registry breaks off on its own, so a proxy in front of a real `docker-registry` cuts the
//! blob's GET after N bytes (a FIN after a body shorter than announced) and passes the rest
//! through untouched:
//! - cut once: `regatta files` lists exactly what GNU `tar -tv` lists, the proxy saw a second
//!   GET asking for `bytes=N-`, and the registry's access log shows the whole blob sent (200)
//!   then the rest from N (206, its size less N);
//! - cut once, behind a proxy that drops `Range` (the registry answers the resume 200 with
//!   the whole blob): the listing is still `tar -tv`'s, the first N bytes of the second
//!   body dropped, not read twice;
//! - cut every time: one sentence naming the layer, where it stopped and how often it was
//!   resumed; nothing cached, the next run lists the layer whole;
//! - `regatta cp` resumes its read of the source the same way, the upload carrying on: the
//!   destination stores the very bytes of the layer;
//! - a registry on S3 storage (moto) redirects blob GETs to the bucket; the proxy sits in
//!   front of the bucket and cuts the first object GET: the resume goes to the registry
//!   again, which redirects it afresh, and the bucket answers the Range with 206.

mod support;

use support::cli::Sandbox;
use support::copy::stored_blobs;
use support::fault_proxy::{Fault, FaultProxy, Rule, Seen};
use support::layers::{Blob, OCI_GZIP, TarLine, gnu_tar, lines_of_json, push_image, tar_tv};
use support::moto::Moto;
use support::registry::{RegistryOptions, S3Storage, TestRegistry};

fn registry() -> TestRegistry {
    TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    })
}

/// GNU tar over real files (`/usr/share/doc/tar`, about 250 KB gzip'd), pushed as
/// `flaky:v1` to `registry`.
fn pushed_layer(registry: &TestRegistry) -> Blob {
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
    layer
}

#[track_caller]
fn assert_same_listing(layer_json: &serde_json::Value, blob: &Blob) {
    let ours = lines_of_json(layer_json);
    let truth: Vec<TarLine> = tar_tv(&blob.bytes);
    assert_eq!(ours.len(), truth.len(), "entry count");
    for (a, b) in ours.iter().zip(&truth) {
        assert!(
            a.kind == b.kind && a.path == b.path && a.size == b.size && a.link == b.link,
            "regatta: {a:?}\ntar -tv: {b:?}"
        );
    }
}

/// The GETs of `blob_path` the proxy saw: the `Range` asked for, and the status answered.
fn blob_gets(proxy: &FaultProxy, blob_path: &str) -> Vec<(Option<String>, Option<u16>)> {
    proxy
        .requests()
        .into_iter()
        .filter(|s: &Seen| s.method == "GET" && s.target.starts_with(blob_path))
        .map(|s| (s.range, s.status))
        .collect()
}

/// Status and bytes sent for each GET of `blob_path` in the registry's access log.
fn registry_sent(registry: &TestRegistry, blob_path: &str) -> Vec<(u16, u64)> {
    // Waits for the line of every request answered so far.
    let _ = registry.access_log_since(0);
    support::layers::sent_bytes(&registry.log(), blob_path)
}

#[test]
fn a_layer_download_cut_once_is_resumed_from_where_it_stopped() {
    let registry = registry();
    let layer = pushed_layer(&registry);
    let len = layer.bytes.len();
    let cut = len / 3;
    let blob_path = format!("/v2/flaky/blobs/{}", layer.digest());
    let proxy = FaultProxy::start(&registry.addr());
    proxy.add(Rule::first(1, "GET", &blob_path, Fault::CutAfter(cut)));
    let before = registry_sent(&registry, &blob_path).len();

    let run = Sandbox::new().run(&["files", &format!("{}/flaky:v1", proxy.addr()), "--json"]);
    run.ok();
    assert_same_listing(&run.json()["layers"][0], &layer);
    assert_eq!(
        blob_gets(&proxy, &blob_path),
        [
            (None, Some(200)),
            (Some(format!("bytes={cut}-")), Some(206))
        ],
        "the first GET whole, cut by the proxy; the second from where it stopped"
    );
    assert_eq!(
        registry_sent(&registry, &blob_path)[before..],
        [(200, len as u64), (206, (len - cut) as u64)],
        "the registry's access log"
    );
}

#[test]
fn a_resume_answered_with_the_whole_blob_reads_on_after_the_bytes_already_read() {
    let registry = registry();
    let layer = pushed_layer(&registry);
    let len = layer.bytes.len();
    let cut = len / 3;
    let blob_path = format!("/v2/flaky/blobs/{}", layer.digest());
    let proxy = FaultProxy::start(&registry.addr());
    proxy.add(Rule::first(1, "GET", &blob_path, Fault::CutAfter(cut)));
    proxy.add(Rule::always("GET", &blob_path, Fault::DropRange));
    let before = registry_sent(&registry, &blob_path).len();

    let run = Sandbox::new().run(&["files", &format!("{}/flaky:v1", proxy.addr()), "--json"]);
    run.ok();
    assert_same_listing(&run.json()["layers"][0], &layer);
    assert_eq!(
        blob_gets(&proxy, &blob_path),
        [
            (None, Some(200)),
            (Some(format!("bytes={cut}-")), Some(200))
        ]
    );
    assert_eq!(
        registry_sent(&registry, &blob_path)[before..],
        [(200, len as u64), (200, len as u64)],
        "the registry sent the whole blob twice"
    );
}

#[test]
fn a_layer_download_cut_every_time_is_one_sentence_with_the_resumes() {
    let registry = registry();
    let layer = pushed_layer(&registry);
    let len = layer.bytes.len();
    let cut = len / 2;
    let blob_path = format!("/v2/flaky/blobs/{}", layer.digest());
    let proxy = FaultProxy::start(&registry.addr());
    // The first GET brings `cut` bytes, every later one none.
    proxy.add(Rule::first(1, "GET", &blob_path, Fault::CutAfter(cut)));
    proxy.add(Rule::always("GET", &blob_path, Fault::CutAfter(0)));
    let reference = format!("{}/flaky:v1", proxy.addr());
    let sandbox = Sandbox::new();

    let run = sandbox.run(&["files", &reference]);
    run.fails_with_one_line(&[
        &format!("cannot read layer {}", layer.digest()),
        "broke off",
        &format!("resumed 3 times, the last 3 without getting past byte {cut} of {len}"),
    ]);
    let resumed = Some(format!("bytes={cut}-"));
    assert_eq!(
        blob_gets(&proxy, &blob_path),
        [
            (None, Some(200)),
            (resumed.clone(), Some(206)),
            (resumed.clone(), Some(206)),
            (resumed, Some(206)),
        ],
        "one GET, then three resumes from the byte it stopped at"
    );

    // Nothing was cached: the next run reads the layer, whole.
    proxy.clear();
    let run = sandbox.run(&["files", &reference, "--json"]);
    run.ok();
    assert_same_listing(&run.json()["layers"][0], &layer);
    assert_eq!(
        blob_gets(&proxy, &blob_path).last(),
        Some(&(None, Some(200)))
    );
}

#[test]
fn a_copy_whose_source_read_is_cut_resumes_and_stores_the_layer_whole() {
    let source = registry();
    let destination = TestRegistry::start();
    let layer = pushed_layer(&source);
    let len = layer.bytes.len();
    let cut = len / 4;
    let blob_path = format!("/v2/flaky/blobs/{}", layer.digest());
    let proxy = FaultProxy::start(&source.addr());
    proxy.add(Rule::first(1, "GET", &blob_path, Fault::CutAfter(cut)));

    Sandbox::new()
        .run(&[
            "cp",
            &format!("{}/flaky:v1", proxy.addr()),
            &format!("{}/copied:v1", destination.addr()),
            "--apply",
        ])
        .ok();
    assert_eq!(
        blob_gets(&proxy, &blob_path),
        [
            (None, Some(200)),
            (Some(format!("bytes={cut}-")), Some(206))
        ]
    );
    // The destination's storage holds the layer's very bytes under its digest.
    assert_eq!(
        stored_blobs(&destination).get(&layer.digest()),
        Some(&(len as u64))
    );
    let hex = layer.digest().hex().to_string();
    let stored = destination
        .storage_root()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(&hex)
        .join("data");
    assert!(std::fs::read(stored).expect("the stored layer") == layer.bytes);
}

#[test]
fn a_layer_download_redirected_to_s3_is_resumed_through_the_registry() {
    let moto = Moto::start();
    moto.create_bucket("layers");
    let bucket = FaultProxy::start(moto.endpoint().trim_start_matches("http://"));
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        s3: Some(S3Storage {
            endpoint: format!("http://{}", bucket.addr()),
            bucket: "layers".into(),
        }),
        ..RegistryOptions::default()
    });
    let layer = pushed_layer(&registry);
    let len = layer.bytes.len();
    let cut = len / 3;
    let hex = layer.digest().hex().to_string();
    let object = format!(
        "/layers/docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    );
    bucket.add(Rule::first(1, "GET", &object, Fault::CutAfter(cut)));

    let run = Sandbox::new().run(&["files", &format!("{}/flaky:v1", registry.addr()), "--json"]);
    run.ok();
    assert_same_listing(&run.json()["layers"][0], &layer);
    let blob_path = format!("/v2/flaky/blobs/{}", layer.digest());
    let redirects: Vec<u16> = registry
        .access_log_since(0)
        .into_iter()
        .filter(|e| e.method == "GET" && e.target == blob_path)
        .map(|e| e.status)
        .collect();
    assert_eq!(
        redirects,
        [307, 307],
        "both GETs asked of the registry, both redirected"
    );
    assert_eq!(
        blob_gets(&bucket, &object),
        [
            (None, Some(200)),
            (Some(format!("bytes={cut}-")), Some(206))
        ],
        "the bucket: the first GET whole, cut; the second from where it stopped"
    );
}
