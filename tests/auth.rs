//! Keys, tokens, schemas and default headers on the wire; secrets nowhere else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde_json::json;
use supabase_rest::{Client, Error};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};
use wiremock_helpers::header;

const KEY: &str = "sentinel-api-key-7f3a";
const JWT: &str = "sentinel-user-jwt-91cc";

#[tokio::test]
async fn api_key_is_the_bearer_until_a_user_token_is_given() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(header("apikey", KEY))
        .and(header("authorization", format!("Bearer {KEY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"who":"anon"}])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("apikey", KEY))
        .and(header("authorization", format!("Bearer {JWT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"who":"user"}])))
        .mount(&server)
        .await;
    let anon = Client::new(server.uri(), KEY).unwrap();
    let user = anon.with_access_token(JWT);
    let built = Client::builder(server.uri(), KEY)
        .access_token(JWT)
        .build()
        .unwrap();
    assert_eq!(anon.from("t").select("*").await.unwrap()[0]["who"], "anon");
    assert_eq!(user.from("t").select("*").await.unwrap()[0]["who"], "user");
    assert_eq!(built.from("t").select("*").await.unwrap()[0]["who"], "user");
    // The anon client is unchanged by with_access_token.
    assert_eq!(anon.from("t").select("*").await.unwrap()[0]["who"], "anon");
}

#[tokio::test]
async fn schema_goes_in_accept_profile_on_reads_and_content_profile_on_writes() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(header("accept-profile", "grants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("content-profile", "grants"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let grants = client.schema("grants");
    grants.from("t").select("*").await.unwrap();
    grants.from("t").insert(&json!({"a": 1})).await.unwrap();
    let req = client.from("t").select("*").build().unwrap();
    assert_eq!(req.headers()["accept-profile"], "public");
    let bare = Client::builder(server.uri(), KEY)
        .no_schema()
        .build()
        .unwrap();
    let req = bare.from("t").select("*").build().unwrap();
    assert!(req.headers().get("accept-profile").is_none());
}

#[tokio::test]
async fn default_and_per_request_headers() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(header("x-app-name", "grants-web"))
        .and(header("x-request-id", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), KEY)
        .header("x-app-name", "grants-web")
        .build()
        .unwrap();
    client
        .from("t")
        .select("*")
        .header("x-request-id", "abc")
        .await
        .unwrap();
}

#[tokio::test]
async fn bare_postgrest_url_gets_no_rest_v1() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path("/grants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), "")
        .bare_postgrest()
        .build()
        .unwrap();
    client.from("grants").select("*").await.unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert!(
        req.headers.get("apikey").is_none(),
        "an empty key is not sent"
    );
    assert!(req.headers.get("authorization").is_none());
}

#[tokio::test]
async fn crlf_in_token_schema_or_header_is_an_invalid_request_and_nothing_is_sent() {
    let (server, client) = wiremock_helpers::setup().await;
    let bad_token = client.with_access_token("abc\r\nX-Injected: 1");
    let err = bad_token.from("t").select("*").await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    assert!(!err.to_string().contains("Injected"));
    let err = client
        .schema("pub\nlic")
        .from("t")
        .select("*")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    let err = client
        .from("t")
        .select("*")
        .header("x-a", "1\r\n2")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    let err = client
        .from("t")
        .select("*")
        .header("bad name", "1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    let err = client
        .from("t")
        .select("*")
        .header("x-nul", "a\0b")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn secrets_never_appear_in_debug_or_errors() {
    let (server, _) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code":"PGRST301","message":"JWSError JWSInvalidSignature","details":null,"hint":null})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri(), KEY)
        .access_token(JWT)
        .build()
        .unwrap();
    let user = client.with_access_token(JWT);
    let builder = user.from("t").select("*").eq("a", 1);
    let built = user.from("t").select("*").build().unwrap();
    let err = user.from("t").select("*").await.unwrap_err();
    let texts = [
        format!("{client:?}"),
        format!("{user:?}"),
        format!("{builder:?}"),
        format!("{built:?}"),
        format!("{err:?}"),
        err.to_string(),
        format!("{:?}", Client::builder(server.uri(), KEY).access_token(JWT)),
    ];
    for text in texts {
        assert!(
            !text.contains(KEY) && !text.contains(JWT),
            "secret leaked in: {text}"
        );
    }
    assert!(built.headers()["authorization"].is_sensitive());
    assert!(built.headers()["apikey"].is_sensitive());
}
