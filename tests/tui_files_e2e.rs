//! The TUI's file trees in a real terminal against a real registry: an image of two layers,
//! the first made by GNU tar over files written here, the second with a whiteout and new
//! files. Enter on a layer shows its tree with every member `tar -tv` lists, marked added;
//! the second layer marks the whiteout's target removed; `m` shows the merged filesystem
//! with the layer that last wrote each path. The second open of a layer reads no blob (the
//! listing cache), as the registry's access log shows. Leaving a layer's tree while its
//! download is on its way cancels the download: the connection is closed at once.

mod support;

use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::layers::{Blob, OCI_GZIP, bytes, gnu_tar, gzip, layer, push_image, tar_tv};
use support::registry::{Logged, RegistryOptions, TestRegistry};
use support::tmux::{Pane, shows_all};

/// The screen line showing the entry named `name` (the tree column ends with it).
fn line_of<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| {
        let l = l.trim_end();
        l.ends_with(&format!(" {name}")) || l.ends_with(&format!(" {name}/"))
    })
}

/// The line of `name` whose start, after the indent if `trimmed`, is `start`; if there is
/// none, what is wrong. For a wait on the screen.
fn entry<'a>(screen: &'a str, name: &str, start: &str, trimmed: bool) -> Result<&'a str, String> {
    let row = line_of(screen, name).ok_or_else(|| format!("no line for {name}"))?;
    let from = if trimmed { row.trim_start() } else { row };
    if from.starts_with(start) {
        Ok(row)
    } else {
        Err(format!(
            "{name}'s line does not start with {start:?}: {row:?}"
        ))
    }
}

