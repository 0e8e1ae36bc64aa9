//! Servers that misbehave on purpose: redirects to another host, answers that never come or
//! trickle in, hostile `Retry-After` values, huge error bodies. Each is a typed error; no secret
//! reaches another host and nothing panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use serde_json::json;
use supabase_rest::{Client, Error, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sentinel-api-key";

/// A 302 to another host is not followed: the other host sees no request (so neither the
/// `apikey` nor the token nor a `Referer`), and the error names where the server pointed.
#[tokio::test]
async fn a_redirect_is_a_typed_error_and_the_other_host_gets_nothing() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let location = format!("{}/steal?from=api", elsewhere.uri());
    Mock::given(method("GET"))
        .and(path("/rest/v1/grants"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", location.as_str()))
        .expect(1)
        .mount(&api)
        .await;
    let client = Client::builder(api.uri(), KEY)
        .access_token("sentinel-user-jwt")
        .build()
        .unwrap();
    let err = client.from("grants").select("*").await.unwrap_err();
    let Error::Redirect(redirect) = &err else {
        panic!("expected a redirect error, got {err:?}");
    };
    assert_eq!(redirect.status().as_u16(), 302);
    assert!(!redirect.followed());
    let expected = format!("{}/steal", elsewhere.uri());
    assert_eq!(redirect.location(), Some(expected.as_str()));
    let text = err.to_string();
    assert!(text.contains("302") && text.contains("/steal"), "{text}");
    assert!(
        !text.contains("from=api"),
        "the location's query is not kept: {text}"
    );
    assert!(!format!("{err:?}").contains("sentinel"));
    assert!(!err.is_retryable());
    // A redirect is never retried, even for a read.
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
}

/// A 307 on a write (which a following client would repeat with the body) is not followed
/// either.
#[tokio::test]
async fn a_redirected_write_is_not_repeated_elsewhere() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "location",
            format!("{}/rest/v1/t", elsewhere.uri()).as_str(),
        ))
        .expect(1)
        .mount(&api)
        .await;
    let client = Client::new(api.uri(), KEY).unwrap();
    let err = client
        .from("t")
        .upsert(&json!({"id": 1}))
        .on_conflict("id")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Redirect(_)), "{err:?}");
    assert!(err.may_have_been_applied());
}

/// A caller-supplied reqwest client that follows redirects: the crate cannot stop it, but still
/// reports the redirect instead of handing back the other host's answer as the table's rows.
#[tokio::test]
async fn a_redirect_followed_by_a_callers_client_is_still_reported() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "not yours"}])))
        .mount(&elsewhere)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(301).insert_header("location", format!("{}/x", elsewhere.uri())),
        )
        .mount(&api)
        .await;
    let client = Client::builder(api.uri(), KEY)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = client.from("grants").select("*").await.unwrap_err();
    let Error::Redirect(redirect) = &err else {
        panic!("expected a redirect error, got {err:?}");
    };
    assert!(redirect.followed());
    let expected = format!("{}/x", elsewhere.uri());
    assert_eq!(redirect.location(), Some(expected.as_str()));
}

/// A server that accepts connections and never answers.
async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (format!("http://{addr}"), task)
}

/// With no per-request timeout set, the client's read timeout ends a call to a server that
/// never answers (before this, the call stayed pending forever).
#[tokio::test]
async fn a_server_that_never_answers_times_out_by_default_settings() {
    let (url, _server) = silent_server().await;
    let client = Client::builder(url, KEY)
        .read_timeout(Duration::from_millis(300))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let call = client.from("t").select("*");
    let outcome = tokio::time::timeout(Duration::from_secs(20), call.into_future()).await;
    let err = outcome
        .expect("the read timeout ends the call")
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

/// A server that answers one byte of body every 100 ms, forever.
async fn trickling_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n[";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if socket.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Each attempt gets the whole timeout, so a retried read against a trickling server takes
/// (retries + 1) timeouts; a deadline bounds the whole call instead.
#[tokio::test]
async fn a_deadline_bounds_the_call_across_retries() {
    let url = trickling_server().await;
    let policy = RetryPolicy::default()
        .max_retries(3)
        .base_delay(Duration::from_millis(10));
    let timeout = Duration::from_millis(1_000);
    let bounded = Client::builder(&url, KEY)
        .timeout(timeout)
        .deadline(Duration::from_millis(1_500))
        .retry(policy.clone())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = bounded.from("t").select("*").await.unwrap_err();
    let with_deadline = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");

    let unbounded = Client::builder(&url, KEY)
        .timeout(timeout)
        .retry(policy)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = unbounded.from("t").select("*").await.unwrap_err();
    let without = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    // Four attempts of one timeout each, against one deadline of one and a half.
    assert!(without >= timeout * 4, "{without:?}");
    assert!(with_deadline < timeout * 3, "{with_deadline:?}");
}

/// A 400 to an insert (never retried) with a `Retry-After` date whose year has 20 digits used
/// to panic in the date arithmetic, in builds with overflow checks (tests have them).
#[tokio::test]
async fn a_hostile_retry_after_is_ignored() {
    let (server, client) = wiremock_helpers::setup().await;
    for (status, value) in [
        (400, "Sun, 06 Nov 99999999999999999999 08:49:37 GMT"),
        (503, "Sun, 06 Nov 99999999999999999999 08:49:37 GMT"),
        (503, "99999999999999999999999"),
    ] {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).insert_header("retry-after", value))
            .mount(&server)
            .await;
        let err = client.from("t").insert(&json!({"a": 1})).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let err = client
            .from("t")
            .upsert(&json!({"a": 1}))
            .on_conflict("a")
            .retry(false)
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
    }
}

