//! A stateful stand-in for PostgREST's `user_interactions` endpoint, for contract tests.
//!
//! It keeps one row per `(user_id, grant_id)` and answers the way PostgREST does:
//! - `POST` with `Prefer: resolution=merge-duplicates` and `on_conflict=user_id,grant_id`:
//!   insert or update the sent keys (201 if a row was inserted, 200 otherwise);
//! - plain `POST` on an existing pair: 409 with a `23505` body;
//! - `GET` / `PATCH` / `DELETE` with `eq` filters on `id`, `user_id`, `grant_id`, `action`;
//! - `Accept: application/vnd.pgrst.object+json`: one object, or 406 `PGRST116`.
//!
//! It logs every write in the order it applied them, so tests can ask which write was last.
//! `GET` answers can be delayed (computed at once, sent later) to open the window in which the
//! old select-then-insert flow races.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::watch;
use wiremock::{Request, Respond, ResponseTemplate};

#[derive(Debug, Clone)]
pub struct AppliedWrite {
    pub key: (String, String),
    pub action: Option<String>,
}

#[derive(Default)]
struct State {
    rows: Vec<Map<String, Value>>,
    writes: Vec<AppliedWrite>,
    requests: usize,
    by_method: HashMap<String, usize>,
    conflicts: usize,
}

/// The table. Clone it freely: clones share the state.
#[derive(Clone)]
pub struct InteractionsTable {
    state: Arc<Mutex<State>>,
    received: Arc<watch::Sender<usize>>,
    read_delay: Duration,
}

impl Default for InteractionsTable {
    fn default() -> Self {
        Self::new()
    }
}

impl InteractionsTable {
    pub fn new() -> Self {
        InteractionsTable {
            state: Arc::default(),
            received: Arc::new(watch::channel(0).0),
            read_delay: Duration::ZERO,
        }
    }

    /// Delays the answer (not the evaluation) of every GET.
    pub fn with_read_delay(mut self, delay: Duration) -> Self {
        self.read_delay = delay;
        self
    }

    pub fn rows(&self) -> Vec<Map<String, Value>> {
        self.lock().rows.clone()
    }

    pub fn writes(&self) -> Vec<AppliedWrite> {
        self.lock().writes.clone()
    }

    pub fn request_count(&self) -> usize {
        self.lock().requests
    }

    pub fn requests_by_method(&self, method: &str) -> usize {
        self.lock().by_method.get(method).copied().unwrap_or(0)
    }

    pub fn conflicts(&self) -> usize {
        self.lock().conflicts
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize) {
        let mut rx = self.received.subscribe();
        rx.wait_for(|seen| *seen >= n).await.expect("table dropped");
    }

    /// The row for a pair, if any.
    pub fn row(&self, user_id: &str, grant_id: &str) -> Option<Map<String, Value>> {
        self.lock()
            .rows
            .iter()
            .find(|r| key_of(r) == (user_id.to_owned(), grant_id.to_owned()))
            .cloned()
    }

