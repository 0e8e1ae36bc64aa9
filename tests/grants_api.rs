//! The `grants_api` example's routes over HTTP, against a real PostgreSQL with the schema of
//! `supabase/migrations/` through the PostgREST stand-in of `tests/postgrest_standin/`: statuses and
//! bodies, notes semantics, row-level security and the concurrent double-save.
//!
//! Needs the throwaway database that `./scripts/test-all.sh` provisions (or
//! `scripts/with-postgres.sh cargo test --test grants_api`); without it every test here fails with
//! instructions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/grants_api/app.rs"]
mod app;
mod postgrest_standin;

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

/// The API in front of a fresh stand-in, on a free loopback port.
struct Api {
    base: String,
    http: reqwest::Client,
    standin: postgrest_standin::StandIn,
}

impl Api {
    async fn start() -> Api {
        let standin = postgrest_standin::start(Duration::ZERO).await;
        let client = Client::new(standin.url(), "anon-key").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app::router(client)).await });
        Api {
            base,
            http: reqwest::Client::new(),
            standin,
        }
    }

    /// Sends a request; `token: None` sends no Authorization header. Returns the status and the
    /// JSON body (`Null` when empty).
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let (status, body, _) = self.call_with_headers(method, path, token, body).await;
        (status, body)
    }

    /// [`Api::call`], plus the `WWW-Authenticate` header of the answer.
    async fn call_with_headers(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value, Option<String>) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let www = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = resp.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("{status}: body is not JSON ({e}): {bytes:?}");
            })
        };
        (status, json, www)
    }
}

/// Asserts the API's error shape and returns its `error` object.
fn error_of(body: &Value) -> &serde_json::Map<String, Value> {
    let err = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("not an error body: {body}"));
    let mut keys: Vec<&str> = err.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "details", "hint", "message"], "{body}");
    assert!(
        err["code"].is_string() && err["message"].is_string(),
        "{body}"
    );
    err
}

