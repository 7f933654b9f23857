//! Independent models of Django 5.2's session behaviour, written from Django's source (and
//! Python's), not from sessionlab's: the fuzz targets and property tests compare sessionlab
//! with these. Pure functions over `chrono` and `serde_json` only, so the same file is compiled
//! into the fuzz crate (`fuzz/src/lib.rs`), the integration tests (`tests/properties.rs`) and
//! the session model tests (`src/session/properties.rs`).
//!
//! Where sessionlab differs from Django on purpose (its docs say so), the model follows
//! sessionlab and says why next to the rule.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Map, Value};

/// `SessionBase._validate_session_key`: `key and len(key) >= 8`. Python's `len` counts code
/// points, not bytes.
pub fn valid_session_key(key: &str) -> bool {
    key.chars().count() >= 8
}

/// What a store may look up: `[a-z0-9]{8,40}` (Django's alphabet, `varchar(40)`).
pub fn storable_session_key(key: &str) -> bool {
    (8..=40).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// Cookies: django.http.cookie.parse_cookie and http.cookies._unquote.

/// Python's `str.isspace()` for the characters `str.strip()` removes.
fn python_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{b}'
            | '\u{c}'
            | '\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

fn python_strip(s: &str) -> &str {
    s.trim_matches(python_space)
}

/// `http.cookies._unquote`: `"…"` loses its quotes, then `\ooo` (first digit 0–3) becomes
/// `chr(0oooo)` and `\x` (x not a newline) becomes `x`.
pub fn python_unquote(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 || chars[0] != '"' || chars[chars.len() - 1] != '"' {
        return s.to_owned();
    }
    let inner = &chars[1..chars.len() - 1];
    let mut out = String::new();
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == '\\' && i + 1 < inner.len() {
            let octal = inner.get(i + 1..i + 4).filter(|d| {
                ('0'..='3').contains(&d[0]) && d[1..].iter().all(|c| ('0'..='7').contains(c))
            });
            if let Some(d) = octal {
                let n = d.iter().fold(0u32, |n, c| n * 8 + (*c as u32 - '0' as u32));
                out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                i += 4;
                continue;
            }
            if inner[i + 1] != '\n' {
                out.push(inner[i + 1]);
                i += 2;
                continue;
            }
        }
        out.push(inner[i]);
        i += 1;
    }
    out
}

/// `django.http.cookie.parse_cookie(header)[name]`: `;`-separated chunks, a chunk without `=`
/// is a value with an empty name, both sides `strip()`ped, empty pairs skipped, the value
/// unquoted, the last duplicate winning.
///
/// Several `Cookie` headers are read as one joined with `;` (HTTP/2 splits one header into
/// several; sessionlab reads them in order, the last duplicate winning across them).
pub fn parse_cookie(headers: &[String], name: &str) -> Option<String> {
    let joined = headers.join(";");
    let mut found = None;
    for chunk in joined.split(';') {
        let (key, value) = match chunk.split_once('=') {
            Some((k, v)) => (k, v),
            None => ("", chunk),
        };
        let (key, value) = (python_strip(key), python_strip(value));
        if (!key.is_empty() || !value.is_empty()) && key == name {
            found = Some(python_unquote(value));
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Expiry: SessionBase.get_expiry_age / get_expiry_date / get_expire_at_browser_close.

/// What `_session_expiry` holds, as the model reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelExpiry {
    /// Absent or `None`.
    Unset,
    /// An int, returned as it is (a boolean counts as 0 or 1; sessionlab answers `1` where
    /// Python's `get_expiry_age()` would return `True`).
    Seconds(i64),
    /// A float, returned as it is: `0.5` is half a second (`not 0.5` and `0.5 == 0` are both
    /// false). An int past 64 bits reads as a float too (docs/ARCHITECTURE.md).
    Float(f64),
    /// A date string, as `datetime.fromisoformat` reads it (the instant, in microseconds).
    Date(i128),
    /// Anything else (a string that is no date, a list, an object). Django would fail (500)
    /// or return it as the age; sessionlab treats it like an absent expiry for the age and
    /// date, and as "not at browser close" (`StoredExpiry::Unreadable`).
    Unreadable,
}

/// Microseconds since the epoch, exactly.
pub fn micros(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000 + i128::from(at.timestamp_subsec_micros())
}

/// Nanoseconds since the epoch, exactly.
pub fn nanos(at: DateTime<Utc>) -> i128 {
    i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos())
}

fn from_nanos(n: i128) -> DateTime<Utc> {
    if n >= nanos(DateTime::<Utc>::MAX_UTC) {
        return DateTime::<Utc>::MAX_UTC;
    }
    if n <= nanos(DateTime::<Utc>::MIN_UTC) {
        return DateTime::<Utc>::MIN_UTC;
    }
    let secs = n.div_euclid(1_000_000_000) as i64;
    let sub = n.rem_euclid(1_000_000_000) as u32;
    DateTime::from_timestamp(secs, sub).expect("inside chrono's range")
}

/// Reads a stored value the way the model does.
pub fn read_expiry(value: Option<&Value>) -> ModelExpiry {
    match value {
        None | Some(Value::Null) => ModelExpiry::Unset,
        Some(Value::Bool(b)) => ModelExpiry::Seconds(i64::from(*b)),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                ModelExpiry::Seconds(i)
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() => ModelExpiry::Float(f),
                    _ => ModelExpiry::Unreadable,
                }
            }
        }
        Some(Value::String(s)) => match fromisoformat_micros(s) {
            Some(at) => ModelExpiry::Date(at),
            None => ModelExpiry::Unreadable,
        },
        Some(_) => ModelExpiry::Unreadable,
    }
}

