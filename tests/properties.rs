//! The fuzz targets' properties as proptest properties, so `cargo test` checks them without
//! libFuzzer: the same check functions (`fuzz/src/checks.rs`) against the same independent
//! models of Django (`fuzz/src/django.rs`), fed by generators that know the inputs' shapes,
//! and every file of the committed seed corpus (`fuzz/corpus/<target>/`).
//!
//! The session API's model-based properties (operation sequences on every engine) are unit
//! tests beside the code, in `src/session/properties.rs`, where `Session` can be built.

#[path = "../fuzz/src/checks.rs"]
mod checks;
#[path = "../fuzz/src/django.rs"]
mod django;

use std::path::Path;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sessionlab::session::Expiry;
use sessionlab::session::expiry::StoredExpiry;
use sessionlab::session::store::decoders;
use sessionlab::signing::{SESSION_SALT, SIGNED_COOKIES_SALT, Signer, SigningError};

/// `cases` per property, unless `PROPTEST_CASES` says otherwise (for a longer search).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        // A failure prints its shrunk input; add it to fuzz/corpus/<target>/ to keep it.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Generators.

/// Any JSON value a session can hold: unicode and control characters in strings, the integer
/// and float extremes, nesting.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just(0.1), Just(1e16), Just(1.5e-7), Just(-0.0), Just(100.0)]
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[a-z\u{e9}\u{65e5}\u{1f600}\"\\\\\n\t\u{0}\u{7f}]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,6}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((any::<String>(), json_value()), 0..6)
        .prop_map(|pairs| pairs.into_iter().collect())
}

/// A moment Python can represent (years 1..=9999), to the microsecond.
fn python_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let min = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap().timestamp();
    let max = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .unwrap()
        .timestamp();
    (min..=max, 0u32..1_000_000)
        .prop_map(|(s, us)| DateTime::from_timestamp(s, us * 1000).expect("in range"))
}

/// A moment near the present (where real clocks are), to the microsecond.
fn present_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_600_000_000i64..2_000_000_000, 0u32..1_000_000)
        .prop_map(|(s, us)| DateTime::from_timestamp(s, us * 1000).expect("in range"))
}

/// Any moment chrono can represent, to the nanosecond.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let min = DateTime::<Utc>::MIN_UTC.timestamp();
    let max = DateTime::<Utc>::MAX_UTC.timestamp();
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (min..=max, 0u32..1_000_000_000).prop_map(|(s, ns)| DateTime::from_timestamp(s, ns)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)),
    ]
}

/// An ISO-8601 text of `at` in one of the forms `datetime.fromisoformat` reads.
fn iso_text(at: DateTime<Utc>, form: u8, offset_minutes: i32) -> String {
    let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).expect("within a day");
    let local = at.with_timezone(&offset);
    let tz = if offset_minutes == 0 {
        "+00:00".to_owned()
    } else {
        local.format("%:z").to_string()
    };
    match form % 8 {
        // What Django's set_expiry writes.
        0 => django::python_isoformat(at),
        1 => format!("{}{tz}", local.format("%Y-%m-%dT%H:%M:%S%.6f")),
        2 => format!("{}{tz}", local.format("%Y-%m-%dT%H:%M:%S%.3f")),
        3 => format!("{}{tz}", local.format("%Y-%m-%d %H:%M:%S")),
        4 => at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        5 => at.format("%Y-%m-%d %H:%M:%S").to_string(),
        6 => format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S%.f")),
        _ => at.format("%Y-%m-%dT%H:%M:%S%.9f").to_string(),
    }
}

/// What `_session_expiry` may hold: what `set_expiry` writes, what Django writes, and junk.
fn expiry_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(600),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>(),
            -100_000i64..100_000,
        ]
        .prop_map(|n| Some(json!(n))),
        any::<u64>().prop_map(|n| Some(json!(n))),
        any::<bool>().prop_map(|b| Some(json!(b))),
        prop_oneof![
            Just(0.0f64),
            Just(-0.0),
            Just(1.9),
            Just(-1.5),
            Just(1e300),
            Just(-1e300),
            -1e6f64..1e6,
        ]
        .prop_map(|f| Some(json!(f))),
        (python_instant(), any::<u8>(), -1439i32..=1439)
            .prop_map(|(at, form, off)| Some(Value::String(iso_text(at, form, off)))),
        prop_oneof![
            Just(""),
            Just("garbage"),
            Just("2026-13-01"),
            Just("2026-02-30T00:00:00"),
            Just("0000-01-01"),
            Just("2026-01-01T24:00:00"),
            Just("2026-01-01T10:00:00."),
        ]
        .prop_map(|s| Some(json!(s))),
        any::<String>().prop_map(|s| Some(json!(s))),
        Just(Some(json!([1]))),
        Just(Some(json!([]))),
        Just(Some(json!({"a": 1}))),
    ]
}

