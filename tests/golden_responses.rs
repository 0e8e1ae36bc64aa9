//! The response side of the golden vectors: each captured server answer replayed to our client,
//! whose outcome must be at least as informative as what supabase-js gave back
//! (`client_result`): same status, same PostgREST fields, and an error where supabase-js
//! reported success for an answer that is not one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use serde_json::{json, Value};
use supabase_rest::{Client, Error, RetryPolicy};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const VECTORS: &str = include_str!("fixtures/golden/supabase-js-requests.json");

#[derive(Deserialize)]
struct Vector {
    name: String,
    response: Option<Value>,
    client_result: Option<Value>,
}

fn vector(name: &str) -> (Value, Value) {
    let all: Vec<Vector> = serde_json::from_str(VECTORS).unwrap();
    let v = all.into_iter().find(|v| v.name == name).unwrap();
    (v.response.unwrap(), v.client_result.unwrap())
}

/// A server that answers every request with the vector's captured response, and a client
/// without retries (the vector holds one answer).
async fn replay(name: &str) -> (MockServer, Client, Value) {
    let (response, result) = vector(name);
    let server = MockServer::start().await;
    let mut template =
        ResponseTemplate::new(u16::try_from(response["status"].as_u64().unwrap()).unwrap());
    let content_type = response["headers"]["content-type"]
        .as_str()
        .unwrap_or("application/octet-stream")
        .to_owned();
    if let Some(headers) = response["headers"].as_object() {
        for (k, v) in headers {
            template = template.insert_header(k.as_str(), v.as_str().unwrap());
        }
    }
    let body = response["body"].as_str().unwrap_or("").as_bytes().to_vec();
    template = template.set_body_raw(body, &content_type);
    Mock::given(any())
        .respond_with(template)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "anon-key-123")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    (server, client, result)
}

/// Our error carries the same status and PostgREST fields as supabase-js's.
fn assert_same_api_error(err: &Error, js: &Value) {
    let pg = err
        .as_postgrest()
        .unwrap_or_else(|| panic!("expected a PostgREST error, got {err:?}"));
    assert_eq!(
        u64::from(pg.status.as_u16()),
        js["status"].as_u64().unwrap()
    );
    let e = &js["error"];
    assert_eq!(pg.code, e["code"].as_str().unwrap());
    assert_eq!(pg.message, e["message"].as_str().unwrap());
    assert_eq!(pg.details_str().as_deref(), e["details"].as_str());
    assert_eq!(pg.hint.as_deref(), e["hint"].as_str());
}

#[tokio::test]
async fn single_406_no_rows() {
    let (_s, client, js) = replay("single_406_pgrst116").await;
    let err = client
        .from("user_interactions")
        .select("*")
        .eq("user_id", "nobody")
        .single()
        .await
        .unwrap_err();
    assert_same_api_error(&err, &js);
    assert!(err.is_no_rows());
}

#[tokio::test]
async fn upsert_single_406() {
    let (_s, client, js) = replay("upsert_single_merge_406").await;
    let err = client
        .from("user_interactions")
        .upsert(&json!({"user_id":"u1","grant_id":"g1","action":"saved","notes":null}))
        .on_conflict("user_id,grant_id")
        .select("*")
        .single()
        .await
        .unwrap_err();
    assert_same_api_error(&err, &js);
}

#[tokio::test]
async fn maybe_single_with_two_rows() {
    let (_s, client, js) = replay("maybe_single_two_rows").await;
    let err = client
        .from("user_interactions")
        .select("*")
        .eq("user_id", "u1")
        .maybe_single()
        .await
        .unwrap_err();
    assert_same_api_error(&err, &js);
    assert!(err.is_too_many_rows());
}

#[tokio::test]
async fn html_502_keeps_status_and_body() {
    for name in ["html_502_select", "html_502_upsert_single"] {
        let (_s, client, js) = replay(name).await;
        let err = if name == "html_502_select" {
            client
                .from("user_interactions")
                .select("*")
                .eq("user_id", "u1")
                .await
                .unwrap_err()
        } else {
            client
                .from("user_interactions")
                .upsert(&json!({"user_id":"u1","grant_id":"g1","action":"saved","notes":null}))
                .on_conflict("user_id,grant_id")
                .select("*")
                .single()
                .await
                .map(|_| ())
                .unwrap_err()
        };
        match &err {
            Error::Http { status, body, .. } => {
                assert_eq!(u64::from(status.as_u16()), js["status"].as_u64().unwrap());
                assert_eq!(
                    body,
                    js["error"]["message"].as_str().unwrap(),
                    "the page is short: kept whole"
                );
            }
            other => panic!("{name}: expected Http, got {other:?}"),
        }
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn unique_violation_409() {
    let (_s, client, js) = replay("error_409_unique_violation").await;
    let err = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1","action":"saved"}))
        .await
        .unwrap_err();
    assert_same_api_error(&err, &js);
    assert!(err.is_unique_violation());
}

#[tokio::test]
async fn rls_violation_403() {
    let (_s, client, js) = replay("error_403_rls_violation").await;
    let err = client
        .from("user_interactions")
        .upsert(&json!({"user_id":"u1","grant_id":"g1","action":"saved","notes":null}))
        .on_conflict("user_id,grant_id")
        .select("*")
        .single()
        .await
        .unwrap_err();
    assert_same_api_error(&err, &js);
    assert!(err.is_rls_violation());
}

/// supabase-js reports these as successes (404 + empty body becomes "204 No Content"; 404 + `[]`
/// becomes data `[]`). A 404 is not a success: we return an error with the real status.
#[tokio::test]
async fn not_found_is_an_error_not_a_success() {
    let (_s, client, js) = replay("error_404_empty_body").await;
    assert_eq!(js["success"], true);
    let err = client.from("missing_table").select("*").await.unwrap_err();
    assert!(
        matches!(err, Error::Http { .. })
            && err.status().unwrap().as_u16() == 404
            && err.is_not_found()
    );

    let (_s, client, js) = replay("error_404_array_body").await;
    assert_eq!(js["success"], true);
    let err = client
        .from("user_interactions")
        .select("*")
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 404);
}

#[tokio::test]
async fn ok_200_non_json_is_a_decode_error_with_status_and_body() {
    let (_s, client, js) = replay("ok_200_non_json_body").await;
    let err = client
        .from("user_interactions")
        .select("*")
        .await
        .unwrap_err();
    match &err {
        Error::Decode(d) => {
            assert_eq!(u64::from(d.status.as_u16()), js["status"].as_u64().unwrap());
            assert_eq!(d.snippet, js["error"]["message"].as_str().unwrap());
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

/// supabase-js gives `data: null` for an insert asked to return rows that came back with none.
/// We report it (status 201 kept, and the write may have been applied): the caller asked for the
/// rows and did not get them.
#[tokio::test]
async fn created_without_the_requested_rows_is_reported() {
    let (_s, client, js) = replay("ok_201_empty_body_with_select").await;
    assert_eq!(js["data"], Value::Null);
    let err = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1"}))
        .select("*")
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 201);
    assert!(err.may_have_been_applied());
    // Without .select() the same answer is a plain success.
    client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn empty_500_keeps_the_status() {
    let (_s, client, js) = replay("error_500_empty_body").await;
    let err = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1"}))
        .await
        .unwrap_err();
    assert_eq!(
        u64::from(err.status().unwrap().as_u16()),
        js["status"].as_u64().unwrap()
    );
    assert!(matches!(err, Error::Http { ref body, .. } if body.is_empty()));
}
