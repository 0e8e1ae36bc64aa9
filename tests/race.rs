//! The three scenarios the original fix was verified with, through `UsersService` against a
//! stateful PostgREST stand-in, and the same scenarios through the old select-then-insert flow,
//! which must fail (so these tests can fail).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use std::time::Duration;

use futures::future::join_all;
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::testing::MemoryTable;
use supabase_rest::Client;
use uuid::Uuid;
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer};
use wiremock_helpers::old_flow::record_user_interaction_old;

use InteractionAction::{Applied, Ignored, Saved};

/// A server whose `user_interactions` endpoint is the stateful table. GET answers are delayed
/// (evaluated at once, sent 40 ms later): harmless to the atomic upsert, which sends no GET, and
/// exactly the window in which the old flow's SELECT and INSERT race.
async fn start() -> (MockServer, Client, MemoryTable) {
    let server = MockServer::start().await;
    let table = MemoryTable::user_interactions().with_read_delay(Duration::from_millis(40));
    Mock::given(path_regex("^/rest/v1/user_interactions$"))
        .respond_with(table.clone())
        .mount(&server)
        .await;
    wiremock_helpers::catch_all(&server).await;
    let client = Client::new(server.uri(), wiremock_helpers::API_KEY)
        .unwrap()
        .with_access_token("user-jwt");
    (server, client, table)
}

/// The action of the last write the table applied to a pair.
fn last_written_action(table: &MemoryTable, user: &str, grant: &str) -> Option<String> {
    table
        .writes()
        .iter()
        .rev()
        .find(|w| w.key == [user, grant])
        .and_then(|w| w.row["action"].as_str().map(str::to_owned))
}

#[derive(Debug, Default)]
struct Outcome {
    calls: usize,
    errors: usize,
    unique_violations: usize,
}

fn tally<T>(results: &[supabase_rest::Result<T>]) -> Outcome {
    Outcome {
        calls: results.len(),
        errors: results.iter().filter(|r| r.is_err()).count(),
        unique_violations: results
            .iter()
            .filter(|r| r.as_ref().err().is_some_and(|e| e.is_unique_violation()))
            .count(),
    }
}

fn action_at(i: usize) -> InteractionAction {
    [Saved, Applied, Ignored][i % 3]
}

