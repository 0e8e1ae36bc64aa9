//! Hostile input, as a property suite: arbitrary bytes through every response decoder and
//! arbitrary strings through every builder. Nothing may panic; every failure is a typed error
//! whose snippet stays bounded.
//!
//! CI runs the short form (`PROPTEST_CASES` unset: 10,000 cases per property). The full run is
//! `PROPTEST_CASES=100000 cargo test --release --lib hostile`.

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_RANGE};
use reqwest::StatusCode;

use crate::error::{from_status, Error, SNIPPET_LIMIT};
use crate::grants::UserInteraction;
use crate::response::{Counted, Head, Json, MaybeOne, One, RawResponse, Rows, Shape, Text};
use crate::{Client, Cond, Count, Is, Order, TextSearch};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn client() -> Client {
    static CLIENT: std::sync::LazyLock<Client> = std::sync::LazyLock::new(|| {
        Client::new("http://localhost:54321", "anon-key").unwrap_or_else(|e| panic!("{e}"))
    });
    CLIENT.clone()
}

fn raw(status: u16, range: Option<&str>, body: &[u8]) -> RawResponse {
    let mut headers = HeaderMap::new();
    if let Some(r) = range.and_then(|r| HeaderValue::from_str(r).ok()) {
        headers.insert(CONTENT_RANGE, r);
    }
    RawResponse {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        body: bytes::Bytes::copy_from_slice(body),
    }
}

fn bounded(err: &Error) {
    match err {
        Error::Http { body, .. } => assert!(body.len() <= SNIPPET_LIMIT),
        Error::Decode(d) => assert!(d.snippet.len() <= SNIPPET_LIMIT),
        _ => {}
    }
    let _ = err.to_string();
}

fn check<S: Shape>(r: RawResponse) {
    if let Err(e) = S::decode(r) {
        bounded(&e);
    }
}

