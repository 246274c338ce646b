//! `du --storage PATH` (or a registry's `storage` in the config): the storage-level numbers
//! read from the registry's own storage beside the API-level ones.

use std::time::Duration;

use crate::cleanup::policy::parse_duration;
use crate::config::Config;
use crate::storage::account::StorageReport;
use crate::target::Target;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct StorageArgs {
    /// The registry's storage, read-only (the filesystem driver's rootdirectory, e.g.
    /// /var/lib/registry); default: the `storage` of the registry's config entry.
    #[arg(long, value_name = "PATH")]
    pub storage: Option<String>,
    /// Uploads started longer ago than this count as abandoned (30m, 24h, 7d).
    #[arg(long, value_name = "DUR", default_value = "24h")]
    pub uploads_older_than: String,
}

/// Where the storage of `input` is: the flag, else the config entry's `storage`. Layouts have
/// none (the layout itself is what `du` reads).
pub fn location(
    args: &StorageArgs,
    config: &Config,
    input: &str,
    target: &Target,
) -> Option<String> {
    if matches!(target, Target::Layout(_)) {
        return None;
    }
    args.storage.clone().or_else(|| {
        config
            .find_registry(input)
            .and_then(|(_, r)| r.storage.clone())
    })
}

/// Reads the storage at `location` into a report.
pub async fn read(args: &StorageArgs, location: &str) -> anyhow::Result<StorageReport> {
    let age: Duration = parse_duration(&args.uploads_older_than).ok_or_else(|| {
        anyhow::anyhow!(
            "--uploads-older-than {:?}: expected a duration such as 30m, 24h or 7d",
            args.uploads_older_than
        )
    })?;
    let cutoff = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::try_from(age)?)
        .map_err(|e| anyhow::anyhow!("--uploads-older-than {:?}: {e}", args.uploads_older_than))?;
    let storage = crate::storage::open(location).await?;
    Ok(crate::storage::read_report(storage.as_ref(), cutoff).await?)
}

/// `--repo`: keeps the rows of the repositories shown. The registry totals and the collector's
/// forecast stay whole: the collector runs over every repository.
pub fn keep_repositories(report: &mut StorageReport, shown: impl Fn(&str) -> bool) {
    report.repositories.retain(|r| shown(r.repository.as_str()));
    report.untagged.retain(|r| shown(r.repository.as_str()));
    report.uploads.retain(|r| shown(r.repository.as_str()));
    report.tag_history.retain(|r| shown(r.repository.as_str()));
}
