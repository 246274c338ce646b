//! The TUI's delete dialog with referrers, in a real terminal against a real registry: the
//! dialog lists the signature that goes with the image, Tab switches to keeping it (the plan
//! and its bytes change on screen), and Enter applies exactly that: the image goes, its
//! signature stays.

mod support;

use regatta::registry::ManifestRef;
use support::cleanup::resolve;
use support::fixtures::FixtureBuilder;
use support::image::{Format, ImageSpec, Layer};
use support::registry::TestRegistry;
use support::tmux::{Pane, find_line, row_shows, shows_all};
use support::truth::{repo, tag};

#[test]
fn the_delete_dialog_lists_a_signature_and_tab_keeps_it() {
    let registry = TestRegistry::start();
    let mut images = FixtureBuilder::new();
    images.image(
        "app",
        &["v1"],
        ImageSpec::new(Format::Oci, vec![Layer::random("e2e-refdel-v1", 3000)]),
    );
    images.image(
        "app",
        &["v2"],
        ImageSpec::new(Format::Oci, vec![Layer::random("e2e-refdel-v2", 2000)]),
    );
    let truth = registry.push(&images);
    let v1 = truth.tagged("app", "v1").digest.clone();
    // cosign's tag scheme names the signature after the image's digest.
    let sig_tag = format!("sha256-{}.sig", v1.hex());
    let mut signature = FixtureBuilder::new();
    signature.image(
        "app",
        &[sig_tag.as_str()],
        ImageSpec::new(Format::Oci, vec![Layer::random("e2e-refdel-sig", 700)]),
    );
    let sig = registry
        .push(&signature)
        .tagged("app", &sig_tag)
        .digest
        .clone();

    let addr = registry.addr();
    let pane = Pane::start("refdel", &[&addr]);
    pane.wait_for_crumbs(&format!("regatta › {addr}"));
    pane.wait_for_text("app");
    pane.keys(&["Enter"]);
    pane.wait_for_crumbs(&format!("{addr} › app"));
    pane.wait_for_text("v2");
    pane.keys(&["/"]);
    pane.wait_for("the filter prompt", |s| s.contains('█'));
    pane.type_text("v1");
    pane.wait_for_text("/v1█");
    pane.keys(&["Enter"]);
    pane.wait_for_text("filter: v1");
    // The dialog opens once the storage scan has seen everything; until then `d` says to wait.
    let mut tries = 0;
    loop {
        tries += 1;
        assert!(tries < 50, "the dialog never opened:\n{}", pane.screen());
        pane.keys(&["d"]);
        let screen = pane.wait_for("the dialog or the wait", |s| {
            s.contains("keep its referrers") || s.contains("wait for the storage scan")
        });
        if screen.contains("keep its referrers") {
            break;
        }
        pane.wait_for("the scan to finish", |s| !s.contains("scanning"));
    }
    // Waiting for each line checked: a capture may catch the dialog half drawn.
    let frees = "once garbage collection runs";
    let plan = pane.wait_until("the whole plan with the signature", |s| {
        shows_all(
            s,
            &[
                "2 tags go: 1 manifest deleted with 1 referrer",
                "(image of sha256:",
            ],
        )?;
        row_shows(s, "frees ", &[frees])
    });
    let frees_all = find_line(&plan, frees).expect("present");

    pane.keys(&["Tab"]);
    // The bytes freed, on the plan's last line, change too: with the new figure there, the
    // lines above it are drawn.
    let kept = pane.wait_until("the plan that keeps the signature", |s| {
        shows_all(s, &["1 tag goes: 1 manifest deleted"])?;
        match find_line(s, frees)? {
            line if line == frees_all => Err(format!("the bytes freed are still {line:?}")),
            _ => Ok(()),
        }
    });
    assert!(!kept.contains("with 1 referrer"), "{kept}");
    pane.keys(&["Enter"]);
    pane.wait_for_text("done");

    let client = registry.client();
    support::block_on(async {
        let err = resolve(&client, "app", "v1").await.expect_err("v1 deleted");
        assert!(err.is_not_found(), "{err}");
        assert_eq!(resolve(&client, "app", &sig_tag).await.expect("kept"), sig);
        client
            .get_manifest(&repo("app"), &ManifestRef::Tag(tag("v2")))
            .await
            .expect("v2 stays");
    });
}
