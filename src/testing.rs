//! Test helpers for apps built on this crate (feature `testing`): wiremock matchers that read
//! PostgREST requests the way PostgREST does, canned PostgREST answers, and a stateful in-memory
//! table that behaves like PostgREST over a table with a unique key.
//!
//! ```
//! use supabase_rest::testing::{responses, upsert_into};
//! use supabase_rest::Client;
//! use wiremock::{Mock, MockServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = MockServer::start().await;
//! Mock::given(upsert_into("user_interactions").on_conflict("user_id,grant_id"))
//!     .respond_with(responses::rls_violation("user_interactions"))
//!     .expect(1)
//!     .mount(&server)
//!     .await;
//!
//! let client = Client::new(server.uri(), "anon-key").unwrap();
//! let err = client
//!     .from("user_interactions")
//!     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1", "action": "saved"}))
//!     .on_conflict("user_id,grant_id")
//!     .await
//!     .unwrap_err();
//! assert!(err.is_rls_violation());
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};
use wiremock::{Match, Request, Respond, ResponseTemplate};

const OBJECT: &str = "application/vnd.pgrst.object+json";

// ---------------------------------------------------------------------------------------------
// Matchers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Select,
    Insert,
    Upsert,
    Update,
    Delete,
    Rpc,
}

/// A wiremock matcher for one kind of PostgREST request on one table or function. Build it with
/// [`select_from`], [`insert_into`], [`upsert_into`], [`update`], [`delete_from`] or [`rpc`], then
/// narrow it with the methods below.
#[derive(Debug, Clone)]
pub struct PostgrestRequest {
    kind: Kind,
    name: String,
    on_conflict: Option<String>,
    ignore_duplicates: Option<bool>,
    params: Vec<(String, String)>,
    schema: Option<String>,
    returning: Option<bool>,
    single: Option<bool>,
}

fn matcher(kind: Kind, name: &str) -> PostgrestRequest {
    PostgrestRequest {
        kind,
        name: name.to_owned(),
        on_conflict: None,
        ignore_duplicates: None,
        params: Vec::new(),
        schema: None,
        returning: None,
        single: None,
    }
}

/// `GET` (or `HEAD`) on a table: `client.from(table).select(..)`.
pub fn select_from(table: &str) -> PostgrestRequest {
    matcher(Kind::Select, table)
}

/// A plain `POST` on a table (no conflict resolution): `client.from(table).insert(..)`.
pub fn insert_into(table: &str) -> PostgrestRequest {
    matcher(Kind::Insert, table)
}

/// A `POST` with `Prefer: resolution=...`: `client.from(table).upsert(..)`.
pub fn upsert_into(table: &str) -> PostgrestRequest {
    matcher(Kind::Upsert, table)
}

/// A `PATCH` on a table: `client.from(table).update(..)`.
pub fn update(table: &str) -> PostgrestRequest {
    matcher(Kind::Update, table)
}

/// A `DELETE` on a table: `client.from(table).delete()`.
pub fn delete_from(table: &str) -> PostgrestRequest {
    matcher(Kind::Delete, table)
}

/// A call of a database function, by any method: `client.rpc(function, ..)`.
pub fn rpc(function: &str) -> PostgrestRequest {
    matcher(Kind::Rpc, function)
}

impl PostgrestRequest {
    /// The upsert's `on_conflict` target, exactly as sent (e.g. `"user_id,grant_id"`).
    pub fn on_conflict(mut self, columns: &str) -> Self {
        self.on_conflict = Some(columns.to_owned());
        self
    }

    /// Requires `resolution=ignore-duplicates` (`true`) or `merge-duplicates` (`false`).
    pub fn ignore_duplicates(mut self, ignore: bool) -> Self {
        self.ignore_duplicates = Some(ignore);
        self
    }

    /// Requires the filter `column=eq.value` among the query parameters.
    pub fn eq(self, column: &str, value: impl fmt::Display) -> Self {
        self.param(column, format!("eq.{value}"))
    }

    /// Requires the decoded query parameter `key=value`.
    pub fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params.push((key.to_owned(), value.into()));
        self
    }

    /// Requires this schema in `Accept-Profile` / `Content-Profile`.
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }

    /// Requires (`true`) or forbids (`false`) `Prefer: return=representation`.
    pub fn returning(mut self, returning: bool) -> Self {
        self.returning = Some(returning);
        self
    }

    /// Requires (`true`) or forbids (`false`) the singular `Accept` of `.single()`.
    pub fn single(mut self, single: bool) -> Self {
        self.single = Some(single);
        self
    }
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn prefer_has(req: &Request, token: &str) -> bool {
    header(req, "prefer").split(',').any(|t| t.trim() == token)
}