/// What `get_expiry_age()` returns: an int, or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelAge {
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
}

impl ModelAge {
    /// `int(age)`, the cookie's `Max-Age`: towards zero, saturating.
    pub fn int(self) -> i64 {
        match self {
            ModelAge::Int(i) => i,
            ModelAge::Float(f) => f.trunc() as i64,
        }
    }

    /// Whether sessionlab's answer is this one, int for int and float for float.
    pub fn is(self, age: sessionlab::session::ExpiryAge) -> bool {
        use sessionlab::session::ExpiryAge;
        match (self, age) {
            (ModelAge::Int(want), ExpiryAge::Whole(got)) => want == got,
            (ModelAge::Float(want), ExpiryAge::Fraction(got)) => want.to_bits() == got.to_bits(),
            _ => false,
        }
    }
}

/// `get_expiry_age()` at `now` (Python's `timezone.now()`, microseconds).
///
/// ```text
/// if not expiry: return cookie_age
/// if not isinstance(expiry, (datetime, str)): return expiry
/// delta = fromisoformat(expiry) - modification
/// return delta.days * 86400 + delta.seconds
/// ```
/// `delta.days * 86400 + delta.seconds` is the delta in whole seconds rounded towards minus
/// infinity (a `timedelta` normalises to `0 <= seconds < 86400`, `0 <= microseconds < 10**6`).
pub fn expiry_age(expiry: ModelExpiry, cookie_age: i64, now: DateTime<Utc>) -> ModelAge {
    match expiry {
        ModelExpiry::Seconds(s) if s != 0 => ModelAge::Int(s),
        ModelExpiry::Float(f) if f != 0.0 => ModelAge::Float(f),
        ModelExpiry::Date(at) => {
            let delta = at - micros(now);
            let whole = delta.div_euclid(1_000_000);
            // Far outside Python's range (years 1..9999) the floor still holds; an i64 always
            // fits two chrono dates apart.
            ModelAge::Int(i64::try_from(whole).unwrap_or(if whole > 0 {
                i64::MAX
            } else {
                i64::MIN
            }))
        }
        _ => ModelAge::Int(cookie_age),
    }
}

/// `get_expiry_date()` at `now`: the date itself, or `now + timedelta(seconds=expiry or
/// cookie_age)`. Python raises `OverflowError` past year 9999; sessionlab saturates at
/// chrono's ends instead (`expiry::add_seconds`).
pub fn expiry_date(expiry: ModelExpiry, cookie_age: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    match expiry {
        ModelExpiry::Date(at) => from_nanos(at * 1000),
        ModelExpiry::Seconds(s) if s != 0 => from_nanos(nanos(now) + i128::from(s) * 1_000_000_000),
        // `timedelta(seconds=f)`: whole microseconds, half to even; far past chrono's range
        // (1e30 s) it saturates as the arithmetic does.
        ModelExpiry::Float(f) if f != 0.0 => {
            let micros = (f * 1e6).round_ties_even().clamp(-1e30, 1e30) as i128;
            from_nanos(nanos(now) + micros * 1000)
        }
        _ => from_nanos(nanos(now) + i128::from(cookie_age) * 1_000_000_000),
    }
}

