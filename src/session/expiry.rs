//! Session expiry exactly as Django computes it: `set_expiry`, `get_expiry_age`,
//! `get_expiry_date` and `get_expire_at_browser_close`, over a [`Clock`] that tests can stop
//! and move.

use std::sync::{Arc, Mutex};

use chrono::{
    DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, SubsecRound, TimeDelta, TimeZone, Utc,
};
use serde_json::Value;

/// The session key Django keeps a custom expiry under (an ordinary key, visible in `keys()`).
pub const EXPIRY_KEY: &str = "_session_expiry";

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    /// The current time (`django.utils.timezone.now()`).
    fn now(&self) -> DateTime<Utc>;
}

/// A clock shared by the server, its stores and its sessions.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Microseconds, as Python's datetime keeps.
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until told to move: expiry tests without sleeping.
#[derive(Debug)]
pub struct FakeClock {
    now: Mutex<DateTime<Utc>>,
}

impl FakeClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        FakeClock {
            now: Mutex::new(at),
        }
    }

    /// A clock stopped at the current wall-clock second.
    pub fn at_wall_clock() -> Self {
        Self::new(Utc::now().trunc_subsecs(0))
    }

    /// Moves the clock forward (or back, for a negative step).
    pub fn advance(&self, step: TimeDelta) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.checked_add_signed(step).unwrap_or(*now);
    }

    /// Sets the clock.
    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The argument of Django's `set_expiry(value)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// An int: expire after that many seconds of inactivity; `0` means at browser close,
    /// a negative number means already expired.
    Seconds(i64),
    /// A `datetime`: expire at that moment (stored with its own UTC offset, as Django's
    /// `value.isoformat()` stores it).
    At(DateTime<FixedOffset>),
    /// A `timedelta`: expire that long from now (stored as the resulting date).
    After(TimeDelta),
    /// `None`: back to the global policy (`cookie_age`, `expire_at_browser_close`).
    GlobalPolicy,
}

impl Expiry {
    /// The value stored under [`EXPIRY_KEY`], or `None` when the key is to be removed.
    pub fn stored_value(self, now: DateTime<Utc>) -> Option<Value> {
        match self {
            Expiry::Seconds(seconds) => Some(Value::from(seconds)),
            Expiry::At(at) => Some(Value::String(python_isoformat(at))),
            Expiry::After(delta) => Some(Value::String(python_isoformat(add(now, delta)))),
            Expiry::GlobalPolicy => None,
        }
    }
}

/// A number of seconds as `get_expiry_age()` returns it: Python keeps an int an int and a
/// float a float (a `_session_expiry` of `0.5` is half a second, not "at browser close").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExpiryAge {
    /// Whole seconds.
    Whole(i64),
    /// A float (finite).
    Fraction(f64),
}

impl ExpiryAge {
    /// Python's truth value: `not 0` and `not 0.0` are true.
    pub fn is_zero(self) -> bool {
        match self {
            ExpiryAge::Whole(seconds) => seconds == 0,
            ExpiryAge::Fraction(seconds) => seconds == 0.0,
        }
    }

    /// The cookie's `Max-Age`: Django's `int(max_age)`, towards zero (`0.5` gives 0, `-0.5`
    /// gives 0). `as` saturates at the i64 bounds, which is what an age that large means.
    pub fn max_age(self) -> i64 {
        match self {
            ExpiryAge::Whole(seconds) => seconds,
            ExpiryAge::Fraction(seconds) => seconds.trunc() as i64,
        }
    }

    /// `timedelta(seconds=age)`, whole microseconds (Python rounds a float's half to even);
    /// `None` past chrono's range.
    fn delta(self) -> Option<TimeDelta> {
        match self {
            ExpiryAge::Whole(seconds) => TimeDelta::try_seconds(seconds),
            ExpiryAge::Fraction(seconds) => {
                let micros = (seconds * 1e6).round_ties_even();
                // Well inside i64 (about ±292,000 years of microseconds), else out of range.
                (micros.abs() < 9.2e18).then(|| TimeDelta::microseconds(micros as i64))
            }
        }
    }