    /// The action of the last write the table applied to a pair.
    pub fn last_written_action(&self, user_id: &str, grant_id: &str) -> Option<String> {
        let key = (user_id.to_owned(), grant_id.to_owned());
        self.lock()
            .writes
            .iter()
            .rev()
            .find(|w| w.key == key && w.action.is_some())
            .and_then(|w| w.action.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key_of(row: &Map<String, Value>) -> (String, String) {
    let text = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    (text("user_id"), text("grant_id"))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

fn error(status: u16, code: &str, message: &str, details: Option<&str>) -> ResponseTemplate {
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

/// `eq` filters on known columns; anything else is a test bug, answered 501.
#[allow(clippy::result_large_err)]
fn filters(req: &Request) -> Result<Vec<(String, String)>, ResponseTemplate> {
    let mut out = Vec::new();
    for (k, v) in req.url.query_pairs() {
        match k.as_ref() {
            "select" | "on_conflict" | "columns" | "order" => {}
            "id" | "user_id" | "grant_id" | "action" => match v.strip_prefix("eq.") {
                Some(value) => out.push((k.into_owned(), value.to_owned())),
                None => return Err(error(501, "TEST", "only eq filters are supported", None)),
            },
            other => {
                return Err(error(
                    501,
                    "TEST",
                    &format!("unsupported parameter {other}"),
                    None,
                ))
            }
        }
    }
    Ok(out)
}

fn matches(row: &Map<String, Value>, filters: &[(String, String)]) -> bool {
    filters
        .iter()
        .all(|(k, v)| row.get(k).and_then(Value::as_str) == Some(v.as_str()))
}

/// Answers with the rows as PostgREST would for the request's Accept and Prefer.
fn representation(req: &Request, status: u16, rows: Vec<Map<String, Value>>) -> ResponseTemplate {
    let singular = header(req, "accept") == "application/vnd.pgrst.object+json";
    if singular {
        if rows.len() != 1 {
            return error(
                406,
                "PGRST116",
                "Cannot coerce the result to a single JSON object",
                Some(&format!("The result contains {} rows", rows.len())),
            );
        }
        return ResponseTemplate::new(status).set_body_json(Value::Object(rows[0].clone()));
    }
    let wants_rows =
        req.method.as_str() == "GET" || header(req, "prefer").contains("return=representation");
    if wants_rows {
        ResponseTemplate::new(status)
            .set_body_json(Value::Array(rows.into_iter().map(Value::Object).collect()))
    } else {
        ResponseTemplate::new(if status == 200 && req.method.as_str() != "POST" {
            204
        } else {
            status
        })
    }
}

impl InteractionsTable {
    fn handle(&self, req: &Request) -> ResponseTemplate {
        let mut state = self.lock();
        state.requests += 1;
        *state
            .by_method
            .entry(req.method.as_str().to_owned())
            .or_default() += 1;
        let n = state.requests;
        self.received.send_replace(n);

        if !req.url.path().ends_with("/user_interactions") {
            return error(404, "PGRST205", "unknown table", None);
        }
        let filters = match filters(req) {
            Ok(f) => f,
            Err(resp) => return resp,
        };
        match req.method.as_str() {
            "GET" => {
                let rows: Vec<_> = state
                    .rows
                    .iter()
                    .filter(|r| matches(r, &filters))
                    .cloned()
                    .collect();
                representation(req, 200, rows).set_delay(self.read_delay)
            }
            "POST" => self.post(&mut state, req),
            "PATCH" => {
                let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&req.body) else {
                    return error(400, "PGRST102", "Empty or invalid json", None);
                };
                let mut touched = Vec::new();
                let mut writes = Vec::new();
                for row in state.rows.iter_mut().filter(|r| matches(r, &filters)) {
                    for (k, v) in &patch {
                        row.insert(k.clone(), v.clone());
                    }
                    row.insert("updated_at".into(), json!(now()));
                    writes.push(AppliedWrite {
                        key: key_of(row),
                        action: patch
                            .get("action")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    });
                    touched.push(row.clone());
                }
                state.writes.extend(writes);
                representation(req, 200, touched)
            }
            "DELETE" => {
                let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.rows)
                    .into_iter()
                    .partition(|r| matches(r, &filters));
                state.rows = kept;
                representation(req, 200, gone)
            }
            _ => error(405, "PGRST117", "Unsupported HTTP method", None),
        }
    }

    fn post(&self, state: &mut State, req: &Request) -> ResponseTemplate {
        let prefer = header(req, "prefer");
        let merge = prefer.contains("resolution=merge-duplicates");
        let ignore = prefer.contains("resolution=ignore-duplicates");
        let on_conflict = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "on_conflict")
            .map(|(_, v)| v.into_owned());
        if (merge || ignore) && on_conflict.as_deref() != Some("user_id,grant_id") {
            return error(
                400,
                "42P10",
                "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                None,
            );
        }
        let incoming: Vec<Map<String, Value>> = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Object(o)) => vec![o],
            Ok(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::Object(o) => out.push(o),
                        _ => return error(400, "PGRST102", "All object keys must match", None),
                    }
                }
                out
            }
            _ => return error(400, "PGRST102", "Empty or invalid json", None),
        };
        // All or nothing, like one statement: check plain-insert conflicts first.
        if !merge && !ignore {
            for row in &incoming {
                let key = key_of(row);
                if state.rows.iter().any(|r| key_of(r) == key) {
                    state.conflicts += 1;
                    return error(
                        409,
                        "23505",
                        "duplicate key value violates unique constraint \"user_interactions_user_id_grant_id_key\"",
                        Some(&format!("Key (user_id, grant_id)=({}, {}) already exists.", key.0, key.1)),
                    );
                }
            }
        }
        let mut inserted = 0;
        let mut out = Vec::new();
        for row in incoming {
            let key = key_of(&row);
            let action = row.get("action").and_then(Value::as_str).map(str::to_owned);
            match state.rows.iter_mut().find(|r| key_of(r) == key) {
                Some(existing) if merge => {
                    for (k, v) in &row {
                        existing.insert(k.clone(), v.clone());
                    }
                    existing.insert("updated_at".into(), json!(now()));
                    out.push(existing.clone());
                    state.writes.push(AppliedWrite { key, action });
                }
                Some(_) => {} // ignore-duplicates: skipped, not returned
                None => {
                    let stamp = now();
                    let mut new_row = Map::new();
                    new_row.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
                    new_row.insert("notes".into(), Value::Null);
                    for (k, v) in &row {
                        new_row.insert(k.clone(), v.clone());
                    }
                    new_row.insert("created_at".into(), json!(stamp));
                    new_row.insert("updated_at".into(), json!(stamp));
                    out.push(new_row.clone());
                    state.rows.push(new_row);
                    state.writes.push(AppliedWrite { key, action });
                    inserted += 1;
                }
            }
        }
        let status = if merge && inserted == 0 { 200 } else { 201 };
        representation(req, status, out)
    }
}

impl Respond for InteractionsTable {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}
