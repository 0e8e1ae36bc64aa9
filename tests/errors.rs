//! How answers that are not successes (or not what was asked for) come back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use std::time::Duration;

use serde_json::json;
use supabase_rest::{Client, Error};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answering(template: ResponseTemplate) -> (MockServer, Client) {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(template.clone())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(template)
        .mount(&server)
        .await;
    (server, client)
}

#[tokio::test]
async fn postgrest_json_error_keeps_every_field() {
    let (_s, client) = answering(ResponseTemplate::new(409).set_body_json(json!({
        "code": "23505",
        "message": "duplicate key value violates unique constraint \"user_interactions_user_id_grant_id_key\"",
        "details": "Key (user_id, grant_id)=(u1, g1) already exists.",
        "hint": "try an upsert"
    })))
    .await;
    let err = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1","grant_id":"g1"}))
        .await
        .unwrap_err();
    assert!(err.is_unique_violation());
    let pg = err.as_postgrest().unwrap();
    assert_eq!(pg.status.as_u16(), 409);
    assert_eq!(pg.code, "23505");
    assert!(pg
        .message
        .contains("user_interactions_user_id_grant_id_key"));
    assert_eq!(
        pg.details_str().unwrap(),
        "Key (user_id, grant_id)=(u1, g1) already exists."
    );
    assert_eq!(pg.hint.as_deref(), Some("try an upsert"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rls_violation_is_typed() {
    let (_s, client) = answering(ResponseTemplate::new(403).set_body_json(json!({
        "code": "42501",
        "message": "new row violates row-level security policy for table \"user_interactions\"",
        "details": null, "hint": null
    })))
    .await;
    let err = client
        .from("user_interactions")
        .upsert(&json!({"user_id":"someone-else"}))
        .on_conflict("user_id,grant_id")
        .await
        .unwrap_err();
    assert!(err.is_rls_violation());
    assert_eq!(err.status().unwrap().as_u16(), 403);
}

#[tokio::test]
async fn html_502_from_a_proxy_keeps_status_and_a_bounded_snippet() {
    let html = format!(
        "<html><body><h1>502 Bad Gateway</h1>{}</body></html>",
        "x".repeat(10_000)
    );
    let (_s, client) =
        answering(ResponseTemplate::new(502).set_body_raw(html.into_bytes(), "text/html")).await;
    let err = client
        .from("user_interactions")
        .select("*")
        .await
        .unwrap_err();
    match &err {
        Error::Http { status, body, .. } => {
            assert_eq!(status.as_u16(), 502);
            assert!(body.contains("502 Bad Gateway"));
            assert!(body.len() <= 512);
        }
        other => panic!("expected Http, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(
        err.to_string(),
        "http status 502 Bad Gateway without a PostgREST error body"
    );
}

#[tokio::test]
async fn empty_error_bodies_keep_the_status() {
    for status in [404u16, 500] {
        let (_s, client) = answering(ResponseTemplate::new(status)).await;
        let err = client.from("missing_table").select("*").await.unwrap_err();
        assert!(matches!(err, Error::Http { .. }), "{err:?}");
        assert_eq!(err.status().unwrap().as_u16(), status);
    }
}

#[tokio::test]
async fn a_2xx_that_is_not_json_is_a_decode_error_with_status_and_snippet() {
    let (_s, client) = answering(
        ResponseTemplate::new(200).set_body_raw(b"<html>maintenance</html>".to_vec(), "text/html"),
    )
    .await;
    let err = client
        .from("user_interactions")
        .select("*")
        .await
        .unwrap_err();
    match &err {
        Error::Decode(d) => {
            assert_eq!(d.status.as_u16(), 200);
            assert_eq!(d.snippet, "<html>maintenance</html>");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn empty_body_where_rows_were_asked_for_is_a_decode_error() {
    let (_s, client) = answering(ResponseTemplate::new(201)).await;
    let err = client
        .from("user_interactions")
        .insert(&json!({"user_id":"u1"}))
        .select("*")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn wrong_json_shape_is_a_decode_error() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Row {
        id: i64,
    }
    let (_s, client) =
        answering(ResponseTemplate::new(200).set_body_json(json!({"not": "rows"}))).await;
    let err = client
        .from("t")
        .select("*")
        .returns::<Row>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(
        err.source_text().contains("invalid type"),
        "{}",
        err.source_text()
    );
}

trait SourceText {
    fn source_text(&self) -> String;
}

impl SourceText for Error {
    fn source_text(&self) -> String {
        std::error::Error::source(self)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(vec!["x".repeat(100); 100]))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "k")
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = client.from("t").select("*").await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(err
        .source_text()
        .contains("exceeds the limit of 1024 bytes"));
}

#[tokio::test]
async fn timeouts_are_their_own_kind_and_per_request_overrides_client_default() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "k")
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = client.from("t").select("*").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_retryable());
    // Says what timed out and where (the text changed when transport errors gained it).
    let host = server.uri().trim_start_matches("http://").to_owned();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("GET /rest/v1/t on {host} timed out")),
        "{text}"
    );

    let relaxed = Client::new(server.uri(), "k").unwrap();
    let err = relaxed
        .from("t")
        .select("*")
        .timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::new(format!("http://127.0.0.1:{port}"), "k").unwrap();
    let err = client.from("t").insert(&json!({"a":1})).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(matches!(err, Error::Transport(_)));
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn empty_table_name_is_rejected_before_sending() {
    let (server, client) = wiremock_helpers::setup().await;
    for name in ["", ".", ".."] {
        let err = client.from(name).select("*").await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{name:?}");
    }
    let err = client.rpc("..", &()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    // Dots, quotes and spaces inside a name are fine: percent-encoded into one segment.
    let req = client.from("a.b \"c\"").select("*").build().unwrap();
    assert_eq!(req.url().path(), "/rest/v1/a.b%20%22c%22");
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// A server whose accept queue is full drops new connection attempts, so connecting hangs
/// until the connect timeout: both transports report a timeout while connecting (nothing was
/// sent, so it is safe to retry and cannot have been applied).
#[tokio::test]
async fn a_connect_timeout_is_a_timeout_before_anything_was_sent_on_both_transports() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(1).unwrap();
    // Fill the accept queue (never accepted) until a connection attempt gets no answer.
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..256 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            Ok(Err(e)) => panic!("connecting to the listener failed: {e}"),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the accept queue did not fill up");
    for transport in [
        supabase_rest::Transport::Hyper,
        supabase_rest::Transport::Reqwest,
    ] {
        let client = Client::builder(format!("http://{addr}"), "anon-key")
            .transport(transport)
            .connect_timeout(Duration::from_millis(200))
            .retry(supabase_rest::RetryPolicy::none())
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let err = client.from("t").select("*").await.unwrap_err();
        assert!(err.is_timeout(), "{transport:?}: {err:?}");
        assert!(err.is_connect(), "{transport:?}: {err:?}");
        assert!(err.is_retryable(), "{transport:?}: {err:?}");
        assert!(!err.may_have_been_applied(), "{transport:?}: {err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{transport:?}: the connect timeout bounds the wait"
        );
    }
    drop((listener, fillers));
}
