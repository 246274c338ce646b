//! Pure formatting of the values the views show. No terminal types here, so the CLI's table
//! output can use the same functions and print the same text.

use humansize::{BINARY, format_size};
use jiff::Timestamp;

use crate::registry::Platform;
use crate::registry::image::ImageTree;

/// Bytes in binary units with one decimal: `512 B`, `12.3 MiB`.
pub fn size(bytes: u64) -> String {
    format_size(bytes, BINARY.decimal_places(1))
}

/// How long ago `then` was, in the largest whole unit: `45s`, `12m`, `3h`, `3d`, `5mo`, `2y`.
/// A time in the future (clock skew) reads as `0s`.
pub fn age(then: Timestamp, now: Timestamp) -> String {
    let secs = (now.as_second() - then.as_second()).max(0);
    const MIN: i64 = 60;
    const HOUR: i64 = 60 * MIN;
    const DAY: i64 = 24 * HOUR;
    match secs {
        s if s < MIN => format!("{s}s"),
        s if s < HOUR => format!("{}m", s / MIN),
        s if s < DAY => format!("{}h", s / HOUR),
        s if s < 30 * DAY => format!("{}d", s / DAY),
        s if s < 365 * DAY => format!("{}mo", s / (30 * DAY)),
        s => format!("{}y", s / (365 * DAY)),
    }
}

/// A percentage with one decimal (`42.0%`); `-` when the whole is zero.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// A layer or manifest media type without the long common prefixes:
/// `application/vnd.oci.image.layer.v1.tar+gzip` reads `oci layer tar+gzip`.
pub fn media_type(media_type: &str) -> String {
    use crate::registry::manifest::{
        DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
    };
    const EXACT: &[(&str, &str)] = &[
        (OCI_MANIFEST, "oci manifest"),
        (OCI_INDEX, "oci index"),
        (OCI_CONFIG, "oci config"),
        (DOCKER_MANIFEST, "docker manifest v2"),
        (DOCKER_MANIFEST_LIST, "docker manifest list"),
        (DOCKER_CONFIG, "docker config"),
    ];
    if let Some((_, short)) = EXACT.iter().find(|(full, _)| *full == media_type) {
        return short.to_string();
    }
    const KNOWN: &[(&str, &str)] = &[
        ("application/vnd.oci.image.layer.v1.", "oci layer "),
        (
            "application/vnd.oci.image.layer.nondistributable.v1.",
            "oci foreign ",
        ),
        ("application/vnd.docker.image.rootfs.diff.", "docker layer "),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.",
            "docker foreign ",
        ),
        ("application/vnd.oci.image.", "oci "),
        ("application/vnd.docker.distribution.", "docker "),
        (
            "application/vnd.docker.container.image.v1+json",
            "docker config",
        ),
    ];
    for (prefix, short) in KNOWN {
        if let Some(rest) = media_type.strip_prefix(prefix) {
            return format!("{short}{rest}").trim_end().to_string();
        }
    }
    if media_type.is_empty() {
        "-".to_string()
    } else {
        media_type.to_string()
    }
}

/// `os/arch[/variant]`, or `-` when the image says nothing.
pub fn platform(platform: Option<&Platform>) -> String {
    match platform {
        Some(p) if !(p.os.is_empty() && p.architecture.is_empty()) => p.to_string(),
        _ => "-".to_string(),
    }
}

/// The platforms of an image, skipping attestation entries (`unknown/unknown`):
/// `linux/amd64, linux/arm64/v8`.
pub fn platforms(tree: &ImageTree) -> String {
    let names: Vec<String> = tree
        .images
        .iter()
        .map(|i| platform(i.platform.as_ref()))
        .filter(|p| p != "unknown/unknown" && p != "-")
        .collect();
    if names.is_empty() {
        "-".to_string()
    } else {
        names.join(", ")
    }
}

/// The newest `created` time over an image's platforms.
pub fn created(tree: &ImageTree) -> Option<Timestamp> {
    tree.images
        .iter()
        .filter_map(|i| i.config.as_ref().and_then(|c| c.created_at()))
        .max()
}

/// A JSON-ish list for entrypoint and cmd: `["nginx", "-g", "daemon off;"]`.
pub fn command(parts: &[String]) -> String {
    let quoted: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(12_897_485), "12.3 MiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3 GiB");
    }

    #[test]
    fn ages_pick_the_largest_unit() {
        let now = ts("2025-06-01T00:00:00Z");
        assert_eq!(age(ts("2025-05-31T23:59:15Z"), now), "45s");
        assert_eq!(age(ts("2025-05-31T23:48:00Z"), now), "12m");
        assert_eq!(age(ts("2025-05-31T21:00:00Z"), now), "3h");
        assert_eq!(age(ts("2025-05-29T00:00:00Z"), now), "3d");
        assert_eq!(age(ts("2024-12-31T00:00:00Z"), now), "5mo");
        assert_eq!(age(ts("2023-05-01T00:00:00Z"), now), "2y");
        assert_eq!(age(ts("2025-06-02T00:00:00Z"), now), "0s");
    }

    #[test]
    fn media_types_are_shortened() {
        assert_eq!(
            media_type("application/vnd.oci.image.layer.v1.tar+gzip"),
            "oci layer tar+gzip"
        );
        assert_eq!(
            media_type("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            "docker layer tar.gzip"
        );
        assert_eq!(media_type("application/x-thing"), "application/x-thing");
        assert_eq!(
            media_type(crate::registry::manifest::OCI_INDEX),
            "oci index"
        );
        assert_eq!(media_type(""), "-");
    }

    #[test]
    fn percent_and_commands() {
        assert_eq!(percent(1, 4), "25.0%");
        assert_eq!(percent(1, 0), "-");
        assert_eq!(command(&["sh".into(), "-c".into()]), r#"["sh", "-c"]"#);
    }
}
