//! What the user asks for: moving, going in and out, filtering, sorting, refreshing, copying;
//! storage, delete and cleanup intents are dispatched to their own files.

use std::sync::Arc;

use ratatui::layout::Position;

use super::{App, Message};
use crate::registry::image::ImageTree;
use crate::registry::{ManifestRef, RepoName, Tag};
use crate::tui::action::{Action, Effect};
use crate::tui::format;
use crate::tui::views::config::ConfigView;
use crate::tui::views::layers::LayersView;
use crate::tui::views::manifest::ManifestView;
use crate::tui::views::pending::PendingView;
use crate::tui::views::repos::ReposView;
use crate::tui::views::tags::TagsView;
use crate::tui::views::{self, View};

impl App {
    pub(super) fn on_intent(&mut self, action: Action) -> Vec<Effect> {
        if self.copy.is_some() {
            return self.copy_intent(action);
        }
        if self.dialog.is_some() {
            return self.dialog_intent(action);
        }
        if let Some(effects) = self.cleanup_intent(&action) {
            return effects;
        }
        if let Some(effects) = self.files_intent(&action) {
            return effects;
        }
        let page = self.page();
        match action {
            Action::MoveDown => self.move_by(1),
            Action::MoveUp => self.move_by(-1),
            Action::ScrollBy(n) => self.move_by(i64::from(n)),
            Action::PageDown => self.move_by(page as i64),
            Action::PageUp => self.move_by(-(page as i64)),
            Action::First => self.move_by(i64::MIN / 2),
            Action::Last => self.move_by(i64::MAX / 2),
            Action::Open => return self.open(),
            Action::Back => return self.back(),
            Action::Refresh => return self.refresh(),
            Action::CopyReference => return self.copy_reference(),
            Action::OpenConfig => self.open_config(),
            Action::ToggleMark => self.toggle_mark(),
            Action::ClearMarks => self.clear_marks(),
            Action::OpenStorage => return self.open_storage(),
            Action::RequestDelete => return self.request_delete(),
            Action::RequestCopy => return self.request_copy(),
            Action::OpenDeleted => return self.open_deleted(),
            Action::Restore => return self.restore_selected(),
            Action::OpenCleanup => self.open_cleanup(),
            Action::OpenAudit => return self.open_audit(),
            Action::SuggestCleanup => self.suggest_cleanup(),
            Action::ToggleAttached => self.toggle_attached(),
            Action::OpenReferrers => return self.open_referrers(),
            Action::ToggleFold => self.toggle_fold(),
            Action::SwitchMode => self.switch_storage_focus(),
            Action::OpenMerged => return self.open_files(true),
            Action::MarkBase => self.mark_base(),
            Action::OpenDiff => return self.open_diff(),
            Action::OpenHints => return self.open_hints(),
            Action::OpenDrift => self.open_drift(),
            Action::Click {
                column,
                row,
                double,
            } => return self.click(column, row, double),
            Action::Filter
            | Action::FilterChar(_)
            | Action::FilterBackspace
            | Action::FilterKeep
            | Action::FilterClear
            | Action::SortNext
            | Action::SortReverse => self.list_intent(action),
            other => tracing::debug!("ignored {other:?}"),
        }
        Vec::new()
    }

    /// Shows the tag list's bookkeeping tags as tags, or folds them under their images.
    fn toggle_attached(&mut self) {
        let View::Tags(v) = self.top_mut() else {
            return;
        };
        let count = v.rows.attached_tags();
        let shown = v.toggle_attached();
        let tags = if count == 1 { "tag" } else { "tags" };
        self.info(match (count, shown) {
            (0, _) => "nothing is attached to the images of this repository".to_string(),
            (n, true) => format!("{n} attached {tags} shown as tags"),
            (n, false) => format!("{n} attached {tags} folded under their images"),
        });
    }

    fn move_by(&mut self, delta: i64) {
        let page = self.page();
        let entries = &self.entries;
        let last = self.stack.len() - 1;
        match &mut self.stack[last] {
            View::Config(v) => v.scroll_by(delta, page),
            View::Diff(v) => v.scroll_by(delta, page),
            View::Hints(v) => v.scroll_by(delta, page),
            View::Drift(v) => v.scroll_by(delta, page),
            View::Storage(v) => v.move_by(delta, page),
            View::Audit(v) => v.table.move_by(delta, page),
            view => {
                if let Some((listing, _)) = view.list_parts(entries) {
                    listing.table.move_by(delta, page);
                }
            }
        }
    }

