//! The file tree: Enter on a layer asks a worker for the listings (the layer and those
//! below it), the view shows the reading's progress, leaving it aborts the worker, and the
//! tree built from real tarballs marks what the layer adds, changes and removes as the
//! tarballs say (worked out here from the archives' own member lists).

use std::collections::BTreeSet;

use super::*;
use crate::layers::tree::{Change, FileTree, TreeOf};
use crate::layers::{Limits, Listing};
use crate::tui::views::files::FilesView;
use crate::tui::views::layers::LayersView;

/// A layer as (path, content); `None` is a directory.
pub(super) type Spec = Vec<(&'static str, Option<Vec<u8>>)>;

pub(super) fn lower() -> Spec {
    vec![
        ("etc/", None),
        ("etc/motd", Some(b"welcome\n".to_vec())),
        ("etc/passwd", Some(vec![b'p'; 100])),
        ("usr/bin/", None),
        ("usr/bin/app", Some(vec![1; 5000])),
        ("var/cache/", None),
        ("var/cache/a", Some(vec![2; 30])),
        ("var/cache/b", Some(vec![3; 40])),
    ]
}

pub(super) fn upper() -> Spec {
    vec![
        ("etc/.wh.motd", Some(Vec::new())),
        ("etc/passwd", Some(vec![b'q'; 120])),
        ("usr/bin/app", Some(vec![4; 6000])),
        ("var/cache/.wh..wh..opq", Some(Vec::new())),
        ("var/cache/b", Some(vec![3; 40])),
        ("opt/app/", None),
        ("opt/app/LICENSE", Some(vec![5; 300])),
    ]
}

/// The spec as a GNU tar, gzip'd, listed by regatta's own reader.
pub(super) fn listed(spec: &Spec) -> Listing {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in spec {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).unwrap();
        h.set_mode(0o644);
        match content {
            Some(bytes) => {
                h.set_size(bytes.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_cksum();
                b.append(&h, &bytes[..]).unwrap();
            }
            None => {
                h.set_size(0);
                h.set_mode(0o755);
                h.set_entry_type(tar::EntryType::Directory);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
        }
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let blob = gz.finish().unwrap();
    crate::layers::stream::list_blob(
        &blob[..],
        &crate::registry::Digest::sha256_of(&blob),
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &Limits::default(),
        Default::default(),
    )
    .unwrap()
}

/// What the upper layer does, worked out from the two specs alone.
fn truth() -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let files = |s: &Spec| -> Vec<(String, Option<Vec<u8>>)> {
        s.iter()
            .map(|(p, c)| (p.trim_end_matches('/').to_string(), c.clone()))
            .collect()
    };
    let (low, up) = (files(&lower()), files(&upper()));
    let in_low = |p: &str| low.iter().find(|(q, _)| q == p).map(|(_, c)| c.clone());
    let (mut added, mut changed, mut removed) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (path, content) in &up {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        if name == ".wh..wh..opq" {
            for (p, _) in &low {
                let rewritten = up.iter().any(|(q, _)| q == p);
                if p.starts_with(&format!("{dir}/")) && !rewritten {
                    removed.insert(p.clone());
                }
            }
        } else if let Some(target) = name.strip_prefix(".wh.") {
            removed.insert(format!("{dir}/{target}"));
        } else {
            match in_low(path) {
                None => {
                    added.insert(path.clone());
                }
                Some(old) if old != *content => {
                    changed.insert(path.clone());
                }
                Some(_) => {}
            }
        }
    }
    (added, changed, removed)
}

/// The app on the layers of `library/nginx:latest` (first platform) of the sample.
pub(super) async fn in_layers() -> App {
    let (mut app, _) = demo_app(false);
    app.update(Action::Resize {
        width: 100,
        height: 16,
    });
    let tree = tree("library/nginx", "latest").await;
    let view = LayersView::new(0, repo("library/nginx"), vec!["latest".into()], tree, 0);
    app.stack.push(View::Layers(view));
    app.settle();
    app
}

fn files_view(app: &App) -> &FilesView {
    match app.top() {
        View::Files(v) => v,
        other => panic!("not a file tree: {:?}", other.kind()),
    }
}

fn shown(app: &App) -> Vec<String> {
    let v = files_view(app);
    let tree = v.tree.as_ref().unwrap();
    v.rows
        .iter()
        .map(|&r| tree.nodes[r as usize].path.clone())
        .collect()
}

fn screen(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 16)).unwrap();
    t.draw(|f| draw::draw(app, f)).unwrap();
    let buffer = t.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let row: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect();
            row.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn marks_match_what_the_tarballs_say() {
    let listings = vec![listed(&lower()), listed(&upper())];
    let tree = FileTree::of_layer(&listings, 1);
    let marked = |c| -> BTreeSet<String> {
        tree.nodes
            .iter()
            .filter(|n| n.change == Some(c))
            .map(|n| n.path.clone())
            .collect()
    };
    let (added, changed, removed) = truth();
    // Directories the upper layer creates count as added, as `regatta diff` counts them.
    assert_eq!(marked(Change::Added), added);
    assert_eq!(marked(Change::Changed), changed);
    assert_eq!(marked(Change::Removed), removed);
    let upper_bytes: u64 = upper()
        .iter()
        .filter(|(p, _)| !p.contains(".wh."))
        .filter_map(|(_, c)| c.as_ref().map(|c| c.len() as u64))
        .sum();
    assert_eq!(tree.root().total, upper_bytes);
    // The merged filesystem: what `tar -x` of both, whiteouts applied, would leave.
    let merged = FileTree::merged(&listings);
    let node = |p: &str| merged.nodes.iter().find(|n| n.path == p);
    assert!(node("etc/motd").is_none() && node("var/cache/a").is_none());
    assert_eq!(node("usr/bin/app").unwrap().layer, Some(1));
    assert_eq!(node("usr/bin/app").unwrap().size, 6000);
    assert_eq!(merged.root().total, 120 + 6000 + 40 + 300);
}

#[tokio::test]
async fn enter_on_a_layer_lists_it_with_progress_and_back_aborts() {
    let mut app = in_layers().await;
    let View::Layers(layers) = app.top() else {
        panic!()
    };
    let all = layers
        .rows
        .platform_image()
        .unwrap()
        .manifest
        .layers
        .clone();
    assert!(all.len() >= 2, "the sample image has layers");
    app.update(Action::Last);
    let effects = app.update(Action::Open);
    let [
        Effect::ListFiles {
            req, layers, of, ..
        },
    ] = effects.as_slice()
    else {
        panic!("expected ListFiles, got {effects:?}")
    };
    let req = *req;
    // The layer and every layer below it: its marks are made against them.
    assert_eq!(layers, &all);
    assert_eq!(*of, TreeOf::Layer(all.len() - 1));
    assert_eq!(kinds(&app).last(), Some(&ViewKind::Files));
    assert!(files_view(&app).is_loading());

    let total: u64 = all.iter().map(|l| l.size).sum();
    app.update(Action::FilesProgress {
        req,
        read: total / 2,
        rate: 2048,
    });
    let text = screen(&app);
    let expected = crate::present::layers::reading_line(total / 2, total, 2048);
    assert!(text.contains(&expected), "{text}");
    assert!(text.contains("2 KiB/s"), "{text}");

    // Leaving stops the worker: its request is aborted.
    let effects = app.update(Action::Back);
    assert_eq!(effects, vec![Effect::Abort(vec![req])]);
    // A late result for it is dropped.
    app.update(Action::FilesListed {
        req,
        result: Err("late".into()),
    });
    assert_eq!(kinds(&app).last(), Some(&ViewKind::Layers));
    assert!(app.message().is_none());

    // The merged filesystem reads every layer.
    app.update(Action::First);
    let effects = app.update(Action::OpenMerged);
    let [Effect::ListFiles { layers, of, .. }] = effects.as_slice() else {
        panic!("expected ListFiles, got {effects:?}")
    };
    assert_eq!(layers, &all);
    assert_eq!(*of, TreeOf::Merged);
}

#[tokio::test]
async fn the_tree_folds_sorts_filters_and_shows_only_changes() {
    let mut app = in_layers().await;
    // The sample's second layer, shown with the tree of the upper tarball.
    app.update(Action::MoveDown);
    let effects = app.update(Action::Open);
    let req = req_of(&effects);
    assert!(matches!(
        effects.as_slice(),
        [Effect::ListFiles {
            of: TreeOf::Layer(1),
            ..
        }]
    ));
    let listings = vec![listed(&lower()), listed(&upper())];
    app.update(Action::FilesListed {
        req,
        result: Ok(Arc::new(FileTree::of_layer(&listings, 1))),
    });
    assert!(!files_view(&app).is_loading());
    assert_eq!(
        shown(&app),
        [
            "etc",
            "etc/motd",
            "etc/passwd",
            "opt",
            "opt/app",
            "opt/app/LICENSE",
            "usr",
            "usr/bin",
            "usr/bin/app",
            "var",
            "var/cache",
            "var/cache/a",
            "var/cache/b"
        ]
    );
    insta::assert_snapshot!("layer_tree", screen(&app));

    // Enter folds the selected directory (etc), and opens it again.
    app.update(Action::Open);
    assert_eq!(shown(&app)[..2], ["etc", "opt"]);
    app.update(Action::ToggleFold);
    assert_eq!(shown(&app).len(), 13);

    // By size: usr (6000) first, then opt (300), etc (120), var (40).
    app.update(Action::SortNext);
    let tops: Vec<String> = shown(&app)
        .into_iter()
        .filter(|p| !p.contains('/'))
        .collect();
    assert_eq!(tops, ["usr", "opt", "etc", "var"]);
    app.update(Action::SortNext);

    // Only what the layer changes: var/cache/b is written again unchanged.
    app.update(Action::CycleShown);
    assert!(!shown(&app).contains(&"var/cache/b".to_string()));
    assert!(shown(&app).contains(&"var/cache/a".to_string()));
    app.update(Action::CycleShown); // large: nothing of 1 MiB here
    assert!(shown(&app).is_empty());
    app.update(Action::CycleShown);

    // The filter shows matches and the directories above them.
    app.update(Action::Filter);
    assert_eq!(app.mode(), keymap::Mode::Filter);
    for c in "lic".chars() {
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterKeep);
    assert_eq!(shown(&app), ["opt", "opt/app", "opt/app/LICENSE"]);
    app.update(Action::Filter);
    app.update(Action::FilterClear);
    assert_eq!(shown(&app).len(), 13);
}

#[tokio::test]
async fn a_signatures_layer_is_not_listed_as_an_archive() {
    let (mut app, _) = demo_app(false);
    let source = fixtures::attached();
    let sig = source
        .tags(&repo("acme/app"))
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.as_str().ends_with(".sig"))
        .expect("the signature's tag");
    let tree = Arc::new(
        fetch_image(&source, &repo("acme/app"), &ManifestRef::Tag(sig.clone()))
            .await
            .unwrap(),
    );
    let mut view = LayersView::new(0, repo("acme/app"), vec!["sig".into()], tree, 0);
    view.tag = Some(sig.clone());
    app.stack.push(View::Layers(view));
    app.settle();
    // The CLI's sentence (`regatta files` on the same tag), naming the tag and its kind.
    let refusal = format!(
        "acme/app:{sig} is not a container image (cosign signature): its layers hold no file system"
    );
    let refused = |app: &App| matches!(app.message(), Some(Message::Info(m)) if *m == refusal);
    assert!(app.update(Action::Open).is_empty(), "no listing asked for");
    assert!(matches!(app.top(), View::Layers(_)));
    assert!(refused(&app), "{:?}", app.message());
    app.message = None;
    assert!(app.update(Action::OpenMerged).is_empty());
    assert!(refused(&app), "{:?}", app.message());
    // Nor are its size hints worked out from it.
    app.message = None;
    assert!(app.update(Action::OpenHints).is_empty());
    assert!(matches!(app.top(), View::Layers(_)));
    assert!(refused(&app), "{:?}", app.message());
}