/// The decoded last path segment and whether the one before it is `rpc`.
fn target(req: &Request) -> Option<(String, bool)> {
    let mut segments: Vec<String> = req
        .url
        .path_segments()?
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let name = segments.pop()?;
    let rpc = segments.last().is_some_and(|s| s == "rpc");
    Some((name, rpc))
}

impl Match for PostgrestRequest {
    fn matches(&self, req: &Request) -> bool {
        let Some((name, is_rpc)) = target(req) else {
            return false;
        };
        if name != self.name || is_rpc != (self.kind == Kind::Rpc) {
            return false;
        }
        let method = req.method.as_str();
        let merge = prefer_has(req, "resolution=merge-duplicates");
        let ignore = prefer_has(req, "resolution=ignore-duplicates");
        let kind_ok = match self.kind {
            Kind::Select => method == "GET" || method == "HEAD",
            Kind::Insert => method == "POST" && !merge && !ignore,
            Kind::Upsert => method == "POST" && (merge || ignore),
            Kind::Update => method == "PATCH",
            Kind::Delete => method == "DELETE",
            Kind::Rpc => true,
        };
        if !kind_ok {
            return false;
        }
        if let Some(want) = self.ignore_duplicates {
            if want != ignore {
                return false;
            }
        }
        let pairs: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        if let Some(target) = &self.on_conflict {
            if !pairs.iter().any(|(k, v)| k == "on_conflict" && v == target) {
                return false;
            }
        }
        if !self.params.iter().all(|p| pairs.contains(p)) {
            return false;
        }
        if let Some(schema) = &self.schema {
            let profile = if method == "GET" || method == "HEAD" {
                header(req, "accept-profile")
            } else {
                header(req, "content-profile")
            };
            if profile != schema {
                return false;
            }
        }
        if let Some(want) = self.returning {
            if want != prefer_has(req, "return=representation") {
                return false;
            }
        }
        if let Some(want) = self.single {
            if want != (header(req, "accept") == OBJECT) {
                return false;
            }
        }
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Canned answers

/// PostgREST's answers, ready for `respond_with`.
pub mod responses {
    use serde_json::{json, Value};
    use wiremock::ResponseTemplate;

    /// Any PostgREST error body.
    pub fn error(
        status: u16,
        code: &str,
        message: &str,
        details: Option<&str>,
        hint: Option<&str>,
    ) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(
            json!({"code": code, "message": message, "details": details, "hint": hint}),
        )
    }

    /// 409 `23505`: a plain insert hit a unique constraint.
    pub fn unique_violation(constraint: &str, details: &str) -> ResponseTemplate {
        error(
            409,
            "23505",
            &format!("duplicate key value violates unique constraint \"{constraint}\""),
            Some(details),
            None,
        )
    }

    /// 403 `42501`: row-level security rejected the row.
    pub fn rls_violation(table: &str) -> ResponseTemplate {
        error(
            403,
            "42501",
            &format!("new row violates row-level security policy for table \"{table}\""),
            None,
            None,
        )
    }

    /// 406 `PGRST116`: `.single()` matched no row.
    pub fn no_rows() -> ResponseTemplate {
        error(
            406,
            "PGRST116",
            "Cannot coerce the result to a single JSON object",
            Some("The result contains 0 rows"),
            None,
        )
    }

    /// 503 `PGRST002` (schema cache loading), with `Retry-After` when given.
    pub fn service_unavailable(retry_after_secs: Option<u64>) -> ResponseTemplate {
        let t = error(
            503,
            "PGRST002",
            "Could not query the database for the schema cache. Retrying.",
            None,
            None,
        );
        match retry_after_secs {
            Some(s) => t.insert_header("retry-after", s.to_string().as_str()),
            None => t,
        }
    }

    /// 200 with these rows (a JSON array), as a read or `return=representation` answers.
    pub fn rows(rows: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(rows)
    }

    /// 200 with one object, as `.single()` receives it.
    pub fn row(row: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(row)
    }
}

// ---------------------------------------------------------------------------------------------
// The stateful table

/// One write the table applied, in the order it applied them.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedWrite {
    /// `INSERT`, `UPDATE` (merge or PATCH) or `DELETE`.
    pub op: &'static str,
    /// The row's key (values of the key columns, as text).
    pub key: Vec<String>,
    /// The row after the write (before it, for a delete).
    pub row: Map<String, Value>,
}

