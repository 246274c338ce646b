//! Layer listings as people read them, in the columns of `tar -tv` (mode, owner, size,
//! date, path, link), for the CLI's `files` and the TUI's file tree alike.

use crate::layers::diff::{Change as ValueChange, FileChange, ImageDiff};
use crate::layers::tree::{Change, FileTree, Node, Shown, TreeOf};
use crate::layers::{Entry, EntryKind, Listing, Whiteout};
use crate::present::size;
use crate::sanitize::sanitize;

/// The one sentence for files, hints or a diff asked of an artifact (a signature, an
/// attestation, an SBOM, ...): `what` names it, `kind` is what it is.
pub fn not_a_file_system(what: &str, kind: &str) -> String {
    format!(
        "{} is not a container image ({}): its layers hold no file system",
        sanitize(what),
        sanitize(kind)
    )
}

/// `drwxr-xr-x`, with setuid, setgid and sticky bits as `ls -l` shows them (`s`/`S`, `t`/`T`).
pub fn mode_string(kind: EntryKind, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(kind.letter());
    let bit = |mask: u32, c: char| if mode & mask != 0 { c } else { '-' };
    let special = |exec: bool, set: bool, lower: char, upper: char, plain: char| match (set, exec) {
        (true, true) => lower,
        (true, false) => upper,
        (false, true) => plain,
        (false, false) => '-',
    };
    s.push(bit(0o400, 'r'));
    s.push(bit(0o200, 'w'));
    s.push(special(
        mode & 0o100 != 0,
        mode & 0o4000 != 0,
        's',
        'S',
        'x',
    ));
    s.push(bit(0o040, 'r'));
    s.push(bit(0o020, 'w'));
    s.push(special(
        mode & 0o010 != 0,
        mode & 0o2000 != 0,
        's',
        'S',
        'x',
    ));
    s.push(bit(0o004, 'r'));
    s.push(bit(0o002, 'w'));
    s.push(special(
        mode & 0o001 != 0,
        mode & 0o1000 != 0,
        't',
        'T',
        'x',
    ));
    s
}

/// `2023-11-14 22:13` (UTC), or the number of seconds when it is no date.
pub fn mtime(seconds: i64) -> String {
    match jiff::Timestamp::from_second(seconds) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => seconds.to_string(),
    }
}

/// One line per entry as `tar -tv --numeric-owner` has it: a device's size column is
/// `major,minor`, a symlink ends `-> target`, a hardlink `link to target`; a whiteout says
/// what it deletes.
pub fn entry_line(e: &Entry) -> String {
    let size = match e.device {
        Some((major, minor)) => format!("{major},{minor}"),
        None => e.size.to_string(),
    };
    let mut line = format!(
        "{} {:>11} {:>12} {} {}",
        mode_string(e.kind, e.mode),
        format!("{}/{}", e.uid, e.gid),
        size,
        mtime(e.mtime),
        e.path
    );
    match (e.kind, &e.link) {
        (EntryKind::Symlink, Some(l)) => line.push_str(&format!(" -> {l}")),
        (EntryKind::Hardlink, Some(l)) => line.push_str(&format!(" link to {l}")),
        _ => {}
    }
    match e.whiteout() {
        Some(Whiteout::Removes(p)) => line.push_str(&format!("  [whiteout: deletes {p}]")),
        Some(Whiteout::Opaque(d)) => {
            line.push_str(&format!("  [opaque: hides what lower layers had in {d}]"))
        }
        None => {}
    }
    if e.sparse {
        line.push_str("  [sparse]");
    }
    line
}

