//! What a student typed into the playground's forms, read and checked: a key, a JSON value, an
//! argument for `set_expiry`. Every input is bounded, so one visitor cannot fill the store, and
//! every broken rule becomes a 400 whose message names the rule and its limit.

use std::ops::Range;

use actix_web::error::UrlencodedError;
use chrono::{DateTime, Datelike, FixedOffset, TimeDelta};
use serde::Serialize;
use serde_json::Value;

use crate::error::AppError;
use crate::python::repr_str;
use crate::session::Expiry;
use crate::session::expiry::parse_isoformat_with_offset;

/// The longest key, in characters.
pub const MAX_KEY_CHARS: usize = 64;
/// The largest JSON value, in bytes as typed.
pub const MAX_VALUE_BYTES: usize = 4096;
/// The most keys a playground session may hold.
pub const MAX_KEYS: usize = 50;
/// The largest form body, in bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// The largest `set_expiry` seconds or `timedelta`, either way (about 31 years): beyond that
/// the expiry date leaves what the stores' date columns hold.
pub const MAX_EXPIRY_SECONDS: i64 = 1_000_000_000;

/// The limits, as the page lists them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    /// [`MAX_KEY_CHARS`].
    pub key_chars: usize,
    /// [`MAX_VALUE_BYTES`].
    pub value_bytes: usize,
    /// [`MAX_KEYS`].
    pub keys: usize,
    /// [`MAX_FORM_BYTES`].
    pub form_bytes: usize,
    /// [`MAX_EXPIRY_SECONDS`].
    pub expiry_seconds: i64,
    /// The smallest integer a value keeps exactly (`i64::MIN`).
    pub integer_min: i64,
    /// The largest integer a value keeps exactly (`u64::MAX`).
    pub integer_max: u64,
}

/// Every limit of the playground.
pub const LIMITS: Limits = Limits {
    key_chars: MAX_KEY_CHARS,
    value_bytes: MAX_VALUE_BYTES,
    keys: MAX_KEYS,
    form_bytes: MAX_FORM_BYTES,
    expiry_seconds: MAX_EXPIRY_SECONDS,
    integer_min: i64::MIN,
    integer_max: u64::MAX,
};

/// The fields any playground form may send; each operation reads the ones it needs.
#[derive(Debug, Clone, Default)]
pub struct RawForm {
    /// The CSRF token (`{% csrf_token %}`).
    pub csrfmiddlewaretoken: Option<String>,
    /// The session key to act on.
    pub key: Option<String>,
    /// A JSON value, or the argument of `set_expiry`.
    pub value: Option<String>,
    /// `pop`'s default, as JSON (empty: no default).
    pub default: Option<String>,
    /// What `set_expiry` is given: `seconds`, `none`, `datetime` or `timedelta`.
    pub kind: Option<String>,
}

impl RawForm {
    /// The form from its fields in the order they were sent: a field sent more than once is
    /// its last value, as Django's `request.POST.get(name)` and `request.POST[name]` read a
    /// `QueryDict`, and a field no form has is ignored.
    pub fn from_fields(fields: impl IntoIterator<Item = (String, String)>) -> RawForm {
        let mut form = RawForm::default();
        for (name, value) in fields {
            let field = match name.as_str() {
                "csrfmiddlewaretoken" => &mut form.csrfmiddlewaretoken,
                "key" => &mut form.key,
                "value" => &mut form.value,
                "default" => &mut form.default,
                "kind" => &mut form.kind,
                _ => continue,
            };
            *field = Some(value);
        }
        form
    }
}

/// A rule the input broke, in words for the student (a 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormError(pub String);

impl From<FormError> for AppError {
    fn from(e: FormError) -> Self {
        AppError::BadInput(e.0)
    }
}

/// `key`: 1 to [`MAX_KEY_CHARS`] characters, no control characters. Taken as typed
/// (not trimmed): `" a"` and `"a"` are different keys, as in Python.
pub fn key(raw: &RawForm) -> Result<String, FormError> {
    let key = raw.key.as_deref().unwrap_or("");
    let chars = key.chars().count();
    if chars == 0 {
        return Err(FormError(format!(
            "The key is empty: a key must have 1 to {MAX_KEY_CHARS} characters."
        )));
    }
    if chars > MAX_KEY_CHARS {
        return Err(FormError(format!(
            "The key has {chars} characters; the playground allows at most {MAX_KEY_CHARS}."
        )));
    }
    if let Some((at, c)) = key.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(FormError(format!(
            "The key contains a control character (U+{:04X} at position {}); keys must be printable text.",
            u32::from(c),
            at + 1
        )));
    }
    Ok(key.to_owned())
}