type RowHook = dyn Fn(&mut Map<String, Value>) + Send + Sync;

struct State {
    rows: Vec<Map<String, Value>>,
    writes: Vec<AppliedWrite>,
    requests: usize,
    by_method: HashMap<String, usize>,
    conflicts: usize,
}

/// An in-memory table that answers like PostgREST over a table with a unique key, as a wiremock
/// responder. Mount it on the table's path.
///
/// - `POST` with `Prefer: resolution=merge-duplicates` and `on_conflict` = the key: inserts or
///   updates the sent columns (201 when a row was inserted, else 200); `ignore-duplicates`
///   skips existing rows; another conflict target answers 400 `42P10`.
/// - plain `POST` on an existing key: 409 `23505` (the whole request fails, as one statement).
/// - `GET`, `PATCH`, `DELETE` with `eq` filters on any column; other operators answer 501.
/// - `Prefer: return=representation`, `?columns=` for bulk bodies, and the singular `Accept`
///   (406 `PGRST116` unless exactly one row) as PostgREST handles them.
///
/// Every write is logged in order ([`MemoryTable::writes`]) so tests can tell which was last.
///
/// ```
/// use supabase_rest::testing::MemoryTable;
/// use supabase_rest::Client;
/// use wiremock::{matchers::path, Mock, MockServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = MockServer::start().await;
/// let table = MemoryTable::new("user_interactions_user_id_grant_id_key", &["user_id", "grant_id"]);
/// Mock::given(path("/rest/v1/user_interactions")).respond_with(table.clone()).mount(&server).await;
///
/// let client = Client::new(server.uri(), "anon-key").unwrap();
/// for action in ["saved", "applied"] {
///     client
///         .from("user_interactions")
///         .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1", "action": action}))
///         .on_conflict("user_id,grant_id")
///         .await
///         .unwrap();
/// }
/// assert_eq!(table.rows().len(), 1);
/// assert_eq!(table.rows()[0]["action"], "applied");
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryTable {
    state: Arc<Mutex<State>>,
    key: Arc<Vec<String>>,
    constraint: Arc<str>,
    on_insert: Option<Arc<RowHook>>,
    on_update: Option<Arc<RowHook>>,
    read_delay: Duration,
    received: Arc<tokio::sync::watch::Sender<usize>>,
}

impl fmt::Debug for MemoryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTable")
            .field("key", &self.key)
            .field("constraint", &self.constraint)
            .field("rows", &self.lock().rows.len())
            .finish_non_exhaustive()
    }
}

impl MemoryTable {
    /// A table whose unique key (named `constraint` in 23505 errors) is `key_columns`.
    pub fn new(constraint: &str, key_columns: &[&str]) -> Self {
        MemoryTable {
            state: Arc::new(Mutex::new(State {
                rows: Vec::new(),
                writes: Vec::new(),
                requests: 0,
                by_method: HashMap::new(),
                conflicts: 0,
            })),
            key: Arc::new(key_columns.iter().map(|c| (*c).to_owned()).collect()),
            constraint: constraint.into(),
            on_insert: None,
            on_update: None,
            read_delay: Duration::ZERO,
            received: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// `user_interactions` as `supabase/migrations/` defines it: key `(user_id, grant_id)`, a
    /// generated `id`, `notes` null by default, `created_at` set once, `updated_at` on every
    /// write.
    pub fn user_interactions() -> Self {
        fn now() -> Value {
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false))
        }
        MemoryTable::new(
            "user_interactions_user_id_grant_id_key",
            &["user_id", "grant_id"],
        )
        .on_insert(|row| {
            let stamp = now();
            row.entry("id")
                .or_insert_with(|| json!(uuid::Uuid::new_v4()));
            row.entry("notes").or_insert(Value::Null);
            row.insert("created_at".into(), stamp.clone());
            row.insert("updated_at".into(), stamp);
        })
        .on_update(|row| {
            row.insert("updated_at".into(), now());
        })
    }

