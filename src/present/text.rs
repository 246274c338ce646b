//! Short forms of registry values for people: media types, platforms, digests, commands,
//! and wrapping prose to a width. No terminal types.

use jiff::Timestamp;

use crate::registry::Platform;
use crate::registry::image::{ImageTree, PlatformImage};

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
    platform_list(tree.images.iter().map(|i| i.platform.as_ref()))
}

/// Platforms as [`platforms`] lists them, from wherever they were read (the storage model
/// knows them without an [`ImageTree`]).
pub fn platform_list<'a>(platforms: impl IntoIterator<Item = Option<&'a Platform>>) -> String {
    let names: Vec<String> = platforms
        .into_iter()
        .map(platform)
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

/// `repo@sha256:0123456789ab…` for the long digests in a step's text.
pub fn short_digests(what: &str) -> String {
    match what.split_once("@sha256:") {
        Some((head, hex)) if hex.chars().count() > 12 => {
            let hex: String = hex.chars().take(12).collect();
            format!("{head}@sha256:{hex}…")
        }
        _ => what.to_string(),
    }
}

/// `sha256:0123456789ab…`: a digest's algorithm and its first 12 hex characters.
pub fn short_digest(digest: &str) -> String {
    short_digests(&format!("@{digest}"))
        .trim_start_matches('@')
        .to_string()
}

/// The first 12 hex characters of a digest that came from a file or a report (no
/// assumption that it is well formed), as `docker images` shows them.
pub fn digest_hex12(digest: &str) -> String {
    digest
        .split_once(':')
        .map_or(digest, |(_, hex)| hex)
        .chars()
        .take(12)
        .collect()
}

/// The build step of each layer of an image (non-empty history entries match layers one to
/// one, in order); `None` where the history says nothing.
pub fn layer_steps(image: &PlatformImage) -> Vec<Option<String>> {
    let history: Vec<Option<String>> = image
        .config
        .as_ref()
        .map(|c| {
            c.layer_history()
                .iter()
                .map(|h| h.created_by.clone())
                .collect()
        })
        .unwrap_or_default();
    (0..image.manifest.layers.len())
        .map(|i| history.get(i).cloned().flatten())
        .collect()
}

/// Splits `text` into lines of at most `width` characters at spaces (a longer word gets a
/// line of its own, cut by the frame).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn commands_read_as_json_lists() {
        assert_eq!(command(&["sh".into(), "-c".into()]), r#"["sh", "-c"]"#);
        assert_eq!(command(&[]), "[]");
    }

    #[test]
    fn digests_are_shortened_to_twelve_hex_characters() {
        let full = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short_digest(&full), "sha256:0123456789ab…");
        assert_eq!(
            short_digests(&format!("app@{full}")),
            "app@sha256:0123456789ab…"
        );
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(digest_hex12(&full), "0123456789ab");
        assert_eq!(digest_hex12("garbage"), "garbage");
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert!(wrap("", 5).is_empty());
    }
}
