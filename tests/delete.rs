//! Delete over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};
use wiremock_helpers::header;

#[tokio::test]
async fn delete_with_in_filter() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("DELETE"))
        .and(path("/rest/v1/user_interactions"))
        .and(query_param("id", "in.(1,2,3)"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client
        .from("user_interactions")
        .delete()
        .in_("id", [1, 2, 3])
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn delete_select_returns_deleted_rows() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("DELETE"))
        .and(query_param("id", "eq.1"))
        .and(query_param("select", "*"))
        .and(header("prefer", "return=representation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id":1}])))
        .expect(1)
        .mount(&server)
        .await;
    let rows: Vec<serde_json::Value> = client
        .from("user_interactions")
        .delete()
        .eq("id", 1)
        .select("*")
        .await
        .unwrap();
    assert_eq!(rows, vec![json!({"id":1})]);
}