    /// Whether the age is positive.
    pub fn is_positive(self) -> bool {
        match self {
            ExpiryAge::Whole(seconds) => seconds > 0,
            ExpiryAge::Fraction(seconds) => seconds > 0.0,
        }
    }
}

impl PartialEq<i64> for ExpiryAge {
    /// As Python compares numbers: `600.0 == 600`.
    fn eq(&self, other: &i64) -> bool {
        match *self {
            ExpiryAge::Whole(seconds) => seconds == *other,
            ExpiryAge::Fraction(seconds) => seconds == *other as f64,
        }
    }
}

impl std::fmt::Display for ExpiryAge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ExpiryAge::Whole(seconds) => write!(f, "{seconds}"),
            // As Python prints the float (`0.5`, `1e-05`).
            ExpiryAge::Fraction(seconds) => {
                f.write_str(&crate::python::repr(&Value::from(seconds)))
            }
        }
    }
}

impl serde::Serialize for ExpiryAge {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            ExpiryAge::Whole(seconds) => serializer.serialize_i64(seconds),
            ExpiryAge::Fraction(seconds) => serializer.serialize_f64(seconds),
        }
    }
}

/// What `_session_expiry` holds, read the way Django's expiry methods read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StoredExpiry {
    /// No custom expiry (`None`).
    Unset,
    /// A number: an int or a float, returned as it is (booleans count as 0 and 1, as in
    /// Python's arithmetic).
    Seconds(ExpiryAge),
    /// A date (an ISO-8601 string).
    Date(DateTime<Utc>),
    /// A value Django could not use (a string that is no date, a list …): treated like an
    /// absent expiry for the age and date, and as "not at browser close".
    Unreadable,
}

impl StoredExpiry {
    /// Reads the stored value of `_session_expiry`.
    pub fn from_value(value: Option<&Value>) -> Self {
        match value {
            None | Some(Value::Null) => StoredExpiry::Unset,
            Some(Value::Bool(b)) => StoredExpiry::Seconds(ExpiryAge::Whole(i64::from(*b))),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => StoredExpiry::Seconds(ExpiryAge::Whole(i)),
                // A float, or an int past 64 bits read as one (docs/ARCHITECTURE.md).
                None => n
                    .as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| StoredExpiry::Seconds(ExpiryAge::Fraction(f)))
                    .unwrap_or(StoredExpiry::Unreadable),
            },
            Some(Value::String(s)) => parse_isoformat(s)
                .map(StoredExpiry::Date)
                .unwrap_or(StoredExpiry::Unreadable),
            Some(_) => StoredExpiry::Unreadable,
        }
    }

    /// `get_expiry_age()`: seconds until the session expires, counted from `now`.
    pub fn age(self, cookie_age: i64, now: DateTime<Utc>) -> ExpiryAge {
        match self {
            StoredExpiry::Seconds(age) if !age.is_zero() => age,
            StoredExpiry::Date(at) => ExpiryAge::Whole(floor_seconds(at - now)),
            _ => ExpiryAge::Whole(cookie_age),
        }
    }

    /// `get_expiry_date()`: the moment the session expires.
    pub fn date(self, cookie_age: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            StoredExpiry::Date(at) => at,
            StoredExpiry::Seconds(age) if !age.is_zero() => add_age(now, age),
            _ => add_seconds(now, cookie_age),
        }
    }

    /// `get_expire_at_browser_close()`: the global setting when unset, else `expiry == 0`.
    pub fn at_browser_close(self, global_expire_at_browser_close: bool) -> bool {
        match self {
            StoredExpiry::Unset => global_expire_at_browser_close,
            StoredExpiry::Seconds(age) => age.is_zero(),
            StoredExpiry::Date(_) | StoredExpiry::Unreadable => false,
        }
    }
}