/// Bodies that look almost like PostgREST's, and plain garbage.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        Just(br#"{"code":"23505","message":"dup","details":"d","hint":null}"#.to_vec()),
        Just(br#"[{"id":"00000000-0000-4000-8000-000000000001"}]"#.to_vec()),
        "[\\[\\]{}\",:a-z0-9 ]{0,64}".prop_map(String::into_bytes),
        Just(vec![0xff, 0xfe, b'{']),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_through_every_decoder(status in 100u16..600, range in proptest::option::of("[0-9*/ -]{0,12}|.{0,12}"), body in body()) {
        let range = range.as_deref();
        bounded(&from_status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), &body));
        check::<Rows<serde_json::Value>>(raw(status, range, &body));
        check::<One<UserInteraction>>(raw(status, range, &body));
        check::<MaybeOne<serde_json::Value>>(raw(status, range, &body));
        check::<Json<serde_json::Value>>(raw(status, range, &body));
        check::<Text>(raw(status, range, &body));
        check::<Head>(raw(status, range, &body));
        check::<Counted<Rows<serde_json::Value>>>(raw(status, range, &body));
        if let Some(r) = range {
            if let Some(Some(n)) = crate::response::parse_content_range(r) {
                prop_assert!(r.trim().ends_with(&n.to_string()));
            }
        }
    }

    #[test]
    fn any_strings_through_every_builder(
        name in ".{0,16}",
        column in ".{0,16}",
        value in ".{0,24}",
        header_value in ".{0,16}",
        n in any::<u64>(),
        m in any::<u64>(),
    ) {
        let c = client();
        let results = vec![
            c.from(name.as_str()).select(column.as_str()).eq(&column, &value).neq(&column, n).in_(&column, [&value, &name])
                .not_in(&column, [&value]).is(&column, Is::Null).like(&column, &value).regex_match(&column, &value)
                .contains(&column, vec![value.clone(), name.clone()]).contains(&column, value.as_str())
                .overlaps(&column, [&value]).range_adjacent(&column, &value)
                .text_search(&column, &value, TextSearch::websearch().config(name.clone()))
                .where_(Cond::or([Cond::eq(column.clone(), value.clone()), Cond::in_(column.clone(), [value.clone()]).not()]))
                .referenced_where(&name, Cond::and([Cond::is_distinct(column.clone(), value.clone())]))
                .or(&value).filter(&column, &name, &value).referenced_order(name.clone(), &column, Order::desc().nulls_first())
                .limit(n).range(n.min(m), n.max(m)).header("x-test", &header_value).count(Count::Exact).build(),
            c.from(name.as_str()).upsert(&serde_json::json!([{ column.clone(): value.clone() }, {"k": value.clone()}]))
                .on_conflict(column.clone()).ignore_duplicates(n % 2 == 0).default_to_null(false).select(&value)
                .single().build(),
            c.from(name.as_str()).insert(&serde_json::json!({ value.clone(): n })).select(&column).maybe_single().build(),
            c.from(name.as_str()).update(&serde_json::json!({ column.clone(): value.clone() })).eq(&column, &value).max_affected(n).build(),
            c.from(name.as_str()).delete().eq(&column, &value).rollback().build(),
            c.rpc(name.as_str(), &serde_json::json!({ column.clone(): value.clone(), "arr": [value.clone()] })).get().eq(&column, &value).build(),
            c.rpc(name.as_str(), &serde_json::json!({ column.clone(): { "o": value.clone() } })).head().build(),
            c.schema(&header_value).from(name.as_str()).select("*").csv().build(),
            c.with_access_token(header_value.clone()).from(name.as_str()).select("*").strip_nulls().build(),
            c.from(name.as_str()).select("*").explain(crate::Explain::new().analyze()).build(),
        ];
        for r in results {
            match r {
                Ok(req) => prop_assert!(req.url().as_str().starts_with("http://localhost:54321/rest/v1/")),
                Err(e) => prop_assert!(matches!(e, Error::InvalidRequest(_)), "unexpected {:?}", e),
            }
        }
    }

    /// The client's memo of URLs and header maps (`builder/template.rs`) must never change a
    /// request: the shared client (its memo warm, full and wrapping around across cases), a
    /// second build of the same request (a certain hit) and a fresh derived client (an empty
    /// memo) build the same bytes, and so does a `RequestTemplate` for the writes.
    #[test]
    fn memo_hits_and_templates_build_what_a_fresh_client_builds(
        name in "[a-z_. ]{1,12}|.{1,12}",
        conflict in ".{0,12}",
        columns in ".{0,12}",
        key in ".{0,8}",
        value in ".{0,16}",
        n in 0u64..4,
    ) {
        let shared = client();
        // Same defaults, empty memo.
        let fresh = shared.schema("public");
        let bulk = serde_json::json!([{ key.clone(): value.clone() }, { "k": n }]);
        let one = serde_json::json!({ key.clone(): value.clone() });
        let requests = |c: &Client| vec![
            c.from(name.as_str()).select(columns.as_str()).eq(&key, &value).limit(n).build(),
            c.from(name.as_str()).upsert(&bulk).on_conflict(conflict.as_str())
                .select(columns.as_str()).build(),
            c.from(name.as_str()).upsert(&one).on_conflict(conflict.as_str()).select("*").single().build(),
            c.from(name.as_str()).update(&one).eq(&key, n).build(),
            c.rpc(name.as_str(), &one).get().build(),
        ];
        let wire = |r: crate::Result<reqwest::Request>| r.map(|r| {
            let mut headers: Vec<(String, Vec<u8>)> = r.headers().iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
            headers.sort();
            let body = r.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec);
            (r.method().clone(), r.url().to_string(), headers, body)
        }).map_err(|e| e.to_string());
        let expected: Vec<_> = requests(&fresh).into_iter().map(wire).collect();
        for round in 0..2 {
            let got: Vec<_> = requests(&shared).into_iter().map(wire).collect();
            prop_assert_eq!(&got, &expected, "round {}", round);
        }
        for (body, at) in [(&bulk, 1), (&one, 2)] {
            let template = shared.from(name.as_str()).upsert(&()).on_conflict(conflict.as_str());
            let built = if at == 1 {
                template.select(columns.as_str()).template().and_then(|t| t.build(body))
            } else {
                template.select("*").single().template().and_then(|t| t.build(body))
            };
            prop_assert_eq!(&wire(built), &expected[at]);
        }
    }

    #[test]
    fn control_characters_in_header_values_are_invalid_requests(prefix in "[a-z]{0,5}", ctl in prop::sample::select(vec!['\r', '\n', '\0', '\x07']), suffix in "[a-z]{0,5}") {
        let bad = format!("{prefix}{ctl}{suffix}");
        let c = client();
        for r in [
            c.with_access_token(bad.clone()).from("t").select("*").build(),
            c.schema(&bad).from("t").select("*").build(),
            c.from("t").select("*").header("x-custom", &bad).build(),
        ] {
            prop_assert!(matches!(r, Err(Error::InvalidRequest(_))));
        }
    }
}
