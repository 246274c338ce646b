//! Pagination of `_catalog` and `tags/list`: the `Link: <url>; rel="next"` header, resolved
//! against the request URL, plus a guard against registries that serve a page again.

use std::collections::HashSet;

use url::Url;

/// The `rel="next"` target of a `Link` header, resolved against `base`.
pub fn next_link(base: &Url, link_header: &str) -> Option<Url> {
    for part in split_links(link_header) {
        let part = part.trim();
        let Some(start) = part.find('<') else {
            continue;
        };
        let Some(end) = part[start..].find('>') else {
            continue;
        };
        let target = &part[start + 1..start + end];
        let params = &part[start + end + 1..];
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return base.join(target).ok();
        }
    }
    None
}

/// Whether `next` is on the same scheme, host and port as `current`: a `Link` to anywhere
/// else is not followed (the registry's credentials would go with it).
pub fn same_origin(next: &Url, current: &Url) -> bool {
    next.origin() == current.origin()
}

/// Splits a Link header at the commas between links (not those inside `<...>` or quotes).
fn split_links(header: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_angle, mut in_quote, mut start) = (false, false, 0);
    for (i, c) in header.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                parts.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&header[start..]);
    parts
}

/// Remembers what pages looked like so that a registry serving the same page again (or
/// pointing `next` back at an earlier URL) stops the listing instead of looping forever.
#[derive(Default)]
pub struct PageGuard {
    urls: HashSet<String>,
    last_items: HashSet<String>,
}

impl PageGuard {
    /// Returns false when `url` was already requested.
    pub fn visit_url(&mut self, url: &Url) -> bool {
        self.urls.insert(url.as_str().to_string())
    }

    /// Returns false when a non-empty page repeats the last item of an earlier page
    /// (the `last` cursor did not move).
    pub fn accept_page(&mut self, items: &[String]) -> bool {
        match items.last() {
            None => true,
            Some(last) => self.last_items.insert(last.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://127.0.0.1:5000/v2/_catalog?n=2").unwrap()
    }

    #[test]
    fn relative_next_link_resolves() {
        let next = next_link(&base(), r#"</v2/_catalog?last=b&n=2>; rel="next""#).unwrap();
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:5000/v2/_catalog?last=b&n=2"
        );
    }

    #[test]
    fn absolute_and_multiple_links() {
        let header = r#"<https://x/v2/_catalog?last=a,b>; rel="prev", <https://x/v2/_catalog?last=c>; rel=next"#;
        assert_eq!(
            next_link(&base(), header).unwrap().as_str(),
            "https://x/v2/_catalog?last=c"
        );
        assert!(next_link(&base(), r#"</x>; rel="prev""#).is_none());
        assert!(next_link(&base(), "garbage <").is_none());
    }

    #[test]
    fn a_link_to_another_host_is_not_the_same_origin() {
        let next = next_link(
            &base(),
            r#"<http://evil.example:5000/v2/_catalog?last=b>; rel="next""#,
        )
        .unwrap();
        assert!(!same_origin(&next, &base()));
        let next = next_link(
            &base(),
            r#"<http://127.0.0.1:5001/v2/_catalog>; rel="next""#,
        )
        .unwrap();
        assert!(
            !same_origin(&next, &base()),
            "another port is another origin"
        );
        let next = next_link(&base(), r#"</v2/_catalog?last=b>; rel="next""#).unwrap();
        assert!(same_origin(&next, &base()));
    }

    #[test]
    fn guard_detects_repeats() {
        let mut g = PageGuard::default();
        assert!(g.visit_url(&base()));
        assert!(!g.visit_url(&base()));
        assert!(g.accept_page(&["a".into(), "b".into()]));
        assert!(!g.accept_page(&["a".into(), "b".into()]));
        assert!(g.accept_page(&[]));
    }
}
