//! The properties every fuzz target checks, one function per target, each taking the fuzzer's
//! raw bytes and panicking on a violation. The same file is compiled into the fuzz crate and
//! into `tests/properties.rs`, which runs it on proptest's inputs and on every file of
//! `fuzz/corpus/<target>/`, so CI checks exactly what the fuzzers check.
//!
//! Each function documents how it reads its bytes, so a corpus file can be written by hand.
#![allow(dead_code)]

use std::io::Read;
use std::sync::OnceLock;

use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sessionlab::playground::forms::{self, RawForm};
use sessionlab::session::Expiry;
use sessionlab::session::cookie::request_cookie;
use sessionlab::session::expiry::StoredExpiry;
use sessionlab::session::key::{is_storable_session_key, is_valid_session_key};
use sessionlab::session::store::decoders;
use sessionlab::session::store::{
    MemoryStore, SaveError, SaveMode, SessionCodec, SessionData, SessionRecord, Store,
};
use sessionlab::session::{SignedCookies, signed_cookies::SignedCookieError};
use sessionlab::signing::{
    MAX_DECOMPRESSED_SIZE, SESSION_SALT, SIGNED_COOKIES_SALT, Signer, SigningError,
};

use crate::django;

/// The secret every check signs with, and a fallback it also accepts.
pub const SECRET: &str = "fuzz-secret-key-not-for-production";
/// A rotated-out key (`SECRET_KEY_FALLBACKS`).
pub const OLD_SECRET: &str = "fuzz-old-secret-key";
/// The unix time values are signed at: 2023-11-14T22:13:20Z (base62 `1r31eq`).
pub const SIGNED_AT: i64 = 1_700_000_000;

/// A target's check: panics when a property does not hold for the input.
pub type Check = fn(&[u8]);

/// Every target: its directory name under `fuzz/corpus/` and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("cookie_header", cookie_header),
    ("session_key", session_key),
    ("unsign", unsign),
    ("signed_payload", signed_payload),
    ("codec_decode", codec_decode),
    ("redis_value", redis_value),
    ("sqlite_datetime", sqlite_datetime),
    ("stored_expiry", stored_expiry),
    ("memory_store", memory_store),
    ("playground_form", playground_form),
];

/// The check of target `name`.
pub fn target(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn fallbacks() -> Vec<String> {
    vec![OLD_SECRET.to_owned()]
}

/// Cookie names the header check looks up.
const COOKIE_NAMES: &[&str] = &["sessionid", "sessionname", "csrftoken", "a", "__Host-id"];

/// `cookie_header`: the bytes are one or more `Cookie` header values separated by `\n`
/// (values a server would refuse, such as ones with control bytes, are left out, as actix
/// refuses them). `request_cookie` never panics and agrees with Django's `parse_cookie` +
/// `_unquote` on every name.
pub fn cookie_header(data: &[u8]) {
    let mut headers = HeaderMap::new();
    let mut texts = Vec::new();
    for line in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            texts.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
            headers.append(COOKIE, value);
        }
    }
    for name in COOKIE_NAMES {
        let got = request_cookie(&headers, name);
        let want = django::parse_cookie(&texts, name);
        assert_eq!(got, want, "cookie {name:?} of headers {texts:?}");
    }
}

/// `session_key`: the bytes (UTF-8, invalid sequences replaced) are a cookie value. Validity is
/// Django's `len(key) >= 8`; storability is exactly `[a-z0-9]{8,40}` and implies validity.
pub fn session_key(data: &[u8]) {
    let key = String::from_utf8_lossy(data);
    let valid = is_valid_session_key(&key);
    let storable = is_storable_session_key(&key);
    assert_eq!(
        valid,
        django::valid_session_key(&key),
        "validity of {key:?}"
    );
    assert_eq!(
        storable,
        django::storable_session_key(&key),
        "storability of {key:?}"
    );
    assert!(!storable || valid, "storable but not valid: {key:?}");
}