// ---------------------------------------------------------------------------------------------
// Cookie headers.

/// A `Cookie` header made of plausible and implausible chunks.
fn cookie_header_bytes() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just("sessionid"),
        Just("sessionname"),
        Just("csrftoken"),
        Just("a"),
        Just("__Host-id"),
        Just(""),
        Just("sessionid2"),
    ];
    let value = prop_oneof![
        "[a-z0-9]{0,40}",
        "\"[a-z0-9\\\\\" ;]{0,12}\"",
        "\"(\\\\[0-7]{3}|[a-z]|\\\\\\\\|\\\\\"){0,6}\"",
        "[ \t]{0,2}[!-~]{0,10}[ \t]{0,2}",
        "[\u{a0}\u{e9}\u{2000}a]{0,4}",
        Just("\"".to_owned()),
        Just("\"\"".to_owned()),
    ];
    let chunk = (name, prop::bool::weighted(0.9), value, "[ \t]{0,2}").prop_map(
        |(name, eq, value, pad)| {
            if eq {
                format!("{pad}{name}{pad}={value}")
            } else {
                format!("{pad}{value}")
            }
        },
    );
    prop::collection::vec(prop::collection::vec(chunk, 0..5), 1..3).prop_map(|headers| {
        headers
            .iter()
            .map(|chunks| chunks.join(";"))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn cookie_headers_are_read_as_django_reads_them(bytes in cookie_header_bytes()) {
        checks::cookie_header(&bytes);
    }

    #[test]
    fn arbitrary_cookie_header_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..200)
    ) {
        checks::cookie_header(&bytes);
    }

    // -----------------------------------------------------------------------------------------
    // Session keys.

    #[test]
    fn session_key_validity_is_djangos(
        key in prop_oneof![
            "[a-z0-9]{0,45}",
            "[a-zA-Z0-9./_-]{0,45}",
            "[\u{e9}\u{65e5}a]{0,12}",
            any::<String>(),
        ]
    ) {
        checks::session_key(key.as_bytes());
    }

    #[test]
    fn arbitrary_key_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        checks::session_key(&bytes);
    }

    // -----------------------------------------------------------------------------------------
    // Signed values.

    #[test]
    fn arbitrary_signed_values_never_panic(text in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_.:-]{0,80}",
        "\\.?[A-Za-z0-9_-]{0,40}:[0-9A-Za-z-]{0,8}:[A-Za-z0-9_-]{43}",
    ]) {
        checks::unsign(text.as_bytes());
    }

    #[test]
    fn genuine_values_round_trip_and_any_tampering_is_refused(
        value in json_value(),
        compress in any::<bool>(),
        timestamp in prop_oneof![Just(0i64), Just(i64::MIN), Just(i64::MAX), any::<i64>()],
        salt in prop_oneof![Just(SESSION_SALT), Just(SIGNED_COOKIES_SALT)],
        old_key in any::<bool>(),
        position in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let key = if old_key { checks::OLD_SECRET } else { checks::SECRET };
        let signed = Signer::new(key, &[], salt).sign_object(&value, compress, timestamp);
        let signer = Signer::new(checks::SECRET, &[checks::OLD_SECRET.to_owned()], salt);
        prop_assert_eq!(signer.unsign_object(&signed, None, 0).ok(), Some(value.clone()));
        prop_assert_eq!(signer.signed_timestamp(&signed).ok(), Some(timestamp));
        checks::unsign(signed.as_bytes());

        let mut chars: Vec<char> = signed.chars().collect();
        let i = position.index(chars.len());
        if chars[i] != replacement {
            chars[i] = replacement;
            let tampered: String = chars.into_iter().collect();
            let result = signer.unsign_object(&tampered, None, 0);
            prop_assert!(
                matches!(result, Err(SigningError::BadSignature(_))),
                "{tampered:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn signed_payload_layers_decode_like_python(
        mode in 0u8..4,
        rest in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..100),
            json_value().prop_map(|v| serde_json::to_vec(&v).expect("JSON")),
            (json_value(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
                let bytes = serde_json::to_vec(&v).expect("JSON");
                bytes[..cut.index(bytes.len() + 1).min(bytes.len())].to_vec()
            }),
        ],
    ) {
        let mut data = vec![mode];
        data.extend_from_slice(&rest);
        checks::signed_payload(&data);
    }

    // -----------------------------------------------------------------------------------------
    // What the stores read back.

    #[test]
    fn stored_session_data_decodes_or_reads_as_empty(text in prop_oneof![
        any::<String>(),
        json_object().prop_map(|m| serde_json::to_string(&m).expect("JSON")),
    ]) {
        checks::codec_decode(text.as_bytes());
    }

    #[test]
    fn redis_values_decode_exactly_the_stored_shape(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        (any_instant(), json_object(), any::<bool>()).prop_map(|(at, d, good)| {
            let e = if good { Value::from(at.to_rfc3339()) } else { json!(at.timestamp()) };
            serde_json::to_vec(&json!({"e": e, "d": d})).expect("JSON")
        }),
        (any::<String>(), json_value()).prop_map(|(e, d)| {
            serde_json::to_vec(&json!({"e": e, "d": d})).expect("JSON")
        }),
    ]) {
        checks::redis_value(&bytes);
    }

    #[test]
    fn sqlite_expire_dates_read_back_and_sort_as_written(
        at in any_instant(),
        other in prop_oneof![any_instant(), present_instant()],
        text in any::<String>(),
    ) {
        checks::sqlite_datetime(text.as_bytes());
        let written = decoders::sqlite_datetime(at);
        checks::sqlite_datetime(written.as_bytes());
        prop_assert_eq!(
            decoders::parse_sqlite_datetime(&written).map(django::micros),
            Some(django::micros(checks::python_years(at))),
            "{:?} written as {:?}", at, written
        );
        // `WHERE expire_date > ?` compares text: text order must be time order.
        let other_written = decoders::sqlite_datetime(other);
        let (a, b) = (checks::python_years(at), checks::python_years(other));
        prop_assert_eq!(
            written.cmp(&other_written),
            a.trunc_micros().cmp(&b.trunc_micros()),
            "{:?} vs {:?}", written, other_written
        );
    }

    #[test]
    fn the_memory_store_round_trips_any_data(
        key in prop_oneof!["[a-z0-9]{8,40}", "[a-z0-9]{0,8}", any::<String>()],
        offset in prop_oneof![Just(0i64), Just(1), Just(-1), Just(i64::MAX), any::<i64>()],
        data in json_object(),
    ) {
        let key_bytes = key.as_bytes();
        let n = u8::try_from(key_bytes.len()).unwrap_or(u8::MAX);
        let mut bytes = vec![n];
        bytes.extend_from_slice(&key_bytes[..usize::from(n)]);
        bytes.extend_from_slice(&offset.to_le_bytes());
        bytes.extend(serde_json::to_vec(&data).expect("JSON"));
        checks::memory_store(&bytes);
    }

    #[test]
    fn arbitrary_store_inputs_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        checks::codec_decode(&bytes);
        checks::redis_value(&bytes);
        checks::sqlite_datetime(&bytes);
        checks::memory_store(&bytes);
        checks::stored_expiry(&bytes);
    }

    // -----------------------------------------------------------------------------------------
    // The playground's forms.

    #[test]
    fn playground_forms_accept_exactly_what_their_rules_allow(
        key in prop_oneof!["[a-z ]{0,3}", "[a-z\u{e9}]{60,66}", any::<String>()],
        value in prop_oneof![
            json_value().prop_map(|v| v.to_string()),
            "[ 0-9a-z\"{}\\[\\],:.-]{0,12}",
            any::<String>(),
        ],
        kind in prop_oneof![
            Just("seconds"), Just("none"), Just("datetime"), Just("timedelta"), Just("weeks"),
        ],
        seconds in prop_oneof![Just(1_000_000_000i64), Just(1_000_000_001), any::<i64>(), -700i64..700],
        date in (python_instant(), any::<u8>(), -1439i32..=1439),
        which in 0u8..3,
    ) {
        let arg = match which {
            0 => value.clone(),
            1 => format!(" {seconds} "),
            _ => iso_text(date.0, date.1, date.2),
        };
        let body = serde_urlencoded_pairs(&[
            ("csrfmiddlewaretoken", "token"),
            ("key", &key),
            ("value", if kind == "none" { &value } else { &arg }),
            ("default", &value),
            ("kind", kind),
        ]);
        checks::playground_form(body.as_bytes());
    }

    #[test]
    fn arbitrary_playground_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        checks::playground_form(&bytes);
    }

    // -----------------------------------------------------------------------------------------
    // Expiry arithmetic against the model of Django's code.

    #[test]
    fn expiry_answers_equal_djangos_for_any_stored_value(
        value in expiry_value(),
        now in python_instant(),
        cookie_age in prop_oneof![Just(1_209_600i64), Just(0), Just(-1), Just(20), any::<i64>()],
        global in any::<bool>(),
    ) {
        checks::check_expiry(value.as_ref(), cookie_age, now, global);
    }

    #[test]
    fn expiry_answers_equal_djangos_near_the_present(
        value in expiry_value(),
        now in present_instant(),
        cookie_age in prop_oneof![Just(1_209_600i64), Just(400), Just(0), -10i64..10],
        global in any::<bool>(),
    ) {
        checks::check_expiry(value.as_ref(), cookie_age, now, global);
    }

    #[test]
    fn expiry_never_panics_on_extreme_clocks(
        value in prop_oneof![expiry_value(), json_value().prop_map(Some)],
        now in any_instant(),
        cookie_age in any::<i64>(),
        global in any::<bool>(),
    ) {
        let stored = StoredExpiry::from_value(value.as_ref());
        let _ = (stored.age(cookie_age, now), stored.date(cookie_age, now));
        let _ = stored.at_browser_close(global);
        checks::check_expiry(value.as_ref(), cookie_age, now.trunc_micros(), global);
    }

    #[test]
    fn a_date_expiry_ages_by_whole_seconds_rounded_down_for_any_clock(
        at in any_instant(),
        now in any_instant(),
    ) {
        let age = StoredExpiry::Date(at).age(1_209_600, now);
        let delta = django::nanos(at) - django::nanos(now);
        prop_assert_eq!(i128::from(age.max_age()), delta.div_euclid(1_000_000_000), "{:?} - {:?}", at, now);
    }

    #[test]
    fn set_expiry_stores_what_django_stores(
        at in python_instant(),
        now in present_instant(),
        delta_secs in -10_000_000i64..10_000_000,
        delta_micros in 0i64..1_000_000,
        seconds in any::<i64>(),
    ) {
        prop_assert_eq!(
            Expiry::At(at.fixed_offset()).stored_value(now),
            Some(Value::String(django::python_isoformat(at)))
        );
        let delta = TimeDelta::seconds(delta_secs) + TimeDelta::microseconds(delta_micros);
        prop_assert_eq!(
            Expiry::After(delta).stored_value(now),
            Some(Value::String(django::python_isoformat(django::add_delta(now, delta))))
        );
        prop_assert_eq!(Expiry::Seconds(seconds).stored_value(now), Some(json!(seconds)));
        prop_assert_eq!(Expiry::GlobalPolicy.stored_value(now), None);
        // What set_expiry stores reads back as the moment it names.
        let stored = Expiry::At(at.fixed_offset()).stored_value(now).expect("a date");
        prop_assert_eq!(StoredExpiry::from_value(Some(&stored)), StoredExpiry::Date(at));
    }
}

