//! `regatta diff`: two images pushed to a real registry compared; the config differences,
//! the layers shared and not, and the file-level diff checked against what the test works
//! out from the tarballs it built.

mod support;

use std::collections::BTreeSet;

use serde_json::json;
use support::cli::Sandbox;
use support::layers::{Blob, OCI_GZIP, bytes, gzip, layer, merged_naively, push_image_with};
use support::registry::TestRegistry;

fn blob(tar: &[u8]) -> Blob {
    Blob {
        media_type: OCI_GZIP,
        bytes: gzip(tar),
    }
}

#[test]
fn diff_of_two_images_matches_the_tarballs() {
    let registry = TestRegistry::start();
    let base = layer(&[
        ("app/", None),
        ("app/a", Some(bytes(1, 1000))),
        ("app/b", Some(bytes(3, 2000))),
        ("etc/conf", Some(bytes(4, 10))),
    ]);
    let change = layer(&[
        ("app/a", Some(bytes(2, 1500))),
        ("app/.wh.b", Some(Vec::new())),
        ("new/big", Some(bytes(5, 3000))),
        // Same size, other content: a change only the content hash sees.
        ("etc/conf", Some(bytes(6, 10))),
    ]);
    let other = layer(&[("extra/only-before", Some(bytes(7, 50)))]);
    let client = registry.client();
    let steps = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    support::block_on(push_image_with(
        &client,
        "d/app",
        "v1",
        &[blob(&base), blob(&other)],
        json!({"Env": ["PATH=/usr/bin", "MODE=a"], "Labels": {"v": "1"}, "Entrypoint": ["/app"]}),
        &steps(&["FROM base", "RUN other"]),
    ));
    support::block_on(push_image_with(
        &client,
        "d/app",
        "v2",
        &[blob(&base), blob(&change)],
        json!({
            "Env": ["PATH=/usr/bin", "MODE=b", "NEW=1"],
            "Labels": {"v": "2"},
            "Entrypoint": ["/app"],
            "Cmd": ["run"],
            "User": "app",
            "ExposedPorts": {"8080/tcp": {}},
        }),
        &steps(&["FROM base", "RUN change", "RUN more"]),
    ));
    let sandbox = Sandbox::new();
    let r1 = format!("{}/d/app:v1", registry.addr());
    let r2 = format!("{}/d/app:v2", registry.addr());
    let run = sandbox.run(&["diff", &r1, &r2, "--json"]);
    run.ok();
    let d = run.json();

    let c = &d["config"];
    assert_eq!(c["env"]["MODE"], json!({"before": "a", "after": "b"}));
    assert_eq!(c["env"]["NEW"], json!({"before": null, "after": "1"}));
    assert!(c["env"].get("PATH").is_none());
    assert_eq!(c["labels"]["v"], json!({"before": "1", "after": "2"}));
    assert!(c.get("entrypoint").is_none(), "the entrypoint is the same");
    assert_eq!(c["cmd"], json!({"before": null, "after": ["run"]}));
    assert_eq!(c["user"], json!({"before": null, "after": "app"}));
    assert_eq!(c["ports_added"], json!(["8080/tcp"]));
    assert_eq!(c["history_common"], 1);
    assert_eq!(c["history_only_before"], json!(["RUN other"]));
    assert_eq!(c["history_only_after"], json!(["RUN change", "RUN more"]));

    let l = &d["layers"];
    assert_eq!(l["shared"][0]["digest"], blob(&base).digest().to_string());
    assert_eq!(l["shared_bytes"], blob(&base).bytes.len());
    assert_eq!(l["only_before_bytes"], blob(&other).bytes.len());
    assert_eq!(l["only_after_bytes"], blob(&change).bytes.len());

    // Files: worked out from the tarballs (sizes from the naive merge; etc/conf has the
    // same size and other bytes, which the test knows because it wrote them).
    let before = merged_naively(&[base.clone(), other.clone()]);
    let after = merged_naively(&[base.clone(), change.clone()]);
    let keys = |m: &std::collections::BTreeMap<String, (usize, u64, bool)>| {
        m.keys().cloned().collect::<BTreeSet<_>>()
    };
    let added: BTreeSet<String> = keys(&after).difference(&keys(&before)).cloned().collect();
    let removed: BTreeSet<String> = keys(&before).difference(&keys(&after)).cloned().collect();
    let mut changed: BTreeSet<String> = keys(&before)
        .intersection(&keys(&after))
        .filter(|p| before[*p].1 != after[*p].1)
        .cloned()
        .collect();
    changed.insert("etc/conf".into());
    let of = |kind: &str| -> BTreeSet<String> {
        d["files"]
            .as_array()
            .expect("files")
            .iter()
            .filter(|f| f["change"] == kind)
            .map(|f| f["path"].as_str().expect("path").to_string())
            .collect()
    };
    assert_eq!(of("added"), added);
    assert_eq!(of("removed"), removed);
    assert_eq!(of("changed"), changed);
    // Largest first.
    let sizes: Vec<u64> = d["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            f["size_before"]
                .as_u64()
                .expect("before")
                .max(f["size_after"].as_u64().expect("after"))
        })
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    assert_eq!(d["files"][0]["path"], "new/big");
    assert_eq!(d["files"][0]["size_delta"], 3000);

    let text = sandbox.run(&["diff", &r1, &r2]);
    text.ok();
    assert!(
        text.stdout.contains("env MODE: \"a\" -> \"b\""),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("Files: 1 added, 2 removed, 2 changed"),
        "{}",
        text.stdout
    );
}