/// A required JSON value (field `value`), at most [`MAX_VALUE_BYTES`].
pub fn json_value(raw: &RawForm) -> Result<Value, FormError> {
    match raw.value.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(text) => parse_json("value", text),
        None => Err(FormError(
            "The value is empty: enter a JSON value such as \"text\", 42, true, null or {\"a\": [1, 2]}."
                .into(),
        )),
    }
}

/// `pop`'s optional default (field `default`): `None` when left empty.
pub fn optional_default(raw: &RawForm) -> Result<Option<Value>, FormError> {
    raw.default
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(|text| parse_json("default", text))
        .transpose()
}

fn parse_json(field: &str, text: &str) -> Result<Value, FormError> {
    if text.len() > MAX_VALUE_BYTES {
        return Err(FormError(format!(
            "The {field} is {} bytes of JSON; the playground allows at most {MAX_VALUE_BYTES} bytes.",
            text.len()
        )));
    }
    let not_json = |e: serde_json::Error| {
        FormError(format!(
            "The {field} is not valid JSON ({e}). Strings need double quotes (\"text\"); numbers, true, false, null, [lists] and {{objects}} are written as in JSON."
        ))
    };
    let value = serde_json::from_str(text).map_err(not_json)?;
    let integers: Vec<Range<usize>> = integer_literals(text).collect();
    if let Some(wide) = integers
        .iter()
        .map(|at| &text[at.clone()])
        .find(|n| !fits_64_bits(n))
    {
        return Err(integer_too_wide(field, wide));
    }
    let negative_zeros: Vec<usize> = integers
        .iter()
        .filter(|at| &text[(*at).clone()] == "-0")
        .map(|at| at.start)
        .collect();
    if negative_zeros.is_empty() {
        return Ok(value);
    }
    // serde_json reads the integer -0 as the float -0.0, where Python's json.loads reads the
    // int 0 (and Django stores 0): read it without its sign.
    let mut unsigned = text.to_owned();
    for at in negative_zeros {
        unsigned.replace_range(at..=at, " ");
    }
    serde_json::from_str(&unsigned).map_err(not_json)
}

/// Whether the integer written `digits` is one serde_json keeps exactly: an `i64` or a `u64`.
/// A wider one would become a float, where Python's `json.loads` keeps every int whole.
fn fits_64_bits(digits: &str) -> bool {
    digits.parse::<i64>().is_ok() || digits.parse::<u64>().is_ok()
}

/// The 400 for an integer wider than 64 bits in `field`, naming the range (the integer cut
/// short when it is long).
fn integer_too_wide(field: &str, digits: &str) -> FormError {
    let shown = match digits.char_indices().nth(40) {
        Some((cut, _)) => format!("{}… ({} digits)", &digits[..cut], digits.len()),
        None => digits.to_owned(),
    };
    FormError(format!(
        "The {field} holds the integer {shown}, outside the integers the playground keeps exactly ({} to {}); Python would keep it whole, but it would be stored here as a float. Write it as a string, or as a float such as 1.5e+30.",
        LIMITS.integer_min, LIMITS.integer_max
    ))
}

/// Where the integers are in the JSON `text`: the numbers outside strings written without a
/// fraction or an exponent, which Python's `json.loads` reads as an `int`.
fn integer_literals(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            match bytes[at] {
                b'"' => {
                    at += 1;
                    while at < bytes.len() && bytes[at] != b'"' {
                        at += if bytes[at] == b'\\' { 2 } else { 1 };
                    }
                    at += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let start = at;
                    while at < bytes.len()
                        && matches!(bytes[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    {
                        at += 1;
                    }
                    let number = &bytes[start..at];
                    if !number.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                        return Some(start..at);
                    }
                }
                _ => at += 1,
            }
        }
        None
    })
}

/// Whether a session with `len` keys has room for `key` (always, when it is already there).
pub fn room_for(len: usize, present: bool, key: &str) -> Result<(), FormError> {
    if present || len < MAX_KEYS {
        return Ok(());
    }
    Err(FormError(format!(
        "The session already has {len} keys, the playground's limit is {MAX_KEYS}; delete or pop a key before adding {}.",
        repr_str(key)
    )))
}