#[test]
fn a_layers_tree_and_the_merged_filesystem_on_a_real_registry() {
    let registry = TestRegistry::start_with(RegistryOptions {
        access_log: true,
        ..RegistryOptions::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for (path, len) in [
        ("app/bin/tool", 20_000),
        ("app/etc/motd", 8),
        ("app/share/README", 1_500),
    ] {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).expect("mkdir");
        std::fs::write(&path, bytes(1, len)).expect("write");
    }
    let lower = Blob {
        media_type: OCI_GZIP,
        bytes: gnu_tar(root, &["-cz", "app"]),
    };
    let upper = Blob {
        media_type: OCI_GZIP,
        bytes: gzip(&layer(&[
            ("app/etc/.wh.motd", Some(Vec::new())),
            ("app/plugins/", None),
            ("app/plugins/extra.so", Some(bytes(7, 3_000))),
        ])),
    };
    let layers = vec![lower.clone(), upper.clone()];
    support::block_on(push_image(&registry.client(), "files/demo", "v1", &layers));

    let addr = registry.addr();
    let pane = Pane::start("files", &[&addr]);
    pane.wait_for_text("files/demo");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v1");
    pane.keys(&["Enter"]);
    pane.wait_for_text("CREATED BY");

    // Layer 1: every member tar -tv lists, each marked added (nothing is below it).
    pane.keys(&["Enter"]);
    let truth = tar_tv(&lower.bytes);
    assert!(truth.len() >= 7, "{truth:?}");
    // The whole tree, not a frame caught half drawn: every line checked is there at once.
    let counts = format!("{} added, 0 changed, 0 removed", truth.len());
    // The directory carries the bytes under it.
    let app_total = regatta::present::size(20_000 + 8 + 1_500);
    pane.wait_until("layer 1's tree", |s| {
        shows_all(s, &["Layer 1/2", &counts])?;
        for member in &truth {
            let name = member.path.rsplit('/').next().unwrap();
            let row = entry(s, name, "+", false)?;
            if member.kind == '-' {
                let size = regatta::present::size(member.size.parse().unwrap());
                if !row.contains(&size) {
                    return Err(format!("{name} is not shown as {size}: {row:?}"));
                }
            }
        }
        match line_of(s, "app") {
            Some(row) if row.contains(&app_total) => Ok(()),
            row => Err(format!("app is not shown as {app_total}: {row:?}")),
        }
    });

    // Layer 2: the whiteout removes motd; the plugin is added.
    pane.keys(&["Escape"]);
    pane.wait_for_text("CREATED BY");
    pane.keys(&["j", "Enter"]);
    let screen = pane.wait_until("layer 2's tree", |s| {
        shows_all(s, &["Layer 2/2", "2 added, 0 changed, 1 removed"])?;
        entry(s, "motd", "-", false)?;
        entry(s, "extra.so", "+", false).map(|_| ())
    });
    assert!(line_of(&screen, "tool").is_none(), "{screen}");

    // The merged filesystem: motd is gone, each path says which layer wrote it.
    pane.keys(&["Escape"]);
    pane.wait_for_text("CREATED BY");
    let before = registry.access_log().len();
    pane.keys(&["m"]);
    let screen = pane.wait_until("the merged tree", |s| {
        shows_all(s, &["Merged filesystem of 2 layers"])?;
        entry(s, "tool", "L1", true)?;
        entry(s, "extra.so", "L2", true).map(|_| ())
    });
    assert!(line_of(&screen, "motd").is_none(), "{screen}");

    // Both layers were listed before: the cache answered, no blob was read again.
    let digests = [lower.digest().to_string(), upper.digest().to_string()];
    let gets = registry
        .access_log_since(before)
        .iter()
        .filter(|e| e.kind() == Logged::BlobGet && digests.iter().any(|d| e.target.contains(d)))
        .count();
    assert_eq!(gets, 0, "layer GETs on the second open");

    // The filter narrows the tree to matches and the directories above them.
    pane.keys(&["/"]);
    pane.type_text("extra");
    pane.keys(&["Enter"]);
    // The filter's line is drawn below the tree: with it there, the tree is final.
    let screen = pane.wait_for("the filtered tree", |s| {
        s.contains("filter: extra") && line_of(s, "extra.so").is_some()
    });
    assert!(line_of(&screen, "tool").is_none(), "{screen}");
}

/// A download on its way is cancelled by leaving the view: the proxy in front of the registry
/// never answers the layer's GET (it stalls), and sees the client close that connection when
/// Escape is pressed, long before the client's own 60-second timeout would. Opened again, the
/// layer lists as usual: the cancelled listing left nothing behind.
#[test]
fn leaving_a_layer_cancels_its_download() {
    let registry = TestRegistry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app/data.bin");
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, bytes(3, 50_000)).expect("write");
    let only = Blob {
        media_type: OCI_GZIP,
        bytes: gnu_tar(dir.path(), &["-cz", "app"]),
    };
    support::block_on(push_image(
        &registry.client(),
        "files/slow",
        "v1",
        std::slice::from_ref(&only),
    ));
    let proxy = FaultProxy::start(&registry.addr());
    let blob = format!("/v2/files/slow/blobs/{}", only.digest());
    proxy.add(Rule::first(1, "GET", &blob, Fault::Stall));
    let stalled = |proxy: &FaultProxy| proxy.first_seen("GET", &blob);

    let addr = proxy.addr();
    let pane = Pane::start("files-cancel", &[&addr]);
    pane.wait_for_text("files/slow");
    pane.keys(&["Enter"]);
    pane.wait_for_text("v1");
    pane.keys(&["Enter"]);
    pane.wait_for_text("CREATED BY");
    pane.keys(&["Enter"]);
    pane.wait_for("the layer's GET at the proxy", |s| {
        s.contains("listing the files of layer 1") && stalled(&proxy).is_some()
    });
    let seen = stalled(&proxy).expect("present");
    assert!(!seen.abandoned && seen.status.is_none(), "{seen:?}");

    pane.keys(&["Escape"]);
    pane.wait_for("the download to be cancelled", |s| {
        s.contains("CREATED BY") && stalled(&proxy).is_some_and(|r| r.abandoned)
    });
    // The cancelled GET was the only one: nothing retried it behind the view's back.
    let gets = proxy.count("GET", &blob);
    assert_eq!(gets, 1);

    // Again: the second GET passes and the tree shows the file.
    pane.keys(&["Enter"]);
    pane.wait_until("the layer's tree", |s| {
        shows_all(s, &["Layer 1/1"])?;
        entry(s, "data.bin", "+", false).map(|_| ())
    });
    assert_eq!(proxy.count("GET", &blob), 2);
}