/// `Layer 2/5 sha256:… · 12.3 MiB gzip · 48.0 MiB tar · 1234 entries`.
pub fn layer_heading(position: usize, count: usize, listing: &Listing) -> String {
    let compression = match listing.compression {
        crate::layers::Compression::Gzip => "gzip",
        crate::layers::Compression::Zstd => "zstd",
        crate::layers::Compression::None => "uncompressed",
    };
    // A listing read from a table of contents (eStargz, zstd:chunked) does not know the
    // tar's size.
    let tar = if listing.tar_bytes == 0 {
        "from its table of contents".to_string()
    } else {
        format!("{} tar", size(listing.tar_bytes))
    };
    format!(
        "Layer {position}/{count} {} · {} {compression} · {tar} · {} entries",
        listing.layer,
        size(listing.compressed_bytes),
        listing.entries.len()
    )
}

/// A percentage with one decimal (`87.5%`) of a 0..=1 score.
pub fn percent(score: f64) -> String {
    format!("{:.1}%", score * 100.0)
}

/// The hints of one image for people: the numbers, then the lists.
pub fn hints_lines(h: &crate::layers::hints::Hints) -> Vec<String> {
    use crate::present::size_exact;
    let mut lines = vec![
        format!(
            "Efficiency:   {} (as dive scores it)",
            percent(h.efficiency)
        ),
        format!("Wasted:       {}", size_exact(h.wasted_bytes)),
        format!("Duplicates:   {}", size_exact(h.duplicate_bytes)),
        format!("Files seen:   {}", size_exact(h.file_bytes)),
        format!("In layers:    {}", size_exact(h.layer_file_bytes)),
    ];
    if !h.inefficiencies.is_empty() {
        lines.push(String::new());
        lines.push("Written or deleted in more than one layer (largest first):".into());
        for i in &h.inefficiencies {
            lines.push(format!(
                "  {:>10}  {} layers  {}",
                size(i.cumulative_bytes),
                i.count,
                i.path
            ));
        }
    }
    if !h.known_waste.is_empty() {
        lines.push(String::new());
        lines.push("Known waste:".into());
        for w in &h.known_waste {
            let files = if w.files == 1 { "file" } else { "files" };
            lines.push(format!(
                "  {:>10}  {} {files}  {}",
                size(w.bytes),
                w.files,
                w.advice
            ));
        }
    }
    if !h.duplicates.is_empty() {
        lines.push(String::new());
        lines.push("Duplicate files (same content):".into());
        for d in &h.duplicates {
            let copies: Vec<String> = d
                .copies
                .iter()
                .map(|(layer, path)| format!("{path} (layer {layer})"))
                .collect();
            lines.push(format!(
                "  {:>10}  {}",
                size(d.extra_bytes),
                copies.join(", ")
            ));
        }
    }
    lines.push(String::new());
    lines.push("Largest files:".into());
    for f in &h.largest_files {
        let layer = f.layer.map(|l| format!("layer {l}")).unwrap_or_default();
        lines.push(format!("  {:>10}  {}  {layer}", size(f.bytes), f.path));
    }
    lines.push(String::new());
    lines.push("Largest directories:".into());
    for d in &h.largest_dirs {
        lines.push(format!("  {:>10}  {}", size(d.bytes), d.path));
    }
    lines
}

/// A merged-filesystem line: the layer (from 1) that last wrote the path, then the entry.
pub fn merged_line(layer: usize, e: &Entry) -> String {
    format!("L{layer:<3} {}", entry_line(e))
}

/// How `regatta diff` marks a file, for a layer tree's entry: `+` added, `~` changed, `-`
/// removed, blank when the layers below had the same.
pub fn change_mark(change: Option<Change>) -> &'static str {
    match change {
        Some(Change::Added) => "+",
        Some(Change::Changed) => "~",
        Some(Change::Removed) => "-",
        None => " ",
    }
}