/// `application/x-www-form-urlencoded` of `pairs` (every byte but `[A-Za-z0-9*-._]` escaped).
fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                b => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A date at microsecond precision (what Python and the stores keep).
trait TruncMicros {
    fn trunc_micros(self) -> Self;
}

impl TruncMicros for DateTime<Utc> {
    fn trunc_micros(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 6)
    }
}

// ---------------------------------------------------------------------------------------------
// The seed corpus, through the same checks.

/// Every file of `fuzz/corpus/<target>/` passes its target's check, every target has seeds,
/// and every corpus directory belongs to a target.
#[test]
fn the_committed_fuzz_corpus_passes_every_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut seen = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fuzz/corpus exists") {
        let dir = dir.expect("readable").path();
        let name = dir.file_name().and_then(|n| n.to_str()).expect("a name");
        let check = checks::target(name)
            .unwrap_or_else(|| panic!("fuzz/corpus/{name} belongs to no target"));
        let mut files = 0;
        for file in std::fs::read_dir(&dir).expect("readable") {
            let path = file.expect("readable").path();
            let bytes = std::fs::read(&path).expect("readable");
            let outcome = std::panic::catch_unwind(|| check(&bytes));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            files += 1;
        }
        assert!(files > 0, "fuzz/corpus/{name} is empty");
        seen.push(name.to_owned());
    }
    for (name, _) in checks::TARGETS {
        assert!(
            seen.iter().any(|s| s == name),
            "target {name} has no fuzz/corpus/{name}/"
        );
    }
}
