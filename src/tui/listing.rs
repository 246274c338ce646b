//! The filtered, sorted view of a list: which rows show, in what order, and which is selected.
//! Rows themselves stay where they are (in arrival order); only positions are shuffled, so
//! results that arrive later update a row in place.

use std::cmp::Ordering;
use std::collections::HashSet;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use super::widgets::table::TableState;

/// What a list can be sorted by. Each view offers some of them, in the order `s` cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Size,
    Age,
    Tags,
    /// Bytes no other repository shares.
    Unique,
    /// The order the source gave (layers: bottom to top).
    Position,
}

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Age => "age",
            SortKey::Tags => "tags",
            SortKey::Unique => "unique",
            SortKey::Position => "order",
        }
    }
}

/// A list's rows as the listing sees them.
pub trait Rows {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The text the filter matches.
    fn text(&self, row: usize) -> &str;
    /// Whether `row` has a value for `key` yet; rows without one sort last either way.
    fn has(&self, row: usize, key: SortKey) -> bool;
    /// Compares two rows that both have `key`, in the key's natural direction (names A to Z,
    /// largest first, newest first, most tags first). Ties are broken by [`Rows::text`],
    /// A to Z whichever way the list is sorted.
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering;
    /// Whether `row` is listed at all: a row folded away (the tag list's bookkeeping tags,
    /// shown under their image) is left out whatever the filter says.
    fn is_listed(&self, _row: usize) -> bool {
        true
    }
}

impl<T: Rows + ?Sized> Rows for &T {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn text(&self, row: usize) -> &str {
        (**self).text(row)
    }
    fn has(&self, row: usize, key: SortKey) -> bool {
        (**self).has(row, key)
    }
    fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
        (**self).compare(a, b, key)
    }
    fn is_listed(&self, row: usize) -> bool {
        (**self).is_listed(row)
    }
}

/// Rows shown whatever the filter says: exactly those whose text is in `texts` (the tags
/// an audit finding names), with a label for the message line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Only {
    pub label: String,
    pub texts: HashSet<String>,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub table: TableState,
    order: Vec<usize>,
    query: String,
    only: Option<Only>,
    editing: bool,
    keys: &'static [SortKey],
    sort: usize,
    reversed: bool,
    dirty: bool,
}

impl Listing {
    pub fn new(keys: &'static [SortKey]) -> Self {
        Self {
            table: TableState::default(),
            order: Vec::new(),
            query: String::new(),
            only: None,
            editing: false,
            keys,
            sort: 0,
            reversed: false,
            dirty: true,
        }
    }

    /// The row shown at `position`.
    pub fn row_at(&self, position: usize) -> Option<usize> {
        self.order.get(position).copied()
    }

    /// The selected row (an index into the rows, not a position).
    pub fn selected_row(&self) -> Option<usize> {
        self.table.selected().and_then(|p| self.row_at(p))
    }

