//! Secrets never appear in `Debug`, `Display` or any tracing event, on the success, failure,
//! retry and timeout paths (captured at TRACE level); each request gets one span carrying
//! method, target, attempt, status, duration and PostgREST code; a server's `Warning` is logged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use std::time::Duration;

use serde_json::json;
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::{Client, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sentinel-KEY-3f9a1c";
const JWT: &str = "sentinel-JWT-77b0e2";

#[tokio::test]
async fn no_secret_in_any_event_or_debug_output_on_every_path() {
    let server = MockServer::start().await;
    Mock::given(path("/rest/v1/ok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"a": 1}])))
        .mount(&server)
        .await;
    Mock::given(path("/rest/v1/denied"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": "PGRST301", "message": "JWSError JWSInvalidSignature", "details": null, "hint": null})))
        .mount(&server)
        .await;
    Mock::given(path("/rest/v1/flaky"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/rest/v1/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(path("/rest/v1/slow"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/v1/user_interactions"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "code": "42501", "message": "new row violates row-level security policy for table \"user_interactions\"",
            "details": null, "hint": null})))
        .mount(&server)
        .await;

    Mock::given(path("/rest/v1/warned"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .insert_header("warning", r#"299 PostgREST/13 "an alias is ignored""#),
        )
        .mount(&server)
        .await;

    let (captured, _guard) = wiremock_helpers::Captured::start();

    let client = Client::builder(server.uri(), KEY)
        .access_token(JWT)
        .retry(
            RetryPolicy::default()
                .base_delay(Duration::from_millis(1))
                .max_retries(1),
        )
        .build()
        .unwrap();
    let user = client.with_access_token(JWT);
    let mut debug_texts = vec![format!("{client:?}"), format!("{user:?}")];

    // success
    user.from("ok").select("*").await.unwrap();
    // failure with a PostgREST error
    let err = user.from("denied").select("*").await.unwrap_err();
    debug_texts.push(format!("{err:?}"));
    debug_texts.push(err.to_string());
    // retry then success
    user.from("flaky").select("*").await.unwrap();
    // a success that PostgREST warned about
    user.from("warned").select("*").await.unwrap();
    // timeout (and its retry)
    let err = user
        .from("slow")
        .select("*")
        .timeout(Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    debug_texts.push(format!("{err:?}"));
    debug_texts.push(err.to_string());
    // the service's error log
    let users = UsersService::new(user.clone());
    debug_texts.push(format!("{users:?}"));
    let err = users
        .record_user_interaction(
            uuid::Uuid::new_v4(),
            NewInteraction::new(uuid::Uuid::new_v4(), InteractionAction::Saved),
        )
        .await
        .unwrap_err();
    debug_texts.push(format!("{err:?}"));
    debug_texts.push(format!("{:?}", user.from("ok").select("*").eq("a", 1)));
    debug_texts.push(format!(
        "{:?}",
        user.from("ok").select("*").build().unwrap()
    ));
    debug_texts.push(format!(
        "{:?}",
        Client::builder(server.uri(), KEY).access_token(JWT)
    ));

    let logs = captured.text();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "events were captured:\n{logs}"
    );
    for text in debug_texts.iter().chain(std::iter::once(&logs)) {
        assert!(!text.contains(KEY), "api key leaked: {text}");
        assert!(!text.contains(JWT), "token leaked: {text}");
    }

    // One span per request, with its fields.
    let closes: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("supabase_rest.request") && l.contains("close"))
        .collect();
    assert_eq!(
        closes.len(),
        6,
        "one span per call, retries inside it:\n{logs}"
    );
    let flaky = closes.iter().find(|l| l.contains("target=flaky")).unwrap();
    assert!(
        flaky.contains("method=GET")
            && flaky.contains("attempt=1")
            && flaky.contains("status=200")
            && flaky.contains("duration_ms="),
        "{flaky}"
    );
    let denied = closes.iter().find(|l| l.contains("target=denied")).unwrap();
    assert!(
        denied.contains("status=401") && denied.contains("code=\"PGRST301\""),
        "{denied}"
    );
    // A server's warning is logged at WARN, as sent.
    assert!(
        logs.lines().any(|l| l.contains(" WARN ")
            && l.contains("the server warned about this request")
            && l.contains(r#"warning=299 PostgREST/13 "an alias is ignored""#)),
        "{logs}"
    );
    // Bodies are never logged.
    assert!(!logs.contains("JWSInvalidSignature\"") || !logs.contains("INFO"));
    assert!(!logs
        .lines()
        .any(|l| (l.contains(" INFO ") || l.contains(" WARN ")) && l.contains("{\"a\":1}")));
}
