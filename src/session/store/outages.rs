//! The log of store failures: a store that fails is told once, with its cause, when its
//! reads, its writes or its health checks start failing (again if the kind of failure
//! changes, and once a minute while it lasts), and once when they succeed again, rather than a line for every request
//! that meets it (a classroom's requests during a full disk were a line each, the start and
//! the end of the failure drowned in them). A failure is a store's: each store is known by its
//! identity ([`crate::session::store::Store::identity`]), what tells it from another store of
//! the same engine (two Redis caches, two session directories), and the log names it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::StoreError;

/// What a store call does: a store can fail one and not the other (a full disk or a read-only
/// file still serves reads), and a read that succeeds does not end a failure of writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `load`, `exists`, and the instructor's count of live sessions.
    Read,
    /// `save`, `set_expire_date`, `delete`, `clear_expired`.
    Write,
    /// `ping`, the health check (`/healthz`, and a `cached_db` store's check of its cache):
    /// it asks the storage other things than a read or a write does (the SQLite file's
    /// place, the file engine's directory), so it neither ends their failures nor is ended
    /// by their success.
    Check,
}

impl Access {
    fn plural(self) -> &'static str {
        match self {
            Access::Read => "reads",
            Access::Write => "writes",
            Access::Check => "health checks",
        }
    }
}

/// How often a failure that goes on is told again.
const RETELL_EVERY: Duration = Duration::from_secs(60);

/// A failure going on: which store, which access, of what kind, since when, how many calls
/// met it.
struct Outage {
    /// The store's identity.
    store: Box<str>,
    access: Access,
    /// The kind of failure ([`StoreError::cause_for_visitor`]): the full causes name a
    /// session's file or key, and differ from one request to the next.
    kind: &'static str,
    since: Instant,
    told: Instant,
    failed: u64,
}

/// The failures going on, few at most (one per store and access).
static OUTAGES: Mutex<Vec<Outage>> = Mutex::new(Vec::new());
/// How many there are, so that a call that succeeds looks at the list only during a failure.
static ONGOING: AtomicUsize = AtomicUsize::new(0);

/// Notes that an `access` to the store known as `store` (its identity) failed with `error`,
/// and logs it when it starts a failure, changes its kind, or has gone untold for a minute.
/// The failure is the called store's, as its end is ([`answered`]): a `cached_db` store whose
/// database fails is told by `cached_db`, the error's text naming the database.
pub(crate) fn failed(store: &str, access: Access, error: &StoreError) {
    let (kind, cause) = (error.cause_for_visitor(), error.to_string());
    let now = Instant::now();
    let mut outages = OUTAGES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let found = outages
        .iter_mut()
        .find(|o| *o.store == *store && o.access == access);
    match found {
        None => {
            tracing::error!(store, "{} fail: {cause}", access.plural());
            outages.push(Outage {
                store: store.into(),
                access,
                kind,
                since: now,
                told: now,
                failed: 1,
            });
            ONGOING.fetch_add(1, Ordering::Release);
        }
        Some(outage) => {
            outage.failed += 1;
            if outage.kind != kind {
                tracing::error!(store, "{} fail otherwise: {cause}", access.plural());
                outage.kind = kind;
                outage.told = now;
            } else if now.duration_since(outage.told) >= RETELL_EVERY {
                tracing::error!(
                    store,
                    "{} still fail ({} failed in {:.0?}): {cause}",
                    access.plural(),
                    outage.failed,
                    now.duration_since(outage.since)
                );
                outage.told = now;
            } else {
                tracing::debug!(store, "{} fail: {cause}", access.plural());
            }
        }
    }
}

