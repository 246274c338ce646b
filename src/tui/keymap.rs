//! The one table of key bindings. Key handling, the status-bar hints and the `?` help are all
//! read from it, so a key is never documented in a second place.
//!
//! The config's `[keys]` table (action name -> keys) replaces the keys of an action in the
//! browsing views; dialogs, text fields and the help keep theirs, so typing is never taken
//! over. It is checked once at start-up ([`Keymap::from_config`], errors placed at the
//! file's line) and installed for the process ([`install`]) before the TUI starts: the key
//! handling, the hints and the help read the installed map, so they show the configured keys.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::KeyList;

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
    Referrers,
    Files,
    Diff,
    Hints,
    Drift,
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
            KeyCode::Delete => "delete".to_string(),
            KeyCode::Insert => "insert".to_string(),
            KeyCode::Tab => "tab".to_string(),
            KeyCode::F(n) => format!("f{n}"),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.ctrl {
            format!("ctrl-{base}")
        } else {
            base
        }
    }

    /// Reads a key as `[keys]` writes it: one character (`d`, `G`, `?`), a name (`enter`,
    /// `esc`, `tab`, `backspace`, `space`, `up`, `down`, `left`, `right`, `pgup`, `pgdn`,
    /// `home`, `end`, `delete`, `insert`, `f1` to `f12`; any case), or `ctrl-` and one of
    /// those. Every label the help shows reads back as its key.
    pub fn parse(text: &str) -> Result<Key, String> {
        let lower = text.to_lowercase();
        // Compared byte for byte (ASCII prefixes), so the slice below is on a char boundary.
        let prefixed = |p: &str| {
            text.len() > p.len() && text.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        };
        let (ctrl, rest) = match ["ctrl-", "ctrl+", "c-"].into_iter().find(|p| prefixed(p)) {
            Some(p) => (true, text.get(p.len()..).unwrap_or_default()),
            None => (false, text),
        };
        let unsupported = [
            "alt-", "alt+", "shift-", "shift+", "meta-", "super-", "m-", "s-",
        ];
        if unsupported
            .iter()
            .any(|p| lower.starts_with(p) && text.len() > p.len())
        {
            return Err(format!(
                "cannot read key {text:?}: only ctrl- is supported; a shifted key is its character (G, not shift-g)"
            ));
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            // The arrows as the help shows them.
            (Some('↑'), None) => KeyCode::Up,
            (Some('↓'), None) => KeyCode::Down,
            (Some('←'), None) => KeyCode::Left,
            (Some('→'), None) => KeyCode::Right,
            (Some(c), None) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backspace" => KeyCode::Backspace,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => {
                        return Err(format!(
                            "cannot read key {text:?}: expected one character (d, G, ?), a name (enter, esc, tab, backspace, space, up, down, left, right, pgup, pgdn, home, end, delete, insert, f1 to f12) or ctrl- and one of those"
                        ));
                    }
                },
            },
        };
        Ok(Key { code, ctrl })
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

