//! The one table of key bindings. Key handling, the status-bar hints and the `?` help are all
//! read from it, so a key is never documented in a second place.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

/// Which screen is in front; bindings say where they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewKind {
    Registries,
    Repos,
    Tags,
    Pending,
    Manifest,
    Layers,
    Config,
    Storage,
    Deleted,
    Cleanup,
    Audit,
}

/// What keys mean right now: browsing, typing a filter, reading the help, answering a
/// confirmation dialog (one that wants a name typed, or one that does not), or editing a
/// form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
    Help,
    Confirm,
    TypeConfirm,
    Edit,
}

#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Everywhere,
    Only(&'static [ViewKind]),
}

impl Scope {
    pub fn contains(&self, kind: ViewKind) -> bool {
        match self {
            Scope::Everywhere => true,
            Scope::Only(kinds) => kinds.contains(&kind),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}
const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

impl Key {
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".to_string(),
            KeyCode::Esc => "esc".to_string(),
            KeyCode::Backspace => "backspace".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::PageUp => "pgup".to_string(),
            KeyCode::PageDown => "pgdn".to_string(),
            KeyCode::Home => "home".to_string(),
            KeyCode::End => "end".to_string(),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.ctrl {
            format!("ctrl-{base}")
        } else {
            base
        }
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        // Shift is part of the character itself (`G`, `?`), so only Ctrl is compared.
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        self.code == event.code && self.ctrl == ctrl
    }
}

#[derive(Debug)]
pub struct Binding {
    pub action: Action,
    pub keys: &'static [Key],
    pub mode: Mode,
    pub scope: Scope,
    /// The short word in the status bar; `None` keeps the binding out of it (help only).
    pub hint: Option<&'static str>,
    pub help: &'static str,
}

use Mode::{Confirm, Edit, Filter, Help, Normal, TypeConfirm};
use ViewKind::*;

const LISTS: Scope = Scope::Only(&[Registries, Repos, Tags, Manifest, Layers, Deleted]);
const MOVABLE: Scope = Scope::Only(&[
    Registries, Repos, Tags, Manifest, Layers, Config, Storage, Deleted, Cleanup, Audit,
]);
const SORTABLE: Scope = Scope::Only(&[Repos, Tags, Manifest, Layers]);
const BELOW_ROOT: Scope = Scope::Only(&[
    Repos, Tags, Pending, Manifest, Layers, Config, Storage, Deleted, Cleanup, Audit,
]);
const OPENABLE: Scope = Scope::Only(&[Registries, Repos, Tags, Manifest, Storage, Audit]);
const IMAGES: Scope = Scope::Only(&[Manifest, Layers]);
const COPYABLE: Scope = Scope::Only(&[
    Repos, Tags, Pending, Manifest, Layers, Config, Storage, Deleted,
]);
const LOADING: Scope = Scope::Only(&[Registries, Repos, Tags, Pending, Storage, Deleted, Audit]);
/// Views inside one registry, where its storage, cleanup and backups are a key away.
const IN_REGISTRY: Scope = Scope::Only(&[Repos, Tags]);
const MARKING: Scope = Scope::Only(&[Repos, Tags, Storage]);

const fn bind(
    action: Action,
    keys: &'static [Key],
    mode: Mode,
    scope: Scope,
    hint: Option<&'static str>,
    help: &'static str,
) -> Binding {
    Binding {
        action,
        keys,
        mode,
        scope,
        hint,
        help,
    }
}

/// Every binding, in the order the help lists them.
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    bind(Action::MoveDown, &[k('j'), code(KeyCode::Down)], Normal, MOVABLE, None, "move down"),
    bind(Action::MoveUp, &[k('k'), code(KeyCode::Up)], Normal, MOVABLE, None, "move up"),
    bind(Action::PageDown, &[code(KeyCode::PageDown), ctrl('d')], Normal, MOVABLE, None, "page down"),
    bind(Action::PageUp, &[code(KeyCode::PageUp), ctrl('u')], Normal, MOVABLE, None, "page up"),
    bind(Action::First, &[k('g'), code(KeyCode::Home)], Normal, MOVABLE, None, "go to the top"),
    bind(Action::Last, &[k('G'), code(KeyCode::End)], Normal, MOVABLE, None, "go to the bottom"),
    bind(Action::Open, &[code(KeyCode::Enter), k('l'), code(KeyCode::Right)], Normal, OPENABLE,
        Some("open"), "open the selected row"),
    bind(Action::Back, &[code(KeyCode::Esc), k('h'), code(KeyCode::Left)], Normal, BELOW_ROOT,
        Some("back"), "go back (stops what this view was loading)"),
    bind(Action::Filter, &[k('/')], Normal, LISTS, Some("filter"), "filter the list (fuzzy)"),
    bind(Action::SortNext, &[k('s')], Normal, SORTABLE, Some("sort"), "sort by the next column"),
    bind(Action::SortReverse, &[k('S')], Normal, SORTABLE, None, "reverse the sort"),
    bind(Action::OpenConfig, &[k('c')], Normal, IMAGES, Some("config"),
        "show the image config and history"),
    bind(Action::CopyReference, &[k('y')], Normal, COPYABLE, Some("copy"),
        "copy the full reference (OSC 52)"),
    bind(Action::Refresh, &[k('r')], Normal, LOADING, Some("refresh"),
        "load this view again (repositories and storage: scan again)"),
    bind(Action::ToggleMark, &[k(' ')], Normal, Scope::Only(&[Tags]), Some("mark"),
        "mark or unmark the tag (marks stay across repositories)"),
    bind(Action::ClearMarks, &[k('x')], Normal, MARKING, None, "forget every mark"),
    bind(Action::RequestDelete, &[k('d')], Normal, IN_REGISTRY, Some("delete"),
        "delete the marked tags, or the selected one (asks first)"),
    bind(Action::RequestDelete, &[k('d')], Normal, Scope::Only(&[Cleanup]), Some("apply"),
        "apply the previewed cleanup (asks first)"),
    bind(Action::OpenStorage, &[k('u')], Normal, IN_REGISTRY, Some("storage"),
        "storage: logical vs physical, top repositories, tag ages"),
    bind(Action::OpenCleanup, &[k('C')], Normal, IN_REGISTRY, Some("cleanup"),
        "preview a cleanup policy (ad hoc or from the config)"),
    bind(Action::OpenAudit, &[k('A')], Normal, IN_REGISTRY, Some("audit"),
        "audit: tag kinds, ages, findings by bytes freed"),
    bind(Action::SuggestCleanup, &[k('p')], Normal, Scope::Only(&[Audit]), Some("suggested"),
        "preview the audit's suggested policy as a cleanup"),
    bind(Action::CopyReference, &[k('y')], Normal, Scope::Only(&[Audit]), Some("copy"),
        "copy the suggested policy as config (OSC 52)"),
    bind(Action::OpenDeleted, &[k('D')], Normal, IN_REGISTRY, Some("deleted"),
        "recently deleted: backups taken before each delete"),
    bind(Action::Restore, &[k('R')], Normal, Scope::Only(&[Deleted]), Some("restore"),
        "restore the selected backup into the registry"),
    bind(Action::EditField, &[code(KeyCode::Enter), k('e')], Normal, Scope::Only(&[Cleanup]),
        Some("edit"), "edit the selected field"),
    bind(Action::NextPolicy, &[k('p')], Normal, Scope::Only(&[Cleanup]), Some("policy"),
        "next policy from the config (then edit it freely)"),
    bind(Action::ToggleHelp, &[k('?')], Normal, Scope::Everywhere, Some("help"), "show all keys"),
    bind(Action::Quit, &[k('q'), ctrl('c')], Normal, Scope::Everywhere, Some("quit"), "quit"),
    bind(Action::FilterKeep, &[code(KeyCode::Enter)], Filter, LISTS, Some("keep"),
        "keep the filter (while typing one)"),
    bind(Action::FilterClear, &[code(KeyCode::Esc)], Filter, LISTS, Some("clear"),
        "clear the filter (while typing one)"),
    bind(Action::FilterBackspace, &[code(KeyCode::Backspace)], Filter, LISTS, None,
        "delete a character of the filter"),
    bind(Action::Quit, &[ctrl('c')], Filter, Scope::Everywhere, None, "quit"),
    bind(Action::EditKeep, &[code(KeyCode::Enter)], Edit, Scope::Everywhere, Some("keep"),
        "keep the edited value (while editing a field)"),
    bind(Action::EditCancel, &[code(KeyCode::Esc)], Edit, Scope::Everywhere, Some("undo"),
        "put the field back as it was (while editing a field)"),
    bind(Action::EditBackspace, &[code(KeyCode::Backspace)], Edit, Scope::Everywhere, None,
        "delete a character (while editing a field)"),
    bind(Action::Quit, &[ctrl('c')], Edit, Scope::Everywhere, None, "quit"),
    bind(Action::Confirm, &[code(KeyCode::Enter), k('y')], Confirm, Scope::Everywhere,
        Some("confirm"), "confirm (over 10 tags: type the name, then enter)"),
    bind(Action::Cancel, &[code(KeyCode::Esc), k('n')], Confirm, Scope::Everywhere,
        Some("cancel"), "cancel; while deleting, stop before the next step"),
    bind(Action::SwitchMode, &[code(KeyCode::Tab)], Confirm, Scope::Everywhere, Some("mode"),
        "switch between deleting the image and untagging only"),
    bind(Action::MoveDown, &[code(KeyCode::Down)], Confirm, Scope::Everywhere, None,
        "scroll the dialog"),
    bind(Action::MoveUp, &[code(KeyCode::Up)], Confirm, Scope::Everywhere, None,
        "scroll the dialog"),
    bind(Action::Quit, &[ctrl('c')], Confirm, Scope::Everywhere, None, "quit"),
    bind(Action::Confirm, &[code(KeyCode::Enter)], TypeConfirm, Scope::Everywhere,
        Some("confirm"), "confirm"),
    bind(Action::Cancel, &[code(KeyCode::Esc)], TypeConfirm, Scope::Everywhere,
        Some("cancel"), "cancel"),
    bind(Action::SwitchMode, &[code(KeyCode::Tab)], TypeConfirm, Scope::Everywhere,
        Some("mode"), "switch mode"),
    bind(Action::EditBackspace, &[code(KeyCode::Backspace)], TypeConfirm, Scope::Everywhere,
        None, "delete a typed character"),
    bind(Action::MoveDown, &[code(KeyCode::Down)], TypeConfirm, Scope::Everywhere, None,
        "scroll the dialog"),
    bind(Action::MoveUp, &[code(KeyCode::Up)], TypeConfirm, Scope::Everywhere, None,
        "scroll the dialog"),
    bind(Action::Quit, &[ctrl('c')], TypeConfirm, Scope::Everywhere, None, "quit"),
    bind(Action::MoveDown, &[k('j'), code(KeyCode::Down)], Help, Scope::Everywhere, None,
        "scroll the help"),
    bind(Action::MoveUp, &[k('k'), code(KeyCode::Up)], Help, Scope::Everywhere, None,
        "scroll the help"),
    bind(Action::ToggleHelp, &[code(KeyCode::Esc), k('?'), k('q')], Help, Scope::Everywhere,
        Some("close"), "close the help"),
    bind(Action::Quit, &[ctrl('c')], Help, Scope::Everywhere, None, "quit"),
];

