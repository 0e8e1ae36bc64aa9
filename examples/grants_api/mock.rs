//! An in-process PostgREST stand-in for the requests `UsersService` sends to `user_interactions`,
//! with the schema's rules: one row per `(user_id, grant_id)`, a foreign key to the grants of
//! `supabase/seed.sql`, and row-level security by the token's `sub` (no token: the `anon` role,
//! which has no privileges on the table).
//!
//! Supported: `GET` with `eq` filters and `order=updated_at.desc`; `POST` upsert with
//! `on_conflict=user_id,grant_id` and `Prefer: resolution=merge-duplicates`; `DELETE` with `eq`
//! filters; `Prefer: return=representation`; `Accept: application/vnd.pgrst.object+json`.
//! Anything else answers 501.

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{json, Map, Value};
use uuid::Uuid;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::app::jwt_claims;

type Row = Map<String, Value>;

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
    let rows: Arc<Mutex<Vec<Row>>> = Arc::default();
    Mock::given(wiremock::matchers::any())
        .respond_with(move |req: &Request| {
            let mut rows = rows.lock().unwrap_or_else(|p| p.into_inner());
            handle(&mut rows, req)
        })
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

fn error(status: u16, code: &str, message: &str, details: Option<String>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code, "message": message, "details": details, "hint": null
    }))
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn text<'a>(row: &'a Row, column: &str) -> &'a str {
    row.get(column).and_then(Value::as_str).unwrap_or("")
}

fn now() -> Value {
    json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

fn handle(rows: &mut Vec<Row>, req: &Request) -> ResponseTemplate {
    if req.url.path() != "/rest/v1/user_interactions" {
        return error(
            404,
            "PGRST205",
            "Could not find the table in the schema cache",
            None,
        );
    }
    // auth.uid() for this request; None runs as anon.
    let uid = header(req, "authorization")
        .strip_prefix("Bearer ")
        .and_then(jwt_claims)
        .filter(|c| c.get("role").and_then(Value::as_str) == Some("authenticated"))
        .and_then(|c| c.get("sub").and_then(Value::as_str).map(str::to_owned));
    let Some(uid) = uid else {
        return error(
            401,
            "42501",
            "permission denied for table user_interactions",
            None,
        );
    };

    let mut filters = Vec::new();
    let mut select = None;
    let mut on_conflict = None;
    for (k, v) in req.url.query_pairs() {
        match k.as_ref() {
            "select" => select = Some(v.into_owned()),
            "on_conflict" => on_conflict = Some(v.into_owned()),
            "order" if v == "updated_at.desc" => {}
            "id" | "user_id" | "grant_id" | "action" => match v.strip_prefix("eq.") {
                Some(value) => filters.push((k.into_owned(), value.to_owned())),
                None => return error(501, "MOCK", "only eq filters are mocked", None),
            },
            other => return error(501, "MOCK", &format!("{other}={v} is not mocked"), None),
        }
    }
    // Row-level security: a user sees and changes only their own rows.
    let visible =
        |row: &Row| text(row, "user_id") == uid && filters.iter().all(|(k, v)| text(row, k) == v);
    let prefer = header(req, "prefer");

    let (status, mut out): (u16, Vec<Row>) = match req.method.as_str() {
        "GET" => {
            let mut found: Vec<Row> = rows.iter().filter(|r| visible(r)).cloned().collect();
            found.sort_by(|a, b| text(b, "updated_at").cmp(text(a, "updated_at")));
            (200, found)
        }
        "DELETE" => {
            let (gone, kept): (Vec<Row>, Vec<Row>) =
                std::mem::take(rows).into_iter().partition(|r| visible(r));
            *rows = kept;
            (200, gone)
        }
        "POST" => {
            if !prefer.contains("resolution=merge-duplicates")
                || on_conflict.as_deref() != Some("user_id,grant_id")
            {
                return error(501, "MOCK", "only the upsert is mocked", None);
            }
            let Ok(Value::Object(incoming)) = serde_json::from_slice(&req.body) else {
                return error(400, "PGRST102", "Empty or invalid json", None);
            };
            if text(&incoming, "user_id") != uid {
                return error(
                    403,
                    "42501",
                    "new row violates row-level security policy for table \"user_interactions\"",
                    None,
                );
            }
            let grant_id = text(&incoming, "grant_id").to_owned();
            if !GRANTS.contains(&grant_id.as_str()) {
                return error(
                    409,
                    "23503",
                    "insert or update on table \"user_interactions\" violates foreign key constraint \"user_interactions_grant_id_fkey\"",
                    Some(format!("Key (grant_id)=({grant_id}) is not present in table \"grants\".")),
                );
            }
            let same_pair = |r: &Row| {
                text(r, "user_id") == text(&incoming, "user_id")
                    && text(r, "grant_id") == text(&incoming, "grant_id")
            };
            match rows.iter().position(same_pair) {
                Some(i) => {
                    let existing = &mut rows[i];
                    existing.extend(incoming);
                    existing.insert("updated_at".into(), now());
                    (200, vec![existing.clone()])
                }
                None => {
                    let stamp = now();
                    let mut row = Row::new();
                    row.insert("id".into(), json!(Uuid::new_v4()));
                    row.insert("notes".into(), Value::Null);
                    row.extend(incoming);
                    row.insert("created_at".into(), stamp.clone());
                    row.insert("updated_at".into(), stamp);
                    rows.push(row.clone());
                    (201, vec![row])
                }
            }
        }
        other => return error(501, "MOCK", &format!("{other} is not mocked"), None),
    };

    if let Some(columns) = select.filter(|s| s != "*") {
        let keep: Vec<&str> = columns.split(',').collect();
        for row in &mut out {
            row.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    if header(req, "accept") == "application/vnd.pgrst.object+json" {
        return match out.as_slice() {
            [one] => ResponseTemplate::new(status).set_body_json(Value::Object(one.clone())),
            _ => error(
                406,
                "PGRST116",
                "Cannot coerce the result to a single JSON object",
                Some(format!("The result contains {} rows", out.len())),
            ),
        };
    }
    if req.method.as_str() == "GET" || prefer.contains("return=representation") {
        ResponseTemplate::new(status)
            .set_body_json(Value::Array(out.into_iter().map(Value::Object).collect()))
    } else {
        ResponseTemplate::new(if status == 200 { 204 } else { status })
    }
}