/// `now + timedelta(seconds=age)`, saturating at the calendar's ends instead of panicking.
pub fn add_age(now: DateTime<Utc>, age: ExpiryAge) -> DateTime<Utc> {
    match age.delta() {
        Some(delta) => add(now, delta),
        None if age.is_positive() => latest(),
        None => DateTime::<Utc>::MIN_UTC,
    }
}

/// `timedelta.days * 86400 + timedelta.seconds`: whole seconds, rounded down (also when negative,
/// and for deltas too long to count in microseconds).
pub fn floor_seconds(delta: TimeDelta) -> i64 {
    // `num_seconds` rounds towards zero and `subsec_nanos` carries the sign of the delta.
    delta.num_seconds() - i64::from(delta.subsec_nanos() < 0)
}

/// `now + timedelta(seconds=n)`, saturating at the calendar's ends instead of panicking.
pub fn add_seconds(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    match TimeDelta::try_seconds(seconds) {
        Some(delta) => add(now, delta),
        None if seconds > 0 => latest(),
        None => DateTime::<Utc>::MIN_UTC,
    }
}

fn add(now: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    now.checked_add_signed(delta).unwrap_or_else(|| {
        if delta > TimeDelta::zero() {
            latest()
        } else {
            DateTime::<Utc>::MIN_UTC
        }
    })
}

fn latest() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

/// Python's `datetime.isoformat()` of an aware datetime: microseconds only when non-zero, the
/// offset as `+00:00` (with its seconds only when it has some, `+05:30:15`).
pub fn python_isoformat<Tz: TimeZone>(at: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let at = at.trunc_subsecs(6);
    let with_micros = at.timestamp_subsec_micros() != 0;
    let offset_has_seconds = at.offset().fix().local_minus_utc() % 60 != 0;
    let format = match (with_micros, offset_has_seconds) {
        (false, false) => "%Y-%m-%dT%H:%M:%S%:z",
        (true, false) => "%Y-%m-%dT%H:%M:%S%.6f%:z",
        (false, true) => "%Y-%m-%dT%H:%M:%S%::z",
        (true, true) => "%Y-%m-%dT%H:%M:%S%.6f%::z",
    };
    at.format(format).to_string()
}

/// Python's `datetime.fromisoformat()` for the forms Django stores, as a moment in UTC; naive
/// times are UTC. A leap second (`23:59:60`) is refused, as Python refuses it: sessionlab would
/// otherwise write back a `_session_expiry` or an `expire_date` that Django cannot read.
pub fn parse_isoformat(s: &str) -> Option<DateTime<Utc>> {
    parse_isoformat_with_offset(s).map(|at| at.with_timezone(&Utc))
}

/// [`parse_isoformat`], keeping the offset the text gives (`+00:00` for a naive time).
pub fn parse_isoformat_with_offset(s: &str) -> Option<DateTime<FixedOffset>> {
    parse_isoformat_any(s).filter(|at| at.timestamp_subsec_nanos() < 1_000_000_000)
}

fn parse_isoformat_any(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Some(at);
    }
    if let Ok(at) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(at);
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(naive.and_utc().fixed_offset())
}

