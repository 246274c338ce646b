//! Opening a cached listing of a 20,000-file layer and drawing its tree (the target is
//! under 50 ms), printed, not asserted: `cargo bench --bench file_tree`.
//!
//! The listing holds the first 20,000 regular files found under `/usr` (real paths and
//! sizes, with their directories), stored once through the listing cache. Each round then
//! does what the TUI does when a layer is opened a second time: read and decode the cached
//! file, build the tree (nodes, aggregated sizes, both child orders), compute the rows and
//! draw one frame of the file tree view into a 200x50 `TestBackend`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use regatta::layers::tree::{FileTree, TreeOf};
use regatta::layers::{Compression, Entry, EntryKind, Listing, ListingCache};
use regatta::registry::{Digest, RepoName};
use regatta::tui::Theme;
use regatta::tui::views::Ctx;
use regatta::tui::views::files::{FilesView, page};

const FILES: usize = 20_000;
const ROUNDS: usize = 15;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

fn entry(path: &str, kind: EntryKind, size: u64) -> Entry {
    Entry {
        path: path.to_string(),
        kind,
        size,
        mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
        link: None,
        device: None,
        sha256: (kind == EntryKind::File).then(|| format!("{:064x}", size)),
        sparse: false,
    }
}

/// Directories and the first `FILES` regular files under `dir`, depth first, as a tar of
/// them would list them.
fn walk(dir: &Path, entries: &mut Vec<Entry>, files: &mut usize) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut children: Vec<_> = read.filter_map(Result::ok).collect();
    children.sort_by_key(|c| c.file_name());
    for child in children {
        if *files >= FILES {
            return;
        }
        let path = child.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = path.to_string_lossy().trim_start_matches('/').to_string();
        if meta.is_dir() {
            entries.push(entry(&name, EntryKind::Dir, 0));
            walk(&path, entries, files);
        } else if meta.is_file() {
            entries.push(entry(&name, EntryKind::File, meta.len()));
            *files += 1;
        }
    }
}

fn main() {
    let mut entries = Vec::new();
    let mut files = 0;
    walk(Path::new("/usr"), &mut entries, &mut files);
    let layer = Digest::sha256_of(b"file tree bench layer");
    let listing = Listing {
        layer: layer.clone(),
        compression: Compression::Gzip,
        compressed_bytes: 0,
        tar_bytes: 0,
        entries,
    };
    println!(
        "listing: {} entries, {files} regular files under /usr",
        listing.entries.len()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = ListingCache::new(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(cache.put(&listing));
    let stored = std::fs::metadata(cache.path(&layer)).map_or(0, |m| m.len());
    println!("cached listing: {stored} bytes on disk");

    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let ctx = Ctx {
        theme: Theme::PLAIN,
        now: jiff::Timestamp::UNIX_EPOCH,
        entries: &[],
        storages: &[],
        spinner: ' ',
    };
    let mut totals = Vec::new();
    let (mut reads, mut builds, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let listing = runtime
            .block_on(cache.get(&layer))
            .expect("the listing is cached");
        let read = started.elapsed();
        let tree = FileTree::of_layer(std::slice::from_ref(&listing), 0);
        let mut view = FilesView::new(
            0,
            RepoName::parse("bench").expect("repo"),
            Vec::new(),
            TreeOf::Layer(0),
            0,
        );
        view.set_tree(Arc::new(tree), page(area));
        let built = started.elapsed();
        terminal
            .draw(|f| view.render(f, area, &ctx))
            .expect("a frame");
        let total = started.elapsed();
        reads.push(read);
        builds.push(built - read);
        frames.push(total - built);
        totals.push(total);
        assert!(view.rows.len() > FILES, "every path is shown");
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        (v[0], v[v.len() / 2])
    };
    let (best, mid) = median(totals);
    println!(
        "open cached listing + build tree + draw 200x50 frame: best {best:?}, median {mid:?} ({ROUNDS} rounds; target under 50 ms)"
    );
    for (label, times) in [
        ("  read + decode the cache file", reads),
        ("  build the tree and its rows", builds),
        ("  draw one frame", frames),
    ] {
        let (best, mid) = median(times);
        println!("{label}: best {best:?}, median {mid:?}");
    }
}
