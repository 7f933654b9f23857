//! How much memory the `cache` engine's in-process store takes per live session: inserts N
//! sessions of the basic lesson (`name`, `lname`; default 1,000,000) into a `MemoryStore` large
//! enough to keep them all, and prints the process's resident memory (VmRSS) before and after.
//! Used by `scripts/bench-scale.sh`; run alone with
//! `cargo run --release --example memory_footprint -- 1000000`.

use chrono::{TimeDelta, Utc};
use serde_json::json;
use sessionlab::session::key::new_session_key;
use sessionlab::session::store::MemoryStore;
use sessionlab::session::{SaveMode, SessionData, SessionRecord, Store};

/// The allocator of the `sessionlab` binary, whose resident memory this stands for.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// VmRSS of this process in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let sessions: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let data: SessionData = [("name", json!("Sonam")), ("lname", json!("rathore"))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        // 16 GiB: nothing is evicted, so every session is live at the end.
        let store = MemoryStore::new(16 * 1024 * 1024 * 1024);
        let before = rss_kib();
        let started = std::time::Instant::now();
        let expire_date = Utc::now() + TimeDelta::hours(2);
        for _ in 0..sessions {
            let record = SessionRecord {
                key: new_session_key()?,
                data: data.clone(),
                expire_date,
            };
            store.save(&record, SaveMode::Create).await?;
        }
        let live = store.count_live().await;
        let elapsed = started.elapsed();
        let after = rss_kib();
        let grown = after.saturating_sub(before);
        println!(
            "memory_footprint sessions={sessions} live={live} rss_before_kib={before} \
             rss_after_kib={after} grown_mib={:.1} bytes_per_session={:.0} insert_seconds={:.2}",
            grown as f64 / 1024.0,
            grown as f64 * 1024.0 / sessions.max(1) as f64,
            elapsed.as_secs_f64()
        );
        anyhow::Ok(())
    })
}
