//! Upsert over HTTP: the exact request, and typed decoding of the answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde::{Deserialize, Serialize};
use serde_json::json;
use supabase_rest::Count;
use wiremock::matchers::{body_json, body_string, body_string_contains, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};
use wiremock_helpers::header;

#[derive(Serialize)]
struct NewRow<'a> {
    user_id: &'a str,
    grant_id: &'a str,
    action: &'a str,
    notes: Option<&'a str>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Row {
    id: i64,
    user_id: String,
    grant_id: String,
    action: String,
    notes: Option<String>,
}

#[tokio::test]
async fn seed_call_sends_the_official_clients_request_and_decodes_one_row() {
    let (server, client) = wiremock_helpers::setup().await;
    wiremock_helpers::catch_all(&server).await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("on_conflict", "user_id,grant_id"))
        .and(query_param("select", "*"))
        .and(header("apikey", wiremock_helpers::API_KEY))
        .and(header("authorization", "Bearer anon-key-123"))
        .and(header("content-profile", "public"))
        .and(header("content-type", "application/json"))
        .and(header(
            "prefer",
            "resolution=merge-duplicates, return=representation",
        ))
        .and(header("accept", "application/vnd.pgrst.object+json"))
        .and(header("x-client-info", supabase_rest::CLIENT_INFO))
        .and(body_string(
            r#"{"user_id":"u1","grant_id":"g1","action":"saved","notes":null}"#,
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id":1,"user_id":"u1","grant_id":"g1","action":"saved","notes":null}),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let row: Row = client
        .from("user_interactions")
        .upsert(&NewRow {
            user_id: "u1",
            grant_id: "g1",
            action: "saved",
            notes: None,
        })
        .on_conflict("user_id,grant_id")
        .ignore_duplicates(false)
        .select("*")
        .returns::<Row>()
        .single()
        .await
        .unwrap();
    assert_eq!(
        row,
        Row {
            id: 1,
            user_id: "u1".into(),
            grant_id: "g1".into(),
            action: "saved".into(),
            notes: None
        }
    );
    // The exact query string, byte for byte.
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].url.query(),
        Some("on_conflict=user_id%2Cgrant_id&select=*")
    );
}

#[tokio::test]
async fn ignore_duplicates_without_select_awaits_to_unit() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("on_conflict", "user_id,grant_id"))
        .and(header("prefer", "resolution=ignore-duplicates"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let unit: () = client
        .from("user_interactions")
        .upsert(&json!({"user_id":"u1","grant_id":"g1"}))
        .on_conflict("user_id,grant_id")
        .ignore_duplicates(true)
        .await
        .unwrap();
    assert_eq!(unit, ());
}

#[tokio::test]
async fn bulk_upsert_sends_columns_and_missing_default_and_counts() {
    let (server, client) = wiremock_helpers::setup().await;
    let rows = json!([
        {"user_id":"u1","grant_id":"g1","action":"saved"},
        {"user_id":"u1","grant_id":"g2","action":"applied","notes":"sent"}
    ]);
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("on_conflict", "user_id,grant_id"))
        .and(query_param(
            "columns",
            "\"user_id\",\"grant_id\",\"action\",\"notes\"",
        ))
        .and(header(
            "prefer",
            "resolution=merge-duplicates, count=exact, missing=default, return=representation",
        ))
        .and(body_json(&rows))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("content-range", "*/2")
                .set_body_json(json!([{"id":1},{"id":2}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let out = client
        .from("user_interactions")
        .upsert(&rows)
        .on_conflict("user_id,grant_id")
        .default_to_null(false)
        .count(Count::Exact)
        .select("*")
        .await
        .unwrap();
    assert_eq!(out.count, Some(2));
    assert_eq!(out.data.len(), 2);
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].url.query(),
        Some("on_conflict=user_id%2Cgrant_id&columns=%22user_id%22%2C%22grant_id%22%2C%22action%22%2C%22notes%22&select=*")
    );
}

#[tokio::test]
async fn maybe_single_after_upsert_sends_plain_accept_and_decodes_option() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([{"id": 5}])))
        .expect(1)
        .mount(&server)
        .await;
    let row: Option<serde_json::Value> = client
        .from("user_interactions")
        .upsert(&json!({"user_id":"u1","grant_id":"g1"}))
        .select("*")
        .maybe_single()
        .await
        .unwrap();
    assert_eq!(row, Some(json!({"id": 5})));
    let received = server.received_requests().await.unwrap();
    assert!(received[0]
        .headers
        .get("accept")
        .is_none_or(|a| a != "application/vnd.pgrst.object+json"));
}

/// `with_status()` keeps the status PostgREST answered with: 201 when the upsert inserted, 200
/// when it only updated; the request itself is unchanged, and templates and counts compose.
#[tokio::test]
async fn with_status_tells_an_insert_from_an_update() {
    let (server, client) = wiremock_helpers::setup().await;
    wiremock_helpers::catch_all(&server).await;
    let answer = |status: u16, id: i64| {
        ResponseTemplate::new(status)
            .insert_header("content-range", "*/1")
            .set_body_json(json!({"id": id, "user_id": "u1", "grant_id": "g1", "action": "saved", "notes": null}))
    };
    Mock::given(method("POST"))
        .and(body_string_contains("\"g1\""))
        .respond_with(answer(201, 1))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(answer(200, 1))
        .mount(&server)
        .await;
    let body = json!({"user_id": "u1", "grant_id": "g1", "action": "saved"});
    let upsert = || {
        client
            .from("user_interactions")
            .upsert(&body)
            .on_conflict("user_id,grant_id")
            .select("*")
            .returns::<Row>()
            .single()
    };
    assert_eq!(
        upsert().with_status().build().unwrap().url(),
        upsert().build().unwrap().url()
    );
    let first = upsert().with_status().await.unwrap();
    assert_eq!(first.status, reqwest::StatusCode::CREATED);
    assert_eq!(first.data.id, 1);

    let template = upsert().with_status().template().unwrap();
    let second = template.send(&body).await.unwrap();
    assert_eq!(second.status, reqwest::StatusCode::OK);
    assert_eq!(second.data.action, "saved");

    let counted = client
        .from("user_interactions")
        .upsert(&body)
        .on_conflict("user_id,grant_id")
        .select("*")
        .returns::<Row>()
        .single()
        .count(Count::Exact)
        .with_status()
        .await
        .unwrap();
    assert_eq!(counted.status, reqwest::StatusCode::OK);
    assert_eq!(counted.data.count, Some(1));
}
