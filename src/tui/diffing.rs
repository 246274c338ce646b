//! The worker of the diff view: fetch both images, list all their layers through the
//! listing cache (as the file tree does, with progress), and compare them with the code of
//! `regatta diff` ([`crate::layers::diff::image_diff`]).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, DiffSide, ReqId};
use super::workers::{NO_LAYER_SOURCE, list_reporting};
use crate::layers::LayerSource;
use crate::layers::diff::{ImageDiff, image_diff};
use crate::layers::select::select_image;
use crate::registry::image::fetch_image;
use crate::registry::{ManifestRef, Source};

/// The registry's source (for the manifests and configs) and where each side's layer blobs
/// are read from.
pub type DiffSources = (Arc<dyn Source>, Option<LayerSource>, Option<LayerSource>);

pub async fn run(
    sources: Option<DiffSources>,
    req: ReqId,
    before: DiffSide,
    after: DiffSide,
    tx: UnboundedSender<Action>,
) {
    let result = diff(sources, req, &before, &after, &tx).await.map(Arc::new);
    let _ = tx.send(Action::DiffBuilt { req, result });
}

async fn diff(
    sources: Option<DiffSources>,
    req: ReqId,
    before: &DiffSide,
    after: &DiffSide,
    tx: &UnboundedSender<Action>,
) -> Result<ImageDiff, String> {
    let Some((source, Some(layers_a), Some(layers_b))) = sources else {
        return Err(NO_LAYER_SOURCE.into());
    };
    let fetch = |side: &DiffSide| {
        let source = source.clone();
        let side = side.clone();
        async move {
            let reference = ManifestRef::Digest(side.digest.clone());
            let tree = fetch_image(&*source, &side.repo, &reference)
                .await
                .map_err(|e| format!("{}:{}: {e}", side.repo, side.label()))?;
            let mut name = source.full_reference(&side.repo, &side.name);
            if let Some(p) = &side.platform {
                name.push_str(&format!(" [{p}]"));
            }
            Ok::<_, String>((name, tree))
        }
    };
    let (name_a, tree_a) = fetch(before).await?;
    let (name_b, tree_b) = fetch(after).await?;
    let image_a = select_image(&tree_a, None).map_err(|e| format!("{name_a}: {e}"))?;
    let image_b = select_image(&tree_b, None).map_err(|e| format!("{name_b}: {e}"))?;
    let bytes = |layers: &[crate::registry::Descriptor]| {
        layers.iter().fold(0u64, |a, l| a.saturating_add(l.size))
    };
    let size_a = bytes(&image_a.manifest.layers);
    let total = size_a.saturating_add(bytes(&image_b.manifest.layers));
    let report = |offset: u64| {
        move |read: u64, rate: u64| {
            let read = offset.saturating_add(read);
            let _ = tx.send(Action::DiffProgress {
                req,
                read,
                total,
                rate,
            });
        }
    };
    let listed_a = list_reporting(&layers_a, &image_a.manifest.layers, report(0)).await?;
    let listed_b = list_reporting(&layers_b, &image_b.manifest.layers, report(size_a)).await?;
    let (image_a, image_b) = (image_a.clone(), image_b.clone());
    // Merging two filesystems of many files is CPU work: off the async threads.
    tokio::task::spawn_blocking(move || {
        image_diff((name_a, &image_a, &listed_a), (name_b, &image_b, &listed_b))
    })
    .await
    .map_err(|e| format!("internal error while comparing the images: {e}"))
}
