//! One specification of Django's storage semantics, run against every store in one line each
//! (as actix-session's `acceptance_test_suite`): create/update/missing, key collisions,
//! expiry at `now`, insertion order, delete, `clear_expired`. Public so that every engine's
//! tests, and anyone's store, can call it.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

use super::{SaveError, SaveMode, SessionData, SessionRecord, Store};
use crate::session::key::new_session_key;

fn data(pairs: &[(&str, Value)]) -> SessionData {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn record(key: &str, pairs: &[(&str, Value)], expire_date: DateTime<Utc>) -> SessionRecord {
    SessionRecord {
        key: key.to_owned(),
        data: data(pairs),
        expire_date,
    }
}

fn fresh_key() -> String {
    new_session_key().expect("the OS has randomness")
}

/// The moment the suite treats as "now": the current second (stores that also rely on their
/// own TTLs see sensible lifetimes).
pub fn suite_now() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Runs every check against `store`. Panics (with the failing rule) on the first violation.
pub async fn acceptance_suite<S: Store>(store: &S) {
    let now = suite_now();
    creates_then_loads_in_insertion_order(store, now).await;
    create_refuses_a_taken_key(store, now).await;
    update_of_a_missing_session_is_reported(store, now).await;
    update_replaces_data_and_expiry(store, now).await;
    set_expire_date_moves_only_the_expiry_of_a_live_session(store, now).await;
    expired_sessions_do_not_load(store, now).await;
    delete_removes_and_tolerates_missing(store, now).await;
    malformed_keys_are_never_found(store, now).await;
    clear_expired_keeps_live_sessions(store, now).await;
    unicode_and_nested_values_round_trip(store, now).await;
    store.ping().await.expect("a working store answers ping");
}

async fn creates_then_loads_in_insertion_order<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    let pairs = [
        ("name", json!("Sonam")),
        ("lname", json!("Ronaldo")),
        ("age", json!("26")),
        ("_session_expiry", json!(600)),
    ];
    store
        .save(
            &record(&key, &pairs, now + TimeDelta::hours(1)),
            SaveMode::Create,
        )
        .await
        .expect("create a new session");
    let record = store.load(&key, now).await.expect("load").expect("found");
    assert_eq!(record.key, key);
    assert_eq!(
        record.expire_date,
        now + TimeDelta::hours(1),
        "the expiry comes back"
    );
    let loaded = record.data;
    let keys: Vec<&str> = loaded.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["name", "lname", "age", "_session_expiry"],
        "insertion order kept"
    );
    assert_eq!(loaded["_session_expiry"], json!(600), "ints stay ints");
    assert!(
        store.exists(&key).await.expect("exists"),
        "a created key exists"
    );
    assert!(
        !store.exists(&fresh_key()).await.expect("exists"),
        "an unknown key does not"
    );
    store.delete(&key).await.expect("delete");
}

async fn create_refuses_a_taken_key<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    let first = record(&key, &[("n", json!(1))], now + TimeDelta::hours(1));
    store.save(&first, SaveMode::Create).await.expect("create");
    let second = record(&key, &[("n", json!(2))], now + TimeDelta::hours(1));
    match store.save(&second, SaveMode::Create).await {
        Err(SaveError::KeyExists) => {}
        other => panic!("creating a taken key must be KeyExists, got {other:?}"),
    }
    let loaded = store.load(&key, now).await.expect("load").expect("found");
    assert_eq!(
        loaded.data["n"],
        json!(1),
        "a refused create leaves the first session intact"
    );
    store.delete(&key).await.expect("delete");
}

async fn update_of_a_missing_session_is_reported<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    let rec = record(&key, &[("n", json!(1))], now + TimeDelta::hours(1));
    match store.save(&rec, SaveMode::Update).await {
        Err(SaveError::Missing) => {}
        other => panic!("updating a missing session must be Missing, got {other:?}"),
    }
    assert!(
        store.load(&key, now).await.expect("load").is_none(),
        "a failed update creates nothing"
    );
}

async fn update_replaces_data_and_expiry<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    let short = now + TimeDelta::seconds(20);
    store
        .save(
            &record(&key, &[("a", json!(1)), ("b", json!(2))], short),
            SaveMode::Create,
        )
        .await
        .expect("create");
    let long = now + TimeDelta::hours(2);
    store
        .save(&record(&key, &[("b", json!(3))], long), SaveMode::Update)
        .await
        .expect("update");
    let later = now + TimeDelta::seconds(30);
    let loaded = store
        .load(&key, later)
        .await
        .expect("load")
        .expect("the update moved the expiry past 30 s");
    assert_eq!(
        loaded.data,
        data(&[("b", json!(3))]),
        "an update replaces the whole data"
    );
    assert_eq!(loaded.expire_date, long, "and the expiry");
    store.delete(&key).await.expect("delete");
}

