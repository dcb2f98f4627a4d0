//! How condition values match: wildcards (`*` any run, `?` one character), ARM scope prefixes,
//! and bounded regular expressions; always case-insensitive.

use regex::{Regex, RegexBuilder};

/// The longest regular expression a policy may hold, in characters.
pub(crate) const MAX_REGEX_CHARS: usize = 1000;

/// A wildcard pattern, kept as written and lowercased for matching.
#[derive(Clone, Debug)]
pub(crate) struct Wildcard {
    pub(crate) text: String,
    lower: Vec<char>,
}

impl Wildcard {
    pub(crate) fn new(text: &str) -> Wildcard {
        Wildcard { text: text.to_string(), lower: text.to_lowercase().chars().collect() }
    }

    /// Whether the pattern is only `*`s: it matches anything, even a missing value.
    pub(crate) fn is_catch_all(&self) -> bool {
        !self.lower.is_empty() && self.lower.iter().all(|c| *c == '*')
    }

    /// Whether `value` matches the whole pattern, ignoring case. Greedy with one backtrack point:
    /// O(pattern × value) at worst.
    pub(crate) fn matches(&self, value: &str) -> bool {
        let v: Vec<char> = value.to_lowercase().chars().collect();
        let p = &self.lower;
        let (mut pi, mut vi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while vi < v.len() {
            if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == v[vi])) {
                pi += 1;
                vi += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some((pi, vi));
                pi += 1;
            } else if let Some((sp, sv)) = star {
                pi = sp + 1;
                vi = sv + 1;
                star = Some((sp, sv + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|c| *c == '*')
    }
}

/// A `Scope` entry: a wildcard, and when it starts with `/` (and is not only `/`), also a prefix
/// at a path-segment boundary, as ARM scopes inherit: `/subscriptions/1` covers
/// `/subscriptions/1/resourceGroups/rg`.
#[derive(Clone, Debug)]
pub(crate) struct ScopePattern {
    pub(crate) wildcard: Wildcard,
    prefix: Option<String>,
}

impl ScopePattern {
    pub(crate) fn new(text: &str) -> ScopePattern {
        let trimmed = text.trim_end_matches('/');
        let prefix = (text.starts_with('/') && !trimmed.is_empty() && !text.contains(['*', '?']))
            .then(|| trimmed.to_lowercase());
        ScopePattern { wildcard: Wildcard::new(text), prefix }
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        if self.wildcard.matches(value) {
            return true;
        }
        let Some(prefix) = &self.prefix else { return false };
        let v = value.to_lowercase();
        v == *prefix || v.strip_prefix(prefix.as_str()).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A regular expression as a policy holds it: case-insensitive unless the pattern says `(?-i)`,
/// at most [`MAX_REGEX_CHARS`] long, with bounded compiled size. The regex crate runs in linear
/// time, so no input can make it take long.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    pub(crate) regex: Regex,
}

impl Pattern {
    pub(crate) fn new(text: &str) -> Result<Pattern, String> {
        let n = text.chars().count();
        if n > MAX_REGEX_CHARS {
            return Err(format!(
                "the regular expression is {n} characters long; at most {MAX_REGEX_CHARS} are allowed"
            ));
        }
        RegexBuilder::new(text)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .nest_limit(64)
            .build()
            .map(|regex| Pattern { regex })
            .map_err(|e| format!("'{text}' is not a valid regular expression: {}", one_line(&e.to_string())))
    }

    /// Whether the pattern matches any text at all (`''`, `.*`, `^.*$`, `.*?`).
    pub(crate) fn is_catch_all(&self) -> bool {
        matches!(self.regex.as_str(), "" | ".*" | "^.*$" | "^.*" | ".*$" | ".*?" | "^" | "$")
    }

    pub(crate) fn text(&self) -> &str {
        self.regex.as_str()
    }
}

/// The regex crate's messages span lines, with a caret under the error; one line reads better.
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty() && !l.chars().all(|c| c == '^')).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_values_in_any_case() {
        let w = Wildcard::new("Finance*");
        assert!(w.matches("finance team") && w.matches("FINANCE") && !w.matches("Team Finance"));
        assert!(Wildcard::new("*admin?strator").matches("Global AdminIstrator"));
        assert!(Wildcard::new("a*b*c").matches("axxbyyc") && !Wildcard::new("a*b*c").matches("axxbyy"));
        assert!(Wildcard::new("").matches("") && !Wildcard::new("").matches("x"));
        assert!(Wildcard::new("**").is_catch_all() && !Wildcard::new("*x").is_catch_all());
    }

    #[test]
    fn scope_prefixes_stop_at_segment_boundaries() {
        let s = ScopePattern::new("/subscriptions/1");
        assert!(s.matches("/subscriptions/1") && s.matches("/Subscriptions/1/resourceGroups/rg"));
        assert!(!s.matches("/subscriptions/12"));
        let root = ScopePattern::new("/");
        assert!(root.matches("/") && !root.matches("/administrativeUnits/x"));
        assert!(
            ScopePattern::new("/subscriptions/*/resourceGroups/rg*").matches("/subscriptions/9/resourceGroups/rg1")
        );
    }

    #[test]
    fn regexes_are_bounded_and_case_insensitive() {
        assert!(Pattern::new("^servicenow$").unwrap().regex.is_match("ServiceNow"));
        assert!(!Pattern::new("(?-i)^servicenow$").unwrap().regex.is_match("ServiceNow"));
        assert!(Pattern::new("(").unwrap_err().contains("not a valid regular expression"));
        assert!(Pattern::new(&"a".repeat(MAX_REGEX_CHARS + 1)).is_err());
        assert!(Pattern::new("a{1000}{1000}").is_err(), "compiled size is bounded");
    }
}