const LISTS: Scope = Scope::Only(&[Registries, Repos, Tags, Manifest, Layers, Deleted, Files]);
const MOVABLE: Scope = Scope::Only(&[
    Registries, Repos, Tags, Manifest, Layers, Config, Storage, Deleted, Cleanup, Audit, Referrers,
    Files, Diff, Hints, Drift,
]);
const SORTABLE: Scope = Scope::Only(&[Repos, Tags, Manifest, Layers]);
const BELOW_ROOT: Scope = Scope::Only(&[
    Repos, Tags, Pending, Manifest, Layers, Config, Storage, Deleted, Cleanup, Audit, Referrers,
    Files, Diff, Hints, Drift,
]);
const OPENABLE: Scope = Scope::Only(&[
    Registries, Repos, Tags, Manifest, Layers, Storage, Audit, Referrers,
]);
const IMAGES: Scope = Scope::Only(&[Manifest, Layers]);
const COPYABLE: Scope = Scope::Only(&[
    Repos, Tags, Pending, Manifest, Layers, Config, Storage, Deleted, Referrers,
]);
const LOADING: Scope = Scope::Only(&[
    Registries, Repos, Tags, Pending, Storage, Deleted, Audit, Referrers,
]);
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
    bind(Action::ToggleMark, &[k(' ')], Normal, Scope::Only(&[Storage]), Some("mark"),
        "mark or unmark the untagged manifest (storage rows)"),
    bind(Action::SwitchMode, &[code(KeyCode::Tab)], Normal, Scope::Only(&[Storage]),
        Some("rows"), "move between the repositories and the storage rows"),
    bind(Action::RequestDelete, &[k('d')], Normal, Scope::Only(&[Storage]), Some("delete"),
        "delete the marked untagged manifests (asks first)"),
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
    bind(Action::ToggleAttached, &[k('a')], Normal, Scope::Only(&[Tags]), Some("attached"),
        "show attached tags (signatures, SBOMs) or fold them"),
    bind(Action::OpenReferrers, &[k('R')], Normal, Scope::Only(&[Tags, Manifest]),
        Some("referrers"), "the referrers tree: signatures, SBOMs, attestations"),
    bind(Action::ToggleFold, &[k(' ')], Normal, Scope::Only(&[Referrers]), Some("fold"),
        "fold or unfold a referrer's own referrers"),
    bind(Action::RequestCopy, &[k('c')], Normal, Scope::Only(&[Tags]), Some("copy to"),
        "copy tags to another registry or a directory (plan first)"),
    bind(Action::OpenMerged, &[k('m')], Normal, Scope::Only(&[Layers]), Some("merged"),
        "the merged filesystem: what a container sees, by layer"),
    bind(Action::MarkBase, &[k('b')], Normal, Scope::Only(&[Tags, Manifest]), Some("base"),
        "mark the selected tag or platform as the base of a diff (and of the drift, B)"),
    bind(Action::OpenDiff, &[k('=')], Normal, Scope::Only(&[Tags, Manifest]), Some("diff"),
        "diff the base with the selected tag or platform: config, layers, files"),
    bind(Action::OpenHints, &[k('w')], Normal, IMAGES, Some("waste"),
        "size hints: wasted bytes, efficiency, duplicates, largest files, known waste"),
    bind(Action::OpenDrift, &[k('B')], Normal, Scope::Only(&[Tags]), Some("drift"),
        "base-image drift: which base each tag sits on, which tags are on an old one"),
    bind(Action::OpenHints, &[k('w')], Normal, Scope::Only(&[Drift]), Some("waste"),
        "the repository's size hints: every tag's wasted and duplicate bytes (reads the layers)"),
    bind(Action::ToggleFold, &[code(KeyCode::Enter), k(' ')],
        Normal, Scope::Only(&[Files]), Some("fold"), "fold or open the selected directory"),
    bind(Action::SortNext, &[k('s')], Normal, Scope::Only(&[Files]), Some("sort"),
        "sort the tree by name or by size"),
    bind(Action::CycleShown, &[k('f')], Normal, Scope::Only(&[Files]), Some("show"),
        "show all entries, only changed ones, or only large files"),
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
    bind(Action::PageDown, &[code(KeyCode::PageDown), ctrl('d'), k(' ')], Help,
        Scope::Everywhere, None, "scroll the help a page"),
    bind(Action::PageUp, &[code(KeyCode::PageUp), ctrl('u')], Help, Scope::Everywhere, None,
        "scroll the help a page"),
    bind(Action::First, &[k('g'), code(KeyCode::Home)], Help, Scope::Everywhere, None,
        "the top of the help"),
    bind(Action::Last, &[k('G'), code(KeyCode::End)], Help, Scope::Everywhere, None,
        "the end of the help"),
    bind(Action::ToggleHelp, &[code(KeyCode::Esc), k('?'), k('q')], Help, Scope::Everywhere,
        Some("close"), "close the help"),
    bind(Action::Quit, &[ctrl('c')], Help, Scope::Everywhere, None, "quit"),
];

