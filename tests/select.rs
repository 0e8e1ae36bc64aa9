//! Select over HTTP: filters, modifiers, cardinality and counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_helpers;

use serde::Deserialize;
use serde_json::json;
use supabase_rest::{Count, Is, Order};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};
use wiremock_helpers::header;

#[derive(Debug, Deserialize, PartialEq)]
struct Grant {
    id: i64,
    title: String,
}

#[tokio::test]
async fn select_with_filters_and_modifiers_decodes_typed_rows() {
    let (server, client) = wiremock_helpers::setup().await;
    wiremock_helpers::catch_all(&server).await;
    Mock::given(method("GET"))
        .and(path("/rest/v1/grants"))
        .and(query_param("select", "id,title"))
        .and(query_param("status", "eq.open"))
        .and(query_param("amount", "gte.1000"))
        .and(query_param("funder", "is.null"))
        .and(query_param("action", "in.(saved,applied)"))
        .and(query_param("order", "deadline.desc.nullslast,id.asc"))
        .and(query_param("offset", "20"))
        .and(query_param("limit", "10"))
        .and(header("accept-profile", "public"))
        .and(header("apikey", wiremock_helpers::API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id":1,"title":"Arts"}])))
        .expect(1)
        .mount(&server)
        .await;
    let rows = client
        .from("grants")
        .select("id, title")
        .eq("status", "open")
        .gte("amount", 1000)
        .is("funder", Is::Null)
        .in_("action", ["saved", "applied"])
        .order("deadline", Order::desc().nulls_last())
        .order("id", Order::asc())
        .range(20, 29)
        .returns::<Grant>()
        .await
        .unwrap();
    assert_eq!(
        rows,
        vec![Grant {
            id: 1,
            title: "Arts".into()
        }]
    );
    let req = &server.received_requests().await.unwrap()[0];
    assert!(
        req.headers.get("content-type").is_none(),
        "GET sends no content-type"
    );
    assert!(req.headers.get("prefer").is_none());
}

#[tokio::test]
async fn single_decodes_one_object_and_406_tells_no_rows_from_many() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(query_param("id", "eq.1"))
        .and(header("accept", "application/vnd.pgrst.object+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id":1,"title":"Arts"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("id", "eq.2"))
        .respond_with(ResponseTemplate::new(406).set_body_json(json!({
            "code":"PGRST116","message":"Cannot coerce the result to a single JSON object",
            "details":"The result contains 0 rows","hint":null})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("id", "eq.3"))
        .respond_with(ResponseTemplate::new(406).set_body_json(json!({
            "code":"PGRST116","message":"Cannot coerce the result to a single JSON object",
            "details":"The result contains 2 rows","hint":null})))
        .mount(&server)
        .await;

    let one: Grant = client
        .from("grants")
        .select("*")
        .eq("id", 1)
        .returns()
        .single()
        .await
        .unwrap();
    assert_eq!(
        one,
        Grant {
            id: 1,
            title: "Arts".into()
        }
    );
    let none = client
        .from("grants")
        .select("*")
        .eq("id", 2)
        .single()
        .await
        .unwrap_err();
    assert!(none.is_no_rows() && !none.is_too_many_rows() && none.is_not_found());
    assert_eq!(none.status().map(|s| s.as_u16()), Some(406));
    let many = client
        .from("grants")
        .select("*")
        .eq("id", 3)
        .single()
        .await
        .unwrap_err();
    assert!(many.is_too_many_rows() && !many.is_no_rows());
}

#[tokio::test]
async fn maybe_single_gives_none_some_or_too_many() {
    let (server, client) = wiremock_helpers::setup().await;
    for (id, body) in [
        (1, json!([])),
        (2, json!([{"id":2,"title":"x"}])),
        (3, json!([{"id":3,"title":"a"},{"id":4,"title":"b"}])),
    ] {
        Mock::given(method("GET"))
            .and(query_param("id", format!("eq.{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let q = |id: i64| {
        client
            .from("grants")
            .select("*")
            .eq("id", id)
            .returns::<Grant>()
            .maybe_single()
    };
    assert_eq!(q(1).await.unwrap(), None);
    assert_eq!(
        q(2).await.unwrap(),
        Some(Grant {
            id: 2,
            title: "x".into()
        })
    );
    assert!(q(3).await.unwrap_err().is_too_many_rows());
}

#[tokio::test]
async fn count_is_parsed_from_content_range() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(header("prefer", "count=exact"))
        .respond_with(
            ResponseTemplate::new(206)
                .insert_header("content-range", "0-1/312")
                .set_body_json(json!([{"id":1,"title":"a"},{"id":2,"title":"b"}])),
        )
        .mount(&server)
        .await;
    let page = client
        .from("grants")
        .select("id,title")
        .range(0, 1)
        .count(Count::Exact)
        .returns::<Grant>()
        .await
        .unwrap();
    assert_eq!(page.count, Some(312));
    assert_eq!(page.data.len(), 2);
}

#[tokio::test]
async fn garbage_content_range_is_an_error_not_a_wrong_count() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-range", "lots")
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    let err = client
        .from("grants")
        .select("*")
        .count(Count::Exact)
        .await
        .unwrap_err();
    assert!(matches!(err, supabase_rest::Error::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn table_names_are_percent_encoded_into_the_path() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    client.from("my table/ü").select("*").await.unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.path(), "/rest/v1/my%20table%2F%C3%BC");
}

/// PostgREST's `Warning` headers reach the caller (`with_status()`), each as sent.
#[tokio::test]
async fn warnings_are_surfaced_with_the_status() {
    let (server, client) = wiremock_helpers::setup().await;
    let warning = r#"299 PostgREST/13 "the table name is used instead of the alias""#;
    Mock::given(method("GET"))
        .and(path("/rest/v1/grants"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("warning", warning)
                .set_body_json(json!([{"id": 1}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let answer = client
        .from("grants")
        .select("id, funders(name)")
        .with_status()
        .await
        .unwrap();
    assert_eq!(answer.warnings, vec![warning.to_owned()]);
    assert_eq!(answer.data.len(), 1);
}

/// An offset past the last row: 416 with `Content-Range: */N`; the error keeps `N`.
#[tokio::test]
async fn range_not_satisfiable_keeps_the_total() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("GET"))
        .and(path("/rest/v1/grants"))
        .respond_with(
            ResponseTemplate::new(416)
                .insert_header("content-range", "*/12")
                .set_body_json(json!({
                    "code": "PGRST103",
                    "message": "Requested range not satisfiable",
                    "details": "An offset of 100 was requested, but there are only 12 rows.",
                    "hint": null
                })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .from("grants")
        .select("*")
        .range(100, 109)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(416));
    assert_eq!(err.code(), Some("PGRST103"));
    assert_eq!(err.as_postgrest().and_then(|e| e.range_total()), Some(12));
}

/// `OPTIONS` says what a view or function allows.
#[tokio::test]
async fn options_lists_the_allowed_methods() {
    let (server, client) = wiremock_helpers::setup().await;
    Mock::given(method("OPTIONS"))
        .and(path("/rest/v1/grants_view"))
        .respond_with(ResponseTemplate::new(200).insert_header("allow", "OPTIONS,GET,HEAD"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("OPTIONS"))
        .and(path("/rest/v1/rpc/search_grants"))
        .respond_with(ResponseTemplate::new(200).insert_header("allow", "OPTIONS, POST, GET"))
        .expect(1)
        .mount(&server)
        .await;
    let allowed = client.from("grants_view").options().await.unwrap();
    assert_eq!(
        allowed,
        [
            reqwest::Method::OPTIONS,
            reqwest::Method::GET,
            reqwest::Method::HEAD
        ]
    );
    assert!(
        !allowed.contains(&reqwest::Method::PATCH),
        "a read-only view"
    );
    let allowed = client.rpc_options("search_grants").await.unwrap();
    assert!(allowed.contains(&reqwest::Method::GET));
}
