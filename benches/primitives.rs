//! Micro-benchmarks of the pure work on every request: drawing a session key, Django's signing
//! (stored data is signed and compressed, signed cookies are signed), the Python JSON text of a
//! session (what is signed, and what the caches keep), and the expiry arithmetic.
//! Run with `cargo bench --bench primitives`; `scripts/bench.sh` measures whole requests.

use std::hint::black_box;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sessionlab::session::expiry::{self, StoredExpiry};
use sessionlab::session::key::new_session_key;
use sessionlab::signing::{SESSION_SALT, Signer, python_json_bytes};

const SECRET_KEY: &str = "django-insecure-sessionlab-development-only-key-8c1f2a7e93d54b06";
const NOW: i64 = 1_796_000_000;

/// The basic lesson's session (`name`, `lname`), and a larger one that zlib shrinks.
fn payloads() -> [(&'static str, Value); 2] {
    let small = json!({ "name": "Sonam", "lname": "rathore" });
    let items: serde_json::Map<String, Value> = (0..40)
        .map(|i| {
            (
                format!("item{i}"),
                json!(format!("value number {i} of the cart")),
            )
        })
        .collect();
    [("small", small), ("2KB", Value::Object(items))]
}

fn key_generation(c: &mut Criterion) {
    c.bench_function("key/new_session_key", |b| {
        b.iter(|| black_box(new_session_key()))
    });
}

fn signing(c: &mut Criterion) {
    let signer = Signer::new(SECRET_KEY, &[], SESSION_SALT);
    let mut group = c.benchmark_group("signing");
    for (name, value) in payloads() {
        for compress in [false, true] {
            let mode = if compress { "compressed" } else { "plain" };
            let signed = signer.sign_object(&value, compress, NOW);
            group.bench_function(format!("encode/{mode}/{name}"), |b| {
                b.iter(|| black_box(signer.sign_object(black_box(&value), compress, NOW)))
            });
            group.bench_function(format!("decode/{mode}/{name}"), |b| {
                b.iter(|| black_box(signer.unsign_object(black_box(&signed), None, NOW)))
            });
        }
    }
    group.finish();
}

/// Django's JSON text of a session (what is signed, and what the memory and Redis caches keep):
/// printable ASCII, and the same with a value of accented letters.
fn python_json(c: &mut Criterion) {
    let mut group = c.benchmark_group("python_json");
    let [(_, small), (_, large)] = payloads();
    let accented = json!({ "name": "Zoë Saldaña", "city": "Kraków" });
    for (name, value) in [("small", small), ("2KB", large), ("accented", accented)] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(python_json_bytes(black_box(&value))))
        });
    }
    group.finish();
}

fn expiry_arithmetic(c: &mut Criterion) {
    let now =
        Utc.with_ymd_and_hms(2026, 12, 5, 23, 56, 58).unwrap() + TimeDelta::microseconds(123_456);
    let stored_date = json!("2026-12-06T00:06:58.123456+00:00");
    let stored_seconds = json!(600);
    let mut group = c.benchmark_group("expiry");
    group.bench_function("age/default", |b| {
        b.iter(|| black_box(StoredExpiry::from_value(None).age(1_209_600, black_box(now))))
    });
    group.bench_function("date/seconds", |b| {
        b.iter(|| {
            black_box(
                StoredExpiry::from_value(Some(&stored_seconds)).date(1_209_600, black_box(now)),
            )
        })
    });
    group.bench_function("age/iso_date", |b| {
        b.iter(|| {
            black_box(StoredExpiry::from_value(Some(black_box(&stored_date))).age(1_209_600, now))
        })
    });
    group.bench_function("python_isoformat", |b| {
        b.iter(|| black_box(expiry::python_isoformat(black_box(now))))
    });
    group.bench_function("http_date", |b| {
        b.iter(|| black_box(expiry::http_date(black_box(now))))
    });
    group.finish();
}

criterion_group!(
    benches,
    key_generation,
    signing,
    python_json,
    expiry_arithmetic
);
criterion_main!(benches);
