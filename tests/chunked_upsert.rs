//! `upsert_chunked`: each chunk is exactly the single upsert of its rows, chunks run a bounded
//! number at a time, and a failure names the rows it left unwritten.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use supabase_rest::testing::{responses, MemoryTable};
use supabase_rest::{Client, Error, RetryPolicy};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use wiremock_helpers::{catch_all, setup};

/// Rows keyed by `id`; rows from `notes_from` on carry a `notes` key too, so that later chunks
/// have a wider `columns` than earlier ones.
fn rows(count: usize, notes_from: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            if i >= notes_from {
                json!({"id": i, "action": "saved", "notes": format!("n{i}")})
            } else {
                json!({"id": i, "action": "saved"})
            }
        })
        .collect()
}

fn bodies(received: &[Request]) -> Vec<Vec<Value>> {
    received
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn each_chunk_is_the_single_upsert_of_its_rows() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let rows = rows(2_500, 2_100);
    client
        .from("items")
        .upsert_chunked(&rows)
        .on_conflict("id")
        .header("x-batch", "b1")
        .chunk_size(1_000)
        .await
        .unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let expected_ranges = [0..1_000, 1_000..2_000, 2_000..2_500];
    assert_eq!(
        bodies(&received),
        expected_ranges
            .iter()
            .map(|r| rows[r.clone()].to_vec())
            .collect::<Vec<_>>()
    );
    for (got, range) in received.iter().zip(expected_ranges) {
        let want = client
            .from("items")
            .upsert(&rows[range])
            .on_conflict("id")
            .header("x-batch", "b1")
            .build()
            .unwrap();
        assert_eq!(got.method.as_str(), want.method().as_str());
        assert_eq!(got.url.path(), want.url().path());
        assert_eq!(got.url.query(), want.url().query());
        for (name, value) in want.headers() {
            assert_eq!(got.headers.get(name), Some(value), "header {name}");
        }
        assert_eq!(Some(got.body.as_slice()), want.body().unwrap().as_bytes());
    }
    // The last chunk's rows carry notes, so its columns do; the first chunk's do not.
    let columns = |r: &Request| {
        r.url
            .query_pairs()
            .find(|(k, _)| k == "columns")
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(columns(&received[0]).as_deref(), Some(r#""id","action""#));
    assert_eq!(
        columns(&received[2]).as_deref(),
        Some(r#""id","action","notes""#)
    );
}

#[tokio::test]
async fn duplicates_across_chunks_end_with_the_last_write_and_rows_return_in_order() {
    let (server, client) = setup().await;
    let table = MemoryTable::user_interactions();
    Mock::given(method("POST"))
        .respond_with(table.clone())
        .mount(&server)
        .await;
    let user = "0b6a3c2e-1f4d-4e5a-8b7c-9d0e1f2a3b4c";
    let actions = ["saved", "applied", "ignored"];
    // Three passes over ten grants, each pass with the next action.
    let rows: Vec<Value> = (0..30)
        .map(|i| {
            json!({
                "user_id": user,
                "grant_id": format!("00000000-0000-4000-8000-{:012}", i % 10),
                "action": actions[i / 10],
            })
        })
        .collect();
    let returned: Vec<Value> = client
        .from("user_interactions")
        .upsert_chunked(&rows)
        .on_conflict("user_id,grant_id")
        .chunk_size(7)
        .select("*")
        .await
        .unwrap();

    assert_eq!(table.request_count(), 5); // 7 + 7 + 7 + 7 + 2
    assert_eq!(returned.len(), 30);
    for (sent, got) in rows.iter().zip(&returned) {
        assert_eq!(sent["grant_id"], got["grant_id"]);
        assert_eq!(sent["action"], got["action"]);
    }
    let stored = table.rows();
    assert_eq!(stored.len(), 10, "one row per (user, grant)");
    assert!(
        stored.iter().all(|r| r["action"] == "ignored"),
        "{stored:?}"
    );
}

/// Answers 400 `23514` to the chunk holding the row whose `id` is `bad`, 201 to the others.
fn fail_chunk_holding(bad: usize) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync {
    move |req: &Request| {
        let rows: Vec<Value> = serde_json::from_slice(&req.body).unwrap();
        if rows.iter().any(|r| r["id"] == bad) {
            responses::error(
                400,
                "23514",
                "new row violates check constraint \"items_action_check\"",
                None,
                None,
            )
        } else {
            ResponseTemplate::new(201)
        }
    }
}

#[tokio::test]
async fn a_failed_chunk_names_its_rows_and_stops_the_rest() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(fail_chunk_holding(23))
        .mount(&server)
        .await;
    let rows = rows(50, usize::MAX);
    let err = client
        .from("items")
        .upsert_chunked(&rows)
        .on_conflict("id")
        .chunk_size(10)
        .await
        .unwrap_err();

    assert_eq!(err.failures().len(), 1);
    assert_eq!(err.failures()[0].rows(), 20..30);
    assert_eq!(err.failures()[0].error().code(), Some("23514"));
    assert_eq!(err.not_sent(), &[30..40, 40..50]);
    assert_eq!(err.unwritten(), vec![20..50]);
    assert_eq!(err.written(), 20);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let shown = err.to_string();
    assert_eq!(
        shown,
        "1 of 5 chunks failed, first at rows 20..30; 2 chunks not sent"
    );
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("items_action_check"), "{source}");
}

#[tokio::test]
async fn keep_going_attempts_every_chunk() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .respond_with(fail_chunk_holding(23))
        .mount(&server)
        .await;
    let rows = rows(50, usize::MAX);
    let err = client
        .from("items")
        .upsert_chunked(&rows)
        .on_conflict("id")
        .chunk_size(10)
        .concurrency(3)
        .keep_going(true)
        .await
        .unwrap_err();

    assert_eq!(err.unwritten(), vec![20..30]);
    assert!(err.not_sent().is_empty());
    assert_eq!(err.written(), 40);
    let mut sent_ids: Vec<u64> = bodies(&server.received_requests().await.unwrap())
        .into_iter()
        .flatten()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    sent_ids.sort_unstable();
    assert_eq!(
        sent_ids,
        (0..50).collect::<Vec<u64>>(),
        "every row sent once"
    );
}

/// A loopback server that holds each request for a while and records the most it ever held at
/// once.
async fn counting_server(hold: Duration) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (Arc::clone(&now), Arc::clone(&peak));
    let app = axum::Router::new().route(
        "/rest/v1/items",
        axum::routing::post(move || {
            let (n, p) = (Arc::clone(&n), Arc::clone(&p));
            async move {
                let at_once = n.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(at_once, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
                n.fetch_sub(1, Ordering::SeqCst);
                axum::http::StatusCode::CREATED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), now, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_requests_in_flight() {
    let rows = rows(120, usize::MAX);
    for concurrency in [1, 4] {
        let (url, now, peak) = counting_server(Duration::from_millis(150)).await;
        let client = Client::new(url, "anon-key").unwrap();
        client
            .from("items")
            .upsert_chunked(&rows)
            .on_conflict("id")
            .chunk_size(10)
            .concurrency(concurrency)
            .await
            .unwrap();
        assert_eq!(now.load(Ordering::SeqCst), 0);
        assert_eq!(
            peak.load(Ordering::SeqCst),
            concurrency,
            "12 chunks, {concurrency} at a time"
        );
    }
}

#[tokio::test]
async fn a_chunk_answered_503_is_retried_because_it_is_an_idempotent_upsert() {
    let server = MockServer::start().await;
    let client = Client::builder(server.uri(), "anon-key")
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    Mock::given(method("POST"))
        .and(body_string_contains(r#""id":15"#))
        .respond_with(responses::service_unavailable(None))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let rows = rows(30, usize::MAX);
    client
        .from("items")
        .upsert_chunked(&rows)
        .on_conflict("id")
        .chunk_size(10)
        .await
        .unwrap();

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 4, "three chunks, one of them twice");
    let retried: Vec<&Request> = received
        .iter()
        .filter(|r| r.headers.contains_key("x-retry-count"))
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(bodies(&received[1..3]), vec![rows[10..20].to_vec(); 2]);
}

#[tokio::test]
async fn bad_settings_and_names_fail_before_anything_is_sent() {
    let (server, client) = setup().await;
    catch_all(&server).await;
    let rows = rows(5, usize::MAX);
    let calls = [
        client.from("items").upsert_chunked(&rows).chunk_size(0),
        client.from("items").upsert_chunked(&rows).concurrency(0),
        client.from("").upsert_chunked(&rows),
        client
            .from("items")
            .upsert_chunked(&rows)
            .header("x-bad", "a\r\nb"),
    ];
    for call in calls {
        let err = call.await.unwrap_err();
        assert_eq!(err.unwritten(), vec![0..5]);
        assert_eq!(err.written(), 0);
        assert!(
            matches!(err.failures()[0].error(), Error::InvalidRequest(_)),
            "{err:?}"
        );
    }
    // Nothing to write: nothing sent, and no error.
    client
        .from("items")
        .upsert_chunked::<Value>(&[])
        .on_conflict("id")
        .await
        .unwrap();
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn errors_and_builders_never_show_the_key_or_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(fail_chunk_holding(0))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "sb_secret_api_key_123")
        .access_token("eyJ.secret-user-token.sig")
        .build()
        .unwrap();
    let rows = rows(3, usize::MAX);
    let call = client.from("items").upsert_chunked(&rows).on_conflict("id");
    let shown_call = format!("{call:?}");
    let err = call.await.unwrap_err();
    for shown in [shown_call, format!("{err}"), format!("{err:?}")] {
        assert!(!shown.contains("sb_secret_api_key_123"), "{shown}");
        assert!(!shown.contains("secret-user-token"), "{shown}");
    }
}