/// `get_expire_at_browser_close()`: the setting when `_session_expiry` is `None`, else
/// `expiry == 0`.
pub fn expire_at_browser_close(expiry: ModelExpiry, global: bool) -> bool {
    match expiry {
        ModelExpiry::Unset => global,
        ModelExpiry::Seconds(s) => s == 0,
        ModelExpiry::Float(f) => f == 0.0,
        ModelExpiry::Date(_) | ModelExpiry::Unreadable => false,
    }
}

/// `datetime.isoformat()` of an aware UTC datetime (what `set_expiry(datetime)` stores):
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, microseconds only when non-zero.
pub fn python_isoformat(at: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let micro = at.timestamp_subsec_micros();
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if micro != 0 {
        out.push_str(&format!(".{micro:06}"));
    }
    out.push_str("+00:00");
    out
}

/// The instant (microseconds since the epoch, UTC) `datetime.fromisoformat(s)` gives for the
/// forms sessionlab accepts: `YYYY-MM-DD`, then optionally `T` or a space, `HH:MM[:SS[.f]]`
/// (any number of fraction digits, truncated to microseconds as Python does), then optionally
/// `Z` or `±HH:MM`; years 1 to 9999. A naive time is read as UTC (sessionlab's rule; Django would fail to subtract it
/// from an aware `now`).
///
/// A hand-written parser on purpose: an independent reading, not chrono's.
pub fn fromisoformat_micros(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = num(0..4)?;
    if year == 0 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, num(5..7)?, num(8..10)?)?;
    let mut secs_of_day: i128 = 0;
    let mut frac_micros: i128 = 0;
    let mut offset_secs: i128 = 0;
    let mut i = 10;
    if i < b.len() {
        if b[i] != b'T' && b[i] != b' ' {
            return None;
        }
        i += 1;
        let hour = num(i..i + 2)?;
        if b.get(i + 2) != Some(&b':') {
            return None;
        }
        let minute = num(i + 3..i + 5)?;
        i += 5;
        let mut second = 0;
        if b.get(i) == Some(&b':') {
            second = num(i + 1..i + 3)?;
            i += 3;
            if b.get(i) == Some(&b'.') {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                let digits = &b[start..end];
                if digits.is_empty() {
                    return None;
                }
                let mut micro = 0i128;
                for k in 0..6 {
                    micro = micro * 10 + digits.get(k).map_or(0, |d| i128::from(d - b'0'));
                }
                frac_micros = micro;
                i = end;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        secs_of_day = i128::from(hour * 3600 + minute * 60 + second);
        match b.get(i) {
            None => {}
            Some(b'Z') if i + 1 == b.len() => {}
            Some(sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                if b.get(i + 3) != Some(&b':') || i + 6 != b.len() {
                    return None;
                }
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let off = i128::from(oh * 3600 + om * 60);
                offset_secs = if *sign == b'+' { off } else { -off };
            }
            Some(_) => return None,
        }
    }
    let days = i128::from(
        date.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1)?)
            .num_days(),
    );
    Some((days * 86_400 + secs_of_day - offset_secs) * 1_000_000 + frac_micros)
}

/// `now + delta`, saturating at chrono's ends (what `set_expiry(timedelta)` stores, before it
/// is written as text).
pub fn add_delta(now: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    let d = i128::from(delta.num_seconds()) * 1_000_000_000 + i128::from(delta.subsec_nanos());
    from_nanos(nanos(now) + d)
}

// ---------------------------------------------------------------------------------------------
// A Python dict: insertion order kept on overwrite, deletion keeps the order of the rest.

/// A session's data as Python keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PyDict {
    items: Vec<(String, Value)>,
}

impl PyDict {
    /// `d[k]`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `k in d`.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `d[k] = v`: an existing key keeps its place.
    pub fn set(&mut self, key: &str, value: Value) {
        match self.items.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.items.push((key.to_owned(), value)),
        }
    }

    /// `del d[k]` / `d.pop(k)`: the others keep their order.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.items.iter().position(|(k, _)| k == key)?;
        Some(self.items.remove(at).1)
    }

    /// `d.clear()`.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// `len(d) == 0`.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `list(d.items())`.
    pub fn items(&self) -> Vec<(String, Value)> {
        self.items.clone()
    }

    /// `list(d.keys())`.
    pub fn keys(&self) -> Vec<String> {
        self.items.iter().map(|(k, _)| k.clone()).collect()
    }

    /// The same data as a JSON object, in order.
    pub fn to_map(&self) -> Map<String, Value> {
        self.items.iter().cloned().collect()
    }
}
