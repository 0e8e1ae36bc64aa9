//! The typed API on the generated code of a rich schema (codegen/tests/fixtures/rich.sql,
//! generated into rich.rs and kept equal to the generator's output by codegen's own test):
//! every typed call sends the bytes of the equivalent string call, bodies carry exactly the
//! fields set, the second schema gets its profile header, and rows decode into the generated
//! types (numeric digits kept, an enum label added later decoded as `Other`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code, unreachable_pub, clippy::all, clippy::pedantic)]
#[path = "../codegen/tests/fixtures/rich.rs"]
mod rich;

mod wiremock_helpers;

use rich::inventory::bins;
use rich::public::functions::{add_widgets, bump};
use rich::public::{widget_names, widgets, Mood};
use serde_json::json;
use supabase_rest::typed::{Field, Numeric};
use supabase_rest::{Client, Count, Order};
use widgets::columns as w;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn client() -> Client {
    Client::builder("http://127.0.0.1:9", "anon-key")
        .access_token("jwt")
        .build()
        .unwrap()
}

/// Method, URL, headers and body of two requests are the same.
fn assert_same(typed: &reqwest::Request, string: &reqwest::Request) {
    assert_eq!(typed.method(), string.method());
    assert_eq!(typed.url().as_str(), string.url().as_str());
    assert_eq!(typed.headers(), string.headers());
    let body = |r: &reqwest::Request| r.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec);
    assert_eq!(body(typed), body(string));
}

fn body_json(req: &reqwest::Request) -> serde_json::Value {
    serde_json::from_slice(req.body().unwrap().as_bytes().unwrap()).unwrap()
}

#[test]
fn typed_reads_send_what_string_reads_send() {
    let c = client();
    let typed = c
        .table(widgets::TABLE)
        .select()
        .eq(w::TYPE, "gadget")
        .gt(w::WITH_SPACE, 3)
        .eq(w::MOOD, Mood::InBetween)
        .in_(w::SKU, ["a,b", "c"])
        .is_null(w::CONTACT)
        .not_null(w::PRICE)
        .ilike(w::NAME, "*bolt*")
        .order(w::CREATED_AT, Order::desc())
        .range(10, 19)
        .count(Count::Exact)
        .build()
        .unwrap();
    let string = c
        .from("widgets")
        .select("*")
        .eq("type", "gadget")
        .gt("with space", 3)
        .eq("mood", "in between")
        .in_("sku", ["a,b", "c"])
        .is("contact", supabase_rest::Is::Null)
        .not("price", "is", "null")
        .ilike("name", "*bolt*")
        .order("created_at", Order::desc())
        .range(10, 19)
        .count(Count::Exact)
        .build()
        .unwrap();
    assert_same(&typed, &string);
    assert!(
        typed.url().query().unwrap().contains("with+space=gt.3"),
        "{}",
        typed.url()
    );

    let one = c
        .table(widgets::TABLE)
        .select()
        .eq(w::ID, 7)
        .maybe_single()
        .build()
        .unwrap();
    let string = c
        .from("widgets")
        .select("*")
        .eq("id", 7)
        .maybe_single()
        .build()
        .unwrap();
    assert_same(&one, &string);
}

#[test]
fn per_request_options_are_those_of_the_string_builder() {
    let c = client();
    let req = c
        .table(widgets::TABLE)
        .select()
        .header("x-request-id", "r1")
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .unwrap();
    assert_eq!(req.headers()["x-request-id"], "r1");
    assert_eq!(req.timeout(), Some(&std::time::Duration::from_secs(3)));
}

#[test]
fn insert_bodies_carry_exactly_the_fields_set() {
    let c = client();
    // Required columns only: no key for defaulted, nullable or generated columns.
    let row = widgets::Insert::new("sku-1".into(), "bolt".into(), 5);
    let req = c.table(widgets::TABLE).insert(&row).build().unwrap();
    assert_eq!(
        body_json(&req),
        json!({"sku": "sku-1", "name": "bolt", "quantity": 5})
    );
    assert_same(&req, &c.from("widgets").insert(&row).build().unwrap());

    // Null and a value are different from absent.
    let row = widgets::Insert {
        r#type: Field::Null,
        with_space: Field::Value(2),
        mood: Some(Mood::Sad),
        price: Numeric::new("12345678901.25").unwrap().into(),
        tags: Some(vec!["x".into(), "y z".into()]),
        ..widgets::Insert::new("sku-2".into(), "nut".into(), 1)
    };
    let req = c.table(widgets::TABLE).insert(&row).build().unwrap();
    let raw = std::str::from_utf8(req.body().unwrap().as_bytes().unwrap()).unwrap();
    assert_eq!(
        raw,
        r#"{"sku":"sku-2","name":"nut","type":null,"with space":2,"mood":"sad","tags":["x","y z"],"quantity":1,"price":12345678901.25}"#
    );

    // Several rows: `columns` lists the union of the sent keys.
    let rows = [
        widgets::Insert::new("a".into(), "a".into(), 1),
        widgets::Insert {
            meta: Field::Value(json!({"k": 1})),
            ..widgets::Insert::new("b".into(), "b".into(), 2)
        },
    ];
    let req = c
        .table(widgets::TABLE)
        .upsert_many(&rows, widgets::conflict::SKU)
        .returning()
        .build()
        .unwrap();
    assert_eq!(
        req.url().query(),
        Some(
            "on_conflict=sku&columns=%22sku%22%2C%22name%22%2C%22quantity%22%2C%22meta%22&select=*"
        )
    );
}

