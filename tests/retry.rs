//! Retries over HTTP: which requests are repeated, how they are marked, and what is never
//! repeated. Replays the golden retry vectors' server answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use std::time::Duration;

use serde_json::json;
use supabase_rest::{Client, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn unavailable(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("retry-after", "0")
        .set_body_json(json!({"code":"PGRST002","message":"Could not query the database for the schema cache. Retrying.","details":null,"hint":null}))
}

/// Answers `failures` times with `status`, then with `ok`.
async fn flaky(
    server: &MockServer,
    http_method: &str,
    status: u16,
    failures: u64,
    ok: ResponseTemplate,
) {
    Mock::given(method(http_method))
        .respond_with(unavailable(status))
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(http_method))
        .respond_with(ok)
        .with_priority(2)
        .mount(server)
        .await;
}

async fn retry_counts(server: &MockServer) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("x-retry-count")
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn get_503_with_retry_after_0_is_retried_once_with_x_retry_count() {
    let (server, client) = wiremock_helpers::setup().await;
    flaky(
        &server,
        "GET",
        503,
        1,
        ResponseTemplate::new(200).set_body_json(json!([{"id":1}])),
    )
    .await;
    let rows = client.from("user_interactions").select("*").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(retry_counts(&server).await, vec![None, Some("1".into())]);
}

#[tokio::test]
async fn get_520_twice_then_ok() {
    let (server, client) = wiremock_helpers::setup().await;
    flaky(
        &server,
        "GET",
        520,
        2,
        ResponseTemplate::new(200).set_body_json(json!({"id":1})),
    )
    .await;
    let row: serde_json::Value = client
        .from("user_interactions")
        .select("*")
        .eq("id", 1)
        .single()
        .await
        .unwrap();
    assert_eq!(row["id"], 1);
    assert_eq!(
        retry_counts(&server).await,
        vec![None, Some("1".into()), Some("2".into())]
    );
}

#[tokio::test]
async fn plain_insert_is_never_retried_after_it_reached_the_server() {
    let (server, client) = wiremock_helpers::setup().await;
    flaky(&server, "POST", 503, 1, ResponseTemplate::new(201)).await;
    let err = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1"}))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert!(
        !err.may_have_been_applied(),
        "PostgREST answered: rolled back"
    );
    assert_eq!(retry_counts(&server).await.len(), 1);
}

#[tokio::test]
async fn retry_false_disables_retries_for_one_request() {
    let (server, client) = wiremock_helpers::setup().await;
    flaky(
        &server,
        "GET",
        503,
        1,
        ResponseTemplate::new(200).set_body_json(json!([])),
    )
    .await;
    let err = client
        .from("user_interactions")
        .select("*")
        .retry(false)
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(retry_counts(&server).await.len(), 1);
}

#[tokio::test]
async fn upsert_with_on_conflict_is_retried_and_upsert_without_it_is_not() {
    let (server, client) = wiremock_helpers::setup().await;
    flaky(&server, "POST", 503, 1, ResponseTemplate::new(201)).await;
    client
        .from("user_interactions")
        .upsert(&json!({"user_id":"u1","grant_id":"g1","action":"saved"}))
        .on_conflict("user_id,grant_id")
        .await
        .unwrap();
    assert_eq!(retry_counts(&server).await, vec![None, Some("1".into())]);

    let (server, client) = wiremock_helpers::setup().await;
    flaky(&server, "POST", 503, 1, ResponseTemplate::new(201)).await;
    let err = client
        .from("grants")
        .upsert(&json!({"id": 7}))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(
        retry_counts(&server).await.len(),
        1,
        "no explicit conflict target: not retried"
    );
}

#[tokio::test]
async fn rpc_post_is_retried_only_when_marked_idempotent() {
    let (server, client) = wiremock_helpers::setup().await;
    flaky(
        &server,
        "POST",
        503,
        1,
        ResponseTemplate::new(200).set_body_json(json!(1)),
    )
    .await;
    assert!(client.rpc("fn", &json!({"a": 1})).await.is_err());
    let out: serde_json::Value = client
        .rpc("fn", &json!({"a": 1}))
        .idempotent()
        .await
        .unwrap();
    assert_eq!(out, json!(1));
}

#[tokio::test]
async fn retry_after_longer_than_the_cap_is_not_waited_for() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "k")
        .retry(RetryPolicy::default().max_delay(Duration::from_secs(1)))
        .build()
        .unwrap();
    let err = client.from("t").select("*").await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(retry_counts(&server).await.len(), 1);
}

