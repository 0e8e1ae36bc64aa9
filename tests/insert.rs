//! Insert over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};
use wiremock_helpers::header;

#[tokio::test]
async fn plain_insert_sends_no_prefer_and_awaits_to_unit() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(header("content-type", "application/json"))
        .and(header("content-profile", "public"))
        .and(body_json(
            json!({"user_id":"u1","grant_id":"g1","action":"saved"}),
        ))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1","action":"saved"}))
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert!(req.headers.get("prefer").is_none());
    assert_eq!(req.url.query(), None);
}

#[tokio::test]
async fn bulk_insert_lists_the_union_of_keys() {
    let (server, client) = wiremock_helpers::setup().await;
    let rows = json!([{"user_id":"u1","grant_id":"g1","action":"saved"},{"user_id":"u2","grant_id":"g2","notes":"x"}]);
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param(
            "columns",
            "\"user_id\",\"grant_id\",\"action\",\"notes\"",
        ))
        .and(body_json(&rows))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    client
        .from("user_interactions")
        .insert(&rows)
        .await
        .unwrap();
}

#[tokio::test]
async fn insert_select_returns_typed_rows() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Created {
        id: i64,
        action: String,
    }
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("select", "id,action"))
        .and(header("prefer", "return=representation"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!([{"id":7,"action":"saved"}])))
        .expect(1)
        .mount(&server)
        .await;
    let rows: Vec<Created> = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1","action":"saved"}))
        .select("id, action")
        .returns::<Created>()
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![Created {
            id: 7,
            action: "saved".into()
        }]
    );
}

#[tokio::test]
async fn default_to_null_false_and_rollback_compose_prefer() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("POST"))
        .and(header("prefer", "missing=default, tx=rollback"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1"}))
        .default_to_null(false)
        .rollback()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_body_that_cannot_serialize_is_an_invalid_request_and_nothing_is_sent() {
    use std::collections::HashMap;
    let (server, client) = wiremock_helpers::setup().await;
    // JSON object keys must be strings: a map keyed by a tuple cannot serialize.
    let mut bad: HashMap<(i32, i32), i32> = HashMap::new();
    bad.insert((1, 2), 3);
    let err = client.from("t").insert(&bad).await.unwrap_err();
    assert!(
        matches!(err, supabase_rest::Error::InvalidRequest(_)),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