#[test]
fn updates_and_deletes_send_what_string_calls_send() {
    let c = client();
    let patch = widgets::Update {
        name: Some("renamed".into()),
        contact: Field::Null,
        ..Default::default()
    };
    let typed = c
        .table(widgets::TABLE)
        .update(&patch)
        .eq(w::SKU, "sku-1")
        .returning()
        .build()
        .unwrap();
    assert_eq!(
        body_json(&typed),
        json!({"name": "renamed", "contact": null})
    );
    let string = c
        .from("widgets")
        .update(&patch)
        .eq("sku", "sku-1")
        .select("*")
        .build()
        .unwrap();
    assert_same(&typed, &string);

    let typed = c
        .table(widgets::TABLE)
        .delete()
        .lt(w::ID, 3)
        .build()
        .unwrap();
    let string = c.from("widgets").delete().lt("id", 3).build().unwrap();
    assert_same(&typed, &string);

    // The view PostgreSQL can update takes writes like a table.
    let typed = c
        .table(widget_names::TABLE)
        .update(&widget_names::Update {
            name: Field::Value("n".into()),
            ..Default::default()
        })
        .eq(widget_names::columns::ID, 1)
        .build()
        .unwrap();
    assert_eq!(typed.method(), "PATCH");
    assert_eq!(typed.url().path(), "/rest/v1/widget_names");
}

#[test]
fn a_relation_of_another_schema_gets_its_profile_header() {
    let c = client();
    let read = c.table(bins::TABLE).select().build().unwrap();
    assert_eq!(read.headers()["accept-profile"], "inventory");
    assert!(read.headers().get("content-profile").is_none());
    let string = c
        .schema("inventory")
        .from("bins")
        .select("*")
        .build()
        .unwrap();
    assert_same(&read, &string);

    let write = c
        .table(bins::TABLE)
        .upsert(
            &bins::Insert::new("b-1".into(), 40),
            bins::conflict::PRIMARY_KEY,
        )
        .build()
        .unwrap();
    assert_eq!(write.headers()["content-profile"], "inventory");
    assert_eq!(body_json(&write), json!({"code": "b-1", "Capacity": 40}));
    let string = c
        .schema("inventory")
        .from("bins")
        .upsert(&bins::Insert::new("b-1".into(), 40))
        .on_conflict("code")
        .build()
        .unwrap();
    assert_same(&write, &string);

    // A client on the relation's schema sends it once, as its default.
    let same = c
        .schema("inventory")
        .table(bins::TABLE)
        .select()
        .build()
        .unwrap();
    assert_same(&same, &string_read(&c));
}

fn string_read(c: &Client) -> reqwest::Request {
    c.schema("inventory")
        .from("bins")
        .select("*")
        .build()
        .unwrap()
}

#[test]
fn functions_are_called_by_volatility() {
    let c = client();
    let get = c
        .call_get(add_widgets::FUNCTION, &add_widgets::Args { a: 1, b: None })
        .build()
        .unwrap();
    assert_eq!(get.method(), "GET");
    assert_eq!(get.url().path(), "/rest/v1/rpc/add_widgets");
    assert_eq!(get.url().query(), Some("a=1"));
    let post = c
        .call(bump::FUNCTION, &bump::Args { widget: 9 })
        .build()
        .unwrap();
    assert_eq!(post.method(), "POST");
    assert_eq!(body_json(&post), json!({"widget": 9}));
}

#[tokio::test]
async fn rows_decode_into_generated_types() {
    let (server, client) = wiremock_helpers::setup().await;
    // Written out by hand: the numerics carry more digits than an f64 holds.
    let raw = r#"{"id": 1, "sku": "s", "name": "n", "type": null, "with space": 4,
        "mood": "ecstatic", "tags": ["a"], "scores": null, "quantity": 3, "contact": null,
        "price": 12345678901234567.25, "weight_g": 1500, "weight_kg": 1.5000000000000000001,
        "meta": {"k": [1]}, "location": "(1,2)",
        "created_at": "2025-03-01T12:34:56.789012+00:00", "serial_no": null}"#;
    Mock::given(method("GET"))
        .and(path("/rest/v1/widgets"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(format!("[{raw}]"), "application/json"),
        )
        .mount(&server)
        .await;
    let rows = client.table(widgets::TABLE).select().await.unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.mood, Mood::Other("ecstatic".into()));
    assert_eq!(r.with_space, Some(4));
    assert_eq!(
        r.price.as_ref().map(Numeric::as_str),
        Some("12345678901234567.25")
    );
    assert_eq!(
        r.weight_kg.as_ref().map(Numeric::as_str),
        Some("1.5000000000000000001")
    );
    assert_eq!(r.location, Some(json!("(1,2)")));
    assert_eq!(r.tags, vec!["a".to_owned()]);
}
