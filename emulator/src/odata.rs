//! The small part of OData the PIM routes need: query decoding and `$filter` with `eq`, `ne`, `and`.

use std::collections::HashMap;

/// Decodes `%XX` escapes (and `+` as a space, as form encoding does) in a query component.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes a path (no `+` rule) so that `filterByCurrentUser(on=%27approver%27)` matches too.
pub fn decode_path(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

/// The query string as a map of decoded names to decoded values.
pub fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// One `field op 'value'` comparison.
#[derive(Debug, PartialEq, Eq)]
pub struct Clause {
    pub field: String,
    pub negate: bool,
    pub value: String,
}

/// Parses `a eq 'x' and (b ne 'y')` into clauses that must all hold.
pub fn parse_filter(s: &str) -> Result<Vec<Clause>, String> {
    let tokens = tokenize(s)?;
    let mut clauses = Vec::new();
    let mut it = tokens.into_iter().filter(|t| t != "(" && t != ")").peekable();
    loop {
        let field = it.next().ok_or("Invalid filter clause: expected a property name")?;
        if field.starts_with('\'') {
            return Err(format!("Invalid filter clause: unexpected literal {field}"));
        }
        let op = it.next().ok_or("Invalid filter clause: expected eq or ne")?;
        let negate = match op.to_ascii_lowercase().as_str() {
            "eq" => false,
            "ne" => true,
            other => return Err(format!("Invalid filter clause: unsupported operator '{other}'")),
        };
        let lit = it.next().ok_or("Invalid filter clause: expected a value")?;
        let value = lit
            .strip_prefix('\'')
            .and_then(|l| l.strip_suffix('\''))
            .ok_or(format!("Invalid filter clause: expected a quoted string, found {lit}"))?
            .replace("''", "'");
        clauses.push(Clause { field, negate, value });
        match it.next() {
            None => return Ok(clauses),
            Some(t) if t.eq_ignore_ascii_case("and") => continue,
            Some(t) => return Err(format!("Invalid filter clause: unsupported operator '{t}'")),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            out.push(c.to_string());
            i += 1;
        } else if c == '\'' {
            let mut lit = String::from("'");
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("Invalid filter clause: unterminated string literal".into()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push_str("''");
                        i += 2;
                    }
                    Some('\'') => {
                        lit.push('\'');
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        lit.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(lit);
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"()'".contains(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        let c = parse_filter("(status eq 'PendingApproval') and principalId ne 'O''Brien'").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].value, "O'Brien");
        assert!(c[1].negate);
        assert!(parse_filter("status gt 'x'").is_err());
        assert!(parse_filter("status eq 'x").is_err());
        assert!(parse_filter("status eq 'x' or id eq 'y'").is_err());
    }

    #[test]
    fn queries_decode() {
        let q = parse_query(Some("%24filter=status%20eq%20%27PendingApproval%27&$top=5"));
        assert_eq!(q["$filter"], "status eq 'PendingApproval'");
        assert_eq!(q["$top"], "5");
    }
}
