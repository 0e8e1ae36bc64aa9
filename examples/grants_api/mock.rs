//! An in-process PostgREST for the requests `UsersService` sends to `user_interactions`: the
//! crate's `testing::MemoryTable::user_interactions()` (one row per `(user_id, grant_id)`, upserts
//! on that key, `eq` filters, `order`, `Prefer: return=representation`, the singular `Accept`),
//! with the schema's other rules on top:
//!
//! - row-level security by the token's `sub`: a user reads, changes and deletes only their own
//!   rows (403 `42501` for a row of someone else's);
//! - no signed-in user's token: the `anon` role, which has no privileges on the table (401
//!   `42501`);
//! - a foreign key to the grants of `supabase/seed.sql` (409 `23503`).
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
        .respond_with(table)
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
