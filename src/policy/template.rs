//! The `Justification` template: the text sent with a decision, with placeholders filled from the
//! rule and the request. `{{` and `}}` write a literal brace.

use super::request::{RequestFacts, given};

/// The placeholders, as written in a template (matched in any case).
pub(crate) const PLACEHOLDERS: [&str; 8] =
    ["Rule", "TicketNumber", "TicketSystem", "Principal", "Role", "Scope", "Surface", "ApprovalId"];

/// What a placeholder renders as when the request does not say.
pub(crate) const MISSING: &str = "(none)";

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    /// An index into [`PLACEHOLDERS`].
    Field(usize),
}

#[derive(Clone, Debug)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("'{{{name}' has no closing '}}'")),
                        }
                    }
                    let Some(i) = PLACEHOLDERS.iter().position(|p| p.eq_ignore_ascii_case(name.trim())) else {
                        return Err(format!(
                            "'{{{name}}}' is not a placeholder (known: {}; write {{{{ and }}}} for a literal brace)",
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        ));
                    };
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                    parts.push(Part::Field(i));
                }
                '}' => return Err("a '}' without its '{' (write }} for a literal brace)".into()),
                c => literal.push(c),
            }
        }
        parts.push(Part::Text(literal));
        if text.trim().is_empty() {
            return Err("the justification is empty".into());
        }
        Ok(Template { parts })
    }

    /// The text for one request; a placeholder the request does not fill renders as `(none)`.
    pub(crate) fn render(&self, rule: &str, r: &RequestFacts) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(i) => {
                    let value = match PLACEHOLDERS[*i] {
                        "Rule" => Some(rule),
                        "TicketNumber" => given(&r.ticket_number),
                        "TicketSystem" => given(&r.ticket_system),
                        "Principal" => r.principal_label(),
                        "Role" => r.role_label(),
                        "Scope" => r.scope_label(),
                        "Surface" => r.surface.map(|s| s.name()),
                        _ => Some(r.approval_id.as_str()).filter(|s| !s.is_empty()),
                    };
                    out.push_str(value.map(str::trim).unwrap_or(MISSING));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_render_and_braces_escape() {
        let t = Template::parse("Ticket {TicketNumber} by {rule} {{ok}}").unwrap();
        let r = RequestFacts { ticket_number: Some("INC42".into()), ..Default::default() };
        assert_eq!(t.render("helpdesk", &r), "Ticket INC42 by helpdesk {ok}");
        assert_eq!(t.render("x", &RequestFacts::default()), "Ticket (none) by x {ok}");
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_refused() {
        assert!(Template::parse("{Ticket}").unwrap_err().contains("'{Ticket}' is not a placeholder"));
        assert!(Template::parse("a } b").is_err());
        assert!(Template::parse("by {Rule").unwrap_err().contains("no closing"));
        assert!(Template::parse("  ").is_err());
    }
}