/// The key bindings in effect: the table, with the keys `[keys]` gives some actions in the
/// browsing views. The default is the table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keymap {
    /// Action name -> its keys in the browsing views, replacing the table's.
    overrides: Vec<(&'static str, Vec<Key>)>,
}

/// A `[keys]` entry that cannot be used: which action, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysError {
    pub action: String,
    pub message: String,
}

/// Ctrl-C quits whatever `[keys]` says: a way out must always be there.
const ALWAYS_QUITS: Key = ctrl('c');

/// The actions `[keys]` can bind: those of the browsing views, in the help's order.
pub fn configurable_actions() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for name in BINDINGS
        .iter()
        .filter(|b| b.mode == Normal)
        .filter_map(|b| b.action.name())
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn scopes_overlap(a: Scope, b: Scope) -> bool {
    match (a, b) {
        (Scope::Everywhere, _) | (_, Scope::Everywhere) => true,
        (Scope::Only(a), Scope::Only(b)) => a.iter().any(|k| b.contains(k)),
    }
}

impl Keymap {
    /// The table with the config's `[keys]` applied; an unknown action, an unreadable key, an
    /// empty list, or a key that would do two things on one view is an error naming the entry.
    pub fn from_config(keys: &BTreeMap<String, KeyList>) -> Result<Self, KeysError> {
        let actions = configurable_actions();
        let mut overrides = Vec::new();
        for (action, list) in keys {
            let fail = |message: String| KeysError {
                action: action.clone(),
                message,
            };
            let Some(name) = actions.iter().find(|a| **a == action.as_str()) else {
                return Err(fail(format!(
                    "unknown action; the actions are {}",
                    actions.join(", ")
                )));
            };
            if list.keys.is_empty() {
                return Err(fail("give at least one key".into()));
            }
            let mut parsed: Vec<Key> = Vec::new();
            for text in &list.keys {
                let key = Key::parse(text).map_err(&fail)?;
                if !parsed.contains(&key) {
                    parsed.push(key);
                }
            }
            overrides.push((*name, parsed));
        }
        let keymap = Self { overrides };
        keymap.check_conflicts()?;
        Ok(keymap)
    }

    /// A key bound to two different actions on one view: the second would never run.
    fn check_conflicts(&self) -> Result<(), KeysError> {
        let normal: Vec<&Binding> = BINDINGS.iter().filter(|b| b.mode == Normal).collect();
        for (i, a) in normal.iter().enumerate() {
            for b in &normal[i + 1..] {
                if a.action.name() == b.action.name() || !scopes_overlap(a.scope, b.scope) {
                    continue;
                }
                let a_keys = self.keys_of(a);
                let Some(key) = self.keys_of(b).iter().find(|k| a_keys.contains(k)).copied() else {
                    continue;
                };
                let (a_name, b_name) =
                    (a.action.name().unwrap_or(""), b.action.name().unwrap_or(""));
                // Name the entry of the config that made the clash.
                let (action, other) = if self.overridden(b_name) {
                    (b_name, a_name)
                } else {
                    (a_name, b_name)
                };
                return Err(KeysError {
                    action: action.to_string(),
                    message: format!(
                        "key {:?} also does {other} on the same views; give each key one action",
                        key.label()
                    ),
                });
            }
        }
        Ok(())
    }

    fn overridden(&self, name: &str) -> bool {
        self.overrides.iter().any(|(n, _)| *n == name)
    }

