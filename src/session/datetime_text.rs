//! Dates as text, written field by field. Every saved session writes an `Expires` date, every
//! SQLite load and save a `expire_date`, and every JSON answer an ISO 8601 expiry date; chrono's
//! `format` parses its pattern again on each call, which cost more than the rest of writing
//! the cookie. Each function here writes exactly what chrono writes (the tests compare them
//! over centuries of dates) and leaves chrono the rare dates with a leap second or a year
//! outside 0–9999.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The fields of a date that can be written directly (a four-digit year, no leap second),
/// read once: each of chrono's accessors on a `DateTime` works the calendar date out again.
struct Fields {
    year: u32,
    month0: u32,
    day: u32,
    weekday: usize,
    hour: u32,
    minute: u32,
    second: u32,
    nanosecond: u32,
}

impl Fields {
    /// `at`'s fields, or `None` when it has a leap second or a year outside 0–9999.
    fn of(at: &DateTime<Utc>) -> Option<Self> {
        let naive = at.naive_utc();
        let (date, time) = (naive.date(), naive.time());
        let year = u32::try_from(date.year())
            .ok()
            .filter(|year| *year <= 9999)?;
        let nanosecond = time.nanosecond();
        (nanosecond < 1_000_000_000).then(|| Fields {
            year,
            month0: date.month0(),
            day: date.day(),
            weekday: date.weekday().num_days_from_monday() as usize,
            hour: time.hour(),
            minute: time.minute(),
            second: time.second(),
            nanosecond,
        })
    }

    /// `HH:MM:SS`.
    fn push_time(&self, out: &mut String) {
        push_padded(out, self.hour, 2);
        out.push(':');
        push_padded(out, self.minute, 2);
        out.push(':');
        push_padded(out, self.second, 2);
    }

    /// `YYYY-MM-DD?HH:MM:SS` with `separator` between date and time.
    fn push_date_time(&self, out: &mut String, separator: char) {
        push_padded(out, self.year, 4);
        out.push('-');
        push_padded(out, self.month0 + 1, 2);
        out.push('-');
        push_padded(out, self.day, 2);
        out.push(separator);
        self.push_time(out);
    }
}

/// Appends `value` in decimal, zero-padded to `width` digits (`value` has at most `width`).
fn push_padded(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
        divisor /= 10;
    }
}

/// `http_date`: `Sat, 05 Dec 2026 23:56:58 GMT` (chrono's `%a, %d %b %Y %H:%M:%S GMT`).
pub fn http_date(at: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(29);
    push_http_date(&mut out, at);
    out
}

/// Appends [`http_date`]'s text to `out`.
pub fn push_http_date(out: &mut String, at: DateTime<Utc>) {
    let Some(fields) = Fields::of(&at) else {
        let _ = write!(out, "{}", at.format("%a, %d %b %Y %H:%M:%S GMT"));
        return;
    };
    out.push_str(DAYS[fields.weekday]);
    out.push_str(", ");
    push_padded(out, fields.day, 2);
    out.push(' ');
    out.push_str(MONTHS[fields.month0 as usize]);
    out.push(' ');
    push_padded(out, fields.year, 4);
    out.push(' ');
    fields.push_time(out);
    out.push_str(" GMT");
}

