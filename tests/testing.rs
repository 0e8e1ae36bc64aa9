//! The `testing` feature's helpers, each tested, plus an example of an app's own test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use supabase_rest::grants::{InteractionAction, UsersService};
use supabase_rest::testing::{
    delete_from, insert_into, responses, rpc, select_from, update, upsert_into, MemoryTable,
};
use supabase_rest::{Client, RetryPolicy};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_and_client() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::builder(server.uri(), "anon-key")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn matchers_tell_operations_apart() {
    let (server, client) = server_and_client().await;
    let mount = |m: supabase_rest::testing::PostgrestRequest, status: u16| {
        Mock::given(m)
            .respond_with(ResponseTemplate::new(status).set_body_json(json!([])))
            .expect(1)
    };
    mount(
        select_from("grants").eq("status", "open").schema("public"),
        200,
    )
    .mount(&server)
    .await;
    mount(insert_into("grants"), 201).mount(&server).await;
    mount(
        upsert_into("grants")
            .on_conflict("id")
            .ignore_duplicates(true),
        202,
    )
    .mount(&server)
    .await;
    mount(
        upsert_into("grants")
            .on_conflict("id")
            .ignore_duplicates(false)
            .returning(true),
        203,
    )
    .mount(&server)
    .await;
    mount(update("grants").eq("id", 1), 204)
        .mount(&server)
        .await;
    mount(delete_from("grants").eq("id", 2), 205)
        .mount(&server)
        .await;
    mount(rpc("list grants").param("q", "arts"), 206)
        .mount(&server)
        .await;

    client
        .from("grants")
        .select("*")
        .eq("status", "open")
        .await
        .unwrap();
    client
        .from("grants")
        .insert(&json!({"id": 1}))
        .await
        .unwrap();
    client
        .from("grants")
        .upsert(&json!({"id": 1}))
        .on_conflict("id")
        .ignore_duplicates(true)
        .await
        .unwrap();
    client
        .from("grants")
        .upsert(&json!({"id": 1}))
        .on_conflict("id")
        .select("*")
        .await
        .unwrap();
    client
        .from("grants")
        .update(&json!({"title": "x"}))
        .eq("id", 1)
        .await
        .unwrap();
    client.from("grants").delete().eq("id", 2).await.unwrap();
    let _: serde_json::Value = client
        .rpc("list grants", &json!({"q": "arts"}))
        .get()
        .await
        .unwrap();
    // A request none of them matches: wiremock answers 404.
    let err = client
        .from("grants")
        .update(&json!({"title": "x"}))
        .eq("id", 9)
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 404);
}

#[tokio::test]
async fn canned_responses_decode_to_the_right_errors() {
    let (server, client) = server_and_client().await;
    Mock::given(insert_into("a"))
        .respond_with(responses::unique_violation(
            "a_key",
            "Key (id)=(1) already exists.",
        ))
        .mount(&server)
        .await;
    Mock::given(upsert_into("b"))
        .respond_with(responses::rls_violation("b"))
        .mount(&server)
        .await;
    Mock::given(select_from("c").single(true))
        .respond_with(responses::no_rows())
        .mount(&server)
        .await;
    Mock::given(select_from("d"))
        .respond_with(responses::service_unavailable(Some(0)))
        .mount(&server)
        .await;
    Mock::given(select_from("e"))
        .respond_with(responses::rows(json!([{"id": 1}])))
        .mount(&server)
        .await;
    Mock::given(select_from("f"))
        .respond_with(responses::row(json!({"id": 2})))
        .mount(&server)
        .await;

    assert!(client
        .from("a")
        .insert(&json!({"id": 1}))
        .await
        .unwrap_err()
        .is_unique_violation());
    assert!(client
        .from("b")
        .upsert(&json!({"id": 1}))
        .await
        .unwrap_err()
        .is_rls_violation());
    assert!(client
        .from("c")
        .select("*")
        .single()
        .await
        .unwrap_err()
        .is_no_rows());
    let err = client.from("d").select("*").await.unwrap_err();
    assert!(err.is_retryable() && err.code() == Some("PGRST002"));
    assert_eq!(
        client.from("e").select("*").await.unwrap(),
        vec![json!({"id": 1})]
    );
    let one: serde_json::Value = client.from("f").select("*").single().await.unwrap();
    assert_eq!(one["id"], 2);
}

async fn table_server(table: &MemoryTable) -> (MockServer, Client) {
    let (server, client) = server_and_client().await;
    Mock::given(path("/rest/v1/items"))
        .respond_with(table.clone())
        .mount(&server)
        .await;
    (server, client)
}