/// The argument of `set_expiry`, from the fields `kind` and `value`.
pub fn expiry(raw: &RawForm) -> Result<Expiry, FormError> {
    let text = raw.value.as_deref().unwrap_or("").trim();
    match raw.kind.as_deref().unwrap_or("") {
        "none" => Ok(Expiry::GlobalPolicy),
        "seconds" => Ok(Expiry::Seconds(bounded_seconds("seconds", text)?)),
        "timedelta" => {
            let seconds = bounded_seconds("timedelta", text)?;
            TimeDelta::try_seconds(seconds)
                .map(Expiry::After)
                .ok_or_else(|| FormError(format!("timedelta(seconds={seconds}) is out of range.")))
        }
        "datetime" => datetime(text).map(Expiry::At),
        other => Err(FormError(format!(
            "set_expiry needs a kind of value: seconds, none, datetime or timedelta (got {other:?})."
        ))),
    }
}

fn bounded_seconds(kind: &str, text: &str) -> Result<i64, FormError> {
    let seconds: i64 = text.parse().map_err(|_| {
        FormError(format!(
            "For {kind}, enter a whole number of seconds such as 600, 0 or -10 (got {text:?})."
        ))
    })?;
    if seconds.abs() > MAX_EXPIRY_SECONDS {
        return Err(FormError(format!(
            "{seconds} seconds is too far away: the playground allows at most {MAX_EXPIRY_SECONDS} seconds (about 31 years) either way."
        )));
    }
    Ok(seconds)
}

fn datetime(text: &str) -> Result<DateTime<FixedOffset>, FormError> {
    let at = parse_isoformat_with_offset(text).ok_or_else(|| {
        FormError(format!(
            "{text:?} is not an ISO-8601 date/time; write it as 2026-12-24T18:00:00+00:00 (without an offset it is taken as UTC)."
        ))
    })?;
    let years = 1..=9999;
    if !years.contains(&at.year()) || !years.contains(&at.to_utc().year()) {
        return Err(FormError(format!(
            "{text:?} is outside the years 1 to 9999 that Python's datetime holds."
        )));
    }
    Ok(at)
}

/// The 400 message for a body that is not a URL-encoded form, whose `Content-Type` is
/// `content_type` (without its parameters; empty when there was none).
pub fn not_urlencoded_message(content_type: &str) -> String {
    let received = if content_type.is_empty() {
        "has no Content-Type".to_owned()
    } else {
        format!("is {content_type}")
    };
    format!(
        "The playground reads a form sent as application/x-www-form-urlencoded, as its pages' forms send it (with curl: -d or --data-urlencode, not -F); this request's body {received}. Nothing was changed."
    )
}