/// `unsign`: the bytes (UTF-8, invalid sequences replaced) are a signed value off the wire.
/// Unsigning never panics; only genuine values (signed with [`SECRET`] or [`OLD_SECRET`])
/// pass; what passes signs back to the same data; the codec and the signed-cookie engine read
/// it without panicking.
pub fn unsign(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for salt in [SESSION_SALT, SIGNED_COOKIES_SALT] {
        let signer = Signer::new(SECRET, &fallbacks(), salt);
        check_unsigned(&signer, &text);
    }
    let now = at(SIGNED_AT);
    let data = codec().decode(&text, now);
    let _ = data.len();
    let _ = cookies().load(&text, 1_209_600, now);
    let _ = cookies().load(&text, i64::MAX, DateTime::<Utc>::MAX_UTC);
    let _ = cookies().load(&text, i64::MIN, DateTime::<Utc>::MIN_UTC);
}

fn check_unsigned(signer: &Signer, text: &str) {
    let result = signer.unsign_object(text, None, SIGNED_AT);
    let timestamp = signer.signed_timestamp(text);
    let payload = signer.unsign(text, None, SIGNED_AT);
    match &result {
        Ok(value) => {
            let ts = timestamp.expect("a value that unsigns has a timestamp");
            assert!(payload.is_ok());
            // It signs back to the same data, at its own timestamp.
            for compress in [false, true] {
                let again = signer.sign_object(value, compress, ts);
                assert_eq!(
                    signer.unsign_object(&again, None, SIGNED_AT).ok().as_ref(),
                    Some(value)
                );
            }
            // Expiry is judged after the signature, with saturating arithmetic.
            for (max_age, now) in [(0, i64::MAX), (i64::MAX, i64::MIN), (-1, ts)] {
                match signer.unsign_object(text, Some(max_age), now) {
                    Ok(v) => assert_eq!(&v, value),
                    Err(SigningError::SignatureExpired { age, .. }) => {
                        assert_eq!(age, now.saturating_sub(ts));
                        assert!(age > max_age);
                    }
                    Err(other) => panic!("a genuine value failed with {other:?}"),
                }
            }
        }
        Err(SigningError::BadSignature(_)) => {
            assert!(payload.is_err() && timestamp.is_err());
        }
        Err(SigningError::BadPayload(_)) => {
            assert!(payload.is_ok() && timestamp.is_ok());
        }
        Err(SigningError::SignatureExpired { .. }) => panic!("no max_age, yet expired"),
    }
    if !text.contains(':') {
        assert!(result.is_err());
    }
}

/// `signed_payload`: a genuine signature over a payload built from the bytes, so that the
/// base64, zlib and JSON layers see arbitrary input. The first byte picks how (mod 4):
/// 0 the rest is the payload text itself; 1 `b64(rest)`, JSON of arbitrary bytes;
/// 2 `"." + b64(rest)`, zlib of arbitrary bytes; 3 `"." + b64(zlib(rest))`, JSON of arbitrary
/// bytes behind a real zlib stream. Decoding never panics and agrees with an independent
/// decode (flate2's reader, Latin-1, serde_json) layer by layer.
pub fn signed_payload(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let payload = match mode % 4 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => URL_SAFE_NO_PAD.encode(rest),
        2 => format!(".{}", URL_SAFE_NO_PAD.encode(rest)),
        _ => format!(".{}", URL_SAFE_NO_PAD.encode(zlib(rest))),
    };
    let signer = Signer::new(SECRET, &fallbacks(), SESSION_SALT);
    let signed = signer.sign(&payload, SIGNED_AT);
    let result = signer.unsign_object(&signed, None, SIGNED_AT);
    assert!(
        !matches!(result, Err(SigningError::BadSignature(_))),
        "a genuine signature was refused: {signed:?}"
    );
    assert_eq!(signer.signed_timestamp(&signed).ok(), Some(SIGNED_AT));
    let expected = match mode % 4 {
        0 => None,
        1 => Some(reference_json(rest)),
        2 => Some(reference_inflate(rest).and_then(|json| reference_json(&json))),
        _ => Some(if rest.len() > MAX_DECOMPRESSED_SIZE {
            None
        } else {
            reference_json(rest)
        }),
    };
    if let Some(expected) = &expected {
        assert_eq!(
            result.as_ref().ok(),
            expected.as_ref(),
            "mode {mode}: {result:?}"
        );
    }
    // The session readers on top never panic: data reads as an object or as empty.
    let decoded = codec().decode(&signed, at(SIGNED_AT));
    match result {
        Ok(Value::Object(map)) => assert_eq!(in_order(&decoded), in_order(&map)),
        _ => assert!(decoded.is_empty()),
    }
    let cookie_signer = Signer::new(SECRET, &[], SIGNED_COOKIES_SALT);
    let cookie = cookie_signer.sign(&payload, SIGNED_AT);
    match cookies().load(&cookie, 1_209_600, at(SIGNED_AT)) {
        Ok(map) => {
            if let Some(expected) = expected {
                let expected = expected.as_ref().and_then(Value::as_object);
                assert_eq!(
                    Some(in_order(&map)),
                    expected.map(in_order),
                    "signed cookie"
                );
            }
        }
        Err(SignedCookieError::Signing(SigningError::BadSignature(r))) => {
            panic!("a genuine cookie was refused: {r:?}")
        }
        Err(_) => {}
    }
}

