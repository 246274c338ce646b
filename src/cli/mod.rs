//! The command line: parses arguments, loads the config, and runs a command or the TUI.
//! Errors end as one line on stderr and exit code 1; usage errors exit with 2. A reader that
//! goes away (`regatta ls demo | head -1`) ends the program quietly with 0, as `rg` does.

mod audit;
mod cleanup_untagged;
mod copy;
mod copy_many;
mod delete;
mod diff;
mod du;
mod export;
mod files;
mod hints;
mod info;
mod inspect;
mod list;
mod logging;
mod output;
mod progress;
mod referrers;
mod restore;
mod storage_du;
mod sync;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::config::Config;
use crate::target::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "regatta",
    version,
    about = "Browse container registries, see what their storage holds, and clean up safely",
    subcommand_precedence_over_arg = true
)]
pub struct Cli {
    /// Open this registry (config name, host[:port] or URL) or OCI layout directory in the TUI.
    /// Without it: the configured registries, or the bundled demo when there is no config.
    pub target: Option<String>,

    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Args, Clone)]
pub struct GlobalArgs {
    /// Config file [default: $XDG_CONFIG_HOME/regatta/config.toml]
    #[arg(long, global = true, env = "REGATTA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Skip TLS certificate verification (shows a warning).
    #[arg(long, global = true)]
    pub insecure: bool,

