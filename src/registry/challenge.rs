//! `WWW-Authenticate` parsing (RFC 7235): `Bearer realm="https://auth",service="reg",scope="a,b"`.
//! Quoted values may hold commas and escaped quotes, so this is a small tokenizer, not a split.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased scheme: `basic` or `bearer` (others are kept but not used).
    pub scheme: String,
    /// Lowercased parameter names to their (unquoted) values.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses every challenge in a header value. Malformed input yields what could be read.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = header.trim_start();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let Some((token, after)) = take_token(rest) else {
            break;
        };
        let after_ws = after.trim_start();
        if let Some(value_part) = after_ws.strip_prefix('=')
            && !out.is_empty()
            && !value_part.starts_with('=')
        {
            // A parameter of the current challenge.
            let (value, remaining) = take_value(value_part.trim_start());
            if let Some(current) = out.last_mut() {
                current.params.insert(token.to_ascii_lowercase(), value);
            }
            rest = remaining;
        } else {
            // A new challenge's scheme (a token68 after it is ignored).
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
            rest = after;
        }
    }
    out
}

fn take_token(s: &str) -> Option<(&str, &str)> {
    let end = s
        .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
        .unwrap_or(s.len());
    if end == 0 {
        // Skip a stray character so the loop always advances.
        let mut chars = s.chars();
        chars.next()?;
        return take_token(chars.as_str());
    }
    Some((&s[..end], &s[end..]))
}

fn take_value(s: &str) -> (String, &str) {
    if let Some(inner) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                '"' => return (value, &inner[i + 1..]),
                other => value.push(other),
            }
        }
        (value, "")
    } else {
        let end = s.find(',').unwrap_or(s.len());
        (s[..end].trim().to_string(), &s[end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_commas_in_scope() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.example/token"));
        assert_eq!(c[0].param("service"), Some("registry.example"));
        assert_eq!(c[0].param("scope"), Some("repository:a/b:pull,push"));
    }

    #[test]
    fn basic_and_multiple_challenges() {
        let c = parse_challenges(r#"Basic realm="Registry Realm", Bearer realm=x,service=y"#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("Registry Realm"));
        assert_eq!(c[1].param("realm"), Some("x"));
        assert_eq!(c[1].param("service"), Some("y"));
    }

    #[test]
    fn escaped_quotes_and_garbage_do_not_panic() {
        let c = parse_challenges(r#"Bearer realm="a\"b""#);
        assert_eq!(c[0].param("realm"), Some("a\"b"));
        for junk in [
            "",
            "=",
            "==,,",
            "\"",
            "Bearer realm=\"unterminated",
            ",,,Basic",
            "a=b",
        ] {
            let _ = parse_challenges(junk);
        }
        assert_eq!(parse_challenges("Basic")[0].scheme, "basic");
    }
}