    /// Fills in a new row (generated ids, defaults, timestamps) before it is stored.
    pub fn on_insert(
        mut self,
        hook: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static,
    ) -> Self {
        self.on_insert = Some(Arc::new(hook));
        self
    }

    /// Adjusts a row after an update (e.g. `updated_at`), like a database trigger.
    pub fn on_update(
        mut self,
        hook: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static,
    ) -> Self {
        self.on_update = Some(Arc::new(hook));
        self
    }

    /// Delays every `GET` answer (the state is read at once; only the answer waits), like
    /// network latency between a read and the write that follows it.
    pub fn with_read_delay(mut self, delay: Duration) -> Self {
        self.read_delay = delay;
        self
    }

    /// The rows, in insertion order.
    pub fn rows(&self) -> Vec<Map<String, Value>> {
        self.lock().rows.clone()
    }

    /// The row whose key columns hold these values (as text), if any.
    pub fn row(&self, key: &[&str]) -> Option<Map<String, Value>> {
        let want: Vec<String> = key.iter().map(|s| (*s).to_owned()).collect();
        let state = self.lock();
        state.rows.iter().find(|r| self.key_of(r) == want).cloned()
    }

    /// Every write applied, in order.
    pub fn writes(&self) -> Vec<AppliedWrite> {
        self.lock().writes.clone()
    }

    /// Requests received.
    pub fn request_count(&self) -> usize {
        self.lock().requests
    }

    /// Requests received with this method.
    pub fn requests_by_method(&self, method: &str) -> usize {
        self.lock().by_method.get(method).copied().unwrap_or(0)
    }

    /// Plain inserts rejected with 23505.
    pub fn conflicts(&self) -> usize {
        self.lock().conflicts
    }

