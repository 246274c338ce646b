//! Which image of a tag and which of its layers a command means (`--platform`, `--layer`).
//! Shared by the CLI's `files`, `hints` and `diff` and by the TUI.

use crate::present::text::platform;
use crate::registry::image::{ImageTree, PlatformImage};
use crate::registry::{Descriptor, Digest};

/// The image of `tree` for `wanted` (`os/arch[/variant]`); without it the only image, or
/// `linux/amd64` when an index has several. An error is one sentence listing the choices.
pub fn select_image<'a>(
    tree: &'a ImageTree,
    wanted: Option<&str>,
) -> Result<&'a PlatformImage, String> {
    let images: Vec<&PlatformImage> = tree
        .images
        .iter()
        .filter(|i| {
            // Attestation manifests of buildx indexes are no container image.
            platform(i.platform.as_ref()) != "unknown/unknown"
        })
        .collect();
    let names = || {
        images
            .iter()
            .map(|i| platform(i.platform.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(w) => images
            .iter()
            .find(|i| {
                let name = platform(i.platform.as_ref());
                name == w || (w.matches('/').count() == 1 && name.starts_with(&format!("{w}/")))
            })
            .copied()
            .ok_or_else(|| format!("the image has no platform {w} (it has: {})", names())),
        None if images.len() == 1 => Ok(images[0]),
        None => images
            .iter()
            .find(|i| platform(i.platform.as_ref()) == "linux/amd64")
            .copied()
            .ok_or_else(|| {
                format!(
                    "the image has several platforms; choose one with --platform ({})",
                    names()
                )
            }),
    }
}

/// The layers named by `--layer`: a position from 1, a whole digest, or a unique prefix of
/// one's hex; all layers without it. Returned with their positions (from 1).
pub fn select_layers<'a>(
    image: &'a PlatformImage,
    wanted: Option<&str>,
) -> Result<Vec<(usize, &'a Descriptor)>, String> {
    let all: Vec<(usize, &Descriptor)> = image
        .manifest
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .collect();
    let Some(wanted) = wanted else {
        return Ok(all);
    };
    if let Ok(n) = wanted.parse::<usize>() {
        return all.get(n.wrapping_sub(1)).map(|&l| vec![l]).ok_or_else(|| {
            format!(
                "--layer {n}: the image has {} layers (numbered from 1)",
                all.len()
            )
        });
    }
    let hex = wanted.strip_prefix("sha256:").unwrap_or(wanted);
    if let Ok(d) = Digest::parse(wanted) {
        return all
            .iter()
            .find(|(_, l)| l.digest == d)
            .map(|&l| vec![l])
            .ok_or_else(|| format!("the image has no layer {d}"));
    }
    let matching: Vec<_> = all
        .iter()
        .filter(|(_, l)| !hex.is_empty() && l.digest.hex().starts_with(hex))
        .copied()
        .collect();
    match matching.len() {
        1 => Ok(matching),
        0 => Err(format!(
            "--layer {wanted:?}: no layer has that number or digest"
        )),
        _ => Err(format!(
            "--layer {wanted:?} matches several layers; give more of the digest"
        )),
    }
}
