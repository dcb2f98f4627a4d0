//! The `Window` condition: days of the week and hours of the day in a named time zone, checked
//! against "now". `{"Days": "Mon-Fri", "Hours": "08:00-18:00", "TimeZone": "Europe/Berlin"}`.
//!
//! - `Days`: `Mon-Fri`, `Mon,Wed,Fri`, `Sat-Sun`, `Fri-Mon` (wraps), full names too, in any
//!   case; or a list of such. Absent: every day.
//! - `Hours`: `HH:MM-HH:MM`, start included, end excluded, `24:00` as an end; `22:00-06:00` runs
//!   overnight and belongs to the day it starts on; or a list of ranges. Absent: all day.
//! - `TimeZone` (required): an IANA name (`Europe/Berlin`, `UTC`) or a Windows id
//!   (`W. Europe Standard Time`). Local time follows the zone's daylight saving rules: on the
//!   night clocks go forward the skipped hour never happens; on the night they go back the
//!   repeated hour is inside the window both times.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::windows_zones::windows_to_iana;

const DAY_NAMES: [(&str, &str); 7] = [
    ("Mon", "Monday"),
    ("Tue", "Tuesday"),
    ("Wed", "Wednesday"),
    ("Thu", "Thursday"),
    ("Fri", "Friday"),
    ("Sat", "Saturday"),
    ("Sun", "Sunday"),
];

/// One window. Days are indexed from Monday = 0; hours are minutes since local midnight.
#[derive(Clone, Debug)]
pub(crate) struct Window {
    days: [bool; 7],
    hours: Vec<(u16, u16)>,
    zone: TimeZone,
    /// As a person reads it: `Mon-Fri 08:00-18:00 Europe/Berlin`.
    pub(crate) text: String,
}

impl Window {
    /// Reads a window object; the error names the key inside `Window` that is wrong.
    pub(crate) fn parse(v: &Value) -> Result<Window, String> {
        let Value::Object(map) = v else {
            return Err(format!(
                "Window must be an object with Days, Hours and TimeZone, not {}",
                super::load::type_name(v)
            ));
        };
        if let Some(k) = map.keys().find(|k| !["Days", "Hours", "TimeZone"].contains(&k.as_str())) {
            return Err(format!("Window.{k} is not a key of a window (Days, Hours, TimeZone)"));
        }
        let days_text = strings(map.get("Days"), "Days")?;
        let hours_text = strings(map.get("Hours"), "Hours")?;
        let Some(tz_value) = map.get("TimeZone") else {
            return Err("Window.TimeZone is required (an IANA name such as Europe/Berlin, or a Windows id)".into());
        };
        let Value::String(tz_name) = tz_value else {
            return Err("Window.TimeZone must be a string".into());
        };
        if days_text.is_none() && hours_text.is_none() {
            return Err("a Window needs Days, Hours or both".into());
        }
        let zone = zone(tz_name)?;
        let mut days = [days_text.is_none(); 7];
        for d in days_text.iter().flatten() {
            parse_days(d, &mut days)?;
        }
        let hours = match &hours_text {
            None => vec![(0, 24 * 60)],
            Some(list) => list.iter().map(|h| parse_hours(h)).collect::<Result<_, _>>()?,
        };
        let text = format!(
            "{} {} {}",
            days_text.map_or("every day".to_string(), |d| d.join(",")),
            hours_text.map_or("all day".to_string(), |h| h.join(",")),
            tz_name.trim()
        );
        Ok(Window { days, hours, zone, text })
    }

    /// Whether the window is open at every moment (every day, all day).
    pub(crate) fn is_always(&self) -> bool {
        self.days.iter().all(|d| *d) && self.hours.iter().any(|&(start, end)| start == 0 && end == 24 * 60)
    }

    /// Whether `now` falls inside, and the local time it was checked as.
    pub(crate) fn check(&self, now: Timestamp) -> (bool, String) {
        let local = now.to_zoned(self.zone.clone());
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        let today = local.weekday().to_monday_zero_offset() as usize;
        let yesterday = (today + 6) % 7;
        let held = self.hours.iter().any(|&(start, end)| {
            if start < end {
                start <= minute && minute < end && self.days[today]
            } else {
                (minute >= start && self.days[today]) || (minute < end && self.days[yesterday])
            }
        });
        let when = format!("{} {}", DAY_NAMES[today].0, local.strftime("%H:%M %:z"));
        (held, when)
    }
}

/// A time zone by IANA name or Windows id.
pub(crate) fn zone(name: &str) -> Result<TimeZone, String> {
    let name = name.trim();
    TimeZone::get(name)
        .ok()
        .or_else(|| windows_to_iana(name).and_then(|iana| TimeZone::get(iana).ok()))
        .ok_or_else(|| {
            format!("Window.TimeZone '{name}' is not a known time zone (an IANA name such as Europe/Berlin, or a Windows id such as W. Europe Standard Time)")
        })
}