/// `codec_decode`: the bytes (UTF-8, invalid sequences replaced, as the file engine reads a
/// file) are `session_data` as a `db`, `file` or PostgreSQL store reads it. Decoding never
/// panics; when the bytes are a JSON object, encoding it and decoding gives it back in order.
pub fn codec_decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let codec = codec();
    for now in [
        at(SIGNED_AT),
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
    ] {
        let _ = codec.decode(&text, now);
    }
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) {
        let map: SessionData = map.into_iter().collect();
        let encoded = codec.encode(&map, at(SIGNED_AT));
        assert_eq!(
            in_order(&codec.decode(&encoded, at(SIGNED_AT))),
            in_order(&map)
        );
        let old = SessionCodec::new(OLD_SECRET, &[]).encode(&map, at(SIGNED_AT));
        assert_eq!(
            in_order(&codec.decode(&old, at(SIGNED_AT))),
            in_order(&map),
            "a fallback key still reads"
        );
        let other = SessionCodec::new("another key", &[]).encode(&map, at(SIGNED_AT));
        assert!(codec.decode(&other, at(SIGNED_AT)).is_empty());
    }
}

/// `redis_value`: the bytes are a value found under a session key in Redis. The decoder
/// never panics, and accepts exactly a JSON object with an RFC 3339 string `e` and an object
/// `d` (read independently with serde_json).
pub fn redis_value(data: &[u8]) {
    let got = decoders::redis_value(data);
    let want = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|value| {
            let Value::Object(map) = value else {
                return None;
            };
            let e = map.get("e")?.as_str()?;
            let d: SessionData = map.get("d")?.as_object()?.clone().into_iter().collect();
            let at = DateTime::parse_from_rfc3339(e).ok()?.with_timezone(&Utc);
            Some((at, d))
        });
    match (got, want) {
        (Ok(got), Some(want)) => assert_eq!((got.0, in_order(&got.1)), (want.0, in_order(&want.1))),
        (Err(_), None) => {}
        (got, want) => panic!("decoder says {got:?}, reference says {want:?}"),
    }
}

/// `sqlite_datetime`: the bytes (UTF-8, invalid sequences replaced) are an `expire_date` read
/// from SQLite. Parsing never panics, and every date the parser accepts is written back as
/// text that parses to the same date (to the microsecond, within Python's years 1 to 9999,
/// the ends standing for anything beyond).
pub fn sqlite_datetime(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(at) = decoders::parse_sqlite_datetime(&text) {
        let written = decoders::sqlite_datetime(at);
        assert_eq!(
            decoders::parse_sqlite_datetime(&written).map(django::micros),
            Some(django::micros(python_years(at))),
            "{text:?} → {at:?} → {written:?}"
        );
    }
}

/// `at` clamped to Python's years 1 to 9999 (where the stores keep expiry dates).
pub fn python_years(at: DateTime<Utc>) -> DateTime<Utc> {
    let first = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z").expect("a date");
    let last = DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999Z").expect("a date");
    at.clamp(first.to_utc(), last.to_utc())
}

/// `stored_expiry`: bytes 0–7 are the clock (little-endian seconds, folded into chrono's
/// range), 8–11 its microseconds, 12–19 `cookie_age`, byte 20 `expire_at_browser_close`;
/// the rest is the stored `_session_expiry` as JSON text, or as a string when it is not JSON.
/// Reading it and the age, date and browser-close answers never panic and equal the Django
/// model's (`django.rs`).
pub fn stored_expiry(data: &[u8]) {
    let mut head = [0u8; 21];
    let n = data.len().min(21);
    head[..n].copy_from_slice(&data[..n]);
    let rest = &data[n..];
    let seconds = i64::from_le_bytes(head[0..8].try_into().expect("8 bytes"));
    let micros = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")) % 1_000_000;
    let cookie_age = i64::from_le_bytes(head[12..20].try_into().expect("8 bytes"));
    let global = head[20] & 1 == 1;
    let now = clock(seconds, micros);
    let value = match serde_json::from_slice::<Value>(rest) {
        Ok(value) => value,
        Err(_) => Value::String(String::from_utf8_lossy(rest).into_owned()),
    };
    check_expiry(Some(&value), cookie_age, now, global);
}

