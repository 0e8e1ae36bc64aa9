//! Update over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde_json::json;
use supabase_rest::Count;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};
use wiremock_helpers::header;

#[tokio::test]
async fn update_with_filters_awaits_to_unit() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("PATCH"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("user_id", "eq.u1"))
        .and(query_param("grant_id", "eq.g1"))
        .and(header("content-profile", "public"))
        .and(body_json(json!({"action":"applied","notes":null})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client
        .from("user_interactions")
        .update(&json!({"action":"applied","notes":null}))
        .eq("user_id", "u1")
        .eq("grant_id", "g1")
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query(), Some("user_id=eq.u1&grant_id=eq.g1"));
}

#[tokio::test]
async fn update_count_and_max_affected() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("PATCH"))
        .and(header(
            "prefer",
            "count=exact, handling=strict, max-affected=3",
        ))
        .respond_with(ResponseTemplate::new(204).insert_header("content-range", "0-2/3"))
        .expect(1)
        .mount(&server)
        .await;
    let out = client
        .from("user_interactions")
        .update(&json!({"action":"ignored"}))
        .eq("user_id", "u1")
        .count(Count::Exact)
        .max_affected(3)
        .await
        .unwrap();
    assert_eq!(out.count, Some(3));
}

#[tokio::test]
async fn update_select_single_returns_the_row() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("PATCH"))
        .and(query_param("select", "*"))
        .and(header("prefer", "return=representation"))
        .and(header("accept", "application/vnd.pgrst.object+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id":1,"action":"saved"})))
        .expect(1)
        .mount(&server)
        .await;
    let row: serde_json::Value = client
        .from("user_interactions")
        .update(&json!({"action":"saved"}))
        .match_([("user_id", "u1"), ("grant_id", "g1")])
        .select("*")
        .single()
        .await
        .unwrap();
    assert_eq!(row["action"], "saved");
}
