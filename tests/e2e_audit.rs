//! The race, re-proved with the database's own audit trail (`user_interaction_events`, written by
//! a trigger in commit order per pair): `UsersService` over HTTP into a real PostgreSQL 15 with
//! the schema of `supabase/migrations/`, through the PostgREST stand-in.
//!
//! Needs the throwaway database that `./scripts/test-all.sh` provisions; without it every test
//! here fails with instructions (it never passes by skipping).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "wiremock_helpers/old_flow.rs"]
mod old_flow;
mod postgrest_standin;

use std::time::Duration;

use futures::future::join_all;
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

use InteractionAction::{Applied, Ignored, Saved};

const LATENCY: Duration = Duration::from_millis(5);
const CALLS: usize = 200;

fn action_at(i: usize) -> InteractionAction {
    [Saved, Applied, Ignored][i % 3]
}

fn user_client(standin: &postgrest_standin::StandIn, user: Uuid) -> Client {
    Client::new(standin.url(), "anon-key")
        .unwrap()
        .with_access_token(postgrest_standin::user_jwt(user))
}

#[derive(Debug)]
struct Event {
    interaction_id: Uuid,
    operation: String,
    old_action: Option<String>,
    new_action: Option<String>,
}

/// The pair's events in commit order, read as the superuser.
async fn events(user: Uuid, grant: Uuid) -> Vec<Event> {
    postgrest_standin::admin()
        .await
        .query(
            "select interaction_id::text, operation, old_action, new_action
             from public.user_interaction_events
             where user_id = $1::text::uuid and grant_id = $2::text::uuid order by seq",
            &[&user.to_string(), &grant.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Event {
            interaction_id: r.get::<_, String>(0).parse().unwrap(),
            operation: r.get(1),
            old_action: r.get(2),
            new_action: r.get(3),
        })
        .collect()
}

/// `(id, action, removed)` of every row of the pair, removed ones included (superuser).
async fn rows(user: Uuid, grant: Uuid) -> Vec<(Uuid, String, bool)> {
    postgrest_standin::admin()
        .await
        .query(
            "select id::text, action, deleted_at is not null from public.user_interactions
             where user_id = $1::text::uuid and grant_id = $2::text::uuid",
            &[&user.to_string(), &grant.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, String>(0).parse().unwrap(), r.get(1), r.get(2)))
        .collect()
}

/// Every event's old action is the previous event's new action: no write was based on a state
/// that another write had already replaced (no lost update). Returns the first break.
fn chain_break(events: &[Event]) -> Option<usize> {
    events
        .windows(2)
        .position(|w| w[1].old_action != w[0].new_action)
        .map(|i| i + 1)
}

async fn setup() -> (postgrest_standin::StandIn, UsersService, Uuid, Uuid) {
    let standin = postgrest_standin::start(LATENCY).await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grant = postgrest_standin::create_grants(1).await[0];
    let users = UsersService::new(user_client(&standin, user));
    (standin, users, user, grant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_records_leave_two_hundred_chained_events() {
    let (_standin, users, user, grant) = setup().await;

    let results = join_all((0..CALLS).map(|i| {
        let users = users.clone();
        async move {
            users
                .record_user_interaction(user, NewInteraction::new(grant, action_at(i)))
                .await
        }
    }))
    .await;
    let errors = assert_no_errors(&results);

    let events = events(user, grant).await;
    let rows = rows(user, grant).await;
    println!(
        "new flow + audit: {CALLS} calls, {} successes, {} events ({} insert), chain break: {:?}",
        results.len() - errors,
        events.len(),
        events.iter().filter(|e| e.operation == "insert").count(),
        chain_break(&events)
    );
    assert_eq!(events.len(), CALLS, "exactly one event per call");
    assert_eq!(events[0].operation, "insert");
    assert!(
        events[1..].iter().all(|e| e.operation == "update"),
        "the rest are updates"
    );
    assert_eq!(
        chain_break(&events),
        None,
        "each event's old action is the previous new action"
    );
    assert_eq!(rows.len(), 1, "one row");
    assert_eq!(
        Some(&rows[0].1),
        events.last().unwrap().new_action.as_ref(),
        "the row is the newest event"
    );
    assert!(
        events.iter().all(|e| e.interaction_id == rows[0].0),
        "every event is of that row"
    );
    // Each call's answer is a state the trail recorded.
    for r in &results {
        let row = r.as_ref().unwrap();
        assert!(events
            .iter()
            .any(|e| e.new_action.as_deref() == Some(row.action.as_str())));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_flow_leaves_the_race_in_the_audit_trail() {
    let (standin, _users, user, grant) = setup().await;
    let client = user_client(&standin, user);

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
    let failed = results.iter().filter(|r| r.is_err()).count();
    let events = events(user, grant).await;
    let inserts = events.iter().filter(|e| e.operation == "insert").count();
    println!(
        "old flow + audit: {CALLS} calls, {failed} failed, {} events ({inserts} insert), chain break: {:?}",
        events.len(),
        chain_break(&events)
    );
    // The race, as the database recorded it: calls that decided to insert after seeing no row
    // failed (one insert in the trail, and fewer events than calls), and what they meant to write
    // is not in the trail at all.
    assert!(failed > 0, "the old flow must fail under this load");
    assert_eq!(inserts, 1, "only one of the inserting calls could insert");
    assert_eq!(
        events.len(),
        CALLS - failed,
        "every failed call is missing from the trail"
    );
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(supabase_rest::Error::is_unique_violation));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_and_records_interleaved_leave_the_row_of_the_newest_event() {
    let (_standin, users, user, grant) = setup().await;
    let first = users
        .record_user_interaction(user, NewInteraction::new(grant, Saved))
        .await
        .unwrap();

    // 150 records and 50 removals of the same pair, all at once.
    let calls = join_all((0..CALLS).map(|i| {
        let users = users.clone();
        async move {
            if i % 4 == 3 {
                users.remove_user_interaction(user, grant).await.map(|_| ())
            } else {
                users
                    .record_user_interaction(user, NewInteraction::new(grant, action_at(i)))
                    .await
                    .map(|row| assert_eq!((row.id, row.created_at), (first.id, first.created_at)))
            }
        }
    }))
    .await;
    assert_no_errors(&calls);

    let events = events(user, grant).await;
    let rows = rows(user, grant).await;
    let count = |op: &str| events.iter().filter(|e| e.operation == op).count();
    println!(
        "interleaved: {} events: {} insert, {} update, {} soft_delete, {} revive; row removed: {}",
        events.len(),
        count("insert"),
        count("update"),
        count("soft_delete"),
        count("revive"),
        rows[0].2
    );
    assert_eq!(rows.len(), 1, "one row, revived in place");
    assert_eq!(rows[0].0, first.id);
    assert_eq!(count("insert"), 1);
    assert_eq!(
        chain_break(&events),
        None,
        "no lost update across removals and revivals"
    );
    assert!(events.iter().all(|e| e.interaction_id == first.id));
    // Every record after a removal revived the row; removals of a removed row change nothing.
    assert_eq!(
        count("revive"),
        count("soft_delete") - usize::from(rows[0].2)
    );
    let newest = events.last().unwrap();
    assert_eq!(
        rows[0].2,
        newest.operation == "soft_delete",
        "removed exactly when the newest event is a removal"
    );
    assert_eq!(
        Some(&rows[0].1),
        newest.new_action.as_ref(),
        "the row holds the newest event's action"
    );
    // Records: one event each (1 first + 150 concurrent).
    assert_eq!(
        count("update") + count("revive") + count("insert"),
        1 + CALLS / 4 * 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_the_users_own_trail_oldest_first() {
    let (standin, users, user, grant) = setup().await;
    users
        .record_user_interaction(user, NewInteraction::new(grant, Saved))
        .await
        .unwrap();
    users
        .record_user_interaction(user, NewInteraction::new(grant, Applied))
        .await
        .unwrap();
    assert!(users.remove_user_interaction(user, grant).await.unwrap());
    assert!(
        !users.remove_user_interaction(user, grant).await.unwrap(),
        "already removed"
    );
    assert_eq!(
        users.get_user_interaction(user, grant).await.unwrap(),
        None,
        "hidden once removed"
    );
    assert!(users
        .list_user_interactions(user, None)
        .await
        .unwrap()
        .is_empty());
    let revived = users
        .record_user_interaction(user, NewInteraction::new(grant, Ignored))
        .await
        .unwrap();

    let history = users.interaction_history(user, grant).await.unwrap();
    let ops: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|e| (e.operation.as_str(), e.new_action.as_deref()))
        .collect();
    assert_eq!(
        ops,
        [
            ("insert", Some("saved")),
            ("update", Some("applied")),
            ("soft_delete", Some("applied")),
            ("revive", Some("ignored"))
        ]
    );
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(history
        .iter()
        .all(|e| e.interaction_id == revived.id && e.changed_by == Some(user)));

    // Another user sees none of it.
    let other = Uuid::new_v4();
    postgrest_standin::create_users(&[other]).await;
    let theirs = UsersService::new(user_client(&standin, other));
    assert!(theirs
        .interaction_history(user, grant)
        .await
        .unwrap()
        .is_empty());
}

/// Fails the test with the count and the first error unless every call succeeded; returns how
/// many failed (zero).
fn assert_no_errors<T>(results: &[supabase_rest::Result<T>]) -> usize {
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} errors, first {:?}",
        errors.len(),
        errors.first()
    );
    errors.len()
}