async fn set_expire_date_moves_only_the_expiry_of_a_live_session<S: Store>(
    store: &S,
    now: DateTime<Utc>,
) {
    let key = fresh_key();
    let short = now + TimeDelta::seconds(20);
    let pairs = [("z", json!(1)), ("a", json!({"b": [true, 1.5]}))];
    store
        .save(&record(&key, &pairs, short), SaveMode::Create)
        .await
        .expect("create");
    let long = now + TimeDelta::hours(2);
    assert!(
        store
            .set_expire_date(&key, long, now)
            .await
            .expect("set_expire_date"),
        "a live session's expiry is moved"
    );
    let loaded = store
        .load(&key, now + TimeDelta::seconds(30))
        .await
        .expect("load")
        .expect("the expiry moved past 30 s");
    assert_eq!(loaded.data, data(&pairs), "the data is left as it was");
    assert_eq!(loaded.expire_date, long);

    let expired = fresh_key();
    store
        .save(&record(&expired, &pairs, short), SaveMode::Create)
        .await
        .expect("create");
    assert!(
        !store
            .set_expire_date(&expired, long, short)
            .await
            .expect("set_expire_date"),
        "an expired session is not brought back"
    );
    assert!(store.load(&expired, short).await.expect("load").is_none());
    for missing in [fresh_key().as_str(), "../../etc/passwd"] {
        assert!(
            !store
                .set_expire_date(missing, long, now)
                .await
                .expect("set_expire_date"),
            "no session under {missing:?}"
        );
    }
    store.delete(&key).await.expect("delete");
    store.delete(&expired).await.expect("delete");
}

async fn expired_sessions_do_not_load<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    let expiry = now + TimeDelta::seconds(20);
    store
        .save(
            &record(&key, &[("name", json!("Sonam"))], expiry),
            SaveMode::Create,
        )
        .await
        .expect("create");
    assert!(
        store
            .load(&key, now + TimeDelta::seconds(19))
            .await
            .expect("load")
            .is_some(),
        "live one second before expiry"
    );
    assert!(
        store.load(&key, expiry).await.expect("load").is_none(),
        "expired exactly at expire_date (Django loads only expire_date > now)"
    );
    assert!(
        store
            .load(&key, now + TimeDelta::days(1))
            .await
            .expect("load")
            .is_none(),
        "expired a day later"
    );
    store.delete(&key).await.expect("delete");
}

async fn delete_removes_and_tolerates_missing<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    store
        .save(
            &record(&key, &[("x", json!(true))], now + TimeDelta::hours(1)),
            SaveMode::Create,
        )
        .await
        .expect("create");
    store.delete(&key).await.expect("delete");
    assert!(
        store.load(&key, now).await.expect("load").is_none(),
        "deleted"
    );
    assert!(
        !store.exists(&key).await.expect("exists"),
        "deleted keys do not exist"
    );
    store
        .delete(&key)
        .await
        .expect("deleting a missing session is fine");
    match store
        .save(
            &record(&key, &[("x", json!(1))], now + TimeDelta::hours(1)),
            SaveMode::Update,
        )
        .await
    {
        Err(SaveError::Missing) => {}
        other => panic!("a deleted session cannot be updated back to life, got {other:?}"),
    }
}

async fn malformed_keys_are_never_found<S: Store>(store: &S, now: DateTime<Utc>) {
    for key in [
        "",
        "short",
        "../../etc/passwd",
        "..\\..\\windows",
        "ABCDEFGHIJKLMNOP",
        "abc\0defghijk",
        "abcdefgh/ijklmnop",
        &"a".repeat(4096),
    ] {
        assert!(
            store.load(key, now).await.expect("load").is_none(),
            "{key:?} loads nothing"
        );
        assert!(
            !store.exists(key).await.expect("exists"),
            "{key:?} does not exist"
        );
        store
            .delete(key)
            .await
            .expect("deleting a malformed key is a no-op");
    }
}

async fn clear_expired_keeps_live_sessions<S: Store>(store: &S, now: DateTime<Utc>) {
    let dead: Vec<String> = (0..3).map(|_| fresh_key()).collect();
    let live = fresh_key();
    for key in &dead {
        store
            .save(
                &record(key, &[("d", json!(1))], now + TimeDelta::seconds(5)),
                SaveMode::Create,
            )
            .await
            .expect("create");
    }
    store
        .save(
            &record(&live, &[("l", json!(1))], now + TimeDelta::hours(1)),
            SaveMode::Create,
        )
        .await
        .expect("create");
    let later = now + TimeDelta::seconds(10);
    let removed = store.clear_expired(later).await.expect("clear_expired");
    assert!(
        removed <= 3,
        "only the expired sessions may be counted, got {removed}"
    );
    for key in &dead {
        // Stores that sweep remove them; caches let them lapse. Either way they are gone.
        assert!(
            store.load(key, later).await.expect("load").is_none(),
            "expired sessions never load again"
        );
        store.delete(key).await.expect("delete");
    }
    assert!(
        store.load(&live, later).await.expect("load").is_some(),
        "live sessions stay"
    );
    store.delete(&live).await.expect("delete");
}

async fn unicode_and_nested_values_round_trip<S: Store>(store: &S, now: DateTime<Utc>) {
    let key = fresh_key();
    let pairs = [
        ("text", json!("café 日本 🎉 \"quoted\" \\ \n")),
        (
            "nested",
            json!({"list": [1, 2.5, null, false], "obj": {"z": 1, "a": 2}}),
        ),
        ("big", json!("x".repeat(10_000))),
    ];
    store
        .save(
            &record(&key, &pairs, now + TimeDelta::hours(1)),
            SaveMode::Create,
        )
        .await
        .expect("create");
    let loaded = store
        .load(&key, now)
        .await
        .expect("load")
        .expect("found")
        .data;
    assert_eq!(loaded, data(&pairs), "values come back exactly");
    let nested_keys: Vec<&String> = loaded["nested"]["obj"]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(nested_keys, ["z", "a"], "nested order kept");
    store.delete(&key).await.expect("delete");
}
