//! The tags of one repository, read from the registry's storage model: the tag list, each
//! tag's digest and its image's size, age and platforms fill in as the scan learns them (the
//! app asks the scan to take this repository first).
//!
//! Bookkeeping tags (a referrers fallback index `sha256-<hex>`, cosign's `.sig`, `.att`,
//! `.sbom`, tags on manifests attached to another) are folded under the image they belong
//! to, which shows what is attached in a compact column; a key shows them as tags again.
//! Both come from the model ([`Attachments`]), without a request.

use std::cmp::Ordering;
use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::Ctx;
use crate::analysis::attached::Attachments;
use crate::analysis::content::SeverityCounts;
use crate::analysis::model::StorageModel;
use crate::present::referrers::{AttachedSummary, vulnerability_reports};
use crate::registry::referrers::{SchemeTag, scheme_of};
use crate::registry::{Digest, RepoName, Tag};
use crate::tui::action::ReqId;
use crate::tui::columns::{
    Field, TAG_ATTACHED_COLUMNS, TAG_COLUMNS, TagLine, tag_attached_row, tag_row,
};
use crate::tui::listing::{Listing, Rows, SortKey, by_name, larger_first};
use crate::tui::storage::{ImageSummary, Storage};
use crate::tui::widgets::table::{TableRow, render_table};

#[derive(Debug, Clone)]
pub struct TagRow {
    pub tag: Tag,
    /// The digest the tag points at, as the storage scan resolved it.
    pub resolved: Field<Digest>,
    pub image: Field<ImageSummary>,
}

impl TagRow {
    pub fn digest(&self) -> Option<&Digest> {
        self.resolved.known()
    }

    fn is_done(&self) -> bool {
        self.resolved == Field::Failed || self.image != Field::Loading
    }
}

/// Rows in the order the source listed them, with indexes by tag and by digest, and running
/// counts so progress costs nothing to ask for on large lists.
#[derive(Debug, Default)]
pub struct TagRows {
    rows: Vec<TagRow>,
    by_tag: HashMap<Tag, usize>,
    by_digest: HashMap<Digest, Vec<usize>>,
    done: usize,
    failed: usize,
    /// Per row: what the tag is when it is bookkeeping (`cosign signature`, `referrers
    /// index`), folded under its image unless `show_attached`.
    bookkeeping: Vec<Option<String>>,
    /// How many rows are bookkeeping.
    attached_tags: usize,
    /// Bookkeeping tags are listed as tags (the toggle is on).
    pub show_attached: bool,
    /// `bookkeeping` was worked out for the rows there are now (not reset by `set_tags`).
    bookkeeping_known: bool,
}

impl TagRows {
    pub fn set_tags(&mut self, tags: Vec<Tag>) {
        self.rows.clear();
        self.by_tag.clear();
        self.by_digest.clear();
        self.bookkeeping.clear();
        self.attached_tags = 0;
        self.bookkeeping_known = false;
        self.done = 0;
        self.failed = 0;
        for tag in tags {
            if self.by_tag.contains_key(&tag) {
                continue;
            }
            self.by_tag.insert(tag.clone(), self.rows.len());
            self.rows.push(TagRow {
                tag,
                resolved: Field::Loading,
                image: Field::Loading,
            });
            self.bookkeeping.push(None);
        }
    }

    /// Marks which rows are bookkeeping (`label` says what each is); returns whether any
    /// row changed.
    pub fn set_bookkeeping(&mut self, label: impl Fn(&Tag) -> Option<String>) -> bool {
        let mut changed = false;
        for (i, row) in self.rows.iter().enumerate() {
            let now = label(&row.tag);
            if self.bookkeeping[i] != now {
                changed = true;
                self.bookkeeping[i] = now;
            }
        }
        self.attached_tags = self.bookkeeping.iter().filter(|b| b.is_some()).count();
        self.bookkeeping_known = true;
        changed
    }