/// The action a key stands for in `mode` on `kind`. While typing (a filter, a field, a
/// name to confirm), other printable keys are typed.
pub fn action_for(mode: Mode, kind: ViewKind, event: &KeyEvent) -> Option<Action> {
    let found = BINDINGS
        .iter()
        .filter(|b| b.mode == mode && b.scope.contains(kind))
        .find(|b| b.keys.iter().any(|key| key.matches(event)))
        .map(|b| b.action.clone());
    if found.is_some() {
        return found;
    }
    let typed = match event.code {
        KeyCode::Char(c) if !event.modifiers.contains(KeyModifiers::CONTROL) => c,
        _ => return None,
    };
    match mode {
        Filter => Some(Action::FilterChar(typed)),
        Edit | TypeConfirm => Some(Action::EditChar(typed)),
        Normal | Help | Confirm => None,
    }
}

/// `(key, word)` pairs for the status bar in `mode` on `kind`.
pub fn hints(mode: Mode, kind: ViewKind) -> Vec<(String, &'static str)> {
    let mut hints = Vec::new();
    if mode == Normal && MOVABLE.contains(kind) {
        hints.push(("j/k".to_string(), "move"));
    }
    hints.extend(
        BINDINGS
            .iter()
            .filter(|b| b.mode == mode && b.scope.contains(kind))
            .filter_map(|b| Some((b.keys.first()?.label(), b.hint?))),
    );
    hints
}