/// The path cell of a tree row: indented by depth, `▾`/`▸` before an open or folded
/// directory that has entries, `/` after a directory, `-> target` after a link. Sanitized.
pub fn tree_name(node: &Node, open: bool) -> String {
    let indent = "  ".repeat(usize::from(node.depth.saturating_sub(1)));
    let dir = node.kind == EntryKind::Dir;
    let glyph = match (dir && !node.by_name.is_empty(), open) {
        (true, true) => "▾ ",
        (true, false) => "▸ ",
        (false, _) => "  ",
    };
    let mut text = format!("{indent}{glyph}{}", sanitize(&node.name));
    if dir {
        text.push('/');
    }
    match (node.kind, &node.link) {
        (EntryKind::Symlink, Some(l)) => text.push_str(&format!(" -> {}", sanitize(l))),
        (EntryKind::Hardlink, Some(l)) => text.push_str(&format!(" link to {}", sanitize(l))),
        _ => {}
    }
    text
}

/// The cells of one row of a tree (see `FILE_TREE_COLUMNS` and `MERGED_TREE_COLUMNS`).
pub fn tree_cells(tree: &FileTree, node: &Node, open: bool) -> Vec<String> {
    let files = if node.kind == EntryKind::Dir {
        node.files.to_string()
    } else {
        String::new()
    };
    let mut cells = Vec::with_capacity(5);
    match tree.of {
        TreeOf::Layer(_) => cells.push(change_mark(node.change).to_string()),
        TreeOf::Merged => {
            cells.push(
                node.layer
                    .map(|l| format!("L{}", l + 1))
                    .unwrap_or_default(),
            );
            cells.push(if tree.is_changed(node) { "~" } else { " " }.to_string());
        }
    }
    cells.push(size(node.total));
    cells.push(files);
    cells.push(tree_name(node, open));
    cells
}

/// The line above a tree: what it is and what it holds.
/// `Layer 2/3 · 4.9 KiB in 3 files · 2 added, 1 changed, 2 removed`, or
/// `Merged filesystem of 3 layers · 4.9 KiB in 3 files · 1 file written by more than one layer`.
/// `layers` is how many layers the image has (a layer's tree is read from those up to it).
pub fn tree_summary(tree: &FileTree, layers: usize) -> String {
    let root = tree.root();
    let files = if root.files == 1 { "file" } else { "files" };
    let held = format!("{} in {} {files}", size(root.total), root.files);
    match tree.of {
        TreeOf::Layer(i) => {
            let (added, changed, removed) = tree.change_counts();
            format!(
                "Layer {}/{} · {held} · {added} added, {changed} changed, {removed} removed",
                i + 1,
                layers
            )
        }
        TreeOf::Merged => {
            let over = tree.nodes.iter().filter(|n| tree.is_changed(n)).count();
            let what = if over == 1 { "file" } else { "files" };
            format!(
                "Merged filesystem of {layers} layers · {held} · {over} {what} written by more than one layer"
            )
        }
    }
}

/// What a tree restricted to some entries shows, for its summary line.
pub fn shown_label(of: TreeOf, shown: Shown) -> Option<&'static str> {
    match (shown, of) {
        (Shown::All, _) => None,
        (Shown::Changed, TreeOf::Layer(_)) => Some("only added, changed or removed"),
        (Shown::Changed, TreeOf::Merged) => Some("only files written by more than one layer"),
        (Shown::Large, _) => Some("only large files (1% of the bytes, at least 1 MiB)"),
    }
}

/// Progress of reading layers: `read 12.3 MiB of 63.7 MiB (19%) · 45.1 MiB/s`.
pub fn reading_line(read: u64, total: u64, rate: u64) -> String {
    let percent = if total == 0 {
        100
    } else {
        (u128::from(read.min(total)) * 100 / u128::from(total)) as u64
    };
    format!(
        "read {} of {} ({percent}%) · {}/s",
        size(read),
        size(total),
        size(rate)
    )
}

fn opt<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "(unset)".into(),
    }
}

fn change_line<T: std::fmt::Debug>(name: &str, c: &ValueChange<Option<T>>) -> String {
    format!("  {name}: {} -> {}", opt(&c.before), opt(&c.after))
}

