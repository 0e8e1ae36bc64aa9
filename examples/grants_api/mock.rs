//! An in-process PostgREST for the requests `UsersService` sends to `user_interactions`: the
//! crate's `testing::MemoryTable::user_interactions()` (one row per `(user_id, grant_id)`, upserts
//! on that key, `eq` filters, `order`, `Prefer: return=representation`, the singular `Accept`),
//! with the schema's other rules on top:
//!
//! - row-level security by the token's `sub`: a user reads, changes and deletes only their own
//!   rows (403 `42501` for a row of someone else's);
//! - no signed-in user's token: the `anon` role, which has no privileges on the table (401
//!   `42501`);
//! - a foreign key to the grants of `supabase/seed.sql` (409 `23503`);
//! - soft deletes (the table's `deleted_at`) and the audit trail: `user_interaction_events`
//!   answers `GET` with one event per write the table applied, as the database's trigger
//!   records them.
//!
//! Any other path answers 404 `PGRST205`.

use base64::Engine;
use serde_json::{json, Value};
use supabase_rest::testing::{responses, upsert_into, MemoryTable};
use uuid::Uuid;
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, Request};

use crate::app::jwt_claims;

const TABLE: &str = "user_interactions";

/// The grants of `supabase/seed.sql`.
const GRANTS: [&str; 5] = [
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003",
    "00000000-0000-4000-8000-000000000004",
    "00000000-0000-4000-8000-000000000005",
];

pub(crate) async fn start() -> MockServer {
    let server = MockServer::start().await;
    let table_path = format!("/rest/v1/{TABLE}");

    // The anon role has no privileges on the table, so this comes before anything else.
    Mock::given(path(table_path.as_str()))
        .and(|req: &Request| caller(req).is_none())
        .respond_with(responses::error(
            401,
            "42501",
            &format!("permission denied for table {TABLE}"),
            None,
            None,
        ))
        .with_priority(1)
        .mount(&server)
        .await;

    // The foreign key, for rows that row-level security lets through (the table refuses others).
    Mock::given(upsert_into(TABLE))
        .and(|req: &Request| unknown_grant(req).is_some())
        .respond_with(|req: &Request| {
            let grant_id = unknown_grant(req).unwrap_or_default();
            responses::error(
                409,
                "23503",
                &format!("insert or update on table \"{TABLE}\" violates foreign key constraint \"{TABLE}_grant_id_fkey\""),
                Some(&format!("Key (grant_id)=({grant_id}) is not present in table \"grants\".")),
                None,
            )
        })
        .with_priority(2)
        .mount(&server)
        .await;

    // Row-level security: `auth.uid() = user_id`, for reads and writes alike.
    let table = MemoryTable::user_interactions().with_row_security(|req, row| {
        caller(req).is_some_and(|uid| row.get("user_id").and_then(Value::as_str) == Some(&uid))
    });
    Mock::given(path(table_path.as_str()))
        .respond_with(table.clone())
        .mount(&server)
        .await;

    // The audit trail, from the writes the table applied, for the caller's own rows.
    Mock::given(path("/rest/v1/user_interaction_events"))
        .respond_with(move |req: &Request| {
            let Some(uid) = caller(req) else {
                return responses::error(
                    401,
                    "42501",
                    "permission denied for table user_interaction_events",
                    None,
                    None,
                );
            };
            let wanted = |column: &str| {
                req.url
                    .query_pairs()
                    .find(|(k, _)| k == column)
                    .and_then(|(_, v)| v.strip_prefix("eq.").map(str::to_owned))
            };
            let (user, grant) = (wanted("user_id"), wanted("grant_id"));
            let events: Vec<Value> = events(&table.writes())
                .into_iter()
                .filter(|e| e["user_id"].as_str() == Some(uid.as_str()))
                .filter(|e| {
                    user.as_deref()
                        .is_none_or(|u| e["user_id"].as_str() == Some(u))
                })
                .filter(|e| {
                    grant
                        .as_deref()
                        .is_none_or(|g| e["grant_id"].as_str() == Some(g))
                })
                .collect();
            wiremock::ResponseTemplate::new(200).set_body_json(Value::Array(events))
        })
        .mount(&server)
        .await;

    Mock::given(any())
        .respond_with(responses::error(
            404,
            "PGRST205",
            "Could not find the table in the schema cache",
            None,
            None,
        ))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// The events the trigger of `supabase/migrations/` records for these writes, in order.
fn events(writes: &[supabase_rest::testing::AppliedWrite]) -> Vec<Value> {
    let mut last: std::collections::HashMap<Vec<String>, Value> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (seq, w) in writes.iter().enumerate() {
        let row = Value::Object(w.row.clone());
        let before = last.get(&w.key).cloned().unwrap_or(Value::Null);
        let removed = |r: &Value| !r["deleted_at"].is_null();
        let operation = match w.op {
            "INSERT" => "insert",
            "DELETE" => "delete",
            _ if !removed(&before) && removed(&row) => "soft_delete",
            _ if removed(&before) && !removed(&row) => "revive",
            _ => "update",
        };
        let new = if w.op == "DELETE" {
            Value::Null
        } else {
            row.clone()
        };
        out.push(json!({
            "seq": seq + 1,
            "interaction_id": row["id"],
            "user_id": row["user_id"],
            "grant_id": row["grant_id"],
            "operation": operation,
            "old_action": before["action"],
            "new_action": new["action"],
            "old_notes": before["notes"],
            "new_notes": new["notes"],
            "changed_by": row["user_id"],
            "changed_at": row["updated_at"],
        }));
        last.insert(w.key.clone(), new);
    }
    out
}

/// An unsigned token for a signed-in user, as this mock (and the app) read it. A real project
/// needs a real one, signed by Supabase Auth.
pub(crate) fn user_token(user_id: Uuid) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = json!({"sub": user_id, "role": "authenticated", "aud": "authenticated"});
    format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    )
}

/// `auth.uid()` for this request: the `sub` of a signed-in user's token; `None` runs as anon.
fn caller(req: &Request) -> Option<String> {
    let claims = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(jwt_claims)?;
    if claims.get("role").and_then(Value::as_str) != Some("authenticated") {
        return None;
    }
    claims.get("sub").and_then(Value::as_str).map(str::to_owned)
}

/// The first grant id of the caller's own rows in this write that is not a grant of the seed.
fn unknown_grant(req: &Request) -> Option<String> {
    let uid = caller(req)?;
    let rows = match serde_json::from_slice::<Value>(&req.body).ok()? {
        Value::Array(rows) => rows,
        row => vec![row],
    };
    rows.iter()
        .filter(|row| row.get("user_id").and_then(Value::as_str) == Some(uid.as_str()))
        .filter_map(|row| row.get("grant_id").and_then(Value::as_str))
        .find(|grant_id| !GRANTS.contains(grant_id))
        .map(str::to_owned)
}
