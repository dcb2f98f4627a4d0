//! Faults by schedule: rules such as `throttle@write:3,7,20` or `lost@write:5+5n`, and the
//! numbers each call draws from the counters they are matched against (see the parent module).

/// The numbers one call got from each counter it advanced (1-based; 0 = not counted there).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ticket {
    pub(super) call: u64,
    pub(super) read: u64,
    pub(super) write: u64,
}

/// Which counter a rule's numbers count on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counter {
    Call,
    Read,
    Write,
}

/// The fault a rule injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Fail,
    Throttle,
    Reset,
    Slow,
    Lost,
}

/// One of a rule's NUMBERS: `N`, `A-B` or `A+Kn`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    One(u64),
    Range(u64, u64),
    Every { from: u64, step: u64 },
}

impl Term {
    fn holds(&self, n: u64) -> bool {
        match *self {
            Term::One(x) => n == x,
            Term::Range(a, b) => (a..=b).contains(&n),
            Term::Every { from, step } => n >= from && (n - from).is_multiple_of(step),
        }
    }
}

/// One rule, `FAULT@COUNTER:NUMBERS`, with its text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    pub(super) text: String,
    pub(super) kind: Kind,
    on: Counter,
    terms: Vec<Term>,
}

impl Rule {
    pub(super) fn parse(text: &str) -> Result<Rule, String> {
        let bad = |why: &str| {
            format!(
                "fault schedule rule '{text}': {why} (expected FAULT@COUNTER:NUMBERS, e.g. throttle@write:3,7,20 or lost@write:5+5n)"
            )
        };
        let (kind, rest) = text.trim().split_once('@').ok_or_else(|| bad("no '@'"))?;
        let (on, numbers) = rest.split_once(':').ok_or_else(|| bad("no ':'"))?;
        let kind = match kind.trim() {
            "fail" => Kind::Fail,
            "throttle" => Kind::Throttle,
            "reset" => Kind::Reset,
            "slow" => Kind::Slow,
            "lost" => Kind::Lost,
            _ => return Err(bad("the fault is one of fail, throttle, reset, slow, lost")),
        };
        let on = match on.trim() {
            "call" => Counter::Call,
            "read" => Counter::Read,
            "write" => Counter::Write,
            _ => return Err(bad("the counter is one of call, read, write")),
        };
        let number =
            |s: &str| s.trim().parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| bad("numbers count from 1"));
        let mut terms = Vec::new();
        for part in numbers.split(',') {
            let part = part.trim();
            let term = if let Some(every) = part.strip_suffix('n') {
                let (from, step) = every.split_once('+').ok_or_else(|| bad("a sequence reads A+Kn"))?;
                Term::Every { from: number(from)?, step: number(step)? }
            } else if let Some((a, b)) = part.split_once('-') {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    return Err(bad("a range reads A-B with A <= B"));
                }
                Term::Range(a, b)
            } else {
                Term::One(number(part)?)
            };
            terms.push(term);
        }
        Ok(Rule { text: text.trim().to_string(), kind, on, terms })
    }

    pub(super) fn holds(&self, ticket: &Ticket) -> bool {
        let n = match self.on {
            Counter::Call => ticket.call,
            Counter::Read => ticket.read,
            Counter::Write => ticket.write,
        };
        n > 0 && self.terms.iter().any(|t| t.holds(n))
    }
}