/// `regatta diff` as people read it (the TUI's diff view shows the same lines): the two
/// images, the config changes, the layers, then the files, largest first.
pub fn diff_lines(r: &ImageDiff) -> Vec<String> {
    let mut lines = vec![
        format!("Before: {} ({})", r.before.reference, r.before.digest),
        format!("After:  {} ({})", r.after.reference, r.after.digest),
        String::new(),
    ];
    match &r.config {
        None => lines.push("Config: not compared (an image has no readable config)".into()),
        Some(c) if c.is_empty() => lines.push(format!(
            "Config: the same ({} build steps in common)",
            c.history_common
        )),
        Some(c) => {
            lines.push("Config:".into());
            for (k, v) in &c.env {
                lines.push(change_line(&format!("env {k}"), v));
            }
            for (k, v) in &c.labels {
                lines.push(change_line(&format!("label {k}"), v));
            }
            if let Some(v) = &c.entrypoint {
                lines.push(change_line("entrypoint", v));
            }
            if let Some(v) = &c.cmd {
                lines.push(change_line("cmd", v));
            }
            if let Some(v) = &c.user {
                lines.push(change_line("user", v));
            }
            if let Some(v) = &c.working_dir {
                lines.push(change_line("working dir", v));
            }
            for p in &c.ports_added {
                lines.push(format!("  port + {p}"));
            }
            for p in &c.ports_removed {
                lines.push(format!("  port - {p}"));
            }
            lines.push(format!("  history: {} steps in common", c.history_common));
            for s in &c.history_only_before {
                lines.push(format!("  history - {s}"));
            }
            for s in &c.history_only_after {
                lines.push(format!("  history + {s}"));
            }
        }
    }
    let l = &r.layers;
    lines.push(String::new());
    lines.push(format!(
        "Layers: {} shared ({}), {} only before ({}), {} only after ({})",
        l.shared.len(),
        size(l.shared_bytes),
        l.only_before.len(),
        size(l.only_before_bytes),
        l.only_after.len(),
        size(l.only_after_bytes)
    ));
    for (mark, list) in [
        ("=", &l.shared),
        ("-", &l.only_before),
        ("+", &l.only_after),
    ] {
        for layer in list {
            lines.push(format!(
                "  {mark} {} {:>10}",
                layer.digest,
                size(layer.size)
            ));
        }
    }
    let count = |c: FileChange| r.files.iter().filter(|f| f.change == c).count();
    let net: i64 = r
        .files
        .iter()
        .fold(0i64, |a, f| a.saturating_add(f.size_delta));
    lines.push(String::new());
    lines.push(format!(
        "Files: {} added, {} removed, {} changed, net {}{}",
        count(FileChange::Added),
        count(FileChange::Removed),
        count(FileChange::Changed),
        if net < 0 { "-" } else { "+" },
        size(net.unsigned_abs())
    ));
    for f in &r.files {
        let mark = match f.change {
            FileChange::Added => '+',
            FileChange::Removed => '-',
            FileChange::Changed => '~',
        };
        let sign = if f.size_delta < 0 { "-" } else { "+" };
        lines.push(format!(
            "  {mark} {:>10} {sign}{:<10} {}",
            size(f.size_before.max(f.size_after)),
            size(f.size_delta.unsigned_abs()),
            f.path
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_as_ls_shows_them() {
        assert_eq!(mode_string(EntryKind::Dir, 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(EntryKind::File, 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_string(EntryKind::File, 0o2644), "-rw-r-Sr--");
        assert_eq!(mode_string(EntryKind::Dir, 0o1777), "drwxrwxrwt");
        assert_eq!(mode_string(EntryKind::Symlink, 0o777), "lrwxrwxrwx");
        assert_eq!(mode_string(EntryKind::CharDevice, 0o600), "crw-------");
    }

    #[test]
    fn dates_are_utc_minutes() {
        assert_eq!(mtime(1_700_000_000), "2023-11-14 22:13");
    }
}