/// Compares sessionlab's reading of `_session_expiry` with the model's.
pub fn check_expiry(value: Option<&Value>, cookie_age: i64, now: DateTime<Utc>, global: bool) {
    let stored = StoredExpiry::from_value(value);
    let age = stored.age(cookie_age, now);
    let date = stored.date(cookie_age, now);
    let close = stored.at_browser_close(global);
    let model = django::read_expiry(value);
    match (value, stored, model) {
        // sessionlab reads some strings Python's fromisoformat refuses (Django would answer
        // 500 for them): nothing to compare with.
        (Some(Value::String(_)), StoredExpiry::Date(_), django::ModelExpiry::Unreadable) => return,
        // A known gap: forms Python reads and sessionlab does not (Django never writes them).
        (Some(Value::String(s)), StoredExpiry::Unreadable, django::ModelExpiry::Date(_))
            if known_iso_gap(s) =>
        {
            return;
        }
        _ => {}
    }
    let context = format!("{value:?} at {now:?}, cookie_age {cookie_age}");
    let want_age = django::expiry_age(model, cookie_age, now);
    assert!(
        want_age.is(age),
        "age of {context}: {age:?}, model {want_age:?}"
    );
    assert_eq!(
        django::micros(date),
        django::micros(django::expiry_date(model, cookie_age, now)),
        "date of {context}"
    );
    assert_eq!(
        close,
        django::expire_at_browser_close(model, global),
        "browser close of {context}"
    );
}

/// ISO-8601 forms `datetime.fromisoformat` reads and `expiry::parse_isoformat` does not:
/// `HH:MM` without seconds after a space (`2026-01-01 10:00`), or followed by `Z` or an offset
/// (`2026-01-01T10:00Z`, `2026-01-01T10:00+01:00`). Django never writes them (its
/// `isoformat()` always has seconds); sessionlab reads them as no expiry (`cookie_age`).
pub fn known_iso_gap(s: &str) -> bool {
    let b = s.as_bytes();
    let minutes_only = b.len() >= 16 && b.get(16) != Some(&b':');
    minutes_only && (b[10] == b' ' || b.len() > 16)
}

/// `now` from fuzzer bytes: any second in chrono's range.
pub fn clock(seconds: i64, micros: u32) -> DateTime<Utc> {
    let min = DateTime::<Utc>::MIN_UTC.timestamp();
    let max = DateTime::<Utc>::MAX_UTC.timestamp();
    let span = i128::from(max) - i128::from(min);
    let folded = i128::from(min) + (i128::from(seconds) - i128::from(min)).rem_euclid(span);
    let secs = i64::try_from(folded).expect("inside chrono's range");
    DateTime::from_timestamp(secs, micros * 1000).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `memory_store`: byte 0 is the length `n` of the key (bytes 1..=n, UTF-8 with replacement),
/// bytes n+1..n+9 the expiry offset in seconds from a fixed clock (saturating), the rest the
/// session data as a JSON object (or `{"v": <the text>}` when it is not one). Through the
/// store API of a `MemoryStore` (the `cache` engine's value codec is private): a storable key
/// round-trips the data exactly, in order, until its expiry; any other key is refused and
/// never found.
pub fn memory_store(data: &[u8]) {
    let (key, rest) = match data.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n).min(rest.len())),
        None => (&[][..], &[][..]),
    };
    let key = String::from_utf8_lossy(key).into_owned();
    let mut offset = [0u8; 8];
    let m = rest.len().min(8);
    offset[..m].copy_from_slice(&rest[..m]);
    let offset = i64::from_le_bytes(offset);
    let rest = &rest[m..];
    let session = match serde_json::from_slice::<Value>(rest) {
        Ok(Value::Object(map)) => map.into_iter().collect(),
        _ => {
            let mut map = SessionData::default();
            map.insert(
                "v".to_owned(),
                Value::String(String::from_utf8_lossy(rest).into_owned()),
            );
            map
        }
    };
    // The memory cache keeps dates as nanoseconds (years 1677..2262): the clock stays inside.
    let now = at(SIGNED_AT);
    let expire_date = sessionlab::session::expiry::add_seconds(now, offset);
    let record = SessionRecord {
        key: key.clone(),
        data: session,
        expire_date,
    };
    runtime().block_on(async {
        let store = MemoryStore::new(1024 * 1024);
        let saved = store.save(&record, SaveMode::Create).await;
        let loaded = store.load(&key, now).await.expect("memory never fails");
        if !is_storable_session_key(&key) {
            assert!(matches!(saved, Err(SaveError::Store(_))), "{key:?}");
            assert!(loaded.is_none());
            assert!(!store.exists(&key).await.expect("memory never fails"));
            return;
        }
        if let Err(e) = saved {
            // A record larger than the whole cache is dropped at once; nothing else fails.
            panic!("saving under {key:?} failed: {e}");
        }
        let live = django::nanos(expire_date).min(i128::from(i64::MAX)) > django::nanos(now);
        match loaded {
            Some(found) => {
                assert!(live, "expired at {expire_date:?} yet loaded at {now:?}");
                assert_eq!(
                    in_order(&found.data),
                    in_order(&record.data),
                    "data of {key:?}"
                );
            }
            None => assert!(!live, "live until {expire_date:?} yet not loaded"),
        }
        store.delete(&key).await.expect("memory never fails");
        assert!(store.load(&key, now).await.expect("ok").is_none());
    });
}