    fn list_intent(&mut self, action: Action) {
        let page = self.page();
        let entries = &self.entries;
        let last = self.stack.len() - 1;
        let Some((listing, rows)) = self.stack[last].list_parts(entries) else {
            return;
        };
        let rows = &*rows;
        match action {
            Action::Filter => listing.start_filter(),
            Action::FilterChar(c) => listing.push_filter_char(c, rows, page),
            Action::FilterBackspace => listing.pop_filter_char(rows, page),
            Action::FilterKeep => listing.keep_filter(),
            Action::FilterClear => listing.clear_filter(rows, page),
            Action::SortNext => listing.next_sort(rows, page),
            Action::SortReverse => listing.reverse_sort(rows, page),
            _ => {}
        }
    }

    fn click(&mut self, column: u16, row: u16, double: bool) -> Vec<Effect> {
        if self.help {
            self.help = false;
            return Vec::new();
        }
        let body = self.body();
        if !body.contains(Position::new(column, row)) || row == body.y {
            return Vec::new(); // outside the list, or on its header
        }
        // Rows are counted from the header of the table under the click.
        let table = views::table_area(self.top().kind(), body);
        if !table.contains(Position::new(column, row)) || row == table.y {
            return Vec::new();
        }
        let under = usize::from(row - table.y - 1);
        let page = self.page();
        let entries = &self.entries;
        let last = self.stack.len() - 1;
        if let View::Audit(v) = &mut self.stack[last] {
            let Some(position) = v.table.position_at(under, page) else {
                return Vec::new();
            };
            v.table.select(position, page);
            return if double { self.open() } else { Vec::new() };
        }
        let Some((listing, _)) = self.stack[last].list_parts(entries) else {
            return Vec::new();
        };
        let Some(position) = listing.table.position_at(under, page) else {
            return Vec::new();
        };
        listing.table.select(position, page);
        if double { self.open() } else { Vec::new() }
    }

    fn open(&mut self) -> Vec<Effect> {
        self.message = None;
        match self.top() {
            View::Registries(v) => match v.selected() {
                Some(entry) => self.open_entry(entry),
                None => Vec::new(),
            },
            View::Repos(v) => match v.selected() {
                Some(row) => {
                    let (entry, repo) = (v.entry, row.name.clone());
                    self.open_repo(entry, repo)
                }
                None => Vec::new(),
            },
            View::Tags(v) => {
                let Some(row) = v.selected() else {
                    return Vec::new();
                };
                let (entry, repo, tag) = (v.entry, v.repo.clone(), row.tag.clone());
                // Read through the documents the scan fetched: nothing it has is asked again.
                let reference = match row.digest() {
                    Some(d) => ManifestRef::Digest(d.clone()),
                    None => ManifestRef::Tag(tag.clone()),
                };
                let req = self.req();
                let label = tag.to_string();
                let mut pending = PendingView::new(entry, repo.clone(), label, reference.clone());
                pending.loads.push(req);
                self.stack.push(View::Pending(pending));
                vec![Effect::FetchImage {
                    req,
                    entry,
                    repo,
                    reference,
                }]
            }
            View::Manifest(v) => {
                let Some(image) = v.selected() else {
                    return Vec::new();
                };
                let platform = v
                    .rows
                    .image(image)
                    .map(|i| format::platform(i.platform.as_ref()));
                let view = LayersView::new(
                    v.entry,
                    v.repo.clone(),
                    vec![platform.unwrap_or_default()],
                    v.rows.tree.clone(),
                    image,
                )
                .with_tag(Tag::parse(&v.label).ok());
                self.stack.push(View::Layers(view));
                Vec::new()
            }
            View::Storage(v) => match v.selected_repo().map(RepoName::parse) {
                Some(Ok(repo)) => {
                    let entry = v.entry;
                    self.open_repo(entry, repo)
                }
                _ => Vec::new(),
            },
            View::Audit(_) => self.open_finding(),
            View::Referrers(_) => self.open_referrer(),
            View::Layers(_) => self.open_files(false),
            View::Pending(_)
            | View::Files(_)
            | View::Diff(_)
            | View::Hints(_)
            | View::Drift(_)
            | View::Config(_)
            | View::Deleted(_)
            | View::Cleanup(_) => Vec::new(),
        }
    }