    pub fn shown(&self) -> usize {
        self.order.len()
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    pub fn is_editing(&self) -> bool {
        self.editing
    }

    /// Shows only the rows whose text is in `only.texts` (applied at the next settle; the
    /// typed filter narrows further).
    pub fn restrict(&mut self, only: Only) {
        self.only = Some(only);
        self.dirty = true;
    }

    pub fn restriction(&self) -> Option<&Only> {
        self.only.as_ref()
    }

    pub fn sort_key(&self) -> Option<SortKey> {
        self.keys.get(self.sort).copied()
    }

    pub fn is_reversed(&self) -> bool {
        self.reversed
    }

    /// The rows changed: positions are recomputed at the next [`settle`](Self::settle).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Recomputes positions if rows changed since the last time.
    pub fn settle(&mut self, rows: &dyn Rows, height: usize) {
        if self.dirty {
            self.rebuild(rows, height);
        }
    }

    pub fn start_filter(&mut self) {
        self.editing = true;
    }

    /// Enter: stop typing, keep the filter.
    pub fn keep_filter(&mut self) {
        self.editing = false;
    }

    /// Esc: stop typing and show every row again.
    pub fn clear_filter(&mut self, rows: &dyn Rows, height: usize) {
        self.editing = false;
        self.query.clear();
        self.rebuild(rows, height);
    }

    pub fn push_filter_char(&mut self, c: char, rows: &dyn Rows, height: usize) {
        self.query.push(c);
        if self.dirty {
            self.rebuild(rows, height);
        } else {
            // A longer query only ever matches fewer rows: narrow what is shown.
            let keep = self.selected_row();
            let mut order = std::mem::take(&mut self.order);
            retain_matching(&mut order, &self.query, rows);
            self.order = order;
            self.restore(keep, height);
        }
    }

    pub fn pop_filter_char(&mut self, rows: &dyn Rows, height: usize) {
        self.query.pop();
        self.rebuild(rows, height);
    }

    pub fn next_sort(&mut self, rows: &dyn Rows, height: usize) {
        if !self.keys.is_empty() {
            self.sort = (self.sort + 1) % self.keys.len();
            self.reversed = false;
        }
        self.rebuild(rows, height);
    }

    pub fn reverse_sort(&mut self, rows: &dyn Rows, height: usize) {
        self.reversed = !self.reversed;
        self.rebuild(rows, height);
    }

    pub fn rebuild(&mut self, rows: &dyn Rows, height: usize) {
        let keep = self.selected_row();
        // A restriction names its rows exactly, folded ones too (an audit finding about
        // signature tags shows them).
        let mut order: Vec<usize> = match &self.only {
            Some(only) => (0..rows.len())
                .filter(|&r| only.texts.contains(rows.text(r)))
                .collect(),
            None => (0..rows.len()).filter(|&r| rows.is_listed(r)).collect(),
        };
        retain_matching(&mut order, &self.query, rows);
        if let Some(key) = self.sort_key() {
            let reversed = self.reversed;
            let (mut known, unknown): (Vec<usize>, Vec<usize>) =
                order.into_iter().partition(|&r| rows.has(r, key));
            known.sort_by(|&a, &b| {
                let ord = rows.compare(a, b, key);
                let ord = if reversed { ord.reverse() } else { ord };
                ord.then_with(|| by_name(rows.text(a), rows.text(b)))
            });
            known.extend(unknown);
            order = known;
        }
        self.order = order;
        self.dirty = false;
        self.restore(keep, height);
    }

    fn restore(&mut self, keep: Option<usize>, height: usize) {
        let position = keep.and_then(|row| self.order.iter().position(|&r| r == row));
        self.table.set_len(self.order.len(), height);
        if let Some(position) = position {
            self.table.select(position, height);
        }
    }
}

fn retain_matching(order: &mut Vec<usize>, query: &str, rows: &dyn Rows) {
    if query.is_empty() {
        return;
    }
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    order.retain(|&r| {
        pattern
            .score(Utf32Str::new(rows.text(r), &mut buf), &mut matcher)
            .is_some()
    });
}

/// Helper for [`Rows::compare`]: names A to Z, with runs of digits compared as numbers so
/// that `v1.9` comes before `v1.10` (tags are mostly versions).
pub fn by_name(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b), // equal as numbers (`01` vs `1`): stay total
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (m, rest_x) = split_digits(x);
                let (n, rest_y) = split_digits(y);
                let ord = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (rest_x, rest_y);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

/// A leading run of digits without its leading zeros, and the rest.
fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    let zeros = digits.iter().take_while(|&&b| b == b'0').count();
    (&digits[zeros.min(digits.len().saturating_sub(1))..], rest)
}