/// The `Expires` cookie attribute (`http_date`): `Sat, 05 Dec 2026 23:56:58 GMT`.
pub use super::datetime_text::http_date;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const COOKIE_AGE: i64 = 1_209_600;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 23, 56, 58).unwrap()
    }

    #[test]
    fn unset_expiry_uses_the_cookie_age_and_the_global_browser_close_setting() {
        let e = StoredExpiry::from_value(None);
        assert_eq!(e.age(COOKIE_AGE, now()), COOKIE_AGE);
        assert_eq!(e.date(COOKIE_AGE, now()), now() + TimeDelta::days(14));
        assert!(!e.at_browser_close(false));
        assert!(e.at_browser_close(true));
    }

    #[test]
    fn integer_expiry_is_returned_as_is_and_overrides_browser_close() {
        let e = StoredExpiry::from_value(Some(&json!(600)));
        assert_eq!(e.age(COOKIE_AGE, now()), 600);
        assert_eq!(e.date(COOKIE_AGE, now()), now() + TimeDelta::seconds(600));
        assert!(
            !e.at_browser_close(true),
            "set_expiry(600) overrides EXPIRE_AT_BROWSER_CLOSE"
        );
    }

    #[test]
    fn zero_means_browser_close_with_the_cookie_age_for_age_and_date() {
        let e = StoredExpiry::from_value(Some(&json!(0)));
        assert_eq!(e.age(COOKIE_AGE, now()), COOKIE_AGE);
        assert_eq!(e.date(COOKIE_AGE, now()), now() + TimeDelta::days(14));
        assert!(e.at_browser_close(false));
    }

    #[test]
    fn negative_expiry_is_kept_negative() {
        let e = StoredExpiry::from_value(Some(&json!(-10)));
        assert_eq!(e.age(COOKIE_AGE, now()), -10);
        assert_eq!(e.date(COOKIE_AGE, now()), now() - TimeDelta::seconds(10));
    }

    #[test]
    fn date_expiry_is_floored_to_whole_seconds() {
        let at = now() + TimeDelta::milliseconds(300_500);
        let stored = Expiry::At(at.fixed_offset()).stored_value(now()).unwrap();
        let e = StoredExpiry::from_value(Some(&stored));
        assert_eq!(e.age(COOKIE_AGE, now()), 300);
        assert_eq!(e.date(COOKIE_AGE, now()), at);
        // A moment later the floor drops below the full delta: timedelta(120) reads as 119.
        let later = now() + TimeDelta::milliseconds(1);
        let stored = Expiry::After(TimeDelta::seconds(120))
            .stored_value(now())
            .unwrap();
        assert_eq!(
            StoredExpiry::from_value(Some(&stored)).age(COOKIE_AGE, later),
            119
        );
        // And a date in the past floors towards minus infinity, like Python's timedelta.
        let past = StoredExpiry::Date(now() - TimeDelta::milliseconds(500));
        assert_eq!(past.age(COOKIE_AGE, now()), -1);
    }

    #[test]
    fn dates_are_stored_as_python_isoformat_strings() {
        assert_eq!(python_isoformat(now()), "2026-11-21T23:56:58+00:00");
        let with_micros = now() + TimeDelta::microseconds(599_804);
        assert_eq!(
            python_isoformat(with_micros),
            "2026-11-21T23:56:58.599804+00:00"
        );
        assert_eq!(
            parse_isoformat("2026-11-21T23:56:58.599804+00:00"),
            Some(with_micros)
        );
        assert_eq!(parse_isoformat("2026-11-21 23:56:58"), Some(now()));
        assert_eq!(parse_isoformat("2026-11-22T00:56:58+01:00"), Some(now()));
        assert_eq!(parse_isoformat("not a date"), None);
        // An offset is kept as given, as `value.isoformat()` keeps it.
        let paris = parse_isoformat_with_offset("2026-11-22T00:56:58+01:00").unwrap();
        assert_eq!(python_isoformat(paris), "2026-11-22T00:56:58+01:00");
        assert_eq!(
            Expiry::At(paris).stored_value(now()),
            Some(json!("2026-11-22T00:56:58+01:00"))
        );
        let odd = FixedOffset::east_opt(5 * 3600 + 30 * 60 + 15).unwrap();
        assert_eq!(
            python_isoformat(with_micros.with_timezone(&odd)),
            "2026-11-22T05:27:13.599804+05:30:15"
        );
        assert_eq!(
            parse_isoformat_with_offset("2026-11-21T23:56:58"),
            Some(now().fixed_offset()),
            "a naive time is UTC"
        );
        assert_eq!(
            parse_isoformat("2026-12-31T23:59:60+00:00"),
            None,
            "no leap seconds"
        );
        assert_eq!(parse_isoformat("2026-12-31 23:59:60.5"), None);
    }

    #[test]
    fn global_policy_removes_the_key() {
        assert_eq!(Expiry::GlobalPolicy.stored_value(now()), None);
        assert_eq!(Expiry::Seconds(0).stored_value(now()), Some(json!(0)));
    }

    #[test]
    fn unreadable_values_fall_back_without_panicking() {
        for v in [json!("garbage"), json!([1]), json!({"a": 1})] {
            let e = StoredExpiry::from_value(Some(&v));
            assert_eq!(e, StoredExpiry::Unreadable);
            assert_eq!(e.age(COOKIE_AGE, now()), COOKIE_AGE);
            assert!(!e.at_browser_close(true));
        }
    }

    #[test]
    fn a_float_expiry_stays_a_float_as_in_python() {
        let half = StoredExpiry::from_value(Some(&json!(0.5)));
        assert_eq!(half, StoredExpiry::Seconds(ExpiryAge::Fraction(0.5)));
        assert_eq!(half.age(COOKIE_AGE, now()), ExpiryAge::Fraction(0.5));
        assert_eq!(half.age(COOKIE_AGE, now()).to_string(), "0.5");
        assert_eq!(
            ExpiryAge::Fraction(1e-5).to_string(),
            "1e-05",
            "Python's spelling"
        );
        assert_eq!(half.age(COOKIE_AGE, now()).max_age(), 0, "int(0.5)");
        assert_eq!(
            half.date(COOKIE_AGE, now()),
            now() + TimeDelta::milliseconds(500)
        );
        assert!(!half.at_browser_close(true), "0.5 == 0 is False");

        let later = StoredExpiry::from_value(Some(&json!(600.5)));
        assert_eq!(later.age(COOKIE_AGE, now()).max_age(), 600);
        assert_eq!(
            later.date(COOKIE_AGE, now()),
            now() + TimeDelta::milliseconds(600_500)
        );
        assert_eq!(
            StoredExpiry::from_value(Some(&json!(-0.5)))
                .age(COOKIE_AGE, now())
                .max_age(),
            0,
            "int(-0.5) is 0, not -1"
        );
        // `not 0.0` is True: a float zero means "at browser close", as an int zero does.
        let zero = StoredExpiry::from_value(Some(&json!(0.0)));
        assert!(zero.at_browser_close(false));
        assert_eq!(zero.age(COOKIE_AGE, now()), COOKIE_AGE);
        assert_eq!(ExpiryAge::Fraction(600.0), 600, "600.0 == 600");
        assert_eq!(
            serde_json::to_string(&ExpiryAge::Fraction(0.5)).unwrap(),
            "0.5"
        );
        // Python's timedelta rounds a float's microseconds half to even.
        assert_eq!(
            add_age(now(), ExpiryAge::Fraction(0.0000025)),
            now() + TimeDelta::microseconds(2)
        );
    }

    #[test]
    fn extreme_expiry_saturates_instead_of_panicking() {
        let e = StoredExpiry::Seconds(ExpiryAge::Whole(i64::MAX));
        assert_eq!(e.date(COOKIE_AGE, now()), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            StoredExpiry::Seconds(ExpiryAge::Whole(i64::MIN)).date(0, now()),
            DateTime::<Utc>::MIN_UTC
        );
        let far = StoredExpiry::Date(DateTime::<Utc>::MAX_UTC);
        assert!(far.age(COOKIE_AGE, now()).is_positive());
        let huge = StoredExpiry::Seconds(ExpiryAge::Fraction(1e30));
        assert_eq!(huge.date(COOKIE_AGE, now()), DateTime::<Utc>::MAX_UTC);
        assert_eq!(huge.age(COOKIE_AGE, now()).max_age(), i64::MAX);
        // Floored even where the delta no longer fits in microseconds (over 292 000 years).
        let half_second = TimeDelta::milliseconds(500);
        let ancient = StoredExpiry::Date(DateTime::<Utc>::MIN_UTC);
        let latest = DateTime::<Utc>::MAX_UTC - half_second;
        let whole = (DateTime::<Utc>::MIN_UTC - latest).num_seconds();
        assert_eq!(ancient.age(0, latest), whole - 1);
        // And below a microsecond: 500 ns in the past is the second before.
        let e = StoredExpiry::Date(now() - TimeDelta::nanoseconds(500));
        assert_eq!(e.age(COOKIE_AGE, now()), -1);
    }

    #[test]
    fn a_date_whole_seconds_away_is_exactly_that_many_seconds() {
        // Python: `timedelta(seconds=600)` is 600, and `timedelta(seconds=-10)` is
        // `days=-1, seconds=86390`, which `get_expiry_age()` counts as -10.
        let ahead = StoredExpiry::Date(now() + TimeDelta::seconds(600));
        assert_eq!(ahead.age(COOKIE_AGE, now()), 600);
        let behind = StoredExpiry::Date(now() - TimeDelta::seconds(10));
        assert_eq!(behind.age(COOKIE_AGE, now()), -10);
        assert_eq!(StoredExpiry::Date(now()).age(COOKIE_AGE, now()), 0);
    }

    #[test]
    fn a_date_past_the_calendar_saturates_towards_its_own_end() {
        // Arrange: 10^13 seconds (about 317,000 years) is a valid delta, but past the last
        // date chrono can hold, from any present-day now.
        let far = 10_000_000_000_000;

        // Act and assert: ahead saturates at the latest date, behind at the earliest, however
        // the age was given (an expiry, the cookie age, or plain seconds).
        assert_eq!(
            StoredExpiry::Seconds(ExpiryAge::Whole(far)).date(COOKIE_AGE, now()),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            StoredExpiry::Seconds(ExpiryAge::Whole(-far)).date(COOKIE_AGE, now()),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(
            StoredExpiry::Unset.date(far, now()),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(add_seconds(now(), far), DateTime::<Utc>::MAX_UTC);
        assert_eq!(add_seconds(now(), -far), DateTime::<Utc>::MIN_UTC);
        // And seconds too many for a delta at all.
        assert_eq!(add_seconds(now(), i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(add_seconds(now(), i64::MIN), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn zero_is_not_a_positive_age() {
        assert!(!ExpiryAge::Whole(0).is_positive());
        assert!(!ExpiryAge::Fraction(0.0).is_positive());
        assert!(!ExpiryAge::Whole(-1).is_positive());
        assert!(ExpiryAge::Whole(1).is_positive());
        assert!(ExpiryAge::Fraction(0.5).is_positive());
    }

    #[test]
    fn an_age_equals_a_number_only_where_python_says_so() {
        // `get_expiry_age() == 600` as Python compares: 600 and 600.0 equal 600; 599, 600.5
        // do not, and half a second is no zero.
        assert_eq!(ExpiryAge::Whole(600), 600);
        assert_ne!(ExpiryAge::Whole(600), 599);
        assert_eq!(ExpiryAge::Fraction(600.0), 600);
        assert_ne!(ExpiryAge::Fraction(600.5), 600);
        assert_ne!(ExpiryAge::Fraction(0.5), 0);
    }

    #[test]
    fn http_dates_match_djangos_cookie_format() {
        assert_eq!(
            http_date(now() + TimeDelta::days(14)),
            "Sat, 05 Dec 2026 23:56:58 GMT"
        );
    }

    #[test]
    fn fake_clock_moves_only_when_told() {
        let clock = FakeClock::new(now());
        assert_eq!(clock.now(), now());
        clock.advance(TimeDelta::seconds(21));
        assert_eq!(clock.now(), now() + TimeDelta::seconds(21));
        let later = now() + TimeDelta::days(3);
        clock.set(later);
        assert_eq!(clock.now(), later);
    }
}