/// The 400 message for a form body actix could not read, naming the limit when it is the size.
pub fn body_error_message(error: &UrlencodedError) -> String {
    match error {
        UrlencodedError::Overflow { size, limit } => format!(
            "The form is too large: {size} bytes, and the playground accepts at most {limit} bytes ({} KiB) per form.",
            limit / 1024
        ),
        UrlencodedError::Parse(e) => format!("The form could not be read: {e}."),
        UrlencodedError::Encoding => {
            "The form is not in a text encoding the server reads (use UTF-8).".into()
        }
        UrlencodedError::UnknownLength => {
            "The form's Content-Length header is not a number.".into()
        }
        other => format!("The form could not be read: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn a_field_sent_twice_is_its_last_value_as_in_a_querydict() {
        // Arrange
        let fields = [
            ("csrfmiddlewaretoken", "first"),
            ("key", "a"),
            ("unknown", "x"),
            ("csrfmiddlewaretoken", "last"),
            ("kind", "none"),
        ];

        // Act
        let form = RawForm::from_fields(fields.map(|(n, v)| (n.to_owned(), v.to_owned())));

        // Assert
        assert_eq!(form.csrfmiddlewaretoken.as_deref(), Some("last"));
        assert_eq!(form.key.as_deref(), Some("a"));
        assert_eq!(form.kind.as_deref(), Some("none"));
        assert_eq!((form.value, form.default), (None, None));
    }

    fn form(key: Option<&str>, value: Option<&str>) -> RawForm {
        RawForm {
            key: key.map(str::to_owned),
            value: value.map(str::to_owned),
            ..RawForm::default()
        }
    }

    fn expiry_of(kind: &str, value: &str) -> Result<Expiry, FormError> {
        expiry(&RawForm {
            kind: Some(kind.into()),
            value: Some(value.into()),
            ..RawForm::default()
        })
    }

    #[test]
    fn keys_are_1_to_64_printable_characters_taken_as_typed() {
        assert_eq!(key(&form(Some("age"), None)).unwrap(), "age");
        assert_eq!(key(&form(Some(" age "), None)).unwrap(), " age ");
        assert_eq!(
            key(&form(Some(&"é".repeat(64)), None))
                .unwrap()
                .chars()
                .count(),
            64
        );
        assert!(key(&form(None, None)).unwrap_err().0.contains("1 to 64"));
        assert!(key(&form(Some(""), None)).unwrap_err().0.contains("empty"));
        let long = key(&form(Some(&"k".repeat(65)), None)).unwrap_err();
        assert_eq!(
            long.0,
            "The key has 65 characters; the playground allows at most 64."
        );
        let control = key(&form(Some("a\nb"), None)).unwrap_err();
        assert!(control.0.contains("U+000A at position 2"), "{control}");
    }

    #[test]
    fn values_are_json_up_to_4096_bytes() {
        assert_eq!(
            json_value(&form(None, Some("\"text\""))).unwrap(),
            json!("text")
        );
        assert_eq!(json_value(&form(None, Some("42"))).unwrap(), json!(42));
        assert_eq!(
            json_value(&form(None, Some("{\"a\":[1,2]}"))).unwrap(),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            json_value(&form(None, Some(" null "))).unwrap(),
            Value::Null
        );
        let bare = json_value(&form(None, Some("text"))).unwrap_err();
        assert!(bare.0.starts_with("The value is not valid JSON"), "{bare}");
        assert!(bare.0.contains("double quotes"));
        assert!(
            json_value(&form(None, Some("  ")))
                .unwrap_err()
                .0
                .contains("empty")
        );
        let at_limit = format!("\"{}\"", "x".repeat(MAX_VALUE_BYTES - 2));
        assert!(json_value(&form(None, Some(&at_limit))).is_ok());
        let over = format!("\"{}\"", "x".repeat(MAX_VALUE_BYTES - 1));
        assert_eq!(
            json_value(&form(None, Some(&over))).unwrap_err().0,
            "The value is 4097 bytes of JSON; the playground allows at most 4096 bytes."
        );
    }

    #[test]
    fn the_integer_minus_zero_is_the_int_zero_as_python_reads_it() {
        let read = |text: &str| json_value(&form(None, Some(text))).unwrap();
        assert_eq!(read("-0"), json!(0));
        assert!(read("-0").is_u64(), "an int, not the float -0.0");
        assert_eq!(
            read("[-0, {\"-0\": -0}, \"-0\", \"\\\"-0\"]"),
            json!([0, {"-0": 0}, "-0", "\"-0"])
        );
        // Floats keep their sign, as Python's do.
        for float in ["-0.0", "-0e0", "-0E+1"] {
            let value = read(float);
            assert!(
                value
                    .as_f64()
                    .is_some_and(|f| f == 0.0 && f.is_sign_negative())
            );
        }
    }

    #[test]
    fn integers_are_kept_exactly_within_64_bits_and_refused_beyond() {
        let read = |text: &str| json_value(&form(None, Some(text)));
        assert_eq!(read("-9223372036854775808").unwrap(), json!(i64::MIN));
        assert_eq!(read("18446744073709551615").unwrap(), json!(u64::MAX));
        assert_eq!(
            read("[1e30, \"123456789012345678901234567890\"]").unwrap(),
            json!([1e30, "123456789012345678901234567890"])
        );
        for wide in [
            "18446744073709551616",
            "-9223372036854775809",
            "[1, {\"a\": 123456789012345678901234567890}]",
        ] {
            let refused = read(wide).unwrap_err().0;
            assert!(
                refused.contains("outside the integers the playground keeps exactly (-9223372036854775808 to 18446744073709551615)"),
                "{refused}"
            );
        }
        let long = read(&"9".repeat(300)).unwrap_err().0;
        assert!(
            long.contains(&format!("{}… (300 digits)", "9".repeat(40))),
            "{long}"
        );
        let default = optional_default(&RawForm {
            default: Some("-9223372036854775809".into()),
            ..RawForm::default()
        });
        assert!(
            default
                .unwrap_err()
                .0
                .starts_with("The default holds the integer")
        );
    }

    #[test]
    fn pop_default_is_optional_json() {
        let with = |d: &str| RawForm {
            default: Some(d.into()),
            ..RawForm::default()
        };
        assert_eq!(optional_default(&RawForm::default()).unwrap(), None);
        assert_eq!(optional_default(&with("")).unwrap(), None);
        assert_eq!(optional_default(&with("null")).unwrap(), Some(Value::Null));
        assert_eq!(optional_default(&with("\"\"")).unwrap(), Some(json!("")));
        assert!(
            optional_default(&with("{"))
                .unwrap_err()
                .0
                .contains("default is not valid JSON")
        );
    }

    #[test]
    fn the_fifty_first_key_is_refused_but_replacing_one_is_not() {
        assert!(room_for(49, false, "new").is_ok());
        assert!(room_for(50, true, "old").is_ok());
        let full = room_for(50, false, "new").unwrap_err();
        assert!(full.0.contains("already has 50 keys"), "{full}");
        assert!(full.0.contains("limit is 50"));
    }

    #[test]
    fn expiry_takes_seconds_none_dates_and_timedeltas() {
        assert_eq!(expiry_of("seconds", "600").unwrap(), Expiry::Seconds(600));
        assert_eq!(expiry_of("seconds", " 0 ").unwrap(), Expiry::Seconds(0));
        assert_eq!(expiry_of("seconds", "-10").unwrap(), Expiry::Seconds(-10));
        assert_eq!(expiry_of("none", "ignored").unwrap(), Expiry::GlobalPolicy);
        assert_eq!(
            expiry_of("datetime", "2026-12-24T18:00:00+00:00").unwrap(),
            Expiry::At(
                chrono::Utc
                    .with_ymd_and_hms(2026, 12, 24, 18, 0, 0)
                    .unwrap()
                    .fixed_offset()
            )
        );
        let paris = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            expiry_of("datetime", "2026-12-24T19:00:00+01:00").unwrap(),
            Expiry::At(paris.with_ymd_and_hms(2026, 12, 24, 19, 0, 0).unwrap()),
            "the offset is kept"
        );
        assert_eq!(
            expiry_of("datetime", "2026-12-24T18:00:00").unwrap(),
            Expiry::At(
                chrono::Utc
                    .with_ymd_and_hms(2026, 12, 24, 18, 0, 0)
                    .unwrap()
                    .fixed_offset()
            ),
            "a naive date/time is UTC"
        );
        assert_eq!(
            expiry_of("timedelta", "120").unwrap(),
            Expiry::After(TimeDelta::seconds(120))
        );
    }

    #[test]
    fn bad_expiry_input_says_what_is_expected() {
        assert!(
            expiry_of("seconds", "ten")
                .unwrap_err()
                .0
                .contains("whole number")
        );
        assert!(
            expiry_of("seconds", "1.5")
                .unwrap_err()
                .0
                .contains("whole number")
        );
        assert!(
            expiry_of("seconds", "1000000001")
                .unwrap_err()
                .0
                .contains("at most 1000000000 seconds")
        );
        assert!(expiry_of("timedelta", "-1000000001").is_err());
        assert!(
            expiry_of("datetime", "tomorrow")
                .unwrap_err()
                .0
                .contains("ISO-8601")
        );
        assert!(
            expiry_of("later", "1")
                .unwrap_err()
                .0
                .contains("seconds, none, datetime or timedelta")
        );
        assert!(expiry(&RawForm::default()).is_err());
    }

    #[test]
    fn an_oversized_form_names_the_16_kib_limit() {
        let message = body_error_message(&UrlencodedError::Overflow {
            size: 20_000,
            limit: MAX_FORM_BYTES,
        });
        assert_eq!(
            message,
            "The form is too large: 20000 bytes, and the playground accepts at most 16384 bytes (16 KiB) per form."
        );
    }

    #[test]
    fn a_body_that_is_not_a_url_encoded_form_is_named() {
        assert_eq!(
            not_urlencoded_message("multipart/form-data"),
            "The playground reads a form sent as application/x-www-form-urlencoded, as its pages' forms send it (with curl: -d or --data-urlencode, not -F); this request's body is multipart/form-data. Nothing was changed."
        );
        assert!(not_urlencoded_message("").contains("this request's body has no Content-Type."));
    }

    #[test]
    fn form_errors_are_400s() {
        let error = AppError::from(FormError("x".into()));
        assert_eq!(
            actix_web::ResponseError::status_code(&error),
            actix_web::http::StatusCode::BAD_REQUEST
        );
    }
}
