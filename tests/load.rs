//! Load: 1,000 calls in flight at once through one `Client` against the PostgREST stand-in
//! over the real PostgreSQL (48 database connections behind it, as a small PostgREST pool):
//! every call succeeds and the database holds exactly one row per pair. Prints the process's
//! peak resident memory before and after (client and stand-in share the process, so the
//! client's share is at most the difference).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod postgrest_standin;

use std::time::{Duration, Instant};

use futures::future::join_all;
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_in_flight_through_one_client_all_succeed() {
    const IN_FLIGHT: usize = 1_000;
    const PAIRS: usize = 100;
    let standin = postgrest_standin::start(Duration::from_millis(2)).await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grants = postgrest_standin::create_grants(PAIRS).await;
    let users = UsersService::new(
        Client::new(standin.url(), "anon-key")
            .unwrap()
            .with_access_token(postgrest_standin::user_jwt(user)),
    );
    let before = peak_rss_kib();
    let started = Instant::now();

    let results = join_all((0..IN_FLIGHT).map(|i| {
        let users = users.clone();
        let grant = grants[i % PAIRS];
        async move {
            users
                .record_user_interaction(
                    user,
                    NewInteraction::new(grant, InteractionAction::ALL[i % 3]),
                )
                .await
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let after = peak_rss_kib();

    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let db = postgrest_standin::admin().await;
    let rows: i64 = db
        .query_one(
            "select count(*) from public.user_interactions where user_id = $1::text::uuid",
            &[&user.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    println!(
        "load: {IN_FLIGHT} calls in flight over {PAIRS} pairs: {} ok, {} errors, {rows} rows, \
         {} ms; peak RSS {before} KiB before, {after} KiB after (+{} KiB, client and stand-in)",
        IN_FLIGHT - errors.len(),
        errors.len(),
        elapsed.as_millis(),
        after.saturating_sub(before)
    );
    assert!(
        errors.is_empty(),
        "{} errors, first {:?}",
        errors.len(),
        errors.first()
    );
    assert_eq!(rows, i64::try_from(PAIRS).unwrap(), "one row per pair");
}
