//! Drawing one frame from the app's state: breadcrumbs, the view, a message line and the key
//! hints. Reads `&App` only and does no I/O.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, Message};
use super::keymap::{self, Mode};
use super::views::Ctx;
use super::widgets::help::render_help;
use crate::sanitize::sanitize;

pub use super::geometry::{Areas, layout};

pub fn draw(app: &App, f: &mut Frame) {
    let areas = layout(f.area());
    let ctx = Ctx {
        theme: app.theme(),
        now: app.now(),
        entries: app.entries(),
        storages: app.storages(),
        spinner: app.spinner(),
    };
    draw_crumbs(app, f, areas.crumbs);
    app.top().render(f, areas.body, &ctx);
    draw_message(app, f, areas.message);
    draw_status(app, f, areas.status);
    if let Some(dialog) = app.dialog() {
        dialog.render(f, f.area(), &ctx.theme);
    }
    if let Some(copy) = app.copy_dialog() {
        copy.render(f, f.area(), &ctx.theme);
    }
    if app.help_shown() {
        render_help(
            f,
            f.area(),
            &keymap::help_entries(app.top().kind()),
            app.help_scroll(),
            &ctx.theme,
        );
    }
}

fn draw_crumbs(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let mut text = String::from(" regatta");
    for crumb in app.crumbs().iter().skip(1) {
        text.push_str(" › ");
        text.push_str(&sanitize(crumb));
    }
    let mut right = app.top().progress().unwrap_or_default();
    if app.is_loading() {
        right = format!("{} {right}", app.spinner());
    }
    let right_width = right.chars().count() as u16 + 1;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    f.render_widget(Paragraph::new(text).style(theme.crumbs()), left_area);
    f.render_widget(
        Paragraph::new(format!("{right} ")).style(theme.crumbs()),
        right_area,
    );
}

fn draw_message(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let listing = app.top().listing();
    if let Some(l) = listing.filter(|l| l.is_editing()) {
        let line = Line::from(vec![
            Span::styled("/", theme.key()),
            Span::raw(sanitize(l.query()).into_owned()),
            Span::styled("█", theme.dim()),
            Span::styled(format!("  {} match", l.shown()), theme.dim()),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    // An error is worth the whole line: the sort and position hints make room for it.
    if let Some(Message::Error(e)) = app.message() {
        let line = Line::styled(format!(" {}", sanitize(e)), theme.error());
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut info = Vec::new();
    if let Some(l) = listing {
        if let Some(only) = l.restriction() {
            info.push(only.label.clone());
        }
        if !l.query().is_empty() {
            info.push(format!("filter: {}", l.query()));
        }
        if let Some(key) = l.sort_key() {
            let arrow = if l.is_reversed() { "↑" } else { "↓" };
            info.push(format!("sort: {} {arrow}", key.label()));
        }
        if let Some(p) = l.table.selected() {
            info.push(format!("{}/{}", p + 1, l.shown()));
        }
    }
    let info = format!("{} ", sanitize(&info.join(" · ")));
    // Two cells of margin so a long detail never runs into the info.
    let info_width = info.chars().count() as u16 + 3;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(info_width)]).areas(area);
    let left = match app.message() {
        Some(Message::Error(e)) => Line::styled(format!(" {}", sanitize(e)), theme.error()),
        Some(Message::Info(i)) => Line::styled(format!(" {}", sanitize(i)), theme.ok()),
        None => match app.top().detail(app.entries()) {
            Some(d) => Line::styled(format!(" {}", sanitize(&d)), theme.dim()),
            None => Line::default(),
        },
    };
    f.render_widget(Paragraph::new(left), left_area);
    let info = Paragraph::new(info)
        .style(theme.dim())
        .alignment(ratatui::layout::Alignment::Right);
    f.render_widget(info, right_area);
}

/// Key hints on the left; on the right, the storage scan's progress and what the marked
/// tags would free. Hints that do not fit are left out, the help key last of all.
fn draw_status(app: &App, f: &mut Frame, area: Rect) {
    let theme = app.theme();
    let mode = app.mode();
    let storage = app.current_storage();
    let right: Vec<String> = [
        storage.and_then(|s| s.progress()),
        storage.and_then(|s| s.marks_text()),
        app.budget_text(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let right = if right.is_empty() {
        String::new()
    } else {
        format!("{} ", right.join(" · "))
    };
    let right_width = right.chars().count() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);
    let mut hints = keymap::hints(mode, app.top().kind());
    if app.copy_dialog().is_some() {
        // The copy dialog has one mode: Tab does nothing there.
        hints.retain(|(_, word)| *word != "mode");
    }
    let width = |(key, word): &(String, &str)| key.chars().count() + word.chars().count() + 3;
    let fits = hints.iter().map(width).sum::<usize>() < usize::from(left_area.width);
    // When not everything fits, the help key is kept (at the end) and the last others go.
    let help = hints
        .iter()
        .position(|(_, w)| *w == "help")
        .filter(|_| !fits);
    let mut room = usize::from(left_area.width).saturating_sub(1);
    if let Some(h) = help {
        room = room.saturating_sub(width(&hints[h]));
    }
    let mut spans = vec![Span::raw(" ")];
    let push = |spans: &mut Vec<Span<'static>>, (key, word): &(String, &str)| {
        spans.push(Span::styled(key.clone(), theme.key()));
        spans.push(Span::raw(format!(" {word}  ")));
    };
    let mut full = false;
    for (i, hint) in hints.iter().enumerate() {
        if Some(i) == help {
            continue;
        }
        if full || width(hint) > room {
            full = true;
            continue;
        }
        room -= width(hint);
        push(&mut spans, hint);
    }
    if let Some(h) = help {
        push(&mut spans, &hints[h]);
    }
    if mode == Mode::Filter {
        spans.push(Span::styled("type to filter", theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), left_area);
    f.render_widget(Paragraph::new(right).style(theme.warning()), right_area);
}