/// A string or a list of strings; `None` when absent.
fn strings(v: Option<&Value>, key: &str) -> Result<Option<Vec<String>>, String> {
    let bad = || Err(format!("Window.{key} must be a string or a list of strings"));
    match v {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or(()))
            .collect::<Result<_, _>>()
            .map(Some)
            .or_else(|_| bad()),
        Some(_) => bad(),
    }
}

fn day(name: &str) -> Result<usize, String> {
    let n = name.trim();
    DAY_NAMES
        .iter()
        .position(|(short, long)| short.eq_ignore_ascii_case(n) || long.eq_ignore_ascii_case(n))
        .ok_or_else(|| format!("Window.Days: '{n}' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun, or full names)"))
}

/// `Mon-Fri`, `Mon,Wed`, `Fri-Mon`: sets the days named.
fn parse_days(text: &str, days: &mut [bool; 7]) -> Result<(), String> {
    for item in text.split(',').map(str::trim) {
        match item.split_once('-') {
            Some((from, to)) => {
                let (mut d, to) = (day(from)?, day(to)?);
                loop {
                    days[d] = true;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[day(item)?] = true,
        }
    }
    Ok(())
}

/// `08:00-18:00` as minutes since midnight.
fn parse_hours(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("Window.Hours: '{text}' is not a range such as 08:00-18:00");
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    let minutes = |t: &str, end: bool| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        let ok = m < 60 && (h < 24 || (end && h == 24 && m == 0));
        ok.then_some(h * 60 + m)
    };
    let (start, end) = (minutes(from, false).ok_or_else(bad)?, minutes(to, true).ok_or_else(bad)?);
    if start == end {
        return Err(format!("Window.Hours: '{text}' is empty (for the whole day write 00:00-24:00)"));
    }
    Ok((start, end))
}

/// Days as a person reads them, for tests.
#[cfg(test)]
fn weekday_name(w: jiff::civil::Weekday) -> &'static str {
    DAY_NAMES[w.to_monday_zero_offset() as usize].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn office_hours_in_berlin_follow_daylight_saving() {
        let w =
            Window::parse(&json!({"Days": "Mon-Fri", "Hours": "08:00-18:00", "TimeZone": "Europe/Berlin"})).unwrap();
        // Winter: UTC+1. 07:30Z is 08:30 local.
        assert!(w.check(at("2026-01-05T07:30:00Z")).0);
        assert!(!w.check(at("2026-01-05T06:30:00Z")).0);
        // Summer: UTC+2. 06:30Z is 08:30 local; 16:30Z is 18:30 local.
        assert!(w.check(at("2026-07-06T06:30:00Z")).0);
        assert!(!w.check(at("2026-07-06T16:30:00Z")).0);
        // Saturday.
        assert!(!w.check(at("2026-07-04T10:00:00Z")).0);
        assert_eq!(weekday_name(at("2026-07-04T10:00:00Z").to_zoned(TimeZone::UTC).weekday()), "Sat");
    }

    #[test]
    fn overnight_hours_belong_to_the_day_they_start() {
        let w = Window::parse(&json!({"Days": "Fri", "Hours": "22:00-06:00", "TimeZone": "UTC"})).unwrap();
        assert!(w.check(at("2026-07-03T23:00:00Z")).0, "Friday 23:00");
        assert!(w.check(at("2026-07-04T05:00:00Z")).0, "Saturday 05:00, Friday's night");
        assert!(!w.check(at("2026-07-04T23:00:00Z")).0, "Saturday 23:00");
    }

    #[test]
    fn windows_ids_and_lists_are_accepted() {
        let w = Window::parse(&json!({"Days": ["Sat", "sunday"], "Hours": ["10:00-12:00", "14:00-24:00"],
                                      "TimeZone": "w. europe standard time"}))
        .unwrap();
        assert!(w.check(at("2026-07-04T20:30:00Z")).0, "Saturday 22:30 local");
        assert!(w.check(at("2026-07-05T08:30:00Z")).0, "Sunday 10:30 local");
        assert!(!w.check(at("2026-07-04T11:00:00Z")).0, "Saturday 13:00 local");
    }

    #[test]
    fn bad_windows_are_refused_naming_the_key() {
        let e = |v: Value| Window::parse(&v).unwrap_err();
        assert!(e(json!({"Days": "Mon-Fri", "TimeZone": "Mars/Olympus"})).contains("TimeZone 'Mars/Olympus'"));
        assert!(e(json!({"Days": "Mon-Fry", "TimeZone": "UTC"})).contains("Window.Days"));
        assert!(e(json!({"Hours": "8-18", "TimeZone": "UTC"})).contains("Window.Hours"));
        assert!(e(json!({"Hours": "08:00-08:00", "TimeZone": "UTC"})).contains("empty"));
        assert!(e(json!({"Days": "Mon", "Timezone": "UTC"})).contains("Window.Timezone is not a key"));
        assert!(e(json!({"Days": "Mon"})).contains("TimeZone is required"));
        assert!(e(json!("Mon-Fri")).contains("must be an object"));
    }
}