#[tokio::test]
async fn the_budget_bounds_the_attempts() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(path("/rest/v1/t"))
        .respond_with(
            ResponseTemplate::new(502)
                .set_body_raw(b"<html>bad gateway</html>".to_vec(), "text/html"),
        )
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "k")
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = client.from("t").select("*").await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 502);
    assert!(
        err.may_have_been_applied(),
        "a gateway failure may hide an applied request"
    );
    assert_eq!(
        retry_counts(&server).await,
        vec![None, Some("1".into()), Some("2".into())]
    );
}

#[tokio::test]
async fn timeouts_of_idempotent_requests_are_retried_and_of_inserts_are_not() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(3)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"ok":true}])))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "k")
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let rows = client.from("t").select("*").await.unwrap();
    assert_eq!(rows.len(), 1);
    let err = client.from("t").insert(&json!({"a": 1})).await.unwrap_err();
    assert!(err.is_timeout() && err.may_have_been_applied());
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 1, "a timed-out insert is not repeated");
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_inserts_because_nothing_was_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder(format!("http://127.0.0.1:{port}"), "k")
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let err = client.from("t").insert(&json!({"a":1})).await.unwrap_err();
    assert!(err.is_connect());
    assert!(!err.may_have_been_applied());
}

/// A request's own retry policy replaces the client's: one retry here, three on the client.
#[tokio::test]
async fn a_request_policy_replaces_the_clients() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client
        .from("t")
        .select("*")
        .retry_policy(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(Duration::from_millis(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

// --- The retry schedule on a replaceable clock: realistic waits, none of them slept ----------

fn on_clock(
    server: &MockServer,
    clock: &supabase_rest::testing::ManualClock,
    policy: RetryPolicy,
) -> Client {
    Client::builder(server.uri(), "anon-key")
        .clock(clock.clone())
        .retry(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn retry_after_in_seconds_and_as_a_date_is_waited_for_exactly() {
    use supabase_rest::testing::ManualClock;
    let server = MockServer::start().await;
    let wall = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let clock = ManualClock::at(wall);
    // First 503 says 30 s; the second an HTTP date 45 s after the clock's time then (30 s on).
    let date = httpdate::fmt_http_date(wall + Duration::from_secs(30 + 45));
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "30"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", date.as_str()))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(3)
        .mount(&server)
        .await;
    let client = on_clock(
        &server,
        &clock,
        RetryPolicy::default().max_delay(Duration::from_secs(60)),
    );
    let started = std::time::Instant::now();
    client.from("t").select("*").await.unwrap();
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(30), Duration::from_secs(45)]
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the waits were not slept for real"
    );
}

#[tokio::test]
async fn backoff_is_full_jitter_under_the_exponential_cap() {
    use supabase_rest::testing::ManualClock;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let base = Duration::from_millis(500);
    let cap = Duration::from_secs(3);
    let mut all = Vec::new();
    for _ in 0..20 {
        let clock = ManualClock::new();
        let client = on_clock(
            &server,
            &clock,
            RetryPolicy::default()
                .max_retries(5)
                .base_delay(base)
                .max_delay(cap),
        );
        let err = client.from("t").select("*").await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
        let sleeps = clock.sleeps();
        assert_eq!(sleeps.len(), 5, "five retries, each after a wait");
        for (n, wait) in sleeps.iter().enumerate() {
            let ceiling = (base * (1 << n)).min(cap);
            assert!(
                *wait <= ceiling,
                "retry {} waited {wait:?} > {ceiling:?}",
                n + 1
            );
        }
        all.extend(sleeps);
    }
    // Full jitter: the waits spread over their range instead of all being the ceiling.
    let distinct: std::collections::HashSet<_> = all.iter().collect();
    assert!(
        distinct.len() > 50,
        "{} distinct waits of {}",
        distinct.len(),
        all.len()
    );
}

#[tokio::test]
async fn a_deadline_stops_retrying_when_the_next_wait_would_pass_it() {
    use supabase_rest::testing::ManualClock;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "20"))
        .mount(&server)
        .await;
    let clock = ManualClock::new();
    let client = Client::builder(server.uri(), "anon-key")
        .clock(clock.clone())
        .deadline(Duration::from_secs(50))
        .retry(
            RetryPolicy::default()
                .max_retries(5)
                .max_delay(Duration::from_secs(60)),
        )
        .build()
        .unwrap();
    client.from("t").select("*").await.unwrap_err();
    // 20 s, 20 s: a third wait would end at 60 s, past the 50 s deadline.
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(20), Duration::from_secs(20)]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
