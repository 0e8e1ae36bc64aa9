//! `UsersService` over HTTP: the exact requests it sends and what it logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde_json::json;
use supabase_rest::grants::{InteractionAction, NewInteraction, Notes, UsersService};
use supabase_rest::{Client, Error};
use uuid::Uuid;
use wiremock::matchers::{body_string, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wiremock_helpers::header;

const USER: &str = "11111111-1111-4111-8111-111111111111";
const GRANT: &str = "00000000-0000-4000-8000-000000000001";
const GRANT2: &str = "00000000-0000-4000-8000-000000000002";
const JWT: &str = "sentinel-user-jwt-5b21";

fn row(action: &str, notes: Option<&str>) -> serde_json::Value {
    json!({
        "id": "22222222-2222-4222-8222-222222222222",
        "user_id": USER, "grant_id": GRANT, "action": action, "notes": notes,
        "created_at": "2024-05-01T10:00:00.123456+00:00",
        "updated_at": "2024-05-02T11:30:00+00:00"
    })
}

async fn service() -> (MockServer, UsersService) {
    let server = MockServer::start().await;
    wiremock_helpers::catch_all(&server).await;
    let client = Client::new(server.uri(), wiremock_helpers::API_KEY)
        .unwrap()
        .with_access_token(JWT);
    (server, UsersService::new(client))
}

fn ids() -> (Uuid, Uuid) {
    (USER.parse().unwrap(), GRANT.parse().unwrap())
}

#[tokio::test]
async fn record_sends_exactly_the_atomic_upsert() {
    let (server, users) = service().await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("on_conflict", "user_id,grant_id"))
        .and(query_param("select", "*"))
        .and(header(
            "prefer",
            "resolution=merge-duplicates, return=representation",
        ))
        .and(header("accept", "application/vnd.pgrst.object+json"))
        .and(header("authorization", format!("Bearer {JWT}")))
        .and(header("apikey", wiremock_helpers::API_KEY))
        .and(header("content-profile", "public"))
        .and(body_string(format!(
            r#"{{"user_id":"{USER}","grant_id":"{GRANT}","action":"saved"}}"#
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(row("saved", Some("kept"))))
        .expect(1)
        .mount(&server)
        .await;
    let (user, grant) = ids();
    let got = users
        .record_user_interaction(user, NewInteraction::new(grant, InteractionAction::Saved))
        .await
        .unwrap();
    assert_eq!(got.action, InteractionAction::Saved);
    assert_eq!(
        got.notes.as_deref(),
        Some("kept"),
        "notes untouched server-side come back"
    );
    assert_eq!(
        got.created_at.to_rfc3339(),
        "2024-05-01T10:00:00.123456+00:00"
    );
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        req.url.query(),
        Some("on_conflict=user_id%2Cgrant_id&select=*")
    );
}

#[tokio::test]
async fn notes_are_set_or_cleared_only_when_asked() {
    let (server, users) = service().await;
    let (user, grant) = ids();
    Mock::given(method("POST"))
        .and(body_string(format!(
            r#"{{"user_id":"{USER}","grant_id":"{GRANT}","action":"applied","notes":"sent"}}"#
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(row("applied", Some("sent"))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string(format!(
            r#"{{"user_id":"{USER}","grant_id":"{GRANT}","action":"ignored","notes":null}}"#
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(row("ignored", None)))
        .expect(1)
        .mount(&server)
        .await;
    users
        .record_user_interaction(
            user,
            NewInteraction::new(grant, InteractionAction::Applied).with_notes("sent"),
        )
        .await
        .unwrap();
    let cleared = users
        .record_user_interaction(
            user,
            NewInteraction {
                grant_id: grant,
                action: InteractionAction::Ignored,
                notes: Some(Notes::Clear),
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.notes, None);
}

#[tokio::test]
async fn list_get_and_remove() {
    let (server, users) = service().await;
    let (user, grant) = ids();
    Mock::given(method("GET"))
        .and(query_param("user_id", format!("eq.{USER}")))
        .and(query_param("action", "eq.applied"))
        .and(query_param("order", "updated_at.desc"))
        .and(header("accept-profile", "public"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([row("applied", None)])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("grant_id", format!("eq.{GRANT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    // Removal is a soft delete: one PATCH setting deleted_at (the database stamps its time).
    Mock::given(method("PATCH"))
        .and(query_param("user_id", format!("eq.{USER}")))
        .and(query_param("grant_id", format!("eq.{GRANT}")))
        .and(query_param("select", "id"))
        .and(|req: &wiremock::Request| {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            body.as_object()
                .is_some_and(|o| o.len() == 1 && o["deleted_at"].is_string())
        })
        .and(header("prefer", "return=representation"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "22222222-2222-4222-8222-222222222222"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let listed = users
        .list_user_interactions(user, Some(InteractionAction::Applied))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(users.get_user_interaction(user, grant).await.unwrap(), None);
    assert!(users.remove_user_interaction(user, grant).await.unwrap());
    let list_req = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        list_req.url.query().unwrap(),
        format!("select=*&user_id=eq.{USER}&action=eq.applied&order=updated_at.desc")
    );
}

#[tokio::test]
async fn bulk_record_is_one_request_deduplicated_and_refuses_mixed_notes() {
    let (server, users) = service().await;
    let (user, grant) = ids();
    let grant2: Uuid = GRANT2.parse().unwrap();
    Mock::given(method("POST"))
        .and(query_param("on_conflict", "user_id,grant_id"))
        .and(query_param("columns", "\"user_id\",\"grant_id\",\"action\""))
        .and(body_string(format!(
            r#"[{{"user_id":"{USER}","grant_id":"{GRANT}","action":"ignored"}},{{"user_id":"{USER}","grant_id":"{GRANT2}","action":"saved"}}]"#
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([row("ignored", None), row("saved", None)])))
        .expect(1)
        .mount(&server)
        .await;
    let out = users
        .record_user_interactions(
            user,
            &[
                NewInteraction::new(grant, InteractionAction::Saved),
                NewInteraction::new(grant2, InteractionAction::Saved),
                NewInteraction::new(grant, InteractionAction::Ignored),
            ],
        )
        .await
        .unwrap();
    assert_eq!(out.len(), 2);

    let err = users
        .record_user_interactions(
            user,
            &[
                NewInteraction::new(grant, InteractionAction::Saved).with_notes("x"),
                NewInteraction::new(grant2, InteractionAction::Saved),
            ],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    assert!(users
        .record_user_interactions(user, &[])
        .await
        .unwrap()
        .is_empty());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn failures_are_logged_with_code_hint_user_grant_action_and_no_secrets() {
    let (server, users) = service().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "code": "42501",
            "message": "new row violates row-level security policy for table \"user_interactions\"\nFORGED log line",
            "details": "Failing row contains (row-data-sentinel)", "hint": "sign in as the row's owner"
        })))
        .mount(&server)
        .await;
    let (captured, _guard) = wiremock_helpers::Captured::start();
    let (user, grant) = ids();
    let err = users
        .record_user_interaction(user, NewInteraction::new(grant, InteractionAction::Applied))
        .await
        .unwrap_err();
    assert!(err.is_rls_violation());
    let logs = captured.text();
    let error_line = logs
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_else(|| panic!("no error event in:\n{logs}"));
    for needle in [
        "code=\"42501\"",
        "sign in as the row's owner",
        USER,
        GRANT,
        "applied",
    ] {
        assert!(
            error_line.contains(needle),
            "{needle} missing from: {error_line}"
        );
    }
    // Row data (PostgreSQL's details) only at debug level; a newline in the server's message
    // cannot start a log line of its own.
    assert!(!error_line.contains("row-data-sentinel"), "{error_line}");
    assert!(logs
        .lines()
        .any(|l| l.contains("DEBUG") && l.contains("Failing row contains (row-data-sentinel)")));
    assert!(error_line.contains("\\nFORGED log line"), "{error_line}");
    assert!(
        !logs.lines().any(|l| l.starts_with("FORGED")),
        "forged line in:\n{logs}"
    );
    assert!(logs
        .lines()
        .any(|l| l.contains("DEBUG") && l.contains("recording user interaction")));
    assert!(
        !logs.contains(JWT) && !logs.contains(wiremock_helpers::API_KEY),
        "secret in logs:\n{logs}"
    );
}

/// `record_user_interaction(..).with_status()` sends the same request and says whether it created the
/// row (201) or changed it (200), as PostgREST answers.
#[tokio::test]
async fn record_with_status_tells_created_from_changed() {
    let server = MockServer::start().await;
    let table = supabase_rest::testing::MemoryTable::user_interactions();
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .respond_with(table.clone())
        .mount(&server)
        .await;
    let users = UsersService::new(
        Client::new(server.uri(), wiremock_helpers::API_KEY)
            .unwrap()
            .with_access_token(JWT),
    );
    let (user, grant) = ids();
    let first = users
        .record_user_interaction(user, NewInteraction::new(grant, InteractionAction::Saved))
        .with_status()
        .await
        .unwrap();
    assert_eq!(first.status, reqwest::StatusCode::CREATED);
    assert_eq!(first.data.action, InteractionAction::Saved);
    let second = users
        .record_user_interaction(user, NewInteraction::new(grant, InteractionAction::Applied))
        .with_status()
        .await
        .unwrap();
    assert_eq!(second.status, reqwest::StatusCode::OK);
    assert_eq!(second.data.action, InteractionAction::Applied);
    assert_eq!(second.data.id, first.data.id);
    let plain = users
        .record_user_interaction(user, NewInteraction::new(grant, InteractionAction::Ignored))
        .await
        .unwrap();
    assert_eq!(plain.action, InteractionAction::Ignored);
    assert_eq!(table.rows().len(), 1);
    assert_eq!(table.request_count(), 3);
}
