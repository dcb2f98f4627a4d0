//! Everything a caller hands us is checked here, before it can touch a URL or a request body.

use std::net::IpAddr;

use url::Url;

use crate::error::{ErrorKind, PimError, Result};

/// An approval id that is a GUID, so it is safe as one URL path segment (no `/`, `%`, `..`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApprovalId(String);

impl ApprovalId {
    pub fn parse(raw: &str) -> Result<ApprovalId> {
        if is_guid(raw) {
            Ok(ApprovalId(raw.to_ascii_lowercase()))
        } else {
            Err(PimError::new(
                ErrorKind::InvalidId,
                format!(
                    "'{}' is not a valid approval id: expected a GUID such as 929cd687-a296-4f77-bdbc-b7cc22d3517e.",
                    printable(raw)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ARM approval: `/providers/Microsoft.Authorization/roleAssignmentApprovals/{guid}`, possibly
/// under a scope, or a bare GUID (which means that path). Kept as its path segments, each checked,
/// so it can only ever be pushed onto a URL segment by segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmApprovalId(Vec<String>);

const ARM_APPROVALS: [&str; 3] = ["providers", "Microsoft.Authorization", "roleAssignmentApprovals"];

impl ArmApprovalId {
    pub fn parse(raw: &str) -> Result<ArmApprovalId> {
        if is_guid(raw) {
            let mut segments: Vec<String> = ARM_APPROVALS.iter().map(|s| s.to_string()).collect();
            segments.push(raw.to_ascii_lowercase());
            return Ok(ArmApprovalId(segments));
        }
        let invalid = || {
            PimError::new(
                ErrorKind::InvalidId,
                format!(
                    "'{}' is not a valid Azure approval id: expected /providers/Microsoft.Authorization/roleAssignmentApprovals/<guid> (optionally under a scope) or a GUID.",
                    printable(raw)
                ),
            )
        };
        let path = raw.strip_prefix('/').ok_or_else(invalid)?;
        if raw.len() > 1024 {
            return Err(invalid());
        }
        let segments: Vec<&str> = path.split('/').collect();
        if segments.len() < 4 || !segments.iter().all(|s| is_arm_segment(s)) {
            return Err(invalid());
        }
        let (head, tail) = segments.split_at(segments.len() - 4);
        let shape = tail[..3].iter().zip(ARM_APPROVALS).all(|(a, b)| a.eq_ignore_ascii_case(b)) && is_guid(tail[3]);
        if !shape || (!head.is_empty() && arm_scope_segments(head).is_none()) {
            return Err(invalid());
        }
        Ok(ArmApprovalId(segments.iter().map(|s| s.to_string()).collect()))
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// One segment of an ARM path: letters, digits and `.-_()`, never `.` or `..` alone.
fn is_arm_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 256
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._()".contains(&b))
}

/// An ARM scope: the tenant root (`""` or `/`), a management group, or a subscription and below.
pub fn arm_scope(raw: &str) -> Result<Vec<String>> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let segments: Vec<&str> = trimmed.strip_prefix('/').map(|p| p.split('/').collect()).unwrap_or_default();
    arm_scope_segments(&segments).ok_or_else(|| {
        PimError::new(
            ErrorKind::InvalidInput,
            format!(
                "'{}' is not an Azure scope: expected /subscriptions/<id>[/resourceGroups/<name>[/providers/...]] or /providers/Microsoft.Management/managementGroups/<id>.",
                printable(raw)
            ),
        )
    })
}

fn arm_scope_segments(segments: &[&str]) -> Option<Vec<String>> {
    if !segments.iter().all(|s| is_arm_segment(s)) {
        return None;
    }
    let first = segments.first()?.to_ascii_lowercase();
    let ok = match first.as_str() {
        "subscriptions" => segments.len() >= 2,
        "providers" => {
            segments.len() == 4
                && segments[1].eq_ignore_ascii_case("Microsoft.Management")
                && segments[2].eq_ignore_ascii_case("managementGroups")
        }
        _ => false,
    };
    ok.then(|| segments.iter().map(|s| s.to_string()).collect())
}

/// `8-4-4-4-12` hexadecimal digits, nothing else.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A plain id the service hands us (a step id) before it goes into a URL: letters, digits, `-`, `_`.
pub(crate) fn is_plain_segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Shows a value in an error without flooding it: control characters, bidirectional controls and
/// other invisible format characters are shown escaped (`\u{1b}`), never passed on raw (the
/// module's InertText.cs follows the same rule).
pub(crate) fn printable(s: &str) -> String {
    let inert = |c: char| c.is_control() || is_hidden_format(c);
    let shown: String = s
        .chars()
        .take(60)
        .flat_map(|c| if inert(c) { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    if s.chars().count() > 60 { format!("{shown}...") } else { shown }
}

/// An invisible format character (Unicode's Cf, but the zero-width joiner and non-joiner that emoji
/// and many scripts need), a blank-looking filler, or a line or paragraph separator: it can
/// reorder or hide what a person is shown.
fn is_hidden_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890 | 0x0891 | 0x08E2 | 0x180E
        | 0x200B | 0x200E | 0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0x2800 | 0x3164
        | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// The portal refuses an empty reason; so do we, and we bound its size.
pub(crate) const MAX_JUSTIFICATION_CHARS: usize = 4000;

/// A reviewer's justification: not empty, not made only of white space or invisible characters
/// (zero-width spaces, a byte-order mark, other format or blank characters), no NUL or other
/// control character but tab and line breaks, at most [`MAX_JUSTIFICATION_CHARS`] characters.
/// Kept byte for byte otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Justification(String);

impl Justification {
    pub fn parse(raw: &str) -> Result<Justification> {
        let refuse = |m: String| Err(PimError::new(ErrorKind::InvalidJustification, m));
        if let Some((at, c)) = raw.chars().enumerate().find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            let what = if c == '\0' {
                "a NUL character".to_string()
            } else {
                format!("the control character U+{:04X}", c as u32)
            };
            return refuse(format!(
                "The justification contains {what} (at character {at}); it would be cut or shown garbled. Remove it."
            ));
        }
        if raw.chars().all(is_invisible) {
            return refuse(if raw.is_empty() || raw.chars().all(char::is_whitespace) {
                "A justification is required: say why you approve or deny (the portal requires one too).".to_string()
            } else {
                "The justification has only invisible characters (zero-width, byte-order mark or other blank characters); say why you approve or deny.".to_string()
            });
        }
        let n = raw.chars().count();
        if n > MAX_JUSTIFICATION_CHARS {
            return refuse(format!(
                "The justification is {n} characters long; at most {MAX_JUSTIFICATION_CHARS} are allowed."
            ));
        }
        Ok(Justification(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A character that shows nothing: white space, a control character, or a format or filler
/// character (Unicode's default-ignorable code points and the blank-looking fillers).
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x2800 | 0x3164
            | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// An RFC 3339 date and time as the services write them: `2021-07-19T08:49:49.78Z`, or with an
/// offset (`+02:00`); years 0001 to 9999, a day that exists in its month, up to 9 digits of a second.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter().all(u8::is_ascii_digit).then(|| d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) =
        (num(0..4), num(5..7), num(8..10), num(11..13), num(14..16), num(17..19))
    else {
        return false;
    };
    let shape =
        b.len() >= 20 && b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't') && b[13] == b':' && b[16] == b':';
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !shape
        || y == 0
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days[mo as usize - 1]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return false;
        }
        rest = &frac[digits..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    }
}

/// Quotes a string as an OData literal: `O'Brien` becomes `'O''Brien'`.
pub fn odata_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Parses a service root URI. `https` is required; plain `http` only to a loopback address.
pub fn service_uri(raw: &str, what: &str) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        PimError::new(ErrorKind::InvalidOptions, format!("{what} '{}' is not a valid URI: {e}.", printable(raw)))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echoed: the URI holds a secret. reqwest would send it as Basic authorization
        // beside our bearer token.
        return Err(PimError::new(
            ErrorKind::InsecureUri,
            format!(
                "{what} has a user name or password in it ({}://...@{}); credentials never go in a service URI.",
                url.scheme(),
                url.host_str().unwrap_or("")
            ),
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(PimError::new(
                ErrorKind::InsecureUri,
                format!(
                    "{what} '{url}' uses plain http; https is required except for loopback addresses (127.0.0.1, ::1, localhost)."
                ),
            ));
        }
        other => {
            return Err(PimError::new(
                ErrorKind::InvalidOptions,
                format!("{what} '{url}' has scheme '{other}'; use https."),
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PimError::new(
            ErrorKind::InvalidOptions,
            format!("{what} '{url}' must be a plain service root, without query or fragment."),
        ));
    }
    Ok(url)
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_steers_or_hides_and_keeps_joiners() {
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("zw\u{200b}sp\u{feff}"), "zw\\u{200b}sp\\u{feff}");
        assert_eq!(printable("tag\u{e0041}"), "tag\\u{e0041}", "a tag character can carry a hidden message");
        assert_eq!(printable("line\u{2028}sep"), "line\\u{2028}sep");
        let emoji = "\u{1f469}\u{200d}\u{1f4bb} ok";
        assert_eq!(printable(emoji), emoji, "the zero-width joiner of an emoji stays");
    }

    #[test]
    fn approval_ids_must_be_guids() {
        assert!(ApprovalId::parse("929cd687-a296-4f77-bdbc-b7cc22d3517e").is_ok());
        assert!(ApprovalId::parse("929CD687-A296-4F77-BDBC-B7CC22D3517E").is_ok());
        for bad in [
            "",
            " ",
            "../x",
            "../../users",
            "%2F",
            "929cd687-a296-4f77-bdbc-b7cc22d3517e/../x",
            "929cd687 a296-4f77-bdbc-b7cc22d3517e",
            "929cd687-a296-4f77-bdbc-b7cc22d3517",
            "929cd687-a296-4f77-bdbc-b7cc22d3517e ",
            "g29cd687-a296-4f77-bdbc-b7cc22d3517e",
            "929cd687-a296-4f77-bdbc-b7cc22d3517é",
        ] {
            let e = ApprovalId::parse(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidId, "{bad:?}");
        }
    }

    #[test]
    fn arm_approval_ids_are_checked_by_shape() {
        let g = "929cd687-a296-4f77-bdbc-b7cc22d3517e";
        for ok in [
            format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}"),
            format!("/subscriptions/{g}/providers/microsoft.authorization/roleassignmentapprovals/{g}"),
            format!(
                "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}"
            ),
            g.to_string(),
        ] {
            assert!(ArmApprovalId::parse(&ok).is_ok(), "{ok}");
        }
        assert_eq!(ArmApprovalId::parse(g).unwrap().segments().count(), 4);
        for bad in [
            "".to_string(),
            "../x".to_string(),
            format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}/../../x"),
            format!("/providers/Microsoft.Authorization/roleAssignments/{g}"),
            format!("/subscriptions/../providers/Microsoft.Authorization/roleAssignmentApprovals/{g}"),
            format!("/evil/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}"),
            format!("providers/Microsoft.Authorization/roleAssignmentApprovals/{g}"),
            format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}?x=1"),
            format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}%2F"),
            "/providers/Microsoft.Authorization/roleAssignmentApprovals/not-a-guid".to_string(),
        ] {
            assert_eq!(ArmApprovalId::parse(&bad).unwrap_err().kind, ErrorKind::InvalidId, "{bad}");
        }
    }

    #[test]
    fn arm_scopes() {
        assert!(arm_scope("").unwrap().is_empty());
        assert!(arm_scope("/").unwrap().is_empty());
        assert_eq!(arm_scope("/subscriptions/abc/resourceGroups/rg-1").unwrap().len(), 4);
        assert!(arm_scope("/providers/Microsoft.Management/managementGroups/mg").is_ok());
        for bad in ["/subscriptions", "/x/y", "/subscriptions/../x", "subscriptions/a", "/subscriptions/a b"] {
            assert!(arm_scope(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn justifications_are_required_and_bounded() {
        for bad in ["", "   ", "\t\n"] {
            assert_eq!(Justification::parse(bad).unwrap_err().kind, ErrorKind::InvalidJustification);
        }
        // NUL (a C string would end there), other control characters, and text that shows nothing.
        for bad in [
            "ok\0cut",
            "\0",
            "ok\u{1b}[2K",
            "ok\u{85}",
            "\u{200b}\u{200b}",
            "\u{feff}",
            "\u{200d}\u{2060}",
            " \u{3164}\u{2800} ",
            "\u{202e}\u{2066}",
            "\u{e0041}\u{e0042}",
            "\u{ad}",
        ] {
            let e = Justification::parse(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidJustification, "{bad:?}");
        }
        assert!(Justification::parse("ok\0cut").unwrap_err().message.contains("NUL"));
        assert!(Justification::parse("\u{200b}ok\u{200b}").is_ok(), "visible text with invisible characters is kept");
        let long = "x".repeat(MAX_JUSTIFICATION_CHARS + 1);
        assert_eq!(Justification::parse(&long).unwrap_err().kind, ErrorKind::InvalidJustification);
        let odd = "He said \"fine\"\nO'Brien — Zürich ✓";
        assert_eq!(Justification::parse(odd).unwrap().as_str(), odd);
    }

    #[test]
    fn dates_and_times_are_rfc3339() {
        for ok in [
            "2021-07-19T08:49:49.78Z",
            "2021-07-19T08:49:49Z",
            "2024-02-29T00:00:00+02:00",
            "9999-12-31T23:59:60.123456789Z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "not a date",
            "",
            "2021-07-19",
            "2021-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2021-07-19T24:00:00Z",
            "2021-07-19T08:49:49",
            "2021-07-19T08:49:49.Z",
            "2021-07-19T08:49:49.1234567890Z",
            "2021-07-19T08:49:49+2:00",
            "+12021-07-19T08:49:49Z",
            "2021-07-19T08:49:49Zjunk",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn odata_literals_double_quotes() {
        assert_eq!(odata_literal("O'Brien"), "'O''Brien'");
        assert_eq!(odata_literal("x' or 1 eq 1 or 'a"), "'x'' or 1 eq 1 or ''a'");
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(service_uri("https://graph.microsoft.com", "GraphUri").is_ok());
        assert!(service_uri("http://127.0.0.1:8080", "GraphUri").is_ok());
        assert!(service_uri("http://[::1]:8080", "GraphUri").is_ok());
        assert!(service_uri("http://localhost:1", "GraphUri").is_ok());
        assert_eq!(service_uri("http://graph.microsoft.com", "GraphUri").unwrap_err().kind, ErrorKind::InsecureUri);
        assert_eq!(service_uri("http://10.0.0.1", "GraphUri").unwrap_err().kind, ErrorKind::InsecureUri);
        assert!(service_uri("ftp://x", "GraphUri").is_err());
        for creds in [
            "https://user:password@graph.microsoft.com",
            "https://:password@graph.microsoft.com",
            "http://u@127.0.0.1:1",
        ] {
            let e = service_uri(creds, "GraphUri").unwrap_err();
            assert_eq!(e.kind, ErrorKind::InsecureUri, "{creds}");
            assert!(!e.message.contains("password") || !e.message.contains(":password@"), "{}", e.message);
        }
        assert!(service_uri("not a uri", "GraphUri").is_err());
    }
}
