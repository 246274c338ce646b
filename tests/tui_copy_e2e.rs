//! The TUI's copy in a real terminal against real registries: `c` on a tag, the destination
//! picker, the plan dialog, Enter, and the copy. The destination is then checked from
//! outside: the tag's digest as the registry reports it, every blob in its storage on disk
//! with its size; an export is read back by skopeo (`skopeo inspect oci:DIR:TAG`).

mod support;

use std::process::Command;

use regatta::registry::{Digest, ManifestRef};
use support::copy::{copy_fixture, every_tag_complete, stored_blobs};
use support::fault_proxy::{Fault, FaultProxy, Gate, Rule};
use support::registry::TestRegistry;
use support::tmux::Pane;
use support::truth::{repo, tag};

/// Filters the list in front to `text` and keeps the filter.
fn filter(pane: &Pane, text: &str) {
    pane.keys(&["/"]);
    pane.wait_for("the filter prompt", |s| s.contains('█'));
    pane.type_text(text);
    pane.wait_for_text(&format!("/{text}█"));
    pane.keys(&["Enter"]);
    pane.wait_for_text(&format!("filter: {text}"));
}

#[test]
fn c_copies_a_tag_to_another_configured_registry() {
    let source = TestRegistry::start();
    let truth = source.push(&copy_fixture());
    let destination = TestRegistry::start();
    let config = format!(
        "[registries.a-source]\nurl = \"{}\"\n[registries.b-backup]\nurl = \"{}\"\n",
        source.url(),
        destination.url()
    );
    let pane = Pane::start_with("copy", &[], &[], |root| {
        let dir = root.join("config/regatta");
        std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
        std::fs::write(dir.join("config.toml"), &config).expect("write config.toml");
    });
    pane.wait_for_text("b-backup");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("regatta › a-source");
    pane.wait_for_text("team/multi");
    filter(&pane, "team/app");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("a-source › team/app");
    pane.wait_for_text("latest");
    filter(&pane, "v2");

    pane.keys(&["c"]);
    pane.wait_for_all(&[
        "copy team/app:v2 from a-source",
        "› b-backup",
        "repository: team/app█",
    ]);
    // Into another repository name: the field is edited.
    pane.keys(&["BSpace", "BSpace", "BSpace"]);
    pane.type_text("backup");
    pane.wait_for_text("repository: team/backup█");
    pane.keys(&["Enter"]);

    // The plan: the CLI's text, every blob missing on an empty destination.
    let image = truth.tagged("team/app", "v2");
    let bytes: u64 = image.blobs.values().sum::<u64>() + image.manifest_size;
    let blobs = image.blobs.len();
    assert!(blobs > 1, "a config and layers");
    let mut plan = vec![format!(
        "1 image: 1 manifest to push (0 present), {blobs} blobs missing (0 mounted, {blobs} transferred), 0 present;"
    )];
    for digest in image.blobs.keys() {
        let short = &digest.to_string()[..19];
        plan.push(format!("    blob {short}…"));
    }
    plan.push(format!("({bytes} bytes) to move"));
    pane.wait_for_all(&plan);
    pane.keys(&["Enter"]);
    let blob_bytes: u64 = image.blobs.values().sum();
    pane.wait_for_all(&[
        format!("copied: {blobs} blobs transferred ("),
        format!("({blob_bytes} bytes)), 0 blobs mounted, 1 manifest pushed, 1 tag set"),
    ]);
    pane.keys(&["Enter"]);
    pane.wait_for_no_text("copied:");
    pane.keys(&["q"]);
    pane.wait_for_exit();

    // From outside: the same digest under the tag, and every blob stored with its size.
    let client = destination.client();
    support::block_on(async {
        let head = client
            .head_manifest(&repo("team/backup"), &ManifestRef::Tag(tag("v2")))
            .await
            .expect("the copied tag");
        assert_eq!(head.digest, image.digest);
        assert_eq!(every_tag_complete(&client).await, Ok(1));
    });
    let stored = stored_blobs(&destination);
    for (digest, size) in &image.blobs {
        assert_eq!(stored.get(digest), Some(size), "blob {digest}");
    }
    assert_eq!(stored.get(&image.digest), Some(&image.manifest_size));
}