    /// The keys of `binding` now: the configured ones for a browsing-view action (plus
    /// Ctrl-C for quit); in the help, the configured keys of `toggle_help` close it too.
    fn keys_of<'a>(&'a self, binding: &'a Binding) -> Cow<'a, [Key]> {
        let Some(name) = binding.action.name() else {
            return Cow::Borrowed(binding.keys);
        };
        let Some((_, keys)) = self.overrides.iter().find(|(n, _)| *n == name) else {
            return Cow::Borrowed(binding.keys);
        };
        match binding.mode {
            Normal if matches!(binding.action, Action::Quit) && !keys.contains(&ALWAYS_QUITS) => {
                let mut keys = keys.clone();
                keys.push(ALWAYS_QUITS);
                Cow::Owned(keys)
            }
            Normal => Cow::Borrowed(keys),
            Help if matches!(binding.action, Action::ToggleHelp) => {
                let mut all = binding.keys.to_vec();
                all.extend(keys.iter().filter(|k| !binding.keys.contains(k)));
                Cow::Owned(all)
            }
            _ => Cow::Borrowed(binding.keys),
        }
    }

    /// The first key of `action` in the browsing views, as the status bar shows it.
    fn first_label(&self, action: &str) -> Option<String> {
        BINDINGS
            .iter()
            .filter(|b| b.mode == Normal && b.action.name() == Some(action))
            .find_map(|b| self.keys_of(b).first().map(Key::label))
    }

    /// The action a key stands for in `mode` on `kind`. While typing (a filter, a field, a
    /// name to confirm), other printable keys are typed.
    pub fn action_for(&self, mode: Mode, kind: ViewKind, event: &KeyEvent) -> Option<Action> {
        let found = BINDINGS
            .iter()
            .filter(|b| b.mode == mode && b.scope.contains(kind))
            .find(|b| self.keys_of(b).iter().any(|key| key.matches(event)))
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
    pub fn hints(&self, mode: Mode, kind: ViewKind) -> Vec<(String, &'static str)> {
        let mut hints = Vec::new();
        if mode == Normal
            && MOVABLE.contains(kind)
            && let (Some(down), Some(up)) =
                (self.first_label("move_down"), self.first_label("move_up"))
        {
            hints.push((format!("{down}/{up}"), "move"));
        }
        hints.extend(
            BINDINGS
                .iter()
                .filter(|b| b.mode == mode && b.scope.contains(kind))
                .filter_map(|b| Some((self.keys_of(b).first()?.label(), b.hint?))),
        );
        hints
    }

    pub fn help_entries(&self, kind: ViewKind) -> Vec<HelpEntry> {
        BINDINGS
            .iter()
            // The typed-confirmation dialog repeats the dialog's keys; scrolling needs no line.
            .filter(|b| !matches!(b.mode, Help | TypeConfirm))
            .filter(|b| {
                !(b.mode == Confirm && matches!(b.action, Action::MoveUp | Action::MoveDown))
            })
            .filter(|b| !(b.mode != Normal && b.action.name() == Some("quit")))
            .map(|b| HelpEntry {
                keys: self
                    .keys_of(b)
                    .iter()
                    .map(Key::label)
                    .collect::<Vec<_>>()
                    .join(" "),
                name: b.action.name().unwrap_or(""),
                help: b.help,
                active: b.scope.contains(kind),
            })
            .collect()
    }
}

static INSTALLED: OnceLock<Keymap> = OnceLock::new();
static TABLE: Keymap = Keymap {
    overrides: Vec::new(),
};

/// Makes `keymap` the one the TUI reads, once per process, before the TUI starts (a later
/// call changes nothing). Without it, the table as written is used.
pub fn install(keymap: Keymap) {
    let _ = INSTALLED.set(keymap);
}

fn installed() -> &'static Keymap {
    INSTALLED.get().unwrap_or(&TABLE)
}

/// [`Keymap::action_for`] of the installed keymap.
pub fn action_for(mode: Mode, kind: ViewKind, event: &KeyEvent) -> Option<Action> {
    installed().action_for(mode, kind, event)
}