    /// What row `row` is when it is bookkeeping.
    pub fn bookkeeping(&self, row: usize) -> Option<&str> {
        self.bookkeeping.get(row)?.as_deref()
    }

    /// How many tags are bookkeeping (folded, unless shown).
    pub fn attached_tags(&self) -> usize {
        self.attached_tags
    }

    pub fn get(&self, row: usize) -> Option<&TagRow> {
        self.rows.get(row)
    }

    pub fn iter(&self) -> impl Iterator<Item = &TagRow> {
        self.rows.iter()
    }

    /// Changes row `i`, keeping the counts right.
    fn change(&mut self, i: usize, f: impl FnOnce(&mut TagRow)) {
        let row = &mut self.rows[i];
        let (was_done, was_failed) = (row.is_done(), row.image == Field::Failed);
        f(row);
        let (is_done, is_failed) = (row.is_done(), row.image == Field::Failed);
        self.done = self.done + usize::from(is_done) - usize::from(was_done);
        self.failed = self.failed + usize::from(is_failed) - usize::from(was_failed);
    }

    /// Records a tag's digest, with its image's summary when that is already known.
    pub fn resolved(&mut self, tag: &Tag, digest: Digest, image: Option<ImageSummary>) {
        let Some(&i) = self.by_tag.get(tag) else {
            return;
        };
        if self.rows[i].resolved.known().is_some() {
            return; // answered already
        }
        self.by_digest.entry(digest.clone()).or_default().push(i);
        self.change(i, |row| {
            row.resolved = Field::Known(digest);
            if let Some(image) = image {
                row.image = Field::Known(image);
            }
        });
    }

    pub fn resolve_failed(&mut self, tag: &Tag) {
        if let Some(&i) = self.by_tag.get(tag) {
            self.change(i, |row| {
                row.resolved = Field::Failed;
                row.image = Field::Failed;
            });
        }
    }

    /// Fills every tag on `digest`; returns whether any row changed.
    pub fn image(&mut self, digest: &Digest, image: Field<ImageSummary>) -> bool {
        let Some(rows) = self.by_digest.get(digest).cloned() else {
            return false;
        };
        let mut changed = false;
        for &i in &rows {
            if self.rows[i].image != image {
                changed = true;
                self.change(i, |row| row.image = image.clone());
            }
        }
        changed
    }

    /// Rows not resolved yet.
    pub fn unresolved(&self) -> impl Iterator<Item = &Tag> {
        self.rows
            .iter()
            .filter(|r| r.resolved == Field::Loading)
            .map(|r| &r.tag)
    }

    /// How many other tags point at the same digest as `row`.
    pub fn shared(&self, row: usize) -> usize {
        let digest = self.rows.get(row).and_then(TagRow::digest);
        digest
            .and_then(|d| self.by_digest.get(d))
            .map_or(0, |group| group.len().saturating_sub(1))
    }

    /// The other tags on the same digest as `row`.
    pub fn aliases(&self, row: usize) -> impl Iterator<Item = &Tag> {
        let digest = self.rows.get(row).and_then(TagRow::digest);
        digest
            .and_then(|d| self.by_digest.get(d))
            .into_iter()
            .flatten()
            .filter(move |&&i| i != row)
            .map(|&i| &self.rows[i].tag)
    }

    pub fn done(&self) -> usize {
        self.done
    }

    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Distinct digests of the resolved tags.
    pub fn digests(&self) -> impl Iterator<Item = &Digest> {
        self.by_digest.keys()
    }
}