#[test]
fn c_exports_a_tag_to_a_directory_skopeo_reads() {
    let source = TestRegistry::start();
    let truth = source.push(&copy_fixture());
    let addr = source.addr();
    let out = tempfile::tempdir().expect("a temp dir");
    let dir = out.path().join("layout");
    let pane = Pane::start("export", &[&addr]);
    pane.wait_for_crumbs(&format!("regatta › {addr}"));
    pane.wait_for_text("team/multi");
    filter(&pane, "team/multi");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs(&format!("{addr} › team/multi"));
    pane.wait_for_text("2.0");
    filter(&pane, "2.0");

    pane.keys(&["c"]);
    // The only destination without another registry: a directory.
    pane.wait_for_all(&["› a directory", "directory: █"]);
    pane.type_text(&dir.display().to_string());
    pane.wait_for_text(&format!("directory: {}█", dir.display()));
    pane.keys(&["Enter"]);
    pane.wait_for_all(&["oci index", "bytes) to move"]);
    assert!(
        !dir.exists(),
        "planning wrote nothing: the directory is made when the copy runs"
    );
    pane.keys(&["Enter"]);
    pane.wait_for_text("copied:");
    pane.keys(&["Enter"]);
    pane.keys(&["q"]);
    pane.wait_for_exit();

    let index = truth.tagged("team/multi", "2.0");
    let output = Command::new("skopeo")
        .args(["inspect", "--raw", &format!("oci:{}:2.0", dir.display())])
        .output()
        .expect("skopeo (apt-get install -y skopeo)");
    assert!(
        output.status.success(),
        "skopeo inspect failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The raw manifest skopeo reads is the index, byte for byte: the same digest.
    assert_eq!(Digest::sha256_of(&output.stdout), index.digest);
    let output = Command::new("skopeo")
        .args([
            "inspect",
            "--override-arch",
            "arm64",
            &format!("oci:{}:2.0", dir.display()),
        ])
        .output()
        .expect("skopeo");
    assert!(
        output.status.success(),
        "skopeo inspect of the arm64 image failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The config naming `source` and `destination` (a `host:port`, a proxy's say).
fn two_registries(source: &str, destination: &str) -> String {
    format!(
        "[registries.a-source]\nurl = \"http://{source}\"\n[registries.b-backup]\nurl = \"http://{destination}\"\n"
    )
}

fn with_config(config: String) -> impl FnOnce(&std::path::Path) {
    move |root| {
        let dir = root.join("config/regatta");
        std::fs::create_dir_all(&dir).expect("mkdir config/regatta");
        std::fs::write(dir.join("config.toml"), &config).expect("write config.toml");
    }
}

/// Opens `team/app:v2` of a-source and `c`, Enter: waits for the plan's last line,
/// `to_move` (`(N bytes) to move`).
fn plan_v2(pane: &Pane, to_move: &str) {
    pane.keys(&["c"]);
    pane.wait_for_text("copy team/app:v2 from a-source");
    pane.keys(&["Enter"]);
    pane.wait_for_text(to_move);
}

#[test]
fn esc_stops_a_copy_with_no_tag_on_the_destination_and_a_second_copy_completes_it() {
    let source = TestRegistry::start();
    let truth = source.push(&copy_fixture());
    let destination = TestRegistry::start();
    // One blob upload is held at the proxy until the test opens the gate: the copy is
    // "in the middle" for as long as the test wants, with no clock involved.
    let proxy = FaultProxy::start(&destination.addr());
    let gate = Gate::new();
    proxy.add(Rule::first(
        1,
        "PUT",
        "/v2/team/app/blobs/uploads/",
        Fault::Hold(gate.clone()),
    ));
    let pane = Pane::start_with(
        "copystop",
        &[],
        &[],
        with_config(two_registries(&source.addr(), &proxy.addr())),
    );
    pane.wait_for_text("b-backup");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs("regatta › a-source");
    pane.wait_for_text("team/multi");
    filter(&pane, "team/app");
    pane.keys(&["Enter"]);
    pane.wait_for_text("latest");
    filter(&pane, "v2");
    let image = truth.tagged("team/app", "v2");
    let blobs = image.blobs.len();
    plan_v2(&pane, "bytes) to move");
    pane.keys(&["Enter"]);

    // The progress pane: the total, and the held blob as one being streamed.
    pane.wait_for_all(&[
        "streaming:".to_string(),
        "into team/app".to_string(),
        " · ETA ".to_string(),
        format!("/{blobs} · manifests 0/1 · tags 0/1"),
    ]);
    let client = destination.client();
    let no_tag = || {
        support::block_on(async {
            match client
                .head_manifest(&repo("team/app"), &ManifestRef::Tag(tag("v2")))
                .await
            {
                Err(e) => assert!(e.is_not_found(), "{e}"),
                Ok(head) => panic!("the tag is there mid-copy: {}", head.digest),
            }
        })
    };
    no_tag();

    pane.keys(&["Escape"]);
    pane.wait_for_text("Copy stopped");
    no_tag();
    // The held upload may now reach the registry: a complete blob, still no tag.
    gate.open();
    proxy.wait_idle(std::time::Duration::from_secs(15));
    no_tag();
    pane.keys(&["Enter"]);
    pane.wait_for_no_text("Copy stopped");

    // Copying again moves only what is still missing, and completes.
    let missing: u64 = image
        .blobs
        .iter()
        .filter(|(d, _)| !stored_blobs(&destination).contains_key(*d))
        .map(|(_, size)| size)
        .sum();
    plan_v2(
        &pane,
        &format!("({} bytes) to move", missing + image.manifest_size),
    );
    pane.keys(&["Enter"]);
    pane.wait_for_text("copied:");
    pane.keys(&["Enter"]);
    pane.keys(&["q"]);
    pane.wait_for_exit();
    support::block_on(async {
        let head = client
            .head_manifest(&repo("team/app"), &ManifestRef::Tag(tag("v2")))
            .await
            .expect("the copied tag");
        assert_eq!(head.digest, image.digest);
        assert_eq!(every_tag_complete(&client).await, Ok(1));
    });
    let stored = stored_blobs(&destination);
    for (digest, size) in &image.blobs {
        assert_eq!(stored.get(digest), Some(size), "blob {digest}");
    }
}

#[test]
fn cp_on_a_terminal_draws_the_total_and_a_bar_per_blob_being_streamed() {
    let source = TestRegistry::start();
    let truth = source.push(&copy_fixture());
    let destination = TestRegistry::start();
    let proxy = FaultProxy::start(&destination.addr());
    let gate = Gate::new();
    proxy.add(Rule::first(
        1,
        "PUT",
        "/v2/team/app/blobs/uploads/",
        Fault::Hold(gate.clone()),
    ));
    let src = format!("{}/team/app:v2", source.addr());
    let dst = format!("{}/team/app", proxy.addr());
    let pane = Pane::start("cpbars", &["cp", &src, &dst, "--apply"]);
    pane.wait_for_all(&["copying [", "ETA", "  blob sha256:"]);
    gate.open();
    let exit = pane.wait_for_exit();
    assert_eq!(exit.status, 0);
    let done = pane.screen();
    assert!(done.contains("copied: "), "{done}");
    // The bars are cleared at the end: only the result stays.
    assert!(!done.contains("copying ["), "{done}");
    let client = destination.client();
    support::block_on(async {
        let head = client
            .head_manifest(&repo("team/app"), &ManifestRef::Tag(tag("v2")))
            .await
            .expect("the copied tag");
        assert_eq!(head.digest, truth.tagged("team/app", "v2").digest);
    });
}