// ---- Scenario 1: 50 concurrent saves of the same user and grant ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_saves_leave_one_row_and_all_succeed() {
    let (_server, client, table) = start().await;
    let users = UsersService::new(client);
    let (user, grant) = (Uuid::new_v4(), Uuid::new_v4());

    let results = join_all((0..50).map(|_| {
        let users = users.clone();
        async move {
            users
                .record_user_interaction(user, NewInteraction::new(grant, Saved))
                .await
        }
    }))
    .await;

    let outcome = tally(&results);
    assert_eq!(
        outcome.errors,
        0,
        "{outcome:?}: {:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(table.request_count(), 50, "exactly one request per call");
    assert_eq!(table.requests_by_method("POST"), 50);
    assert_eq!(table.rows().len(), 1);
    let first_id = results[0].as_ref().unwrap().id;
    assert!(results.iter().all(|r| r.as_ref().unwrap().id == first_id));
    let row = table.row(&[&user.to_string(), &grant.to_string()]).unwrap();
    assert_eq!(row["action"], "saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_saves_break_the_old_flow() {
    let (_server, client, table) = start().await;
    let (user, grant) = (Uuid::new_v4(), Uuid::new_v4());

    let results = join_all((0..50).map(|_| {
        let client = client.clone();
        async move {
            record_user_interaction_old(&client, user, NewInteraction::new(grant, Saved)).await
        }
    }))
    .await;

    let outcome = tally(&results);
    assert!(
        outcome.unique_violations > 0,
        "the old flow should hit unique violations under concurrency: {outcome:?}"
    );
    assert!(
        table.request_count() > outcome.calls,
        "the old flow needs two requests per call"
    );
}

// ---- Scenario 2: rapid sequential changes saved -> applied -> ignored -> saved ----
//
// Clicks come faster than answers: each click is sent as soon as the server has received the
// previous click's first request, without waiting for its answer.

async fn rapid_clicks<F, Fut, T>(
    table: &MemoryTable,
    actions: &[InteractionAction],
    click: F,
) -> Vec<supabase_rest::Result<T>>
where
    F: Fn(InteractionAction) -> Fut,
    Fut: std::future::Future<Output = supabase_rest::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut handles = Vec::new();
    for &action in actions {
        let before = table.request_count();
        handles.push(tokio::spawn(click(action)));
        table.wait_for_requests(before + 1).await;
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

const SEQUENCE: [InteractionAction; 4] = [Saved, Applied, Ignored, Saved];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_sequential_changes_end_on_the_last_action() {
    let (_server, client, table) = start().await;
    let users = UsersService::new(client);
    let (user, grant) = (Uuid::new_v4(), Uuid::new_v4());

    let results = rapid_clicks(&table, &SEQUENCE, |action| {
        let users = users.clone();
        async move {
            users
                .record_user_interaction(user, NewInteraction::new(grant, action))
                .await
        }
    })
    .await;

    assert_eq!(tally(&results).errors, 0, "{results:?}");
    assert_eq!(table.request_count(), SEQUENCE.len());
    assert_eq!(table.rows().len(), 1);
    let row = table.row(&[&user.to_string(), &grant.to_string()]).unwrap();
    assert_eq!(row["action"], "saved");
    let written: Vec<_> = table
        .writes()
        .iter()
        .filter_map(|w| w.row["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(written, ["saved", "applied", "ignored", "saved"]);
    let created: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().unwrap().created_at)
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] == w[1]),
        "created_at must survive updates"
    );

    // Sequential with await in between, too.
    for action in SEQUENCE {
        users
            .record_user_interaction(user, NewInteraction::new(grant, action))
            .await
            .unwrap();
    }
    assert_eq!(table.request_count(), 2 * SEQUENCE.len());
    assert_eq!(table.rows().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_sequential_changes_break_the_old_flow() {
    let (_server, client, table) = start().await;
    let (user, grant) = (Uuid::new_v4(), Uuid::new_v4());

    let results = rapid_clicks(&table, &SEQUENCE, |action| {
        let client = client.clone();
        async move {
            record_user_interaction_old(&client, user, NewInteraction::new(grant, action)).await
        }
    })
    .await;

    let outcome = tally(&results);
    let final_action = table
        .row(&[&user.to_string(), &grant.to_string()])
        .map(|r| r["action"].as_str().unwrap().to_owned());
    let lost_update = final_action.as_deref() != Some("saved");
    assert!(
        outcome.unique_violations > 0 || lost_update,
        "the old flow should fail: {outcome:?}, final action {final_action:?}"
    );
}

// ---- Scenario 3: mixed actions concurrently on several grants ----

const GRANTS: usize = 5;
const CALLS_PER_GRANT: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_actions_on_several_grants_keep_one_row_per_pair_and_the_last_write() {
    let (_server, client, table) = start().await;
    let users = UsersService::new(client);
    let user = Uuid::new_v4();
    let grants: Vec<Uuid> = (0..GRANTS).map(|_| Uuid::new_v4()).collect();

    let calls = (0..GRANTS * CALLS_PER_GRANT).map(|i| {
        let users = users.clone();
        let grant = grants[i % GRANTS];
        async move {
            users
                .record_user_interaction(user, NewInteraction::new(grant, action_at(i / GRANTS)))
                .await
        }
    });
    let results = join_all(calls).await;

    let outcome = tally(&results);
    assert_eq!(outcome.errors, 0, "{outcome:?}");
    assert_eq!(
        table.request_count(),
        GRANTS * CALLS_PER_GRANT,
        "one request per call"
    );
    assert_eq!(table.rows().len(), GRANTS, "one row per pair");
    for grant in &grants {
        let (u, g) = (user.to_string(), grant.to_string());
        let row = table.row(&[&u, &g]).unwrap();
        assert_eq!(
            row["action"].as_str(),
            last_written_action(&table, &u, &g).as_deref(),
            "the row carries the last applied write"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_actions_on_several_grants_break_the_old_flow() {
    let (_server, client, table) = start().await;
    let user = Uuid::new_v4();
    let grants: Vec<Uuid> = (0..GRANTS).map(|_| Uuid::new_v4()).collect();

    let calls = (0..GRANTS * CALLS_PER_GRANT).map(|i| {
        let client = client.clone();
        let grant = grants[i % GRANTS];
        async move {
            record_user_interaction_old(
                &client,
                user,
                NewInteraction::new(grant, action_at(i / GRANTS)),
            )
            .await
        }
    });
    let results = join_all(calls).await;

    let outcome = tally(&results);
    assert!(outcome.unique_violations > 0, "{outcome:?}");
    assert_eq!(table.conflicts(), outcome.unique_violations);
}
