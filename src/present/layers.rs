//! Layer listings as people read them, in the columns of `tar -tv` (mode, owner, size,
//! date, path, link), for the CLI's `files` and the TUI's file tree alike.

use crate::layers::{Entry, EntryKind, Listing, Whiteout};
use crate::present::size;

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
    // A listing read from an eStargz table of contents does not know the tar's size.
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
            lines.push(format!(
                "  {:>10}  {} files  {}",
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