/// One line of the help: all keys, the action's name, what it does, and whether it works on
/// the current view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpEntry {
    pub keys: String,
    pub name: &'static str,
    pub help: &'static str,
    pub active: bool,
}

pub fn help_entries(kind: ViewKind) -> Vec<HelpEntry> {
    BINDINGS
        .iter()
        // The typed-confirmation dialog repeats the dialog's keys; scrolling needs no line.
        .filter(|b| !matches!(b.mode, Help | TypeConfirm))
        .filter(|b| !(b.mode == Confirm && matches!(b.action, Action::MoveUp | Action::MoveDown)))
        .filter(|b| !(b.mode != Normal && b.action.name() == Some("quit")))
        .map(|b| HelpEntry {
            keys: b.keys.iter().map(Key::label).collect::<Vec<_>>().join(" "),
            name: b.action.name().unwrap_or(""),
            help: b.help,
            active: b.scope.contains(kind),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_actions_per_view() {
        let open = action_for(Normal, Tags, &press(KeyCode::Char('l')));
        assert_eq!(open.and_then(|a| a.name()), Some("open"));
        // `c` means nothing on the tag list, and opens the config from the layers.
        assert!(action_for(Normal, Tags, &press(KeyCode::Char('c'))).is_none());
        assert!(matches!(
            action_for(Normal, Layers, &press(KeyCode::Char('c'))),
            Some(Action::OpenConfig)
        ));
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert!(matches!(
            action_for(Normal, Repos, &shift_g),
            Some(Action::Last)
        ));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for mode in [Normal, Filter, Help] {
            assert!(matches!(
                action_for(mode, Tags, &ctrl_c),
                Some(Action::Quit)
            ));
        }
    }

    #[test]
    fn filter_mode_types_letters() {
        assert!(matches!(
            action_for(Filter, Repos, &press(KeyCode::Char('q'))),
            Some(Action::FilterChar('q'))
        ));
        assert!(matches!(
            action_for(Filter, Repos, &press(KeyCode::Enter)),
            Some(Action::FilterKeep)
        ));
    }

    #[test]
    fn hints_and_help_come_from_the_table() {
        let hints = hints(Normal, Tags);
        assert!(hints.contains(&("enter".to_string(), "open")));
        assert!(hints.contains(&("y".to_string(), "copy")));
        assert!(!hints.iter().any(|(_, w)| *w == "config"));
        let help = help_entries(Tags);
        let names: Vec<_> = help.iter().map(|e| e.name).collect();
        for name in [
            "move_down",
            "open",
            "back",
            "filter",
            "sort_next",
            "copy_reference",
            "quit",
        ] {
            assert!(names.contains(&name), "{name} missing from help");
        }
        assert!(help.iter().any(|e| e.name == "open_config" && !e.active));
    }

    #[test]
    fn every_bound_action_has_a_name() {
        for b in BINDINGS {
            assert!(b.action.name().is_some(), "{:?}", b.action);
        }
    }
}