    /// Waits until at least `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize) {
        let mut rx = self.received.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we wait.
        let _ = rx.wait_for(|seen| *seen >= n).await;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key_of(&self, row: &Map<String, Value>) -> Vec<String> {
        self.key
            .iter()
            .map(|k| match row.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
            .collect()
    }

    fn handle(&self, req: &Request) -> ResponseTemplate {
        let mut state = self.lock();
        state.requests += 1;
        *state
            .by_method
            .entry(req.method.as_str().to_owned())
            .or_default() += 1;
        let seen = state.requests;
        self.received.send_replace(seen);

        let mut filters = Vec::new();
        let mut columns: Option<Vec<String>> = None;
        let mut on_conflict = None;
        for (k, v) in req.url.query_pairs() {
            match k.as_ref() {
                "select" | "order" | "limit" | "offset" => {}
                "on_conflict" => on_conflict = Some(v.into_owned()),
                "columns" => {
                    columns = Some(
                        v.split(',')
                            .map(|c| c.trim_matches('"').to_owned())
                            .collect(),
                    )
                }
                col => match v.strip_prefix("eq.") {
                    Some(value) => filters.push((col.to_owned(), value.to_owned())),
                    None => {
                        return responses::error(
                            501,
                            "TEST",
                            &format!("MemoryTable supports only eq filters, not {col}={v}"),
                            None,
                            None,
                        )
                    }
                },
            }
        }
        let matches = |row: &Map<String, Value>| {
            filters.iter().all(|(k, v)| match row.get(k) {
                Some(Value::String(s)) => s == v,
                Some(Value::Null) => v == "null",
                Some(other) => {
                    let text = other.to_string();
                    text == *v
                }
                None => false,
            })
        };
        match req.method.as_str() {
            "GET" | "HEAD" => {
                let rows: Vec<_> = state.rows.iter().filter(|r| matches(r)).cloned().collect();
                representation(req, 200, rows).set_delay(self.read_delay)
            }
            "POST" => self.post(&mut state, req, on_conflict.as_deref(), columns),
            "PATCH" => {
                let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&req.body) else {
                    return responses::error(400, "PGRST102", "Empty or invalid json", None, None);
                };
                let mut touched = Vec::new();
                for row in state.rows.iter_mut().filter(|r| matches(r)) {
                    row.extend(patch.clone());
                    if let Some(hook) = &self.on_update {
                        hook(row);
                    }
                    touched.push(row.clone());
                }
                for row in &touched {
                    let key = self.key_of(row);
                    state.writes.push(AppliedWrite {
                        op: "UPDATE",
                        key,
                        row: row.clone(),
                    });
                }
                representation(req, 200, touched)
            }
            "DELETE" => {
                let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut state.rows)
                    .into_iter()
                    .partition(|r| matches(r));
                state.rows = kept;
                for row in &gone {
                    let key = self.key_of(row);
                    state.writes.push(AppliedWrite {
                        op: "DELETE",
                        key,
                        row: row.clone(),
                    });
                }
                representation(req, 200, gone)
            }
            _ => responses::error(405, "PGRST117", "Unsupported HTTP method", None, None),
        }
    }

    fn post(
        &self,
        state: &mut State,
        req: &Request,
        on_conflict: Option<&str>,
        columns: Option<Vec<String>>,
    ) -> ResponseTemplate {
        let merge = prefer_has(req, "resolution=merge-duplicates");
        let ignore = prefer_has(req, "resolution=ignore-duplicates");
        if (merge || ignore) && on_conflict.is_some_and(|c| c != self.key.join(",")) {
            return responses::error(
                400,
                "42P10",
                "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                None,
                None,
            );
        }
        let mut incoming: Vec<Map<String, Value>> = match serde_json::from_slice::<Value>(&req.body)
        {
            Ok(Value::Object(o)) => vec![o],
            Ok(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(o) = item else {
                        return responses::error(
                            400,
                            "PGRST102",
                            "All object keys must match",
                            None,
                            None,
                        );
                    };
                    out.push(o);
                }
                out
            }
            _ => return responses::error(400, "PGRST102", "Empty or invalid json", None, None),
        };
        // `?columns=`: only the listed keys are read; a listed key missing from a row is NULL.
        if let Some(cols) = &columns {
            for row in &mut incoming {
                let mut shaped = Map::new();
                for c in cols {
                    shaped.insert(c.clone(), row.get(c).cloned().unwrap_or(Value::Null));
                }
                *row = shaped;
            }
        }
        if !merge && !ignore {
            for row in &incoming {
                let key = self.key_of(row);
                if state.rows.iter().any(|r| self.key_of(r) == key) {
                    state.conflicts += 1;
                    return responses::unique_violation(
                        &self.constraint,
                        &format!(
                            "Key ({})=({}) already exists.",
                            self.key.join(", "),
                            key.join(", ")
                        ),
                    );
                }
            }
        }
        let mut inserted = 0;
        let mut out = Vec::new();
        for row in incoming {
            let key = self.key_of(&row);
            let position = state.rows.iter().position(|r| self.key_of(r) == key);
            match position {
                Some(i) if merge => {
                    let existing = &mut state.rows[i];
                    existing.extend(row);
                    if let Some(hook) = &self.on_update {
                        hook(existing);
                    }
                    let snapshot = existing.clone();
                    out.push(snapshot.clone());
                    state.writes.push(AppliedWrite {
                        op: "UPDATE",
                        key,
                        row: snapshot,
                    });
                }
                Some(_) => {} // ignore-duplicates: skipped and not returned
                None => {
                    let mut new_row = row;
                    if let Some(hook) = &self.on_insert {
                        hook(&mut new_row);
                    }
                    out.push(new_row.clone());
                    state.writes.push(AppliedWrite {
                        op: "INSERT",
                        key,
                        row: new_row.clone(),
                    });
                    state.rows.push(new_row);
                    inserted += 1;
                }
            }
        }
        let status = if merge && inserted == 0 { 200 } else { 201 };
        representation(req, status, out)
    }
}

/// The answer PostgREST gives for these rows, by the request's `Accept` and `Prefer`.
fn representation(req: &Request, status: u16, rows: Vec<Map<String, Value>>) -> ResponseTemplate {
    if header(req, "accept") == OBJECT {
        if rows.len() != 1 {
            return responses::error(
                406,
                "PGRST116",
                "Cannot coerce the result to a single JSON object",
                Some(&format!("The result contains {} rows", rows.len())),
                None,
            );
        }
        let mut rows = rows;
        return ResponseTemplate::new(status).set_body_json(Value::Object(rows.remove(0)));
    }
    let method = req.method.as_str();
    if method == "GET" || prefer_has(req, "return=representation") {
        return ResponseTemplate::new(status)
            .set_body_json(Value::Array(rows.into_iter().map(Value::Object).collect()));
    }
    if method == "HEAD" {
        return ResponseTemplate::new(status);
    }
    ResponseTemplate::new(if status == 200 && method != "POST" {
        204
    } else {
        status
    })
}

impl Respond for MemoryTable {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}
