//! The worker of the hints view: list every layer of the image through the listing cache
//! (as the file tree does, with progress) and compute its size hints with the code of
//! `regatta hints` ([`crate::layers::hints::hints`]).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::action::{Action, ReqId};
use super::workers::{NO_LAYER_SOURCE, list_reporting};
use crate::layers::LayerSource;
use crate::layers::hints::hints;
use crate::registry::Descriptor;

pub async fn run(
    source: Option<LayerSource>,
    req: ReqId,
    layers: Vec<Descriptor>,
    tx: UnboundedSender<Action>,
) {
    let Some(source) = source else {
        let result = Err(NO_LAYER_SOURCE.to_string());
        let _ = tx.send(Action::HintsBuilt { req, result });
        return;
    };
    let listed = list_reporting(&source, &layers, |read, rate| {
        let _ = tx.send(Action::HintsProgress { req, read, rate });
    })
    .await;
    let result = match listed {
        // Merging the layers' files is CPU work: off the async threads.
        Ok(listings) => tokio::task::spawn_blocking(move || hints(&listings))
            .await
            .map(Arc::new)
            .map_err(|e| format!("internal error while computing the hints: {e}")),
        Err(e) => Err(e),
    };
    let _ = tx.send(Action::HintsBuilt { req, result });
}