impl Rows for TagRows {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn text(&self, row: usize) -> &str {
        self.rows[row].tag.as_str()
    }
    fn has(&self, row: usize, key: SortKey) -> bool {
        let image = self.rows[row].image.known();
        match key {
            SortKey::Size => image.is_some(),
            SortKey::Age => image.is_some_and(|i| i.created.is_some()),
            _ => true,
        }
    }
    fn is_listed(&self, row: usize) -> bool {
        self.show_attached || self.bookkeeping.get(row).is_none_or(Option::is_none)
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        let (x, y) = (&self.rows[a], &self.rows[b]);
        let (xi, yi) = (x.image.known(), y.image.known());
        let (xn, yn) = (x.tag.as_str(), y.tag.as_str());
        match key {
            SortKey::Size => larger_first(xi.map(|i| i.size), yi.map(|i| i.size)),
            SortKey::Age => larger_first(xi.and_then(|i| i.created), yi.and_then(|i| i.created)),
            _ => by_name(xn, yn),
        }
    }
}

#[derive(Debug)]
pub struct TagsView {
    pub entry: usize,
    pub repo: RepoName,
    pub rows: TagRows,
    pub listing: Listing,
    pub loads: Vec<ReqId>,
    /// The tag list has arrived.
    pub listed: bool,
    pub failed: Option<String>,
    /// The storage revision rows were last brought up to date with.
    pub model_revision: Option<u64>,
    /// What is attached to each image (only images with something attached).
    pub attached: HashMap<Digest, AttachedSummary>,
    /// Bookkeeping tags by the image they are folded under.
    pub folded_under: HashMap<Digest, Vec<Tag>>,
    /// The storage generation, and whether the repository was settled, when the attachments
    /// were last worked out.
    attachments_at: Option<(u64, bool)>,
    /// The vulnerability reports of the images and what they say (boxed: rarely used, and
    /// every view sits in the stack's enum).
    reports: Box<VulnerabilityReports>,
}

/// The vulnerability reports of a tag list's images, read by a worker.
#[derive(Debug, Default)]
struct VulnerabilityReports {
    /// The reports attached to each image (only images with one).
    by_image: HashMap<Digest, Vec<Digest>>,
    /// What each report read says: its counts, or `None` when it could not be read.
    read: HashMap<Digest, Option<SeverityCounts>>,
    /// The reports asked for, by the request reading them.
    asked: HashMap<Digest, ReqId>,
}

impl TagsView {
    pub const SORT_KEYS: &'static [SortKey] = &[SortKey::Name, SortKey::Size, SortKey::Age];

    pub fn new(entry: usize, repo: RepoName) -> Self {
        Self {
            entry,
            repo,
            rows: TagRows::default(),
            listing: Listing::new(Self::SORT_KEYS),
            loads: Vec::new(),
            listed: false,
            failed: None,
            model_revision: None,
            attached: HashMap::new(),
            folded_under: HashMap::new(),
            attachments_at: None,
            reports: Box::default(),
        }
    }

    /// The vulnerability reports to read now: those of the images listed that are neither
    /// read nor being read (a request that was aborted asks again).
    pub fn reports_to_read(&self) -> Vec<Digest> {
        let mut wanted: Vec<Digest> = Vec::new();
        for report in self.reports.by_image.values().flatten() {
            let asked = self
                .reports
                .asked
                .get(report)
                .is_some_and(|r| self.loads.contains(r));
            if !asked && !self.reports.read.contains_key(report) && !wanted.contains(report) {
                wanted.push(report.clone());
            }
        }
        wanted.sort();
        wanted
    }

    /// `reports` are being read by `req`.
    pub fn mark_reports_asked(&mut self, reports: &[Digest], req: ReqId) {
        for report in reports {
            self.reports.asked.insert(report.clone(), req);
        }
        self.loads.push(req);
    }

    /// What the reports read say, shown in the ATTACHED cell of their images.
    pub fn set_reports_read(&mut self, read: Vec<(Digest, Option<SeverityCounts>)>) {
        for (report, counts) in read {
            self.reports.asked.remove(&report);
            self.reports.read.insert(report, counts);
        }
        self.show_vulnerabilities();
    }

