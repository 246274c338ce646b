//! `regatta restore`: list backups of deleted manifests, or put them back.

use serde::Serialize;

use super::Context;
use super::output::{print_json, print_lines};
use crate::cleanup::journal::Journal;
use crate::cleanup::restore::restore;
use crate::present::columns::{BackupLine, Digests, RESTORE_COLUMNS, backup_cells, table};
use crate::target;

#[derive(Serialize)]
struct Restored {
    restored: Vec<crate::cleanup::restore::RestoreResult>,
    failed: Vec<(String, String)>,
}

pub async fn run(ctx: &Context, ids: &[String], list: bool, json: bool) -> anyhow::Result<bool> {
    let journal = Journal::default_location()
        .ok_or_else(|| anyhow::anyhow!("no data directory: no backups"))?;
    if list || ids.is_empty() {
        let backups = journal.backups();
        if json {
            print_json(&backups)?;
        } else {
            let now = jiff::Timestamp::now();
            let rows: Vec<Vec<String>> = backups
                .iter()
                .map(|b| {
                    let repository = format!("{}/{}", b.registry, b.repository);
                    let line = BackupLine {
                        time: &b.time,
                        action: &b.action,
                        repository: &repository,
                        digest: &b.digest,
                        tags: &b.tags,
                        children: b.children.len(),
                    };
                    let mut row = vec![b.id.clone()];
                    row.extend(backup_cells(&line, now, Digests::Full));
                    row
                })
                .collect();
            print_lines(table(RESTORE_COLUMNS, &rows))?;
        }
        return Ok(true);
    }
    let mut out = Restored {
        restored: Vec::new(),
        failed: Vec::new(),
    };
    for id in ids {
        let meta = match journal.load_backup(id) {
            Ok(m) => m,
            Err(e) => {
                out.failed
                    .push((id.clone(), format!("no such backup: {e}")));
                continue;
            }
        };
        let result = async {
            let target = target::resolve(&meta.registry, &ctx.config, &ctx.overrides)?;
            let client = target.client()?;
            anyhow::Ok(restore(&client, &journal, id).await?)
        }
        .await;
        match result {
            Ok(r) => out.restored.push(r),
            Err(e) => out.failed.push((id.clone(), format!("{e:#}"))),
        }
    }
    if json {
        print_json(&out)?;
    } else {
        for r in &out.restored {
            let tags = if r.tags.is_empty() {
                "untagged".to_string()
            } else {
                format!("as {}", r.tags.join(", "))
            };
            let blobs = if r.blobs_put_back == 0 {
                String::new()
            } else {
                format!(
                    " ({} put back from the blob backup, {})",
                    crate::present::units::count(r.blobs_put_back, "blob"),
                    crate::present::units::size_exact(r.bytes_put_back)
                )
            };
            print_lines([format!(
                "restored {}@{} {tags}{blobs}",
                r.repository, r.digest
            )])?;
            for why in &r.left_alone {
                eprintln!(
                    "regatta: restore {}: {}",
                    r.id,
                    crate::sanitize::sanitize(why)
                );
            }
        }
        for (id, e) in &out.failed {
            eprintln!("regatta: restore {id}: {}", crate::sanitize::sanitize(e));
        }
    }
    Ok(out.failed.is_empty())
}