/// [`Keymap::hints`] of the installed keymap.
pub fn hints(mode: Mode, kind: ViewKind) -> Vec<(String, &'static str)> {
    installed().hints(mode, kind)
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

/// [`Keymap::help_entries`] of the installed keymap.
pub fn help_entries(kind: ViewKind) -> Vec<HelpEntry> {
    installed().help_entries(kind)
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
        assert!(matches!(
            action_for(Normal, Tags, &press(KeyCode::Char('c'))),
            Some(Action::RequestCopy)
        ));
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

    fn keys(entries: &[(&str, &[&str])]) -> BTreeMap<String, KeyList> {
        entries
            .iter()
            .map(|(action, keys)| {
                (
                    action.to_string(),
                    KeyList {
                        keys: keys.iter().map(|k| k.to_string()).collect(),
                        line: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn every_label_the_help_shows_reads_back_as_its_key() {
        for b in BINDINGS {
            for key in b.keys {
                assert_eq!(Key::parse(&key.label()), Ok(*key), "{}", key.label());
            }
        }
        assert_eq!(Key::parse("Delete"), Ok(code(KeyCode::Delete)));
        assert_eq!(Key::parse("Ctrl-D"), Ok(ctrl('d')));
        assert_eq!(Key::parse("F5"), Ok(code(KeyCode::F(5))));
        assert_eq!(Key::parse("G"), Ok(k('G')));
        assert_eq!(Key::parse("-"), Ok(k('-')));
        for bad in [
            "Delet",
            "",
            "f13",
            "ctrl-",
            "alt-x",
            "shift-g",
            "\u{212a}trl-x",
        ] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_example_configs_keys_are_valid() {
        let config = crate::config::Config::parse(
            std::path::Path::new("config.example.toml"),
            include_str!("../../config.example.toml"),
        )
        .unwrap();
        assert!(!config.keys.is_empty());
        let map = Keymap::from_config(&config.keys).unwrap();
        assert!(matches!(
            map.action_for(Normal, Tags, &press(KeyCode::Delete)),
            Some(Action::RequestDelete)
        ));
    }

    proptest::proptest! {
        /// Whatever a config holds, reading a key is a value or a sentence.
        #[test]
        fn reading_any_key_text_never_panics(text in "\\PC{0,12}") {
            let _ = Key::parse(&text);
            let _ = Key::parse(&format!("ctrl-{text}"));
        }
    }

    #[test]
    fn the_table_as_written_gives_each_key_one_action_per_view() {
        assert_eq!(Keymap::default().check_conflicts(), Ok(()));
        assert_eq!(Keymap::from_config(&BTreeMap::new()), Ok(Keymap::default()));
    }

    #[test]
    fn configured_keys_replace_an_actions_keys_in_the_browsing_views() {
        let map = Keymap::from_config(&keys(&[
            ("request_delete", &["Delete", "X"]),
            ("move_down", &["n"]),
            ("clear_marks", &["ctrl-x"]),
        ]))
        .unwrap();
        let on = |mode, kind, code| map.action_for(mode, kind, &press(code));
        assert!(matches!(
            on(Normal, Tags, KeyCode::Delete),
            Some(Action::RequestDelete)
        ));
        assert!(matches!(
            on(Normal, Tags, KeyCode::Char('X')),
            Some(Action::RequestDelete)
        ));
        // On the cleanup preview too (the same action's other row).
        assert!(matches!(
            on(Normal, Cleanup, KeyCode::Delete),
            Some(Action::RequestDelete)
        ));
        // The old keys do nothing now.
        assert!(on(Normal, Tags, KeyCode::Char('d')).is_none());
        assert!(on(Normal, Tags, KeyCode::Char('j')).is_none());
        assert!(matches!(
            on(Normal, Tags, KeyCode::Char('n')),
            Some(Action::MoveDown)
        ));
        // Dialogs and text fields keep theirs: `n` still cancels, `d` is typed in a filter.
        assert!(matches!(
            on(Confirm, Tags, KeyCode::Char('n')),
            Some(Action::Cancel)
        ));
        assert!(matches!(
            on(Filter, Tags, KeyCode::Char('X')),
            Some(Action::FilterChar('X'))
        ));
        let ctrl_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL);
        assert!(matches!(
            map.action_for(Normal, Tags, &ctrl_x),
            Some(Action::ClearMarks)
        ));

        // The status bar and the help show the configured keys.
        let hints = map.hints(Normal, Tags);
        assert!(
            hints.contains(&("delete".to_string(), "delete")),
            "{hints:?}"
        );
        assert!(hints.contains(&("n/k".to_string(), "move")), "{hints:?}");
        let help = map.help_entries(Tags);
        let entry = |name| help.iter().find(|e| e.name == name).unwrap().keys.clone();
        assert_eq!(entry("request_delete"), "delete X");
        assert_eq!(entry("move_down"), "n");
        assert_eq!(entry("clear_marks"), "ctrl-x");
        assert_eq!(entry("move_up"), "k ↑");
    }

    #[test]
    fn ctrl_c_always_quits_and_the_help_closes_with_its_own_key() {
        let map =
            Keymap::from_config(&keys(&[("quit", &["Q"]), ("toggle_help", &["F1"])])).unwrap();
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(matches!(
            map.action_for(Normal, Tags, &ctrl_c),
            Some(Action::Quit)
        ));
        assert!(matches!(
            map.action_for(Normal, Tags, &press(KeyCode::Char('Q'))),
            Some(Action::Quit)
        ));
        assert!(
            map.action_for(Normal, Tags, &press(KeyCode::Char('q')))
                .is_none()
        );
        assert!(matches!(
            map.action_for(Help, Tags, &press(KeyCode::F(1))),
            Some(Action::ToggleHelp)
        ));
        assert!(matches!(
            map.action_for(Help, Tags, &press(KeyCode::Esc)),
            Some(Action::ToggleHelp)
        ));
    }

    #[test]
    fn a_bad_keys_entry_names_the_action_and_why() {
        let err = |entries: &[(&str, &[&str])]| Keymap::from_config(&keys(entries)).unwrap_err();
        let e = err(&[("delete", &["d"])]);
        assert_eq!(e.action, "delete");
        assert!(e.message.starts_with("unknown action"), "{e:?}");
        assert!(e.message.contains("request_delete"), "{e:?}");
        // Dialog keys are not configurable.
        assert!(
            err(&[("confirm", &["y"])])
                .message
                .starts_with("unknown action")
        );
        let e = err(&[("request_delete", &["d", "Delet"])]);
        assert_eq!(e.action, "request_delete");
        assert!(e.message.contains(r#"cannot read key "Delet""#), "{e:?}");
        assert_eq!(err(&[("quit", &[])]).message, "give at least one key");
        // `u` already opens the storage view.
        let e = err(&[("request_delete", &["u"])]);
        assert_eq!(e.action, "request_delete");
        assert!(
            e.message.contains(r#"key "u" also does open_storage"#),
            "{e:?}"
        );
        // Ctrl-C stays quit's.
        let e = err(&[("filter", &["ctrl-c"])]);
        assert!(e.message.contains("also does quit"), "{e:?}");
        // Swapping two keys is fine; on views that do not overlap a key may repeat.
        assert!(
            Keymap::from_config(&keys(&[
                ("open_storage", &["d"]),
                ("request_delete", &["u"])
            ]))
            .is_ok()
        );
        assert!(Keymap::from_config(&keys(&[("suggest_cleanup", &["e"])])).is_ok());
    }

    #[test]
    fn every_bound_action_has_a_name() {
        for b in BINDINGS {
            assert!(b.action.name().is_some(), "{:?}", b.action);
        }
    }
}
