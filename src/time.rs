//! Time as PIM writes it: ISO 8601 durations as PIM sends them (`P1D`, `PT8H`, `PT5H30M`,
//! `PT0.5S`), and RFC 3339 times as we report them.

use std::time::SystemTime;

/// Seconds in an ISO 8601 duration, or `None` if it is not one. Years and months are refused:
/// their length depends on the calendar, and PIM does not send them.
pub fn iso8601_seconds(s: &str) -> Option<f64> {
    let rest = s.trim().strip_prefix('P').or_else(|| s.trim().strip_prefix('p'))?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total = 0.0;
    total += fields(date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    if let Some(t) = time {
        total += fields(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    Some(total)
}

/// Sums `<number><unit>` pairs whose units appear in `units`, in that order.
fn fields(mut s: &str, units: &[(char, f64)]) -> Option<f64> {
    let mut total = 0.0;
    let mut next_unit = 0;
    while !s.is_empty() {
        let end = s.find(|c: char| c.is_ascii_alphabetic())?;
        let (num, tail) = s.split_at(end);
        let unit = tail.chars().next()?.to_ascii_uppercase();
        let pos = units[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
        if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
            return None;
        }
        let value: f64 = num.replace(',', ".").parse().ok()?;
        total += value * units[pos].1;
        next_unit = pos + 1;
        s = &tail[1..];
    }
    Some(total)
}

/// `2026-11-26T14:52:12Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem / 60) % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::iso8601_seconds as d;

    #[test]
    fn parses_what_pim_sends() {
        assert_eq!(d("P1D"), Some(86_400.0));
        assert_eq!(d("PT8H"), Some(28_800.0));
        assert_eq!(d("PT5H30M"), Some(19_800.0));
        assert_eq!(d("PT30M"), Some(1_800.0));
        assert_eq!(d("P1DT2H"), Some(93_600.0));
        assert_eq!(d("PT0.5S"), Some(0.5));
        assert_eq!(d("P2W"), Some(1_209_600.0));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["", "P", "PT", "1D", "P1Y", "P1M", "PT1X", "PTH", "PT1M2H", "P1D2", "PT-1H"] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_convert() {
        let t = httpdate::parse_http_date("Thu, 26 Nov 2026 14:52:12 GMT").unwrap();
        assert_eq!(super::rfc3339(t), "2026-11-26T14:52:12Z");
    }
}