#[tokio::test]
async fn memory_table_behaves_like_postgrest_over_a_unique_key() {
    let table = MemoryTable::new("items_sku_key", &["sku"]);
    let (_server, client) = table_server(&table).await;
    let items = || client.from("items");

    items()
        .insert(&json!({"sku": "a", "qty": 1}))
        .await
        .unwrap();
    let err = items()
        .insert(&json!({"sku": "a", "qty": 2}))
        .await
        .unwrap_err();
    assert!(err.is_unique_violation());
    assert!(err
        .as_postgrest()
        .unwrap()
        .message
        .contains("items_sku_key"));
    assert_eq!(table.conflicts(), 1);

    // Merge: only sent keys change.
    items()
        .upsert(&json!({"sku": "a", "note": "n"}))
        .on_conflict("sku")
        .await
        .unwrap();
    assert_eq!(table.row(&["a"]).unwrap()["qty"], 1);
    assert_eq!(table.row(&["a"]).unwrap()["note"], "n");
    // Ignore: the existing row stays and is not returned.
    let rows: Vec<serde_json::Value> = items()
        .upsert(&json!({"sku": "a", "qty": 9}))
        .on_conflict("sku")
        .ignore_duplicates(true)
        .select("*")
        .await
        .unwrap();
    assert!(rows.is_empty());
    assert_eq!(table.row(&["a"]).unwrap()["qty"], 1);
    // A conflict target the table has no constraint for.
    let err = items()
        .upsert(&json!({"sku": "a"}))
        .on_conflict("qty")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("42P10"));
    // Bulk with columns: a missing key becomes NULL.
    items()
        .upsert(&json!([{"sku": "b", "qty": 2}, {"sku": "c"}]))
        .on_conflict("sku")
        .await
        .unwrap();
    assert_eq!(table.row(&["c"]).unwrap()["qty"], serde_json::Value::Null);
    // Reads, updates, deletes with eq filters; single() and its 406.
    let b: serde_json::Value = items().select("*").eq("sku", "b").single().await.unwrap();
    assert_eq!(b["qty"], 2);
    assert!(items()
        .select("*")
        .eq("sku", "zz")
        .single()
        .await
        .unwrap_err()
        .is_no_rows());
    items()
        .update(&json!({"qty": 5}))
        .eq("sku", "b")
        .await
        .unwrap();
    assert_eq!(table.row(&["b"]).unwrap()["qty"], 5);
    let gone: Vec<serde_json::Value> = items().delete().eq("sku", "c").select("*").await.unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(table.rows().len(), 2);
    let ops: Vec<&str> = table.writes().iter().map(|w| w.op).collect();
    assert_eq!(
        ops,
        ["INSERT", "UPDATE", "INSERT", "INSERT", "UPDATE", "DELETE"]
    );
    // Operators it does not model are refused, not guessed.
    let err = items().select("*").gt("qty", 1).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 501);
}

/// How an app tests its own code with these helpers: here, a route handler's core that saves a
/// grant for the signed-in user and reports "already saved" or "not allowed".
mod app {
    use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
    use uuid::Uuid;

    pub(crate) async fn save(
        users: &UsersService,
        user: Uuid,
        grant: Uuid,
    ) -> Result<String, String> {
        match users
            .record_user_interaction(user, NewInteraction::new(grant, InteractionAction::Saved))
            .await
        {
            Ok(row) => Ok(format!("saved at {}", row.updated_at.timestamp())),
            Err(e) if e.is_rls_violation() => Err("not allowed".into()),
            Err(e) => Err(format!("failed: {e}")),
        }
    }
}

#[tokio::test]
async fn an_apps_test_using_the_helpers() {
    let (server, client) = server_and_client().await;
    let users = UsersService::new(client.with_access_token("user-jwt"));
    let (me, someone, grant) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );

    // Writes for `someone` are refused as RLS would; mine go to an in-memory table.
    Mock::given(
        upsert_into("user_interactions")
            .on_conflict("user_id,grant_id")
            .param("select", "*"),
    )
    .and(wiremock::matchers::body_partial_json(
        json!({"user_id": someone}),
    ))
    .respond_with(responses::rls_violation("user_interactions"))
    .with_priority(1)
    .mount(&server)
    .await;
    let table = MemoryTable::user_interactions();
    Mock::given(path("/rest/v1/user_interactions"))
        .respond_with(table.clone())
        .with_priority(2)
        .mount(&server)
        .await;

    assert!(app::save(&users, me, grant)
        .await
        .unwrap()
        .starts_with("saved at"));
    assert!(
        app::save(&users, me, grant).await.is_ok(),
        "saving twice is fine"
    );
    assert_eq!(
        app::save(&users, someone, grant).await.unwrap_err(),
        "not allowed"
    );
    assert_eq!(table.rows().len(), 1);
    let stored = users
        .get_user_interaction(me, grant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.action, InteractionAction::Saved);
}