/// Live (not removed) rows of the pair, as the superuser sees them.
async fn rows_in_db(user: Uuid, grant: Uuid) -> i64 {
    postgrest_standin::admin()
        .await
        .query_one(
            "select count(*) from public.user_interactions
             where user_id = $1::text::uuid and grant_id = $2::text::uuid and deleted_at is null",
            &[&user.to_string(), &grant.to_string()],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn save_apply_ignore_list_and_delete_with_notes_semantics() {
    let api = Api::start().await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grants = postgrest_standin::create_grants(2).await;
    let token = postgrest_standin::user_jwt(user);
    let t = Some(token.as_str());

    // First save creates the row (201), with notes.
    let (status, saved) = api
        .call(
            "POST",
            &format!("/api/grants/{}/save", grants[0]),
            t,
            Some(r#"{"notes": "deadline in May"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["user_id"], json!(user));
    assert_eq!(saved["grant_id"], json!(grants[0]));
    assert_eq!(saved["action"], "saved");
    assert_eq!(saved["notes"], "deadline in May");

    // Apply with no body: the same row, notes untouched, created_at kept.
    let (status, applied) = api
        .call("POST", &format!("/api/grants/{}/apply", grants[0]), t, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["id"], saved["id"]);
    assert_eq!(applied["action"], "applied");
    assert_eq!(applied["notes"], "deadline in May");
    assert_eq!(applied["created_at"], saved["created_at"]);
    assert_ne!(applied["updated_at"], saved["updated_at"]);

    // An empty object also leaves notes untouched.
    let (status, again) = api
        .call(
            "POST",
            &format!("/api/grants/{}/apply", grants[0]),
            t,
            Some("{}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["notes"], "deadline in May");

    // Ignore with {"notes": null}: notes cleared.
    let (status, ignored) = api
        .call(
            "POST",
            &format!("/api/grants/{}/ignore", grants[0]),
            t,
            Some(r#"{"notes": null}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ignored}");
    assert_eq!(ignored["action"], "ignored");
    assert_eq!(ignored["notes"], Value::Null);
    assert_eq!(ignored["id"], saved["id"]);

    // A second grant, saved.
    let (status, _) = api
        .call("POST", &format!("/api/grants/{}/save", grants[1]), t, None)
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // List: both, most recently changed first; filtered by action.
    let (status, all) = api.call("GET", "/api/users/interactions", t, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let all = all["interactions"].as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["grant_id"], json!(grants[1]));
    assert_eq!(all[1]["grant_id"], json!(grants[0]));
    let (status, only) = api
        .call("GET", "/api/users/interactions?action=ignored", t, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let only = only["interactions"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["grant_id"], json!(grants[0]));
    let (status, none) = api
        .call("GET", "/api/users/interactions?action=applied", t, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none, json!({"interactions": []}));

    // Delete: 204, then 404 with the error shape; the database agrees (the row is removed,
    // a soft delete).
    let path = format!("/api/users/interactions/{}", grants[0]);
    let (status, body) = api.call("DELETE", &path, t, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    assert_eq!(rows_in_db(user, grants[0]).await, 0);
    let (status, body) = api.call("DELETE", &path, t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body)["code"], "not_found");
    assert_eq!(rows_in_db(user, grants[1]).await, 1);

    // Saving again revives the removed row; the history has every step, oldest first.
    let (status, revived) = api
        .call("POST", &format!("/api/grants/{}/save", grants[0]), t, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{revived}");
    assert_eq!(rows_in_db(user, grants[0]).await, 1);
    let (status, history) = api
        .call(
            "GET",
            &format!("/api/grants/{}/history", grants[0]),
            t,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let events = history["events"].as_array().unwrap();
    let ops: Vec<&str> = events
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops.first(), Some(&"insert"), "{ops:?}");
    assert_eq!(&ops[ops.len() - 2..], ["soft_delete", "revive"], "{ops:?}");
    assert!(events.iter().all(|e| e["interaction_id"] == revived["id"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_400_before_reaching_the_database() {
    let api = Api::start().await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grant = postgrest_standin::create_grants(1).await[0];
    let token = postgrest_standin::user_jwt(user);
    let t = Some(token.as_str());
    let save = format!("/api/grants/{grant}/save");

    let cases: [(&str, String, Option<&str>, &str); 6] = [
        (
            "POST",
            "/api/grants/not-a-uuid/save".into(),
            None,
            "invalid_grant_id",
        ),
        ("POST", save.clone(), Some("{not json"), "invalid_body"),
        ("POST", save.clone(), Some(r#"["notes"]"#), "invalid_body"),
        (
            "POST",
            save.clone(),
            Some(r#"{"notes": 3}"#),
            "invalid_body",
        ),
        (
            "POST",
            save.clone(),
            Some(r#"{"note": "typo"}"#),
            "invalid_body",
        ),
        (
            "GET",
            "/api/users/interactions?action=starred".into(),
            None,
            "invalid_action",
        ),
    ];
    let before = api.standin.request_count();
    for (method, path, body, code) in cases {
        let (status, resp) = api.call(method, &path, t, body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body:?}: {resp}"
        );
        assert_eq!(error_of(&resp)["code"], code, "{resp}");
    }
    assert_eq!(
        api.standin.request_count(),
        before,
        "nothing reached PostgREST"
    );
    assert_eq!(rows_in_db(user, grant).await, 0);

    let (status, resp) = api.call("GET", "/api/nothing-here", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&resp)["code"], "not_found");
    let (status, resp) = api.call("PUT", "/api/users/interactions", t, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_of(&resp)["code"], "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_or_invalid_tokens_are_401_and_never_reach_the_database() {
    let api = Api::start().await;
    let grant = postgrest_standin::create_grants(1).await[0];
    let save = format!("/api/grants/{grant}/save");
    let remove = format!("/api/users/interactions/{grant}");
    let no_sub = postgrest_standin::jwt(&json!({"role": "authenticated"}));
    let bad_sub = postgrest_standin::jwt(&json!({"sub": "alice", "role": "authenticated"}));

    for token in [
        None,
        Some("not-a-jwt"),
        Some("a.b.c"),
        Some(no_sub.as_str()),
        Some(bad_sub.as_str()),
    ] {
        for (method, path) in [
            ("POST", save.as_str()),
            ("GET", "/api/users/interactions"),
            ("DELETE", remove.as_str()),
        ] {
            let (status, body, www) = api.call_with_headers(method, path, token, None).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {token:?}: {body}"
            );
            assert_eq!(error_of(&body)["code"], "unauthorized");
            assert_eq!(www.as_deref(), Some("Bearer"));
        }
    }
    // A scheme other than Bearer.
    let resp = api
        .http
        .get(format!("{}/api/users/interactions", api.base))
        .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.standin.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_denies_what_the_token_does_not_allow() {
    let api = Api::start().await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    postgrest_standin::create_users(&[alice, bob]).await;
    let grants = postgrest_standin::create_grants(2).await;
    let alice_token = postgrest_standin::user_jwt(alice);
    let bob_token = postgrest_standin::user_jwt(bob);

    let (status, _) = api
        .call(
            "POST",
            &format!("/api/grants/{}/save", grants[0]),
            Some(&bob_token),
            Some(r#"{"notes": "bob's"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // A token whose role is anon (with a user's sub): PostgREST runs as anon, which has no
    // privilege on user_interactions: 42501 "permission denied", answered 401.
    let anon_with_sub = postgrest_standin::jwt(&json!({"sub": alice, "role": "anon"}));
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/grants/{}/save", grants[1]),
            Some(&anon_with_sub),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let err = error_of(&body);
    assert_eq!(err["code"], "42501");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("permission denied"),
        "{body}"
    );
    let (status, body) = api
        .call("GET", "/api/users/interactions", Some(&anon_with_sub), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_of(&body)["code"], "42501");

    // A token for a user that does not exist in auth.users: RLS lets the row through (its
    // user_id is the token's sub), the foreign key does not: 23503, answered 409.
    let ghost = postgrest_standin::user_jwt(Uuid::new_v4());
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/grants/{}/save", grants[1]),
            Some(&ghost),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let err = error_of(&body);
    assert_eq!(err["code"], "23503");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("user_interactions_user_id_fkey"),
        "{body}"
    );

    // A grant that does not exist: the other foreign key, 409 too.
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/grants/{}/save", Uuid::new_v4()),
            Some(&alice_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let err = error_of(&body);
    assert_eq!(err["code"], "23503");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("user_interactions_grant_id_fkey"),
        "{body}"
    );

    // Alice cannot see or delete Bob's row: row-level security hides it, so her delete of that
    // grant finds nothing (404) and Bob's row survives untouched.
    let (status, body) = api
        .call("GET", "/api/users/interactions", Some(&alice_token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"interactions": []}));
    let (status, body) = api
        .call(
            "DELETE",
            &format!("/api/users/interactions/{}", grants[0]),
            Some(&alice_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(rows_in_db(bob, grants[0]).await, 1);
    let (_, bobs) = api
        .call("GET", "/api/users/interactions", Some(&bob_token), None)
        .await;
    assert_eq!(bobs["interactions"][0]["notes"], "bob's");
    assert_eq!(bobs["interactions"][0]["action"], "saved");
}

/// The routes always write the token's own user, so no request to them can hit an RLS policy;
/// the same mapping must still turn a real RLS rejection (a client writing another user's row,
/// straight through `UsersService`) into 403 with PostgREST's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_level_security_rejection_maps_to_403() {
    let standin = postgrest_standin::start(Duration::ZERO).await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    postgrest_standin::create_users(&[alice, bob]).await;
    let grant = postgrest_standin::create_grants(1).await[0];
    let as_alice = UsersService::new(
        Client::new(standin.url(), "anon-key")
            .unwrap()
            .with_access_token(postgrest_standin::user_jwt(alice)),
    );
    let err = as_alice
        .record_user_interaction(bob, NewInteraction::new(grant, InteractionAction::Saved))
        .await
        .unwrap_err();
    assert!(err.is_rls_violation(), "{err:?}");

    let api_err = app::ApiError::from(&err);
    assert_eq!(api_err.status.as_u16(), 403);
    let body = api_err.body();
    let fields = error_of(&body);
    assert_eq!(fields["code"], "42501");
    assert!(fields["message"]
        .as_str()
        .unwrap()
        .contains("row-level security"));
    assert_eq!(app::status_for(&err).as_u16(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_double_save_succeeds_twice_and_leaves_one_row() {
    let api = Api::start().await;
    let user = Uuid::new_v4();
    postgrest_standin::create_users(&[user]).await;
    let grants = postgrest_standin::create_grants(2).await;
    let token = postgrest_standin::user_jwt(user);
    let t = Some(token.as_str());

    // The double click: two simultaneous saves of one grant.
    let path = format!("/api/grants/{}/save", grants[0]);
    let (a, b) = tokio::join!(
        api.call("POST", &path, t, Some(r#"{"notes": "first"}"#)),
        api.call("POST", &path, t, Some(r#"{"notes": "second"}"#)),
    );
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{} / {}", a.1, b.1);
    assert_eq!(a.1["id"], b.1["id"]);
    assert_eq!(rows_in_db(user, grants[0]).await, 1);

    // A burst of clicks with every action: all succeed, still one row, one 201 at most.
    let path = |verb: &str| format!("/api/grants/{}/{verb}", grants[1]);
    let verbs = ["save", "apply", "ignore"];
    let api = &api;
    let calls = (0..30).map(|i| {
        let p = path(verbs[i % 3]);
        async move { api.call("POST", &p, t, None).await }
    });
    let results = futures::future::join_all(calls).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    for (status, body) in &results {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::CREATED,
            "{status}: {body}"
        );
    }
    assert_eq!(created, 1);
    let ids: std::collections::HashSet<String> =
        results.iter().map(|(_, b)| b["id"].to_string()).collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(rows_in_db(user, grants[1]).await, 1);

    let (_, list) = api.call("GET", "/api/users/interactions", t, None).await;
    assert_eq!(list["interactions"].as_array().unwrap().len(), 2);
}