    pub(super) fn open_entry(&mut self, entry: usize) -> Vec<Effect> {
        let Some(state) = self.entries.get(entry) else {
            return Vec::new();
        };
        if let Err(why) = &state.source {
            let text = format!("cannot open {}: {why}", state.name);
            self.error(text);
            return Vec::new();
        }
        // The scan lists the repositories and counts their tags: the list fills in from it.
        let effects = self.start_scan(entry, false);
        let mut view = ReposView::new(entry);
        self.fill_repos(&mut view);
        self.stack.push(View::Repos(view));
        effects
    }

    /// Opens a repository's tag list, filled from the storage model; the scan is asked to
    /// take the repository first if it has not got to it.
    pub(super) fn open_repo(&mut self, entry: usize, repo: RepoName) -> Vec<Effect> {
        let mut view = TagsView::new(entry, repo.clone());
        self.fill_tags(&mut view);
        if let Some(why) = view.failed.clone() {
            self.error(why);
        }
        self.stack.push(View::Tags(view));
        self.prioritize(entry, repo)
    }

    fn open_config(&mut self) {
        let (entry, repo, tree, image) = match self.top() {
            View::Manifest(v) => match v.selected() {
                Some(i) => (v.entry, v.repo.clone(), v.rows.tree.clone(), i),
                None => return,
            },
            View::Layers(v) => (v.entry, v.repo.clone(), v.rows.tree.clone(), v.rows.image),
            _ => return,
        };
        let view = ConfigView::new(entry, repo, tree, image, self.now);
        self.stack.push(View::Config(view));
    }

    fn back(&mut self) -> Vec<Effect> {
        self.message = None;
        if self.stack.len() <= 1 {
            return Vec::new();
        }
        let Some(view) = self.stack.pop() else {
            return Vec::new();
        };
        let loads = view.loads().to_vec();
        let mut effects = if loads.is_empty() {
            Vec::new()
        } else {
            vec![Effect::Abort(loads)]
        };
        // Leaving a registry stops its scan (what it found so far stays).
        if let View::Repos(v) = &view {
            effects.extend(self.stop_scan(v.entry));
        }
        effects
    }

    /// Empties the tag list at `index`: its repository is about to be scanned again (it
    /// changed), and the rows fill in from that scan.
    pub(super) fn reload_tags(&mut self, index: usize) -> Vec<Effect> {
        let View::Tags(v) = &mut self.stack[index] else {
            return Vec::new();
        };
        v.rows.set_tags(Vec::new());
        v.listed = false;
        v.failed = None;
        v.model_revision = None;
        v.listing.mark_dirty();
        Vec::new()
    }

    fn refresh(&mut self) -> Vec<Effect> {
        self.message = None;
        let old: Vec<_> = self.top().loads().to_vec();
        let mut effects = if old.is_empty() {
            Vec::new()
        } else {
            vec![Effect::Abort(old)]
        };
        match self.top_mut() {
            View::Registries(v) => {
                v.loads.clear();
                v.pings.clear();
                effects.extend(self.ping_all());
                return effects;
            }
            View::Manifest(_)
            | View::Layers(_)
            | View::Config(_)
            | View::Cleanup(_)
            | View::Files(_)
            | View::Diff(_)
            | View::Hints(_) => {
                self.info("nothing to refresh: content addressed by digest does not change");
                return effects;
            }
            // Worked out from the scan when opened: Esc and B again show the scan as it is.
            View::Drift(_) => {
                self.info("press Esc, then B, to work the drift out from the scan as it is now");
                return effects;
            }
            View::Storage(v) => {
                let entry = v.entry;
                effects.extend(self.start_scan(entry, true));
                effects.extend(self.read_storage_layout(entry, true));
                return effects;
            }
            // A new scan; the audit is built again from it.
            View::Audit(v) => {
                let entry = v.entry;
                effects.extend(self.start_scan(entry, true));
                return effects;
            }
            View::Referrers(_) => {
                effects.extend(self.refresh_referrers());
                return effects;
            }
            View::Tags(v) => {
                // The repository is scanned again: its tags, digests and images.
                let (entry, repo) = (v.entry, v.repo.clone());
                let last = self.stack.len() - 1;
                effects.extend(self.reload_tags(last));
                effects.extend(self.rescan(entry, vec![repo]));
                return effects;
            }
            View::Repos(_) | View::Pending(_) | View::Deleted(_) => {}
        }
        let req = self.req();
        let journal = self.journal.clone();
        let last = self.stack.len() - 1;
        match &mut self.stack[last] {
            View::Repos(v) => {
                // One scan lists the repositories, their tags and everything below.
                v.rows.clear();
                v.listed = false;
                v.failed = None;
                v.sizes_generation = None;
                v.listing.mark_dirty();
                let entry = v.entry;
                effects.extend(self.start_scan(entry, true));
            }
            View::Deleted(v) => {
                v.listed = false;
                v.failed = None;
                if let Some(journal) = journal {
                    v.loads = vec![req];
                    effects.push(Effect::ListBackups { req, journal });
                }
            }
            View::Pending(v) => {
                v.failed = None;
                v.loads = vec![req];
                effects.push(Effect::FetchImage {
                    req,
                    entry: v.entry,
                    repo: v.repo.clone(),
                    reference: v.reference.clone(),
                });
            }
            _ => {}
        }
        effects
    }

