//! The race, end to end: `UsersService` over HTTP into a real PostgreSQL 15 with the schema of
//! `supabase/migrations/`, through the PostgREST stand-in of `tests/postgrest_standin/`.
//!
//! Needs the throwaway database that `./scripts/test-all.sh` provisions; without it every test
//! here fails with instructions (it never passes by skipping).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "wiremock_helpers/old_flow.rs"]
mod old_flow;
mod postgrest_standin;

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

use InteractionAction::{Applied, Ignored, Saved};

/// Network latency the stand-in adds to every answer: the window between the old flow's SELECT
/// and INSERT on a real network.
const LATENCY: Duration = Duration::from_millis(5);
const CALLS: usize = 200;

fn action_at(i: usize) -> InteractionAction {
    [Saved, Applied, Ignored][i % 3]
}

async fn user_client(standin: &postgrest_standin::StandIn, user: Uuid) -> Client {
    Client::new(standin.url(), "anon-key")
        .unwrap()
        .with_access_token(postgrest_standin::user_jwt(user))
}

struct LogEntry {
    op: String,
    action: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

async fn write_log(user: Uuid, grant: Uuid) -> Vec<LogEntry> {
    postgrest_standin::admin()
        .await
        .query(
            "select op, action, created_at from test_support.interaction_log
             where user_id = $1::text::uuid and grant_id = $2::text::uuid order by seq",
            &[&user.to_string(), &grant.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| LogEntry {
            op: r.get(0),
            action: r.get(1),
            created_at: r.get(2),
        })
        .collect()
}

/// `(action, created_at, row count)` of the pair, read as the superuser.
async fn stored(user: Uuid, grant: Uuid) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    postgrest_standin::admin()
        .await
        .query(
            "select action, created_at from public.user_interactions
             where user_id = $1::text::uuid and grant_id = $2::text::uuid",
            &[&user.to_string(), &grant.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_calls_leave_one_row_with_the_last_committed_action() {
    postgrest_standin::install_write_log().await;
    let standin = postgrest_standin::start(LATENCY).await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grant = postgrest_standin::create_grants(1).await[0];
    let users = UsersService::new(user_client(&standin, user).await);

    // The first call alone, so "created_at unchanged since the first call" has a reference.
    let first = users
        .record_user_interaction(user, NewInteraction::new(grant, Saved))
        .await
        .unwrap();

    let results = join_all((0..CALLS).map(|i| {
        let users = users.clone();
        async move {
            users
                .record_user_interaction(user, NewInteraction::new(grant, action_at(i)))
                .await
        }
    }))
    .await;

    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    println!(
        "new flow: {} calls, {} errors, {} requests",
        CALLS + 1,
        errors.len(),
        standin.request_count()
    );
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    assert_eq!(
        standin.request_count(),
        CALLS + 1,
        "exactly one request per call"
    );

    let rows = stored(user, grant).await;
    assert_eq!(rows.len(), 1, "exactly one row");
    let log = write_log(user, grant).await;
    assert_eq!(log.len(), CALLS + 1, "every call wrote");
    assert_eq!(
        log.iter().filter(|e| e.op == "INSERT").count(),
        1,
        "one insert, the rest updates"
    );
    let last = log.last().unwrap();
    assert_eq!(
        rows[0].0, last.action,
        "the row holds the last committed write"
    );
    assert_eq!(
        rows[0].1, first.created_at,
        "created_at unchanged since the first call"
    );
    assert!(log.iter().all(|e| e.created_at == first.created_at));
    for r in &results {
        let row = r.as_ref().unwrap();
        assert_eq!((row.id, row.created_at), (first.id, first.created_at));
    }
    println!(
        "new flow: rows left {}, final action {} = last committed {}",
        rows.len(),
        rows[0].0,
        last.action
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_select_then_insert_flow_fails_under_the_same_load() {
    let standin = postgrest_standin::start(LATENCY).await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grant = postgrest_standin::create_grants(1).await[0];
    let client = user_client(&standin, user).await;

    let results = join_all((0..CALLS).map(|i| {
        let client = client.clone();
        async move {
            old_flow::record_user_interaction_old(
                &client,
                user,
                NewInteraction::new(grant, action_at(i)),
            )
            .await
        }
    }))
    .await;

    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let unique = errors.iter().filter(|e| e.is_unique_violation()).count();
    let rows = stored(user, grant).await;
    println!(
        "old flow: {CALLS} calls, {} errors ({unique} unique violations), {} requests, {} rows",
        errors.len(),
        standin.request_count(),
        rows.len()
    );
    assert!(
        unique > 0,
        "the old flow must hit unique violations under concurrency"
    );
    assert!(errors.iter().all(|e| e.is_unique_violation()), "{errors:?}");
    assert!(
        standin.request_count() >= 2 * CALLS,
        "two requests per call"
    );
    assert_eq!(rows.len(), 1, "the constraint still holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_users_and_grants_concurrently_one_row_per_pair_no_cross_user_writes() {
    const USERS: usize = 4;
    const GRANTS: usize = 5;
    const CALLS_PER_PAIR: usize = 6;
    let standin = postgrest_standin::start(LATENCY).await;
    let users: Vec<Uuid> = (0..USERS).map(|_| Uuid::new_v4()).collect();
    postgrest_standin::create_users(&users).await;
    let grants = postgrest_standin::create_grants(GRANTS).await;
    let mut services = HashMap::new();
    for u in &users {
        services.insert(*u, UsersService::new(user_client(&standin, *u).await));
    }

    let mut calls = Vec::new();
    for round in 0..CALLS_PER_PAIR {
        for u in &users {
            for g in &grants {
                let svc = services[u].clone();
                let (u, g) = (*u, *g);
                calls.push(async move {
                    svc.record_user_interaction(u, NewInteraction::new(g, action_at(round)))
                        .await
                });
            }
        }
    }
    let results = join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );

    let db = postgrest_standin::admin().await;
    for u in &users {
        let rows = db
            .query(
                "select grant_id::text from public.user_interactions where user_id = $1::text::uuid",
                &[&u.to_string()],
            )
            .await
            .unwrap();
        let mut got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        got.sort();
        let mut want: Vec<String> = grants.iter().map(Uuid::to_string).collect();
        want.sort();
        assert_eq!(got, want, "one row per pair for user {u}");
        // Each user sees exactly their own rows through the API.
        let listed = services[u].list_user_interactions(*u, None).await.unwrap();
        assert_eq!(listed.len(), GRANTS);
        assert!(listed.iter().all(|r| r.user_id == *u));
    }
}