/// Whether the playground's `got` is serde_json's `want` with its integers as Python reads
/// them: the same, but where `want` has the float -0.0, which may be the integer `-0` (the int 0).
fn read_as_python(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            g == w
                || (w.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative())
                    && g.as_u64() == Some(0))
        }
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| read_as_python(g, w))
        }
        (Value::Object(g), Value::Object(w)) => {
            g.len() == w.len()
                && g.iter()
                    .zip(w)
                    .all(|((gk, gv), (wk, wv))| gk == wk && read_as_python(gv, wv))
        }
        _ => got == want,
    }
}

/// Whether `message` refuses an integer beyond 64 bits, and serde_json's `want` holds one (as a
/// whole float at or beyond -2^63 or 2^64, where such an integer lands).
fn refused_as_wide(message: &str, want: &Value) -> bool {
    fn holds_wide(value: &Value) -> bool {
        match value {
            Value::Number(n) => {
                n.is_f64()
                    && n.as_f64().is_some_and(|f| {
                        f.fract() == 0.0 && (f <= -(2f64.powi(63)) || f >= 2f64.powi(64))
                    })
            }
            Value::Array(items) => items.iter().any(holds_wide),
            Value::Object(map) => map.values().any(holds_wide),
            _ => false,
        }
    }
    message.contains("outside the integers the playground keeps exactly") && holds_wide(want)
}