    /// Trust this PEM CA file for the registry's TLS certificate.
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Requests in flight at once per registry [default: 8].
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the repositories of a registry or OCI layout.
    Ls {
        /// Registry (config name, host[:port], URL) or OCI layout directory.
        target: String,
        /// Print JSON: an array of repository names.
        #[arg(long)]
        json: bool,
    },
    /// List the tags of a repository.
    Tags {
        /// TARGET/REPOSITORY, e.g. 127.0.0.1:5000/team/app.
        repository: String,
        /// Print JSON: an array of tag names.
        #[arg(long)]
        json: bool,
    },
    /// Show what a reference is: media type, digest, size, platforms, layers and config.
    Inspect {
        /// TARGET/REPOSITORY[:TAG|@DIGEST] (the tag defaults to latest).
        reference: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also scan the whole registry and show, for each layer, which other tags use it,
        /// and the bytes no other tag references (the TUI's layer view). Needs a tag.
        #[arg(long)]
        sharing: bool,
    },
    /// Show the artifacts attached to a manifest (signatures, attestations, SBOMs, and their
    /// own referrers) as a tree with kinds and sizes.
    Referrers {
        /// TARGET/REPOSITORY[:TAG|@DIGEST] (the tag defaults to latest).
        reference: String,
        /// Also look for referrers in this repository of the same registry (as cosign's
        /// COSIGN_REPOSITORY puts them); may be repeated.
        #[arg(long = "also-in", value_name = "REPOSITORY")]
        also_in: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Storage per repository and for the registry; with --free, what deleting tags would free.
    Du {
        /// Registry (config name, host[:port], URL) or OCI layout directory.
        target: String,
        /// Show only repositories matching this glob (e.g. 'team/*'); sharing is still
        /// counted against every repository, so all are scanned.
        #[arg(long, value_name = "GLOB")]
        repo: Option<String>,
        /// Predict bytes_freed if these tags (REPOSITORY:TAG) were deleted.
        #[arg(long, value_name = "REF", num_args = 1..)]
        free: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        storage: storage_du::StorageArgs,
    },
    /// Audit tag sprawl: tag kinds, ages, alias groups, stale repositories, orphaned
    /// signatures, drifted floating tags, each priced in bytes freed; and a suggested policy.
    Audit {
        /// Registry (config name, host[:port], URL) or OCI layout directory.
        target: String,
        /// Report only repositories matching this glob (every repository is still scanned:
        /// bytes freed depends on all of them).
        #[arg(long, value_name = "GLOB")]
        repo: Option<String>,
        /// Print JSON (schema regatta.audit/v1; same as --format json).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: audit::Format,
        /// Stale means older than this many days (overrides [audit] stale_days, default 90).
        #[arg(long, value_name = "DAYS")]
        stale_days: Option<u32>,
        /// A floating tag drifted when not on one of the newest N images (default 3).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        drift_newest: Option<u64>,
    },
    /// Delete tags (dry run unless --apply). Deleting a tag deletes its digest and every tag on
    /// it; --untag removes only the named tags and keeps their aliases.
    Rm {
        /// REGISTRY/REPOSITORY:TAG references, all on one registry.
        #[arg(required = true, value_name = "REF")]
        refs: Vec<String>,
        /// Remove only these tags; other tags on the same digest stay.
        #[arg(long)]
        untag: bool,
        #[command(flatten)]
        apply: delete::ApplyArgs,
    },
    /// Apply a retention policy (dry run unless --apply).
    Cleanup {
        /// Registry (config name, host[:port], URL).
        target: String,
        #[command(flatten)]
        policy: delete::PolicyArgs,
        /// Only repositories matching this glob.
        #[arg(long, value_name = "GLOB")]
        repo: Option<String>,
        #[command(flatten)]
        apply: delete::ApplyArgs,
        #[command(flatten)]
        untagged: cleanup_untagged::UntaggedArgs,
    },
    /// List backups of deleted manifests (--list), or restore them by ID.
    Restore {
        /// Backup IDs (from --list).
        ids: Vec<String>,
        /// List the backups.
        #[arg(long)]
        list: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What a registry can do: API version, catalog and its page cap, referrers API, tag
    /// delete, whether deletes are enabled (probed with requests that change nothing), what
    /// the credential may do on a repository, and the request budget the registry announced.
    Info {
        /// Registry (config name, host[:port], URL).
        target: String,
        /// The repository whose grants to show (default: the first of the catalog).
        #[arg(long)]
        repo: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Copy an image, or every tag of a repository, to another registry or repository (dry
    /// run unless --apply): only the blobs the destination lacks move, digests are kept, tags
    /// are set last.
    Cp(copy::CopyArgs),
    /// Write images of a registry into an OCI image layout directory (skopeo's `oci:DIR:TAG`).
    Export(export::ExportArgs),
    /// Push the tagged images of an OCI image layout directory to a registry.
    Import(export::ImportArgs),
    /// Run the config's [sync.NAME] mirrors (dry run unless --apply): the source's selected
    /// tags are copied as `cp` copies them; with `delete = true`, what the source no longer
    /// has is deleted on the destination as `rm` deletes.
    Sync(sync::SyncArgs),
    /// List the files in an image's layers, read from the registry without pulling (each
    /// layer streamed once and cached by digest), as `tar -tv` shows them.
    Files {
        /// TARGET/REPOSITORY[:TAG|@DIGEST] (the tag defaults to latest).
        reference: String,
        /// The platform of a multi-platform image (os/arch[/variant]; default linux/amd64).
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// Only this layer: its position from 1 (bottom first), or its digest (a unique
        /// prefix of the hex is enough).
        #[arg(long, value_name = "N|DIGEST")]
        layer: Option<String>,
        /// The merged filesystem a container sees (whiteouts applied), each path with the
        /// layer that last wrote it.
        #[arg(long, conflicts_with = "layer")]
        merged: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Why an image is big: wasted bytes and efficiency as dive measures them, duplicate
    /// files, the largest files and directories, known waste (package caches, .git, build
    /// toolchains); with --repo, base-image drift across the tags.
    Hints {
        /// TARGET/REPOSITORY[:TAG|@DIGEST]; with --repo, TARGET/REPOSITORY.
        reference: String,
        /// The platform of a multi-platform image (os/arch[/variant]; default linux/amd64).
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// Every tag of the repository, the sums over its distinct images, and the base
        /// image each tag sits on (which tags are on an old base).
        #[arg(long)]
        repo: bool,
        /// With --repo: a candidate base image, TARGET/REPOSITORY[:TAG|@DIGEST] (a
        /// repository means all its tags); repeatable. Without it bases are inferred from
        /// the layers the tags share.
        #[arg(long, value_name = "REF", requires = "repo")]
        base: Vec<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What changed between two images: config (env, labels, entrypoint, cmd, user, ports,
    /// history), layers shared and not, and the files of their merged filesystems.
    Diff {
        /// The first image, TARGET/REPOSITORY[:TAG|@DIGEST].
        before: String,
        /// The second image.
        after: String,
        /// The platform to compare in multi-platform images (default linux/amd64).
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// Whether the command prints JSON (then no progress is drawn, even on a terminal).
    fn prints_json(&self) -> bool {
        match self {
            Command::Ls { json, .. }
            | Command::Tags { json, .. }
            | Command::Inspect { json, .. }
            | Command::Referrers { json, .. }
            | Command::Du { json, .. }
            | Command::Restore { json, .. }
            | Command::Info { json, .. } => *json,
            Command::Files { json, .. } | Command::Hints { json, .. } => *json,
            Command::Diff { json, .. } => *json,
            Command::Audit { json, format, .. } => *json || *format == audit::Format::Json,
            Command::Rm { apply, .. } | Command::Cleanup { apply, .. } => apply.json,
            Command::Completions { .. } => false,
            Command::Cp(args) => args.json,
            Command::Export(args) => args.json,
            Command::Import(args) => args.json,
            Command::Sync(args) => args.json,
        }
    }
}

/// Runs the program; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            // Not `eprintln!`: it panics when stderr itself is a closed pipe.
            let line = format!(
                "regatta: {}\n",
                crate::sanitize::sanitize(&format!("{e:#}"))
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            1
        }
    }
}

/// Whether the error is a write to a pipe whose reader has gone: `head` has read enough.
/// Rust ignores SIGPIPE, so the write fails with EPIPE instead of ending the process.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|kind| kind == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Completions { shell }) = &cli.command {
        // Into a buffer first: `generate` panics when it cannot write.
        let mut script = Vec::new();
        clap_complete::generate(*shell, &mut Cli::command(), "regatta", &mut script);
        std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
        return Ok(());
    }
    let (config, config_path) = load_config(&cli.global)?;
    let keymap = keymap_of(&config, config_path.as_deref())?;
    let config_warning = config_path
        .as_deref()
        .and_then(|p| config.exposure_warning(p));
    if let (Some(w), Some(_)) = (&config_warning, &cli.command) {
        eprintln!("regatta: warning: {w}");
    }
    logging::init();
    let overrides = Overrides {
        insecure: cli.global.insecure,
        ca_file: cli.global.ca_file.clone(),
        concurrency: cli.global.concurrency.map(usize::from),
    };
    let ctx = Context {
        config,
        config_path,
        keymap,
        overrides,
        config_warning,
    };
    progress::set_json_output(cli.command.as_ref().is_some_and(Command::prints_json));
    crate::registry::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            None => crate::cli::tui_entry::run(&ctx, cli.target.as_deref()).await,
            Some(Command::Ls { target, json }) => list::repositories(&ctx, &target, json).await,
            Some(Command::Tags { repository, json }) => list::tags(&ctx, &repository, json).await,
            Some(Command::Inspect {
                reference,
                json,
                sharing,
            }) => inspect::run(&ctx, &reference, json, sharing).await,
            Some(Command::Referrers {
                reference,
                also_in,
                json,
            }) => referrers::run(&ctx, &reference, &also_in, json).await,
            Some(Command::Du {
                target,
                repo,
                free,
                json,
                storage,
            }) => du::run(&ctx, &target, repo.as_deref(), &free, json, &storage).await,
            Some(Command::Audit {
                target,
                repo,
                json,
                format,
                stale_days,
                drift_newest,
            }) => {
                let format = if json { audit::Format::Json } else { format };
                let mut ctx = ctx;
                if stale_days.is_some() {
                    ctx.config.audit.stale_days = stale_days;
                }
                if let Some(n) = drift_newest {
                    ctx.config.audit.drift_newest = Some(n as usize);
                }
                audit::run(&ctx, &target, repo.as_deref(), format).await
            }
            Some(Command::Rm { refs, untag, apply }) => {
                succeeded(delete::rm(&ctx, &refs, untag, &apply).await?)
            }
            Some(Command::Cleanup {
                target,
                policy,
                repo,
                apply,
                untagged,
            }) if untagged.untagged => succeeded(
                cleanup_untagged::run(&ctx, &target, repo.as_deref(), &untagged, &policy, &apply)
                    .await?,
            ),
            Some(Command::Cleanup {
                target,
                policy,
                repo,
                apply,
                ..
            }) => {
                succeeded(delete::cleanup(&ctx, &target, &policy, repo.as_deref(), &apply).await?)
            }
            Some(Command::Restore { ids, list, json }) => {
                succeeded(restore::run(&ctx, &ids, list, json).await?)
            }
            Some(Command::Info { target, repo, json }) => {
                info::run(&ctx, &target, repo.as_deref(), json).await
            }
            Some(Command::Completions { .. }) => Ok(()),
            Some(Command::Cp(args)) => succeeded(copy::run(&ctx, &args).await?),
            Some(Command::Export(args)) => succeeded(export::export(&ctx, &args).await?),
            Some(Command::Import(args)) => succeeded(export::import(&ctx, &args).await?),
            Some(Command::Sync(args)) => succeeded(sync::run(&ctx, &args).await?),
            Some(Command::Files {
                reference,
                platform,
                layer,
                merged,
                json,
            }) => {
                files::run(
                    &ctx,
                    &reference,
                    platform.as_deref(),
                    layer.as_deref(),
                    merged,
                    json,
                )
                .await
            }
            Some(Command::Hints {
                reference,
                platform,
                repo,
                base,
                json,
            }) => hints::run(&ctx, &reference, platform.as_deref(), repo, &base, json).await,
            Some(Command::Diff {
                before,
                after,
                platform,
                json,
            }) => diff::run(&ctx, &before, &after, platform.as_deref(), json).await,
        }
    })
}

/// Some steps failed: they were reported already; exit 1 without another message.
#[derive(Debug)]
pub struct PartialFailure;

impl std::fmt::Display for PartialFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some steps failed (listed above)")
    }
}