/// An error body is read only as far as an error needs: a 400 with 8 MiB keeps its status and
/// a bounded snippet.
#[tokio::test]
async fn a_huge_error_body_is_cut() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_string("x".repeat(8 << 20)))
        .mount(&server)
        .await;
    let err = client.from("t").select("*").await.unwrap_err();
    match err {
        Error::Http { status, body, .. } => {
            assert_eq!(status.as_u16(), 400);
            assert!(
                body.len() <= 512 && body.starts_with("xxx"),
                "{}",
                body.len()
            );
        }
        other => panic!("expected an http error, got {other:?}"),
    }
}

/// A transport error's text says what failed and where, and never carries the query's values.
#[tokio::test]
async fn transport_errors_say_what_failed_and_where() {
    let call = |url: String| async move {
        plain_client(url)
            .from("t")
            .select("*")
            .eq("owner", "row-data-sentinel")
            .await
            .unwrap_err()
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let text = call(format!("http://127.0.0.1:{port}")).await.to_string();
    assert!(
        text.starts_with(&format!("connecting to 127.0.0.1:{port} failed: ")),
        "{text}"
    );
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains("sentinel") && !text.contains(KEY), "{text}");

    // A server that sends part of the body, then closes.
    let url = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[{\"a\":",
        false,
    )
    .await;
    let addr = url.trim_start_matches("http://").to_owned();
    let err = call(url).await;
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("GET /rest/v1/t on {addr}: the answer was cut off")),
        "{text}"
    );
    assert!(!text.contains("sentinel"), "{text}");
    assert!(err.may_have_been_applied());
}

/// A server that answers every connection with `answer`, then (when `endless`) a body that
/// never ends, one 16 KiB chunk after another.
async fn raw_server(answer: &'static [u8], endless: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                if socket.write_all(answer).await.is_err() {
                    return;
                }
                let chunk = [b' '; 16 * 1024];
                while endless && socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    format!("http://{addr}")
}

fn plain_client(url: String) -> Client {
    Client::builder(url, KEY)
        .retry(RetryPolicy::none())
        .max_response_bytes(256 * 1024)
        .build()
        .unwrap()
}

/// An endless body, or one over the size cap, ends in a decode error naming the limit, with a
/// bounded snippet; memory stays bounded because reading stops at the cap.
#[tokio::test]
async fn an_endless_body_stops_at_the_cap() {
    let url = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[",
        true,
    )
    .await;
    let err = plain_client(url).from("t").select("*").await.unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}");
    };
    assert!(
        decode
            .to_string()
            .contains("exceeds the limit of 262144 bytes"),
        "{decode}"
    );
    assert!(decode.snippet.len() <= 512);
}

/// A `Content-Length` longer than the body that comes: the cut-off answer is a transport error
/// (which may have been applied), not rows.
#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_transport_error() {
    let url = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 50\r\nconnection: close\r\n\r\n[{\"a\":1}]",
        false,
    )
    .await;
    let err = plain_client(url).from("t").select("*").await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.may_have_been_applied());
}

/// Invalid UTF-8 in a header the client reads (`Content-Range`, for a count) is a typed error,
/// not a panic or a made-up count.
#[tokio::test]
async fn invalid_utf8_in_a_header_is_a_typed_error() {
    let url = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-range: 0-0/\xff\xfe\r\ncontent-length: 2\r\n\r\n[]",
        false,
    )
    .await;
    let outcome = plain_client(url)
        .from("t")
        .select("*")
        .count(supabase_rest::Count::Exact)
        .await;
    match outcome {
        Err(Error::Decode(d)) => assert!(d.to_string().contains("Content-Range"), "{d}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// A 200 with an HTML page where JSON rows were expected keeps its status and the page's start.
#[tokio::test]
async fn html_where_json_was_expected_is_a_decode_error() {
    let url = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 29\r\n\r\n<html><h1>Welcome</h1></html>",
        false,
    )
    .await;
    let err = plain_client(url).from("t").select("*").await.unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("expected a decode error, got {err:?}");
    };
    assert_eq!(decode.status.as_u16(), 200);
    assert!(decode.snippet.starts_with("<html>"), "{}", decode.snippet);
}