/// Helper for [`Rows::compare`]: larger values first.
pub fn larger_first<T: Ord>(a: T, b: T) -> Ordering {
    b.cmp(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names(Vec<(&'static str, Option<u64>)>);

    impl Rows for Names {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn text(&self, row: usize) -> &str {
            self.0[row].0
        }
        fn has(&self, row: usize, key: SortKey) -> bool {
            key != SortKey::Size || self.0[row].1.is_some()
        }
        fn compare(&self, a: usize, b: usize, key: SortKey) -> Ordering {
            let (x, y) = (&self.0[a], &self.0[b]);
            match key {
                SortKey::Size => larger_first(x.1, y.1),
                _ => by_name(x.0, y.0),
            }
        }
    }

    #[test]
    fn names_sort_with_numbers_as_numbers() {
        let mut names = vec![
            "v1.10", "v1.9", "v1.9.1", "latest", "v10", "v2", "1.26", "1.3", "a01", "a1",
        ];
        names.sort_by(|a, b| by_name(a, b));
        assert_eq!(
            names,
            [
                "1.3", "1.26", "a01", "a1", "latest", "v1.9", "v1.9.1", "v1.10", "v2", "v10"
            ]
        );
        assert_eq!(by_name("x", "x"), Ordering::Equal);
        assert_eq!(by_name("build-000007", "build-000010"), Ordering::Less);
    }

    fn shown(l: &Listing, rows: &Names) -> Vec<&'static str> {
        (0..l.shown())
            .map(|p| rows.0[l.row_at(p).unwrap()].0)
            .collect()
    }

    #[test]
    fn sorts_with_unknown_values_last_both_ways() {
        let rows = Names(vec![("b", Some(1)), ("a", None), ("c", Some(5))]);
        let mut l = Listing::new(&[SortKey::Name, SortKey::Size]);
        l.rebuild(&rows, 10);
        assert_eq!(shown(&l, &rows), ["a", "b", "c"]);
        l.next_sort(&rows, 10);
        assert_eq!(shown(&l, &rows), ["c", "b", "a"]);
        l.reverse_sort(&rows, 10);
        assert_eq!(shown(&l, &rows), ["b", "c", "a"]);
    }

    #[test]
    fn filter_narrows_and_keeps_the_selected_row() {
        let rows = Names(vec![
            ("nginx", None),
            ("alpine", None),
            ("nginx-unprivileged", None),
        ]);
        let mut l = Listing::new(&[SortKey::Name]);
        l.rebuild(&rows, 10);
        l.table.select(2, 10); // nginx-unprivileged
        l.start_filter();
        for c in "ngx".chars() {
            l.push_filter_char(c, &rows, 10);
        }
        assert_eq!(shown(&l, &rows), ["nginx", "nginx-unprivileged"]);
        assert_eq!(l.selected_row(), Some(2));
        l.keep_filter();
        assert!(!l.is_editing());
        assert_eq!(l.query(), "ngx");
        l.pop_filter_char(&rows, 10);
        l.push_filter_char('z', &rows, 10);
        assert_eq!(l.shown(), 0);
        assert_eq!(l.selected_row(), None);
        l.clear_filter(&rows, 10);
        assert_eq!(l.shown(), 3);
    }

    #[test]
    fn a_restriction_shows_exactly_its_rows_and_the_filter_narrows_it() {
        let rows = Names(vec![
            ("nginx", None),
            ("alpine", None),
            ("nginx-unprivileged", None),
        ]);
        let mut l = Listing::new(&[SortKey::Name]);
        l.restrict(Only {
            label: "two of them".into(),
            texts: ["nginx", "alpine"].into_iter().map(String::from).collect(),
        });
        l.settle(&rows, 10);
        assert_eq!(shown(&l, &rows), ["alpine", "nginx"]);
        l.push_filter_char('n', &rows, 10);
        l.push_filter_char('g', &rows, 10);
        assert_eq!(shown(&l, &rows), ["nginx"]);
        // Clearing the filter keeps the restriction.
        l.clear_filter(&rows, 10);
        assert_eq!(shown(&l, &rows), ["alpine", "nginx"]);
        assert_eq!(
            l.restriction().map(|o| o.label.as_str()),
            Some("two of them")
        );
    }
}