    fn copy_reference(&mut self) -> Vec<Effect> {
        if let View::Audit(_) = self.top() {
            return self.copy_suggested();
        }
        let target = match self.top() {
            View::Repos(v) => v
                .selected()
                .map(|r| (v.entry, r.name.clone(), String::new())),
            View::Tags(v) => v
                .selected()
                .map(|r| (v.entry, v.repo.clone(), format!(":{}", r.tag))),
            View::Pending(v) => Some((v.entry, v.repo.clone(), separated(&v.reference))),
            View::Manifest(v) => v
                .selected()
                .and_then(|i| v.rows.image(i))
                .map(|i| (v.entry, v.repo.clone(), format!("@{}", i.digest))),
            View::Layers(v) => v
                .rows
                .platform_image()
                .map(|i| (v.entry, v.repo.clone(), format!("@{}", i.digest))),
            View::Config(v) => v
                .platform_image()
                .map(|i| (v.entry, v.repo.clone(), format!("@{}", i.digest))),
            View::Storage(v) => v
                .selected_repo()
                .and_then(|r| RepoName::parse(r).ok())
                .map(|r| (v.entry, r, String::new())),
            View::Referrers(v) => v.selected().map(|row| match &row.node {
                Some(n) => (v.entry, n.repository.clone(), format!("@{}", n.digest)),
                None => (v.entry, v.repo.clone(), format!("@{}", v.subject)),
            }),
            View::Deleted(v) => v.selected().and_then(|b| {
                let repo = RepoName::parse(&b.repository).ok()?;
                Some((v.entry, repo, format!("@{}", b.digest)))
            }),
            View::Registries(_)
            | View::Cleanup(_)
            | View::Audit(_)
            | View::Files(_)
            | View::Diff(_)
            | View::Hints(_)
            | View::Drift(_) => None,
        };
        let Some((entry, repo, suffix)) = target else {
            return Vec::new();
        };
        let Some(source) = self.source(entry) else {
            return Vec::new();
        };
        let reference = format!("{}{suffix}", source.reference_prefix(&repo));
        self.message = Some(Message::Info(format!("copied {reference}")));
        vec![Effect::Copy(reference)]
    }
}

fn separated(reference: &ManifestRef) -> String {
    match reference {
        ManifestRef::Tag(t) => format!(":{t}"),
        ManifestRef::Digest(d) => format!("@{d}"),
    }
}

/// The view for a fetched image: its platforms for an index, else straight to the layers.
pub(super) fn image_view(
    entry: usize,
    repo: RepoName,
    label: String,
    tree: Arc<ImageTree>,
) -> View {
    if tree.is_index() {
        View::Manifest(ManifestView::new(entry, repo, label, tree))
    } else {
        let platform = tree
            .images
            .first()
            .map(|i| format::platform(i.platform.as_ref()));
        let tag = Tag::parse(&label).ok();
        let crumbs = vec![label, platform.unwrap_or_else(|| "-".to_string())];
        View::Layers(LayersView::new(entry, repo, crumbs, tree, 0).with_tag(tag))
    }
}
