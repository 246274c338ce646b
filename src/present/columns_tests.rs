//! Tests of [`super::columns`].

use jiff::Timestamp;

use super::columns::Align::{Left, Right};
use super::columns::Width::{Fill, Fixed};
use super::columns::*;
use crate::registry::Digest;
use crate::sanitize::PLACEHOLDER;

#[test]
fn every_row_has_one_cell_per_column() {
    let d = Digest::sha256_of(b"x");
    let now: Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let reg = RegistryLine {
        name: "a",
        location: "b",
        state: "ok",
        detail: "",
    };
    assert_eq!(registry_row(&reg).len(), REGISTRY_COLUMNS.len());
    let repo = RepoLine {
        name: "a",
        tags: Field::Loading,
        sizes: Some(RepoSizes {
            logical: Field::Known(2048),
            stored: Field::Known(1024),
            unique: Field::Loading,
        }),
    };
    assert_eq!(repo_row(&repo), ["a", "…", "2 KiB", "1 KiB", "…"]);
    let tag = TagLine {
        marked: true,
        tag: "v1",
        digest: Some(&d),
        size: Field::Known(2048),
        created: Some("2025-05-29T00:00:00Z".parse().unwrap()),
        platforms: "linux/amd64",
        shared: 2,
    };
    assert_eq!(
        tag_row(&tag, now),
        vec!["*", "v1", d.short(), "2 KiB", "3d", "linux/amd64", "+2"]
    );
    let p = PlatformLine {
        platform: "x",
        digest: &d,
        size: 1,
        layers: 2,
        media_type: "",
    };
    assert_eq!(platform_row(&p).len(), PLATFORM_COLUMNS.len());
    let l = LayerLine {
        position: 1,
        digest: &d,
        media_type: "",
        size: 1,
        image_size: 4,
        used_by: Some(Field::Known(0)),
        created_by: Some("RUN x"),
    };
    assert_eq!(layer_row(&l)[4], "25.0%");
    assert_eq!(layer_row(&l)[5], "only this");
    assert_eq!(layer_row(&l).len(), LAYER_COLUMNS.len());
}

#[test]
fn cells_are_sanitized() {
    let tag = TagLine {
        marked: false,
        tag: "v1\u{7}",
        digest: None,
        size: Field::Failed,
        created: None,
        platforms: "linux/\u{1b}[2Jamd64",
        shared: 0,
    };
    let cells = tag_row(&tag, Timestamp::UNIX_EPOCH);
    assert_eq!(cells[1], format!("v1{PLACEHOLDER}"));
    assert_eq!(cells[5], format!("linux/{PLACEHOLDER}amd64"));
    assert_eq!(cells[3], "error");
}

#[test]
fn du_columns_extend_the_repository_list() {
    assert_eq!(&DU_COLUMNS[..REPO_COLUMNS.len()], REPO_COLUMNS);
    assert_eq!(DU_COLUMNS.len(), REPO_COLUMNS.len() + 1);
}

#[test]
fn plain_tables_align_by_the_specs_and_sanitize() {
    let specs = [col("NAME", Fill(1), Left), col("SIZE", Fixed(10), Right)];
    let lines = table(
        &specs,
        &[
            vec!["a\u{1b}[2J".into(), "1 B".into()],
            vec!["long-name".into(), "22.5 MiB".into()],
        ],
    );
    assert_eq!(lines[0], "NAME           SIZE");
    assert_eq!(
        lines[1],
        format!("{:<9}  {:>8}", format!("a{PLACEHOLDER}"), "1 B")
    );
    assert_eq!(lines[2], "long-name  22.5 MiB");
    // A left-aligned last column leaves no trailing blanks.
    let lines = table(&specs[..1], &[vec!["x".into()], vec!["yyy".into()]]);
    assert_eq!(lines, ["NAME", "x", "yyy"]);
    // An empty column is left out; without rows every title shows.
    let lines = table(&specs, &[vec!["x".into(), String::new()]]);
    assert_eq!(lines, ["NAME", "x"]);
    assert_eq!(table(&specs, &[]), ["NAME  SIZE"]);
}

#[test]
fn digest_cells_are_short_on_screen_and_whole_in_the_cli() {
    let d = Digest::sha256_of(b"x");
    let p = PlatformLine {
        platform: "linux/amd64",
        digest: &d,
        size: 1536,
        layers: 2,
        media_type: crate::registry::manifest::OCI_MANIFEST,
    };
    let short = platform_row(&p);
    let full = platform_cells(&p, Digests::Full);
    assert_eq!(short[1], d.short());
    assert_eq!(full[1], d.to_string());
    assert_eq!(short[2], "1.5 KiB");
    assert_eq!(full[4], "oci manifest");
}