/// `playground_form`: the bytes are a playground form body (`application/x-www-form-urlencoded`,
/// read as UTF-8 with replacement). Every reader of a field never panics and accepts exactly
/// what its rule allows: a key of 1 to 64 characters without control characters, taken as
/// typed; a non-blank JSON value of at most 4096 bytes, parsed as serde_json parses it but with
/// its integers as Python's `json.loads` reads them (`-0` is the int 0, and a value serde_json
/// would hold an integer of beyond 64 bits in, as a float, may be refused, saying so); and a
/// `set_expiry` argument whose stored value reads back as what was asked and whose expiry date
/// stays within the years every store keeps (1 to 9999).
pub fn playground_form(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(form) = actix_web::web::Query::<Vec<(String, String)>>::from_query(&text) else {
        return;
    };
    let raw = RawForm::from_fields(form.into_inner());

    let typed_key = raw.key.clone().unwrap_or_default();
    let chars = typed_key.chars().count();
    let key_ok =
        (1..=forms::MAX_KEY_CHARS).contains(&chars) && !typed_key.chars().any(char::is_control);
    match forms::key(&raw) {
        Ok(key) => assert!(
            key_ok && key == typed_key,
            "key {typed_key:?} accepted as {key:?}"
        ),
        Err(e) => assert!(!key_ok, "key {typed_key:?} refused: {e}"),
    }

    let json_rule = |field: Option<&String>| -> Option<Option<Value>> {
        let text = field.map(String::as_str).filter(|t| !t.trim().is_empty())?;
        Some(
            (text.len() <= forms::MAX_VALUE_BYTES)
                .then(|| serde_json::from_str(text).ok())
                .flatten(),
        )
    };
    match (forms::json_value(&raw), json_rule(raw.value.as_ref())) {
        (Ok(value), Some(Some(want))) => assert!(read_as_python(&value, &want), "{value} {want}"),
        (Err(_), None | Some(None)) => {}
        (Err(e), Some(Some(want))) if refused_as_wide(&e.0, &want) => {}
        (got, want) => panic!("value {:?}: got {got:?}, rule says {want:?}", raw.value),
    }
    match (
        forms::optional_default(&raw),
        json_rule(raw.default.as_ref()),
    ) {
        (Ok(None), None) | (Err(_), Some(None)) => {}
        (Ok(Some(value)), Some(Some(want))) => {
            assert!(read_as_python(&value, &want), "{value} {want}");
        }
        (Err(e), Some(Some(want))) if refused_as_wide(&e.0, &want) => {}
        (got, want) => panic!("default {:?}: got {got:?}, rule says {want:?}", raw.default),
    }

    let now = at(SIGNED_AT);
    let Ok(expiry) = forms::expiry(&raw) else {
        return;
    };
    let arg = raw.value.as_deref().unwrap_or("").trim();
    match (raw.kind.as_deref(), expiry) {
        (Some("none"), Expiry::GlobalPolicy) => {}
        (Some("seconds"), Expiry::Seconds(n)) => {
            assert_eq!(arg.parse::<i64>().ok(), Some(n));
            assert!(n.abs() <= forms::MAX_EXPIRY_SECONDS);
        }
        (Some("timedelta"), Expiry::After(delta)) => {
            assert_eq!(arg.parse::<i64>().ok(), Some(delta.num_seconds()));
            assert!(delta.num_seconds().abs() <= forms::MAX_EXPIRY_SECONDS);
        }
        (Some("datetime"), Expiry::At(when)) => {
            let when = when.with_timezone(&chrono::Utc);
            assert!(python_years(when) == when, "{arg:?} read as {when:?}");
            if let Some(micros) = django::fromisoformat_micros(arg) {
                assert_eq!(micros, django::micros(when), "{arg:?}");
            }
        }
        (kind, expiry) => panic!("kind {kind:?} gave {expiry:?}"),
    }
    let stored = expiry.stored_value(now);
    if let Some(Value::String(text)) = &stored {
        assert!(
            django::fromisoformat_micros(text).is_some(),
            "Django could not read the stored _session_expiry {text:?}"
        );
    }
    let read = StoredExpiry::from_value(stored.as_ref());
    assert!(
        read != StoredExpiry::Unreadable,
        "{stored:?} does not read back"
    );
    let date = read.date(1_209_600, now);
    assert!(python_years(date) == date, "{expiry:?} expires at {date:?}");
    check_expiry(stored.as_ref(), 1_209_600, now, false);
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fn codec() -> SessionCodec {
    SessionCodec::new(SECRET, &fallbacks())
}

fn cookies() -> SignedCookies {
    SignedCookies::new(SECRET, &fallbacks())
}

/// A unix time as a date.
pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("in range")
}

/// `now + seconds`, for tests.
pub fn plus(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    now + TimeDelta::seconds(seconds)
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("writing into memory");
    encoder.finish().expect("writing into memory")
}

/// Python's `zlib.decompress`, capped like sessionlab's: `None` for a bad, truncated or
/// oversized stream (bytes after the end of the stream are ignored).
fn reference_inflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_DECOMPRESSED_SIZE).unwrap_or(u64::MAX) + 1;
    flate2::read::ZlibDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() <= MAX_DECOMPRESSED_SIZE).then_some(out)
}

/// `JSONSerializer.loads`: Latin-1 text, then JSON.
fn reference_json(data: &[u8]) -> Option<Value> {
    let text: String = data.iter().copied().map(char::from).collect();
    serde_json::from_str(&text).ok()
}

/// A map's entries as a list, so that comparing two maps also compares their order (a map's
/// own equality does not).
fn in_order<'a>(
    map: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Vec<(&'a str, &'a Value)> {
    map.into_iter().map(|(k, v)| (k.as_str(), v)).collect()
}
