//! A stateful in-memory table that behaves like PostgREST over a table with a unique key.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Map, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use super::matchers::{header, prefer_has, target, OBJECT};
use super::responses;

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
type RowPolicy = dyn Fn(&Request, &Map<String, Value>) -> bool + Send + Sync;

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
/// - `order=a.desc,b.asc.nullsfirst,...` sorts what a `GET` returns, as PostgreSQL's
///   `ORDER BY` would (nulls last ascending, first descending, unless told).
/// - row-level security, when given one ([`MemoryTable::with_row_security`]).
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
    row_security: Option<Arc<RowPolicy>>,
    read_delay: Duration,
    latency: Duration,
    received: Arc<tokio::sync::watch::Sender<usize>>,
    /// The soft-delete column, if any (see [`MemoryTable::with_soft_delete`]).
    soft_delete: Option<Arc<str>>,
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
            row_security: None,
            read_delay: Duration::ZERO,
            latency: Duration::ZERO,
            received: Arc::new(tokio::sync::watch::channel(0).0),
            soft_delete: None,
        }
    }

    /// `user_interactions` as `supabase/migrations/` defines it: key `(user_id, grant_id)`, a
    /// generated `id`, `notes` null by default, `created_at` set once, `updated_at` on every
    /// write, and soft deletes on `deleted_at` ([`MemoryTable::with_soft_delete`]).
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
            row.insert("deleted_at".into(), Value::Null);
            row.insert("created_at".into(), stamp.clone());
            row.insert("updated_at".into(), stamp);
        })
        .on_update(|row| {
            row.insert("updated_at".into(), now());
        })
        .with_soft_delete("deleted_at")
    }

    /// Soft deletes on `column`, as the migrations define them for `user_interactions`: a
    /// row whose `column` is not null is removed (reads, updates and deletes do not see it, as
    /// if row-level security hid it), a `PATCH` that sets `column` removes the matched rows (the
    /// value is replaced by the current time, like the database's trigger), and an upsert that
    /// meets a removed row revives it (same row, `column` null again) before merging.
    pub fn with_soft_delete(mut self, column: &str) -> Self {
        self.soft_delete = Some(column.into());
        self
    }

    fn removed(&self, row: &Map<String, Value>) -> bool {
        self.soft_delete
            .as_deref()
            .is_some_and(|c| row.get(c).is_some_and(|v| !v.is_null()))
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

    /// Row-level security, like one policy whose `USING` and `WITH CHECK` are both
    /// `policy(request, row)` (read the caller from the request, e.g. its `Authorization`
    /// header): a request reads, updates and deletes only the rows the policy allows, as if the
    /// others were not there, and a write whose resulting row it refuses, or an upsert that meets
    /// an existing row it refuses, answers 403 `42501` ("new row violates row-level security
    /// policy") with nothing of the request applied.
    ///
    /// Unique keys are checked over every row, allowed or not, as PostgreSQL does.
    pub fn with_row_security(
        mut self,
        policy: impl Fn(&Request, &Map<String, Value>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.row_security = Some(Arc::new(policy));
        self
    }

    /// Delays every `GET` answer (the state is read at once; only the answer waits), like
    /// network latency between a read and the write that follows it.
    pub fn with_read_delay(mut self, delay: Duration) -> Self {
        self.read_delay = delay;
        self
    }

    /// Delays every answer, reads and writes alike, like the network between an app and
    /// PostgREST: each request is applied the moment it arrives, like a statement that commits at
    /// once, and only its answer waits. Adds to [`MemoryTable::with_read_delay`] for `GET`s.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
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

    /// Whether the row-level security policy, if any, lets this request see or write `row`.
    fn allows(&self, req: &Request, row: &Map<String, Value>) -> bool {
        self.row_security
            .as_ref()
            .is_none_or(|policy| policy(req, row))
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
        let mut order = Vec::new();
        for (k, v) in req.url.query_pairs() {
            match k.as_ref() {
                "select" | "limit" | "offset" => {}
                "order" => match parse_order(&v) {
                    Some(terms) => order = terms,
                    None => {
                        return responses::error(
                            501,
                            "TEST",
                            &format!("MemoryTable cannot order by {v}"),
                            None,
                            None,
                        )
                    }
                },
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
            self.allows(req, row)
                && !self.removed(row)
                && filters.iter().all(|(k, v)| match row.get(k) {
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
                let mut rows: Vec<_> = state.rows.iter().filter(|r| matches(r)).cloned().collect();
                rows.sort_by(|a, b| compare_rows(&order, a, b));
                representation(req, 200, rows)
            }
            "POST" => self.post(&mut state, req, on_conflict.as_deref(), columns),
            "PATCH" => {
                let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&req.body) else {
                    return responses::error(400, "PGRST102", "Empty or invalid json", None, None);
                };
                let mut updated = Vec::new();
                for (i, row) in state.rows.iter().enumerate().filter(|(_, r)| matches(r)) {
                    let mut row = row.clone();
                    row.extend(patch.clone());
                    if let Some(c) = self.soft_delete.as_deref() {
                        if row.get(c).is_some_and(|v| !v.is_null()) {
                            let stamp = chrono::Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
                            row.insert(c.to_owned(), Value::String(stamp));
                        }
                    }
                    if let Some(hook) = &self.on_update {
                        hook(&mut row);
                    }
                    if !self.allows(req, &row) {
                        return rls_violation(req);
                    }
                    updated.push((i, row));
                }
                let mut touched = Vec::with_capacity(updated.len());
                for (i, row) in updated {
                    state.rows[i] = row.clone();
                    touched.push(row);
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
        // One statement: applied to a copy, kept only if no row fails.
        let mut rows = state.rows.clone();
        let mut writes = Vec::new();
        let mut inserted = 0;
        let mut out = Vec::new();
        for row in incoming {
            let key = self.key_of(&row);
            let position = rows.iter().position(|r| self.key_of(r) == key);
            match position {
                Some(i) if merge => {
                    let existing = &mut rows[i];
                    if !self.allows(req, existing) {
                        return rls_violation(req);
                    }
                    if let Some(c) = self.soft_delete.as_deref() {
                        existing.insert(c.to_owned(), Value::Null);
                    }
                    existing.extend(row);
                    if let Some(hook) = &self.on_update {
                        hook(existing);
                    }
                    if !self.allows(req, existing) {
                        return rls_violation(req);
                    }
                    let snapshot = existing.clone();
                    out.push(snapshot.clone());
                    writes.push(AppliedWrite {
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
                    if !self.allows(req, &new_row) {
                        return rls_violation(req);
                    }
                    out.push(new_row.clone());
                    writes.push(AppliedWrite {
                        op: "INSERT",
                        key,
                        row: new_row.clone(),
                    });
                    rows.push(new_row);
                    inserted += 1;
                }
            }
        }
        state.rows = rows;
        state.writes.extend(writes);
        let status = if merge && inserted == 0 { 200 } else { 201 };
        representation(req, status, out)
    }
}

/// 403 `42501` for the table the request names.
fn rls_violation(req: &Request) -> ResponseTemplate {
    let table = target(req).map(|(name, _)| name).unwrap_or_default();
    responses::rls_violation(&table)
}

/// One term of `order=`: the column, descending, nulls first.
type OrderTerm = (String, bool, bool);

/// PostgREST's `order=col[.asc|.desc][.nullsfirst|.nullslast],...`; `None` if unreadable.
fn parse_order(value: &str) -> Option<Vec<OrderTerm>> {
    value
        .split(',')
        .map(|term| {
            let mut parts = term.split('.');
            // A JSON path (`data->a`) or an embedded resource (`section(name)`) is not supported.
            let column = parts
                .next()
                .filter(|c| !c.is_empty() && !c.contains("->") && !c.contains('('))?
                .to_owned();
            let (mut descending, mut nulls_first) = (false, None);
            for modifier in parts {
                match modifier {
                    "asc" => descending = false,
                    "desc" => descending = true,
                    "nullsfirst" => nulls_first = Some(true),
                    "nullslast" => nulls_first = Some(false),
                    _ => return None,
                }
            }
            Some((column, descending, nulls_first.unwrap_or(descending)))
        })
        .collect()
}

/// Rows in `order=` order (equal rows keep their order: the sort is stable).
fn compare_rows(order: &[OrderTerm], a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
    for (column, descending, nulls_first) in order {
        let value = |row| non_null(row, column);
        let ordering = match (value(a), value(b)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) if *nulls_first => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) if *nulls_first => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let ordering = compare_values(x, y);
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// The row's value in `column`, unless it is missing or null.
fn non_null<'a>(row: &'a Map<String, Value>, column: &str) -> Option<&'a Value> {
    row.get(column).filter(|v| !v.is_null())
}

/// Two non-null JSON values: numbers by value, text and booleans as themselves, anything else
/// by its JSON text.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
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
        let answer = self.handle(request);
        let mut delay = self.latency;
        if matches!(request.method.as_str(), "GET" | "HEAD") {
            delay += self.read_delay;
        }
        if delay.is_zero() {
            answer
        } else {
            answer.set_delay(delay)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer};

    use super::*;
    use crate::{Client, Order};

    /// A server with `table` on `/rest/v1/t`, and a client for it.
    async fn serve(table: &MemoryTable) -> (MockServer, Client) {
        let server = MockServer::start().await;
        Mock::given(path("/rest/v1/t"))
            .respond_with(table.clone())
            .mount(&server)
            .await;
        let client = Client::new(server.uri(), "anon-key").unwrap();
        (server, client)
    }

    #[tokio::test]
    async fn latency_delays_every_answer_but_applies_the_write_at_once() {
        let latency = Duration::from_millis(150);
        let table = MemoryTable::new("t_pkey", &["id"]).with_latency(latency);
        let (_server, client) = serve(&table).await;

        let started = Instant::now();
        let insert = tokio::spawn({
            let client = client.clone();
            async move { client.from("t").insert(&json!({"id": 1})).await }
        });
        table.wait_for_requests(1).await;
        // Applied on arrival, while the answer is still on its way.
        assert_eq!(table.rows().len(), 1);
        assert!(!insert.is_finished());
        insert.await.unwrap().unwrap();
        assert!(started.elapsed() >= latency);

        let started = Instant::now();
        let rows = client.from("t").select("*").await.unwrap();
        assert_eq!(rows.len(), 1);
        assert!(started.elapsed() >= latency);
    }

    #[tokio::test]
    async fn read_delay_adds_to_latency_for_reads_only() {
        let (read, latency) = (Duration::from_millis(400), Duration::from_millis(50));
        let table = MemoryTable::new("t_pkey", &["id"])
            .with_read_delay(read)
            .with_latency(latency);
        let (_server, client) = serve(&table).await;

        let started = Instant::now();
        client.from("t").insert(&json!({"id": 1})).await.unwrap();
        let write = started.elapsed();
        assert!(write >= latency && write < read + latency, "{write:?}");

        let started = Instant::now();
        client.from("t").select("*").await.unwrap();
        assert!(started.elapsed() >= read + latency);
    }

    /// The `n` of each row a raw `GET ?query` returns, or the status when it fails.
    async fn ns(server: &MockServer, query: &str) -> Result<Vec<Value>, u16> {
        let answer = reqwest::get(format!("{}/rest/v1/t?{query}", server.uri()))
            .await
            .unwrap();
        let status = answer.status().as_u16();
        if status != 200 {
            return Err(status);
        }
        let rows: Vec<Map<String, Value>> =
            serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        Ok(rows.into_iter().map(|r| r["n"].clone()).collect())
    }

    #[tokio::test]
    async fn order_sorts_reads_like_order_by() {
        let table = MemoryTable::new("t_pkey", &["id"]);
        let (server, client) = serve(&table).await;
        let rows = json!([
            {"id": 1, "g": "b", "n": 2},
            {"id": 2, "g": "a", "n": null},
            {"id": 3, "g": "a", "n": 10},
            {"id": 4, "g": "b", "n": 1},
        ]);
        client.from("t").insert(&rows).await.unwrap();

        assert_eq!(
            ns(&server, "").await,
            Ok(vec![json!(2), json!(null), json!(10), json!(1)])
        );
        // Numbers by value; nulls last ascending, first descending.
        assert_eq!(
            ns(&server, "order=n").await,
            Ok(vec![json!(1), json!(2), json!(10), json!(null)])
        );
        assert_eq!(
            ns(&server, "order=n.desc").await,
            Ok(vec![json!(null), json!(10), json!(2), json!(1)])
        );
        assert_eq!(
            ns(&server, "order=n.asc.nullsfirst").await,
            Ok(vec![json!(null), json!(1), json!(2), json!(10)])
        );
        assert_eq!(
            ns(&server, "order=n.desc.nullslast").await,
            Ok(vec![json!(10), json!(2), json!(1), json!(null)])
        );
        // Tie-breakers, and the filters still apply.
        assert_eq!(
            ns(&server, "order=g.desc,n.asc").await,
            Ok(vec![json!(1), json!(2), json!(10), json!(null)])
        );
        assert_eq!(
            ns(&server, "g=eq.a&order=n.desc").await,
            Ok(vec![json!(null), json!(10)])
        );
        // What it cannot sort by answers 501 rather than an unsorted list.
        assert_eq!(ns(&server, "order=n.sideways").await, Err(501));
        assert_eq!(ns(&server, "order=data->n").await, Err(501));

        // The client's `.order()` speaks the same syntax.
        let sorted: Vec<Value> = client
            .from("t")
            .select("*")
            .order("g", Order::asc())
            .order("n", Order::desc().nulls_last())
            .await
            .unwrap();
        let ids: Vec<&Value> = sorted.iter().map(|r| &r["id"]).collect();
        assert_eq!(ids, [&json!(3), &json!(2), &json!(1), &json!(4)]);
    }

    /// A table whose rows belong to the `owner` that the bearer token names.
    fn owned_table() -> MemoryTable {
        MemoryTable::new("t_pkey", &["id"]).with_row_security(|req, row| {
            let caller = header(req, "authorization").strip_prefix("Bearer ");
            caller.is_some() && row.get("owner").and_then(Value::as_str) == caller
        })
    }

    #[tokio::test]
    async fn row_security_hides_other_rows_from_reads_updates_and_deletes() {
        let table = owned_table();
        let (_server, client) = serve(&table).await;
        let (alice, bob) = (
            client.with_access_token("alice"),
            client.with_access_token("bob"),
        );
        alice
            .from("t")
            .insert(&json!({"id": 1, "owner": "alice", "v": "a"}))
            .await
            .unwrap();
        bob.from("t")
            .insert(&json!({"id": 2, "owner": "bob", "v": "b"}))
            .await
            .unwrap();

        let seen: Vec<Value> = alice.from("t").select("*").await.unwrap();
        assert_eq!(seen, [json!({"id": 1, "owner": "alice", "v": "a"})]);
        let seen: Vec<Value> = client.from("t").select("*").await.unwrap();
        assert!(seen.is_empty(), "no token, no rows: {seen:?}");

        // Bob's row is not there for Alice: updating or deleting it touches nothing.
        let changed: Vec<Value> = alice
            .from("t")
            .update(&json!({"v": "x"}))
            .eq("id", 2)
            .select("*")
            .await
            .unwrap();
        assert!(changed.is_empty());
        let gone: Vec<Value> = alice
            .from("t")
            .delete()
            .eq("id", 2)
            .select("*")
            .await
            .unwrap();
        assert!(gone.is_empty());
        assert_eq!(table.row(&["2"]).unwrap()["v"], "b");

        // Her own row she can change and delete.
        alice
            .from("t")
            .update(&json!({"v": "a2"}))
            .eq("id", 1)
            .await
            .unwrap();
        assert_eq!(table.row(&["1"]).unwrap()["v"], "a2");
        alice.from("t").delete().eq("id", 1).await.unwrap();
        assert_eq!(table.rows().len(), 1);
        let ops: Vec<&str> = table.writes().iter().map(|w| w.op).collect();
        assert_eq!(ops, ["INSERT", "INSERT", "UPDATE", "DELETE"]);
    }

    #[tokio::test]
    async fn row_security_refuses_writes_whose_row_it_does_not_allow_and_applies_nothing() {
        let table = owned_table();
        let (_server, client) = serve(&table).await;
        let (alice, bob) = (
            client.with_access_token("alice"),
            client.with_access_token("bob"),
        );
        alice
            .from("t")
            .insert(&json!({"id": 1, "owner": "alice"}))
            .await
            .unwrap();
        let before = (table.rows(), table.writes());

        // Inserting, or upserting, a row for someone else.
        let err = bob
            .from("t")
            .insert(&json!({"id": 3, "owner": "alice"}))
            .await
            .unwrap_err();
        assert!(err.is_rls_violation(), "{err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(403));
        let err = bob
            .from("t")
            .upsert(&json!({"id": 3, "owner": "alice"}))
            .on_conflict("id")
            .await
            .unwrap_err();
        assert!(err.is_rls_violation(), "{err:?}");
        // An upsert that meets a row the caller may not touch.
        let err = bob
            .from("t")
            .upsert(&json!({"id": 1, "owner": "bob"}))
            .on_conflict("id")
            .await
            .unwrap_err();
        assert!(err.is_rls_violation(), "{err:?}");
        // Handing one's own row to someone else.
        let err = alice
            .from("t")
            .update(&json!({"owner": "bob"}))
            .eq("id", 1)
            .await
            .unwrap_err();
        assert!(err.is_rls_violation(), "{err:?}");
        // A bulk upsert with one refused row applies none of them.
        let err = alice
            .from("t")
            .upsert(&json!([{"id": 4, "owner": "alice"}, {"id": 5, "owner": "bob"}]))
            .on_conflict("id")
            .await
            .unwrap_err();
        assert!(err.is_rls_violation(), "{err:?}");
        assert_eq!((table.rows(), table.writes()), before);

        // The unique key holds over every row, hidden or not.
        let err = bob
            .from("t")
            .insert(&json!({"id": 1, "owner": "bob"}))
            .await
            .unwrap_err();
        assert!(err.is_unique_violation(), "{err:?}");
        assert_eq!(table.conflicts(), 1);
    }
}
