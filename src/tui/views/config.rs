//! One platform image's config: run settings, environment, labels and the full build history.
//! A scrollable page; only the lines on screen are drawn.

use std::sync::Arc;

use jiff::Timestamp;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Ctx;
use crate::registry::RepoName;
use crate::registry::image::{ImageTree, PlatformImage};
use crate::sanitize::sanitize;
use crate::tui::format;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Heading,
    Field,
    Item,
}

/// One line of the page, before styling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLine {
    pub kind: LineKind,
    pub label: String,
    pub value: String,
}

fn field(label: &str, value: impl Into<String>) -> ConfigLine {
    ConfigLine {
        kind: LineKind::Field,
        label: label.to_string(),
        value: value.into(),
    }
}
fn heading(label: String) -> ConfigLine {
    ConfigLine {
        kind: LineKind::Heading,
        label,
        value: String::new(),
    }
}
fn item(label: impl Into<String>, value: impl Into<String>) -> ConfigLine {
    ConfigLine {
        kind: LineKind::Item,
        label: label.into(),
        value: value.into(),
    }
}

/// The page for `image`, as plain text (pure: the same input gives the same lines).
pub fn config_lines(image: &PlatformImage, now: Timestamp) -> Vec<ConfigLine> {
    let mut lines = vec![field("Manifest", image.digest.to_string())];
    let Some(c) = &image.config else {
        let why = image.config_error.clone().unwrap_or_else(|| {
            format!(
                "no image config (config media type {})",
                image.manifest.config.media_type
            )
        });
        lines.push(field("Config", why));
        return lines;
    };
    let created = match (c.created.as_deref(), c.created_at()) {
        (Some(text), Some(at)) => format!("{text} ({} ago)", format::age(at, now)),
        (Some(text), None) => text.to_string(),
        (None, _) => "-".to_string(),
    };
    lines.push(field("Config", image.manifest.config.digest.to_string()));
    lines.push(field("Created", created));
    let mut platform = format!("{}/{}", c.os, c.architecture);
    if let Some(v) = &c.variant {
        platform.push('/');
        platform.push_str(v);
    }
    lines.push(field("Platform", platform));
    if let Some(author) = &c.author {
        lines.push(field("Author", author.clone()));
    }
    let run = &c.config;
    let list = |v: &Option<Vec<String>>| v.as_deref().map_or("-".to_string(), format::command);
    lines.push(field("Entrypoint", list(&run.entrypoint)));
    lines.push(field("Cmd", list(&run.cmd)));
    lines.push(field(
        "Working dir",
        run.working_dir.clone().unwrap_or_else(|| "-".into()),
    ));
    lines.push(field(
        "User",
        run.user.clone().unwrap_or_else(|| "-".into()),
    ));
    let ports: Vec<&str> = run
        .exposed_ports
        .iter()
        .flatten()
        .map(|(p, _)| p.as_str())
        .collect();
    lines.push(field(
        "Exposed",
        if ports.is_empty() {
            "-".into()
        } else {
            ports.join(" ")
        },
    ));
    if let Some(signal) = &run.stop_signal {
        lines.push(field("Stop signal", signal.clone()));
    }
    lines.push(heading(format!("Env ({})", run.env.len())));
    lines.extend(run.env.iter().map(|e| item("", e.clone())));
    let labels = run.labels.clone().unwrap_or_default();
    lines.push(heading(format!("Labels ({})", labels.len())));
    lines.extend(
        labels
            .into_iter()
            .map(|(k, v)| item("", format!("{k}={v}"))),
    );
    lines.push(heading(format!("History ({} steps)", c.history.len())));
    let mut layer = 0;
    for h in &c.history {
        let marker = if h.empty_layer {
            "     ".to_string()
        } else {
            layer += 1;
            format!("L{layer:<3} ")
        };
        let when = h.created.as_deref().and_then(|t| t.get(..10)).unwrap_or("");
        let step = h
            .created_by
            .as_deref()
            .or(h.comment.as_deref())
            .unwrap_or("");
        lines.push(item(format!("{marker}{when}"), step.trim().to_string()));
    }
    lines
}

#[derive(Debug)]
pub struct ConfigView {
    pub entry: usize,
    pub repo: RepoName,
    pub tree: Arc<ImageTree>,
    pub image: usize,
    pub lines: Vec<ConfigLine>,
    pub scroll: usize,
}

impl ConfigView {
    pub fn new(
        entry: usize,
        repo: RepoName,
        tree: Arc<ImageTree>,
        image: usize,
        now: Timestamp,
    ) -> Self {
        let lines = tree
            .images
            .get(image)
            .map(|i| config_lines(i, now))
            .unwrap_or_default();
        Self {
            entry,
            repo,
            tree,
            image,
            lines,
            scroll: 0,
        }
    }

    pub fn platform_image(&self) -> Option<&PlatformImage> {
        self.tree.images.get(self.image)
    }

    pub fn scroll_by(&mut self, delta: i64, height: usize) {
        let max = self.lines.len().saturating_sub(height.max(1));
        let target = (self.scroll as i64).saturating_add(delta).max(0) as usize;
        self.scroll = target.min(max);
    }

    pub fn render(&self, f: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
        let theme = ctx.theme;
        let height = usize::from(area.height);
        let scroll = self
            .scroll
            .min(self.lines.len().saturating_sub(height.max(1)));
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(scroll)
            .take(height)
            .map(|l| match l.kind {
                LineKind::Heading => {
                    Line::styled(format!(" {}", sanitize(&l.label)), theme.header())
                }
                LineKind::Field => Line::from(vec![
                    Span::styled(format!(" {:<12} ", l.label), theme.label()),
                    Span::raw(sanitize(&l.value).into_owned()),
                ]),
                LineKind::Item if l.label.is_empty() => {
                    Line::raw(format!("   {}", sanitize(&l.value)))
                }
                LineKind::Item => Line::from(vec![
                    Span::styled(format!("   {:<16}", sanitize(&l.label)), theme.dim()),
                    Span::raw(sanitize(&l.value).into_owned()),
                ]),
            })
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }
}