impl std::error::Error for PartialFailure {}

fn succeeded(all_ok: bool) -> anyhow::Result<()> {
    if all_ok {
        Ok(())
    } else {
        Err(PartialFailure.into())
    }
}

/// What every command needs: the config and the overriding flags.
pub struct Context {
    pub config: Config,
    pub config_path: Option<PathBuf>,
    /// The TUI's key bindings, `[keys]` applied (checked for every command, like the rest
    /// of the config).
    pub keymap: crate::tui::keymap::Keymap,
    pub overrides: Overrides,
    /// Shown once: in the TUI's status line, or on stderr by the CLI.
    pub config_warning: Option<String>,
}

impl Context {
    /// Prints warnings a command must show before it talks to `target`.
    pub fn warn_for(&self, target: &crate::target::Target) {
        if let Some(w) = target.warning() {
            eprintln!("regatta: warning: {w}");
        }
    }
}

/// The key bindings of the config's `[keys]`; a bad entry is a config error at its line.
fn keymap_of(
    config: &Config,
    path: Option<&std::path::Path>,
) -> anyhow::Result<crate::tui::keymap::Keymap> {
    crate::tui::keymap::Keymap::from_config(&config.keys).map_err(|e| {
        let path = path.unwrap_or(std::path::Path::new("config.toml"));
        config.key_error(path, &e.action, e.message).into()
    })
}

/// The explicit `--config` must exist; the default path may be absent (then: no registries).
fn load_config(global: &GlobalArgs) -> anyhow::Result<(Config, Option<PathBuf>)> {
    if let Some(path) = &global.config {
        return Ok((Config::load(path)?, Some(path.clone())));
    }
    match Config::default_path() {
        Some(path) if path.exists() => Ok((Config::load(&path)?, Some(path))),
        _ => Ok((Config::default(), None)),
    }
}

mod tui_entry;