    /// Puts the counts of each image's report into its summary: the first report (in the
    /// attachments' order) that could be read; none while unread or unreadable.
    fn show_vulnerabilities(&mut self) {
        for (image, reports) in &self.reports.by_image {
            let counts = reports
                .iter()
                .find_map(|r| self.reports.read.get(r).copied().flatten());
            if let Some(summary) = self.attached.get_mut(image) {
                summary.vulnerabilities = counts;
            }
        }
    }

    /// [`refresh_attachments`](Self::refresh_attachments) when the storage has something
    /// new for them: they are worked out again with the storage numbers (held back while a
    /// scan runs, the longer the larger the registry: a walk over every tag per batch of
    /// results would keep the loop busy) and once more when the repository is settled.
    pub fn refresh_attachments_from(&mut self, storage: &Storage) {
        let at = (storage.generation(), storage.is_settled(&self.repo));
        if self.attachments_at == Some(at) && self.rows.bookkeeping_known {
            return;
        }
        self.attachments_at = Some(at);
        self.refresh_attachments(&storage.model);
    }

    /// Takes what is attached to what from the model: which tags are bookkeeping, what
    /// each image has attached. The list is re-ordered when a tag folds or unfolds.
    pub fn refresh_attachments(&mut self, model: &StorageModel) {
        let attachments = Attachments::of_repo(model, &self.repo);
        let tags = model.repos.get(&self.repo).map(|r| &r.tags);
        let label = |tag: &Tag| -> Option<String> {
            if !attachments.is_attached_tag(tag) {
                return None;
            }
            if let Some(SchemeTag::Fallback(_)) = scheme_of(tag) {
                return Some("referrers index".to_string());
            }
            let digest = tags?.get(tag)?.as_ref();
            Some(
                digest
                    .and_then(|d| model.manifests.get(d))
                    .map_or_else(|| "attached".to_string(), |m| m.kind.label()),
            )
        };
        if self.rows.set_bookkeeping(label) {
            self.listing.mark_dirty();
        }
        self.attached.clear();
        self.folded_under.clear();
        // Images only: a bookkeeping row says what it is instead.
        let images: std::collections::HashSet<&Digest> = (0..self.rows.rows.len())
            .filter(|&i| self.rows.bookkeeping(i).is_none())
            .filter_map(|i| self.rows.rows[i].digest())
            .collect();
        self.reports.by_image.clear();
        for digest in images {
            let summary = AttachedSummary::of(model, &attachments, digest);
            if !summary.is_empty() {
                self.attached.insert(digest.clone(), summary);
            }
            if summary.vulnerability_reports > 0 {
                let reports = vulnerability_reports(model, &attachments, digest);
                self.reports.by_image.insert(digest.clone(), reports);
            }
        }
        self.show_vulnerabilities();
        for tag in attachments.attached_tags() {
            let subject = match scheme_of(tag) {
                Some(scheme) => Some(scheme.subject().clone()),
                None => tags
                    .and_then(|t| t.get(tag)?.as_ref())
                    .and_then(|d| attachments.subjects_of(d).next().cloned()),
            };
            if let Some(subject) = subject {
                self.folded_under
                    .entry(subject)
                    .or_default()
                    .push(tag.clone());
            }
        }
    }

    /// Whether anything in the repository is attached to an image: the list then shows
    /// the ATTACHED column.
    pub fn has_attachments(&self) -> bool {
        !self.attached.is_empty() || self.rows.attached_tags() > 0
    }

    /// Shows the bookkeeping tags as tags, or folds them again; returns whether they are
    /// shown now.
    pub fn toggle_attached(&mut self) -> bool {
        self.rows.show_attached = !self.rows.show_attached;
        self.listing.mark_dirty();
        self.rows.show_attached
    }

    pub fn selected(&self) -> Option<&TagRow> {
        self.rows.get(self.listing.selected_row()?)
    }