/// Notes that an `access` to the store known as `store` succeeded, and logs the end of that
/// store's failure of that access if `asked_storage` says the store asked its storage for the
/// answer (a store answers some calls at once, and such an answer tells nothing of a failure
/// going on). Costs one atomic load when nothing fails: `asked_storage` is called only while
/// something does.
pub(crate) fn answered(store: &str, access: Access, asked_storage: impl FnOnce() -> bool) {
    if ONGOING.load(Ordering::Acquire) == 0 || !asked_storage() {
        return;
    }
    let mut outages = OUTAGES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(at) = outages
        .iter()
        .position(|o| *o.store == *store && o.access == access)
    else {
        return;
    };
    let outage = outages.swap_remove(at);
    ONGOING.fetch_sub(1, Ordering::Release);
    tracing::info!(
        store,
        "the session store {store} answers again: {} succeed after {} failed in {:.1?}",
        access.plural(),
        outage.failed,
        outage.since.elapsed()
    );
}

/// Notes the outcome of an `access` to the store known as `store`: `failure` is the store's
/// failure, if it failed (a taken key or a deleted session is an answer, not a failure); a
/// success counts as in [`answered`].
pub(crate) fn note(
    store: &str,
    access: Access,
    failure: Option<&StoreError>,
    asked_storage: impl FnOnce() -> bool,
) {
    match failure {
        Some(error) => failed(store, access, error),
        None => answered(store, access, asked_storage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The failures going on of the stores whose identity starts with `prefix`: each one's
    /// store, access and count of failed calls, in store order.
    fn ongoing(prefix: &str) -> Vec<(String, Access, u64)> {
        let mut found: Vec<_> = OUTAGES
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o.store.starts_with(prefix))
            .map(|o| (o.store.to_string(), o.access, o.failed))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    #[test]
    fn a_failure_is_noted_once_per_store_and_access_and_ends_with_a_success() {
        let store = "outages-test at /one";
        let error = StoreError::new("outages-test", anyhow::anyhow!("disk full"));

        for _ in 0..3 {
            failed(store, Access::Write, &error);
        }
        answered(store, Access::Read, || true);
        answered(store, Access::Check, || true);
        let write = [(store.to_owned(), Access::Write, 3)];
        assert_eq!(
            ongoing(store),
            write,
            "a read or a health check does not end it"
        );

        answered(store, Access::Write, || false);
        assert_eq!(
            ongoing(store),
            write,
            "an answer given without asking the storage does not end it"
        );

        answered(store, Access::Write, || true);
        assert_eq!(ongoing(store), []);
    }

    #[test]
    fn two_stores_of_one_engine_fail_and_recover_apart() {
        // Two Redis caches: their errors name the same engine, their identities differ.
        let (one, two) = (
            "outages-test-two at redis://one:6379/0",
            "outages-test-two at redis://two:6379/0",
        );
        let error = StoreError::new("cache (Redis)", anyhow::anyhow!("connection refused"));

        failed(one, Access::Read, &error);
        failed(two, Access::Read, &error);
        failed(two, Access::Read, &error);
        assert_eq!(
            ongoing("outages-test-two"),
            [
                (one.to_owned(), Access::Read, 1),
                (two.to_owned(), Access::Read, 2)
            ],
            "the second store's failure is its own, not a count of the first's"
        );

        answered(one, Access::Read, || true);
        assert_eq!(
            ongoing("outages-test-two"),
            [(two.to_owned(), Access::Read, 2)],
            "the first store's recovery does not end the second's failure"
        );

        answered(two, Access::Read, || true);
        assert_eq!(ongoing("outages-test-two"), []);
    }

    #[test]
    fn a_failure_of_a_stores_part_ends_when_the_store_answers() {
        // A cached_db store's database fails: the error names the database.
        let store = "outages-test-cached over outages-test-db";
        let error = StoreError::new("outages-test-db", anyhow::anyhow!("disk full"));

        note(store, Access::Write, Some(&error), || true);
        assert_eq!(ongoing(store).len(), 1);

        note(store, Access::Write, None, || true);
        assert_eq!(
            ongoing(store),
            [],
            "the store's next success ends its failure"
        );
    }
}