/// Django's SQLite text for a datetime: `2026-12-05 23:56:58`, with `.ffffff` when the
/// microseconds are not zero (chrono's `%Y-%m-%d %H:%M:%S`, then the microseconds). A leap
/// second's fraction counts from its own start (`:60.500000`).
pub fn sqlite_datetime_text(at: DateTime<Utc>) -> String {
    let micros = at.timestamp_subsec_micros() % 1_000_000;
    let mut out = match Fields::of(&at) {
        Some(fields) => {
            let mut out = String::with_capacity(26);
            fields.push_date_time(&mut out, ' ');
            out
        }
        None => at.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    if micros != 0 {
        out.push('.');
        push_padded(&mut out, micros, 6);
    }
    out
}

/// ISO 8601 in UTC as chrono's `Serialize` writes it: `2026-12-05T23:56:58.123456Z`, the
/// fraction in 0, 3, 6 or 9 digits as needed (`SecondsFormat::AutoSi`).
pub fn iso8601(at: DateTime<Utc>) -> String {
    rfc3339_utc(at, SecondsFormat::AutoSi)
}

/// RFC 3339 in UTC with nanoseconds, `2026-12-05T23:56:58.123456789Z` (chrono's
/// `to_rfc3339_opts(SecondsFormat::Nanos, true)`): how the Redis engine stores an expiry.
pub fn rfc3339_nanos(at: DateTime<Utc>) -> String {
    rfc3339_utc(at, SecondsFormat::Nanos)
}

/// chrono's `to_rfc3339_opts(format, true)` for the two formats above.
fn rfc3339_utc(at: DateTime<Utc>, format: SecondsFormat) -> String {
    let Some(fields) = Fields::of(&at) else {
        return at.to_rfc3339_opts(format, true);
    };
    let mut out = String::with_capacity(30);
    fields.push_date_time(&mut out, 'T');
    let nanos = fields.nanosecond;
    let (digits, fraction) = match format {
        SecondsFormat::Nanos => (9, nanos),
        _ if nanos == 0 => (0, 0),
        _ if nanos.is_multiple_of(1_000_000) => (3, nanos / 1_000_000),
        _ if nanos.is_multiple_of(1_000) => (6, nanos / 1_000),
        _ => (9, nanos),
    };
    if digits > 0 {
        out.push('.');
        push_padded(&mut out, fraction, digits);
    }
    out.push('Z');
    out
}

/// Reads back exactly what [`rfc3339_nanos`] writes for a four-digit year; `None` for any
/// other text (which callers hand to chrono's RFC 3339 parser).
pub fn parse_rfc3339_nanos(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 30
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (29, b'Z'),
        ]
        .iter()
        .all(|&(at, sep)| b[at] == sep);
    if !shape_ok {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 7)?,
        number(8, 10)?,
    )?;
    let time = date.and_hms_nano_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        number(20, 29)?,
    )?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeDelta, TimeZone};

    /// Dates every 83 hours, 7 seconds and an odd fraction apart from 1969 to 2101 (every
    /// weekday and month, leap years, a century's turn, every fraction length), and the ends.
    fn moments() -> Vec<DateTime<Utc>> {
        let mut at = Utc.with_ymd_and_hms(1969, 12, 25, 0, 0, 0).unwrap();
        let mut all = Vec::new();
        let fractions = [
            0,
            1,
            1_000,
            1_000_000,
            123_456_000,
            999_999_999,
            500_000_000,
        ];
        let mut n = 0;
        while at.year() < 2101 {
            all.push(at + TimeDelta::nanoseconds(fractions[n % fractions.len()]));
            at += TimeDelta::hours(83) + TimeDelta::seconds(7);
            n += 1;
        }
        let leap_second = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap()
            .and_utc();
        // A leap second's very start, whose fraction is exactly one second.
        let leap_second_start = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_000_000_000))
            .unwrap()
            .and_utc();
        all.extend([
            leap_second_start,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::UNIX_EPOCH,
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
            leap_second,
        ]);
        all
    }

    #[test]
    fn http_dates_are_what_chronos_format_writes() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 58).unwrap();
        assert_eq!(http_date(at), "Sat, 21 Nov 2026 23:56:58 GMT");
        for at in moments() {
            let expected = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
            assert_eq!(http_date(at), expected, "{at:?}");
        }
    }

    #[test]
    fn sqlite_datetimes_are_chronos_text_with_the_microseconds() {
        for at in moments() {
            let micros = at.timestamp_subsec_micros() % 1_000_000;
            let whole = at.format("%Y-%m-%d %H:%M:%S").to_string();
            let expected = if micros == 0 {
                whole
            } else {
                format!("{whole}.{micros:06}")
            };
            assert_eq!(sqlite_datetime_text(at), expected, "{at:?}");
        }
    }

    #[test]
    fn rfc3339_with_nanoseconds_is_chronos_and_reads_back() {
        for at in moments() {
            let text = rfc3339_nanos(at);
            assert_eq!(
                text,
                at.to_rfc3339_opts(SecondsFormat::Nanos, true),
                "{at:?}"
            );
            // Whatever the shortcut reads, it reads as chrono does; it reads every plain date.
            let chrono = DateTime::parse_from_rfc3339(&text).ok().map(|d| d.to_utc());
            match parse_rfc3339_nanos(&text) {
                Some(fast) => assert_eq!(Some(fast), chrono, "{text}"),
                None => assert!(
                    Fields::of(&at).is_none(),
                    "a plain date not read back: {text}"
                ),
            }
            if Fields::of(&at).is_some() {
                assert_eq!(parse_rfc3339_nanos(&text), Some(at), "{text}");
            }
        }
        for bad in [
            "",
            "2026-12-05T23:56:58Z",
            "2026-12-05T23:56:58.123456789+00:00",
            "2026-13-05T23:56:58.123456789Z",
            "2026-12-05T24:56:58.123456789Z",
            "2026-12-05T23:56:58.12345678xZ",
            "2026-12-05 23:56:58.123456789Z",
            "+026-12-05T23:56:58.123456789Z",
        ] {
            assert_eq!(parse_rfc3339_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso8601_is_what_chronos_serialize_writes() {
        for at in moments() {
            let expected = serde_json::to_value(at).unwrap();
            assert_eq!(serde_json::json!(iso8601(at)), expected, "{at:?}");
        }
    }
}