    /// Every tag is resolved and has its image (or failed).
    pub fn is_complete(&self) -> bool {
        self.listed && self.rows.done() == self.rows.len()
    }

    pub fn is_loading(&self) -> bool {
        self.failed.is_none() && !self.is_complete()
    }

    pub fn progress(&self) -> String {
        if !self.listed {
            return "tags…".to_string();
        }
        let (done, total) = (self.rows.done(), self.rows.len());
        let failed = self.rows.failed();
        let mut text = format!("tags {done}/{total}");
        if failed > 0 {
            text.push_str(&format!(" · {failed} failed"));
        }
        match (self.rows.attached_tags(), self.rows.show_attached) {
            (0, _) => {}
            (n, false) => text.push_str(&format!(" · {n} attached folded")),
            (n, true) => text.push_str(&format!(" · {n} attached shown")),
        }
        text
    }

    pub fn detail(&self) -> Option<String> {
        let row = self.listing.selected_row()?;
        let digest = self.rows.get(row)?.digest()?;
        // A few names are useful; thousands would only cost time on every frame.
        const NAMED: usize = 5;
        let aliases: Vec<&str> = self
            .rows
            .aliases(row)
            .take(NAMED)
            .map(Tag::as_str)
            .collect();
        let more = self.rows.shared(row).saturating_sub(NAMED);
        let folded = if self.rows.show_attached {
            0
        } else {
            self.folded_under.get(digest).map_or(0, Vec::len)
        };
        let folded = match folded {
            0 => String::new(),
            1 => " · 1 attached tag folded".to_string(),
            n => format!(" · {n} attached tags folded"),
        };
        let text = match (aliases.is_empty(), more) {
            (true, _) => digest.to_string(),
            (false, 0) => format!("{digest} · also tagged {}", aliases.join(", ")),
            (false, more) => format!(
                "{digest} · also tagged {} and {more} more",
                aliases.join(", ")
            ),
        };
        Some(text + &folded)
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let empty = match (&self.failed, self.listed) {
            (Some(_), _) => "could not list the tags (see below)",
            (None, false) => "loading…",
            (None, true) if self.listing.query().is_empty() => "no tags",
            (None, true) => "no tags match",
        };
        let with_attached = self.has_attachments();
        render_table(
            f,
            area,
            if with_attached {
                TAG_ATTACHED_COLUMNS
            } else {
                TAG_COLUMNS
            },
            &self.listing.table,
            &ctx.theme,
            empty,
            |p| {
                let Some((i, row)) = self
                    .listing
                    .row_at(p)
                    .and_then(|i| Some((i, self.rows.get(i)?)))
                else {
                    return TableRow::default();
                };
                let image = row.image.known();
                let marked = ctx
                    .storage(self.entry)
                    .is_some_and(|s| s.is_marked(&self.repo, &row.tag));
                let line = TagLine {
                    marked,
                    tag: row.tag.as_str(),
                    digest: row.digest(),
                    size: match &row.image {
                        Field::Known(s) => Field::Known(s.size),
                        Field::Loading => Field::Loading,
                        Field::Failed => Field::Failed,
                    },
                    created: image.and_then(|s| s.created),
                    platforms: image.map_or("", |s| s.platforms.as_str()),
                    shared: self.rows.shared(i),
                };
                let accent = if row.image == Field::Failed {
                    Some((3, ctx.theme.error()))
                } else {
                    marked.then_some((0, ctx.theme.warning()))
                };
                let cells = if with_attached {
                    let attached = match self.rows.bookkeeping(i) {
                        Some(kind) => kind.to_string(),
                        None => row
                            .digest()
                            .and_then(|d| self.attached.get(d))
                            .map(AttachedSummary::cell)
                            .unwrap_or_default(),
                    };
                    tag_attached_row(&line, &attached, ctx.now)
                } else {
                    tag_row(&line, ctx.now)
                };
                TableRow { cells, accent }
            },
        );
    }
}
