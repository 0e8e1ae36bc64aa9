//! A PostgREST stand-in over a real PostgreSQL, for end-to-end tests. Test support, not library.
//!
//! It serves exactly the subset of PostgREST that `UsersService` (and the old select-then-insert
//! flow kept in tests) sends, by running the SQL PostgREST generates for those requests
//! (protocol.md §2.4) inside one transaction per request, with the role and JWT claims PostgREST
//! would set (`set_config('role', ...)`, `set_config('request.jwt.claims', ...)`), connected as
//! `authenticator` like PostgREST. It answers with PostgREST's status codes and error bodies.
//! Anything outside the subset answers 501, so no test can lean on semantics it does not have.
//!
//! Subset: tables `user_interactions`, `user_interaction_events` and `grants`; `GET` with `select` (`*` or plain columns),
//! `eq` filters and `order=<col>.asc|desc`; `POST` of an object or an array (with `columns`),
//! optionally with `on_conflict=user_id,grant_id` and `Prefer: resolution=merge-duplicates |
//! ignore-duplicates`; `PATCH` and `DELETE` with `eq` filters; `Prefer: return=representation`;
//! `Accept: application/vnd.pgrst.object+json`. JWTs are verified as PostgREST does (HS256 with
//! [`JWT_SECRET`], `exp`; 401 `PGRST301` / `PGRST303` with `WWW-Authenticate`); a bearer that is
//! not a JWT (the api key) runs as `anon`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::{Mutex, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

/// The environment variable naming the test database (set by `scripts/with-postgres.sh`).
pub const DATABASE_URL_VAR: &str = "SUPABASE_REST_TEST_DATABASE_URL";

/// The test database URL; panics with instructions when the database was not provisioned, so a
/// database test can never pass by skipping.
pub fn database_url() -> String {
    std::env::var(DATABASE_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{DATABASE_URL_VAR} is not set: the database tests need the throwaway PostgreSQL that \
             ./scripts/test-all.sh starts (or run: scripts/with-postgres.sh cargo test)"
        )
    })
}

/// A superuser connection, for setting up and inspecting the database.
pub async fn admin() -> tokio_postgres::Client {
    connect(database_url().parse().expect("database URL")).await
}

async fn connect(config: tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Installs (once per database) a log of every write to `user_interactions`, numbered in the
/// order the writes took the row lock, which for one row is the order they committed.
pub async fn install_write_log() {
    let mut db = admin().await;
    let tx = db.transaction().await.unwrap();
    tx.batch_execute(
        "select pg_advisory_xact_lock(4242);
         create schema if not exists test_support;
         create table if not exists test_support.interaction_log (
             seq bigserial primary key,
             op text not null,
             user_id uuid not null,
             grant_id uuid not null,
             action text not null,
             created_at timestamptz not null
         );
         create or replace function test_support.log_interaction() returns trigger
         language plpgsql security definer set search_path = '' as $$
         begin
             insert into test_support.interaction_log (op, user_id, grant_id, action, created_at)
             values (tg_op, new.user_id, new.grant_id, new.action, new.created_at);
             return new;
         end $$;
         do $$ begin
             if not exists (select 1 from pg_trigger where tgname = 'zz_test_log') then
                 create trigger zz_test_log after insert or update on public.user_interactions
                     for each row execute function test_support.log_interaction();
             end if;
         end $$;",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Inserts grants (as the superuser) and returns their ids.
pub async fn create_grants(n: usize) -> Vec<uuid::Uuid> {
    let db = admin().await;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::new_v4();
        db.execute(
            "insert into public.grants (id, title) values ($1::text::uuid, $2)",
            &[&id.to_string(), &format!("test grant {i}")],
        )
        .await
        .expect("create grant");
        ids.push(id);
    }
    ids
}

/// The JWT secret the stand-in verifies tokens with (PostgREST's `jwt-secret`), and that the
/// Supabase Auth stand-in signs them with.
pub const JWT_SECRET: &[u8] = b"test-jwt-secret-with-at-least-32-characters";

fn hs256(input: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(JWT_SECRET).expect("any key length");
    mac.update(input);
    mac.finalize().into_bytes().to_vec()
}

/// A JWT with these claims, signed HS256 with [`JWT_SECRET`]; an `exp` one hour ahead is added
/// unless the claims have one.
pub fn jwt(claims: &Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = claims.clone();
    if claims.get("exp").is_none() {
        claims["exp"] = json!(unix_now() + 3600);
    }
    let signing_input = format!(
        "{}.{}",
        b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    );
    let signature = b64.encode(hs256(signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A signed-in user's token.
pub fn user_jwt(user_id: uuid::Uuid) -> String {
    jwt(&json!({"sub": user_id, "role": "authenticated", "aud": "authenticated"}))
}

/// The service role's token.
pub fn service_jwt() -> String {
    jwt(&json!({"role": "service_role"}))
}

/// Why PostgREST would refuse a JWT: `(code, message)` of its 401 body.
pub type JwtRejection = (&'static str, &'static str);

/// Verifies a bearer as PostgREST does: HS256 with [`JWT_SECRET`] (an unsigned or otherwise
/// signed token is refused), `exp` in the future. `Ok(None)` for a bearer that is not a JWT at
/// all (the api key, which Supabase's gateway maps to `anon`).
pub fn verify_jwt(token: &str) -> Result<Option<serde_json::Map<String, Value>>, JwtRejection> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Ok(None);
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = b64
        .decode(parts[0])
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(("PGRST301", "JWSError (CompactDecodeError Invalid header)"))?;
    if header["alg"] != "HS256" {
        return Err(("PGRST301", "JWSError JWSInvalidSignature"));
    }
    let expected = hs256(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let given = b64
        .decode(parts[2])
        .map_err(|_| ("PGRST301", "JWSError JWSInvalidSignature"))?;
    if given != expected {
        return Err(("PGRST301", "JWSError JWSInvalidSignature"));
    }
    let claims = b64
        .decode(parts[1])
        .ok()
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok());
    let Some(Value::Object(claims)) = claims else {
        return Err(("PGRST301", "JWSError (CompactDecodeError Invalid payload)"));
    };
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp <= unix_now())
    {
        return Err(("PGRST303", "JWT expired"));
    }
    Ok(Some(claims))
}

/// After a run of `record_user_interaction` calls (`outcomes`: each call's grant and whether it
/// succeeded) with the write log installed ([`install_write_log`]): panics unless every pair
/// has exactly one row holding the last committed write, and no call succeeded without a
/// committed write. Returns the number of committed writes.
pub async fn check_one_row_per_pair(
    user: uuid::Uuid,
    grants: &[uuid::Uuid],
    outcomes: impl IntoIterator<Item = (uuid::Uuid, bool)>,
) -> usize {
    let db = admin().await;
    let mut successes: std::collections::HashMap<uuid::Uuid, usize> = Default::default();
    for (grant, ok) in outcomes {
        if ok {
            *successes.entry(grant).or_default() += 1;
        }
    }
    let mut committed = 0;
    for grant in grants {
        let rows = db
            .query(
                "select action::text from public.user_interactions
                 where user_id = $1::text::uuid and grant_id = $2::text::uuid",
                &[&user.to_string(), &grant.to_string()],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "exactly one row per pair");
        let log = db
            .query(
                "select action::text from test_support.interaction_log
                 where user_id = $1::text::uuid and grant_id = $2::text::uuid order by seq",
                &[&user.to_string(), &grant.to_string()],
            )
            .await
            .unwrap();
        committed += log.len();
        let last: String = log.last().expect("a committed write").get(0);
        let stored: String = rows[0].get(0);
        assert_eq!(stored, last, "the row holds the last committed write");
        assert!(
            log.len() >= successes.get(grant).copied().unwrap_or(0),
            "a success the database has no write for"
        );
    }
    committed
}

/// Creates users in `auth.users` (as the superuser).
pub async fn create_users(ids: &[uuid::Uuid]) {
    let db = admin().await;
    for id in ids {
        db.execute(
            "insert into auth.users (id, email) values ($1::text::uuid, $2) on conflict do nothing",
            &[&id.to_string(), &format!("{id}@example.test")],
        )
        .await
        .expect("create user");
    }
}

/// A running stand-in.
pub struct StandIn {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl StandIn {
    /// How many HTTP requests it has received.
    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The project URL to give `Client::new` (requests go to `/rest/v1/...`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

struct App {
    pool: Pool,
    /// How to open a connection again after the database went away (a restart).
    config: tokio_postgres::Config,
    latency: Duration,
    requests: Arc<AtomicUsize>,
}

/// A fixed set of `authenticator` connections.
struct Pool {
    clients: Mutex<Vec<tokio_postgres::Client>>,
    permits: Semaphore,
}

impl Pool {
    async fn get(&self) -> (tokio_postgres::Client, tokio::sync::SemaphorePermit<'_>) {
        let permit = self.permits.acquire().await.expect("pool closed");
        let client = self
            .clients
            .lock()
            .await
            .pop()
            .expect("a client per permit");
        (client, permit)
    }

    async fn put(&self, client: tokio_postgres::Client) {
        self.clients.lock().await.push(client);
    }
}

/// Starts the stand-in on a free loopback port. `latency` delays every answer, standing in for
/// the network round trip between the app and Supabase.
pub async fn start(latency: Duration) -> StandIn {
    const CONNECTIONS: usize = 48;
    let mut config: tokio_postgres::Config = database_url().parse().expect("database URL");
    config.user("authenticator").password("authenticator");
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        clients.push(connect(config.clone()).await);
    }
    let app = Arc::new(App {
        pool: Pool {
            clients: Mutex::new(clients),
            permits: Semaphore::new(CONNECTIONS),
        },
        config,
        latency,
        requests: Arc::new(AtomicUsize::new(0)),
    });
    let requests = app.requests.clone();
    let router = axum::Router::new().fallback(handle).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    StandIn { addr, requests }
}

fn error_body(
    status: StatusCode,
    code: &str,
    message: &str,
    details: Option<&str>,
    hint: Option<&str>,
) -> Response {
    let body = json!({"code": code, "message": message, "details": details, "hint": hint});
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn unsupported(what: impl std::fmt::Display) -> Response {
    error_body(
        StatusCode::NOT_IMPLEMENTED,
        "STANDIN",
        &format!("the PostgREST stand-in does not implement {what}"),
        None,
        None,
    )
}

async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.requests.fetch_add(1, Ordering::SeqCst);
    let response = match Request::parse(&method, &uri, &headers, &body) {
        Ok(req) => run(&app, req).await,
        Err(resp) => resp,
    };
    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    response
}

/// Columns and their SQL types, per table.
fn columns(table: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match table {
        "user_interactions" => Some(&[
            ("id", "uuid"),
            ("user_id", "uuid"),
            ("grant_id", "uuid"),
            ("action", "text"),
            ("notes", "text"),
            ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"),
            ("deleted_at", "timestamptz"),
        ]),
        "user_interaction_events" => Some(&[
            ("seq", "bigint"),
            ("interaction_id", "uuid"),
            ("user_id", "uuid"),
            ("grant_id", "uuid"),
            ("operation", "text"),
            ("old_action", "text"),
            ("new_action", "text"),
            ("old_notes", "text"),
            ("new_notes", "text"),
            ("changed_by", "uuid"),
            ("changed_at", "timestamptz"),
        ]),
        "grants" => Some(&[
            ("id", "uuid"),
            ("title", "text"),
            ("funder", "text"),
            ("amount", "numeric"),
            ("deadline", "date"),
            ("status", "text"),
            ("created_at", "timestamptz"),
        ]),
        _ => None,
    }
}

fn column_type(table: &str, column: &str) -> Option<&'static str> {
    columns(table)?
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, t)| *t)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Resolution {
    None,
    Merge,
    Ignore,
}

#[derive(Debug)]
struct Request {
    method: Method,
    table: String,
    select: Option<Vec<String>>,
    filters: Vec<(String, String)>,
    order: Vec<(String, bool)>,
    on_conflict: bool,
    columns: Option<Vec<String>>,
    resolution: Resolution,
    representation: bool,
    singular: bool,
    role: String,
    claims: String,
    rows: Vec<serde_json::Map<String, Value>>,
}

impl Request {
    fn parse(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Request, Response> {
        let table = uri
            .path()
            .strip_prefix("/rest/v1/")
            .filter(|t| columns(t).is_some())
            .ok_or_else(|| unsupported(format!("the path {}", uri.path())))?
            .to_owned();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let profile = if *method == Method::GET {
            header("accept-profile")
        } else {
            header("content-profile")
        };
        if !profile.is_empty() && profile != "public" {
            return Err(error_body(
                StatusCode::NOT_ACCEPTABLE,
                "PGRST106",
                &format!("Invalid schema: {profile}"),
                None,
                Some("Only the following schemas are exposed: public"),
            ));
        }

        let mut req = Request {
            method: method.clone(),
            table: table.clone(),
            select: None,
            filters: Vec::new(),
            order: Vec::new(),
            on_conflict: false,
            columns: None,
            resolution: Resolution::None,
            representation: false,
            singular: false,
            role: "anon".into(),
            claims: "{}".into(),
            rows: Vec::new(),
        };
        let known = |c: &str| column_type(&table, c).is_some();
        for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "select" if value == "*" => req.select = Some(vec!["*".into()]),
                "select" => {
                    let cols: Vec<String> = value.split(',').map(str::to_owned).collect();
                    if !cols.iter().all(|c| known(c)) {
                        return Err(unsupported(format!("select={value}")));
                    }
                    req.select = Some(cols);
                }
                "on_conflict" if value == "user_id,grant_id" && table == "user_interactions" => {
                    req.on_conflict = true
                }
                "columns" => {
                    let cols: Vec<String> = value
                        .split(',')
                        .map(|c| c.trim_matches('"').to_owned())
                        .collect();
                    if !cols.iter().all(|c| known(c)) {
                        return Err(error_body(
                            StatusCode::BAD_REQUEST,
                            "PGRST204",
                            "Could not find a column of the payload in the schema cache",
                            None,
                            None,
                        ));
                    }
                    req.columns = Some(cols);
                }
                "order" => {
                    for term in value.split(',') {
                        let (col, dir) = term.split_once('.').unwrap_or((term, "asc"));
                        if !known(col) || !matches!(dir, "asc" | "desc") {
                            return Err(unsupported(format!("order={value}")));
                        }
                        req.order.push((col.to_owned(), dir == "desc"));
                    }
                }
                col if known(col) => match value.strip_prefix("eq.") {
                    Some(v) => req.filters.push((col.to_owned(), v.to_owned())),
                    None => return Err(unsupported(format!("the filter {col}={value}"))),
                },
                other => return Err(unsupported(format!("the query parameter {other}"))),
            }
        }

        for token in header("prefer")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            match token {
                "resolution=merge-duplicates" => req.resolution = Resolution::Merge,
                "resolution=ignore-duplicates" => req.resolution = Resolution::Ignore,
                "return=representation" => req.representation = true,
                "return=minimal" => req.representation = false,
                other => return Err(unsupported(format!("Prefer: {other}"))),
            }
        }
        req.singular = match header("accept") {
            "" | "*/*" | "application/json" => false,
            "application/vnd.pgrst.object+json" => true,
            other => return Err(unsupported(format!("Accept: {other}"))),
        };

        let bearer = header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or("");
        let verified = verify_jwt(bearer).and_then(|claims| {
            let revoked = claims
                .as_ref()
                .and_then(|c| c.get("session_id"))
                .and_then(Value::as_str)
                .is_some_and(|sid| revoked_sessions().lock().unwrap().contains(sid));
            if revoked {
                Err(("PGRST301", "JWT revoked"))
            } else {
                Ok(claims)
            }
        });
        let claims = match verified {
            Ok(claims) => claims,
            Err((code, message)) => {
                let mut response = error_body(StatusCode::UNAUTHORIZED, code, message, None, None);
                response.headers_mut().insert(
                    "www-authenticate",
                    axum::http::HeaderValue::from_str(&format!(
                        "Bearer error=\"invalid_token\", error_description=\"{message}\""
                    ))
                    .unwrap(),
                );
                return Err(response);
            }
        };
        if let Some(claims) = claims {
            req.role = claims
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("anon")
                .to_owned();
            req.claims = Value::Object(claims).to_string();
        }
        if !matches!(req.role.as_str(), "anon" | "authenticated" | "service_role") {
            return Err(error_body(
                StatusCode::UNAUTHORIZED,
                "PGRST301",
                "unknown role",
                None,
                None,
            ));
        }

        match *method {
            Method::GET => {
                if req.resolution != Resolution::None || req.on_conflict || req.columns.is_some() {
                    return Err(unsupported("write options on GET"));
                }
            }
            Method::POST | Method::PATCH => {
                if (*method == Method::PATCH)
                    && (req.resolution != Resolution::None || req.on_conflict)
                {
                    return Err(unsupported("resolution on PATCH"));
                }
                if req.resolution != Resolution::None && !req.on_conflict {
                    return Err(unsupported(
                        "an upsert without on_conflict=user_id,grant_id",
                    ));
                }
                let invalid = || {
                    error_body(
                        StatusCode::BAD_REQUEST,
                        "PGRST102",
                        "Empty or invalid json",
                        None,
                        None,
                    )
                };
                req.rows = match serde_json::from_slice::<Value>(body).map_err(|_| invalid())? {
                    Value::Object(o) => vec![o],
                    Value::Array(items) if *method == Method::POST => items
                        .into_iter()
                        .map(|i| match i {
                            Value::Object(o) => Ok(o),
                            _ => Err(error_body(
                                StatusCode::BAD_REQUEST,
                                "PGRST102",
                                "All object keys must match",
                                None,
                                None,
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(invalid()),
                };
                let keys: Vec<String> = match &req.columns {
                    Some(c) => c.clone(),
                    None => {
                        let first: Vec<String> = req
                            .rows
                            .first()
                            .map(|r| r.keys().cloned().collect())
                            .unwrap_or_default();
                        if req.rows.iter().any(|r| {
                            r.len() != first.len() || !first.iter().all(|k| r.contains_key(k))
                        }) {
                            return Err(error_body(
                                StatusCode::BAD_REQUEST,
                                "PGRST102",
                                "All object keys must match",
                                None,
                                None,
                            ));
                        }
                        first
                    }
                };
                if let Some(bad) = keys.iter().find(|k| !known(k)) {
                    return Err(error_body(
                        StatusCode::BAD_REQUEST,
                        "PGRST204",
                        &format!(
                            "Could not find the '{bad}' column of '{table}' in the schema cache"
                        ),
                        None,
                        None,
                    ));
                }
                req.columns = Some(keys);
            }
            Method::DELETE => {
                if req.resolution != Resolution::None || req.on_conflict {
                    return Err(unsupported("resolution on DELETE"));
                }
            }
            ref other => return Err(unsupported(format!("the method {other}"))),
        }
        Ok(req)
    }
}

/// Sessions whose tokens the stand-in refuses (as a `db-pre-request` check of revoked sessions
/// would), process-wide: session ids are unique per test.
pub fn revoked_sessions() -> &'static std::sync::Mutex<std::collections::HashSet<String>> {
    static REVOKED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    REVOKED.get_or_init(Default::default)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `(sql, params)` for the request: one statement whose result is `(body json text, row count,
/// inserted count)`, shaped like the CTEs PostgREST generates.
fn statement(req: &Request) -> (String, Vec<String>) {
    let table = format!("\"public\".{}", quote(&req.table));
    let mut params: Vec<String> = Vec::new();
    let mut where_sql = Vec::new();
    for (col, value) in &req.filters {
        params.push(value.clone());
        let ty = column_type(&req.table, col).unwrap_or("text");
        where_sql.push(format!(
            "{table}.{} = ${}::text::{ty}",
            quote(col),
            params.len()
        ));
    }
    let where_clause = if where_sql.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", where_sql.join(" AND "))
    };
    let returning = match &req.select {
        Some(cols) if cols.iter().any(|c| c != "*") => cols
            .iter()
            .map(|c| format!("{table}.{}", quote(c)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => format!("{table}.*"),
    };
    let aggregate = "SELECT coalesce(json_agg(_postgrest_t), '[]')::text, count(*)";
    match req.method {
        Method::GET => {
            let order = if req.order.is_empty() {
                String::new()
            } else {
                let terms: Vec<String> = req.order.iter().map(|(c, desc)| format!("{table}.{} {}", quote(c), if *desc { "DESC" } else { "ASC" })).collect();
                format!(" ORDER BY {}", terms.join(", "))
            };
            (format!("{aggregate}, 0::bigint FROM (SELECT {returning} FROM {table}{where_clause}{order}) _postgrest_t"), params)
        }
        Method::DELETE => (
            format!("WITH pgrst_source AS (DELETE FROM {table}{where_clause} RETURNING {returning}) {aggregate}, 0::bigint FROM pgrst_source _postgrest_t"),
            params,
        ),
        Method::PATCH => {
            let cols = req.columns.as_deref().unwrap_or_default();
            params.push(Value::Object(req.rows[0].clone()).to_string());
            let body_param = params.len();
            let record_type: Vec<String> = cols.iter().map(|c| format!("{} {}", quote(c), column_type(&req.table, c).unwrap_or("text"))).collect();
            let sets: Vec<String> = cols.iter().map(|c| format!("{} = pgrst_body.{}", quote(c), quote(c))).collect();
            (
                format!(
                    "WITH pgrst_source AS (UPDATE {table} SET {} FROM (SELECT * FROM json_to_record(${body_param}::text::json) AS _({})) pgrst_body{where_clause} RETURNING {returning}) {aggregate}, 0::bigint FROM pgrst_source _postgrest_t",
                    sets.join(", "),
                    record_type.join(", ")
                ),
                params,
            )
        }
        _ => {
            // POST: INSERT ... SELECT FROM json_to_recordset(...) [ON CONFLICT ...] RETURNING ...
            let cols = req.columns.as_deref().unwrap_or_default();
            let rows: Vec<Value> = req.rows.iter().cloned().map(Value::Object).collect();
            params.push(Value::Array(rows).to_string());
            let body_param = params.len();
            let col_list: Vec<String> = cols.iter().map(|c| quote(c)).collect();
            let body_cols: Vec<String> = cols.iter().map(|c| format!("pgrst_body.{}", quote(c))).collect();
            let record_type: Vec<String> = cols.iter().map(|c| format!("{} {}", quote(c), column_type(&req.table, c).unwrap_or("text"))).collect();
            let conflict = match req.resolution {
                Resolution::None => String::new(),
                Resolution::Ignore => " ON CONFLICT(\"user_id\", \"grant_id\") DO NOTHING".to_owned(),
                Resolution::Merge if cols.is_empty() => " ON CONFLICT(\"user_id\", \"grant_id\") DO NOTHING".to_owned(),
                Resolution::Merge => {
                    let sets: Vec<String> = cols.iter().map(|c| format!("{} = EXCLUDED.{}", quote(c), quote(c))).collect();
                    format!(" ON CONFLICT(\"user_id\", \"grant_id\") DO UPDATE SET {}", sets.join(", "))
                }
            };
            (
                format!(
                    "WITH pgrst_source AS (INSERT INTO {table}({}) SELECT {} FROM (SELECT ${body_param}::text::json AS json_data) pgrst_payload, \
                     LATERAL (SELECT * FROM json_to_recordset(pgrst_payload.json_data) AS _({})) pgrst_body{conflict} \
                     RETURNING {returning}, ({table}.xmax = 0) AS pgrst_inserted) \
                     SELECT coalesce(json_agg(to_jsonb(_postgrest_t) - 'pgrst_inserted'), '[]')::text, count(*), count(*) FILTER (WHERE pgrst_inserted) FROM pgrst_source _postgrest_t",
                    col_list.join(", "),
                    body_cols.join(", "),
                    record_type.join(", ")
                ),
                params,
            )
        }
    }
}

/// PostgREST's SQLSTATE → HTTP mapping (protocol.md §6.3), for the codes these tests can meet.
fn status_for(code: &str, role: &str) -> StatusCode {
    match code {
        "23505" | "23503" => StatusCode::CONFLICT,
        "42501" if role == "anon" => StatusCode::UNAUTHORIZED,
        "42501" => StatusCode::FORBIDDEN,
        "42P01" | "42883" => StatusCode::NOT_FOUND,
        "25006" => StatusCode::METHOD_NOT_ALLOWED,
        c if c.starts_with("08") || c == "57P01" || (c.starts_with("53") && c != "53400") => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        c if c.starts_with("40") || c.starts_with("XX") || c.starts_with("57") || c == "42P17" => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

/// PostgREST's answer while the database cannot be reached: 503 with `Retry-After`.
fn unavailable(code: &str, message: &str) -> Response {
    let mut response = error_body(StatusCode::SERVICE_UNAVAILABLE, code, message, None, None);
    response
        .headers_mut()
        .insert("retry-after", axum::http::HeaderValue::from_static("1"));
    response
}

async fn run(app: &App, req: Request) -> Response {
    let (mut client, _permit) = app.pool.get().await;
    // A connection the database closed (a restart) is replaced, as PostgREST's pool does;
    // while the database is down, the request is refused as PostgREST refuses it.
    if client.is_closed() {
        match app.config.connect(NoTls).await {
            Ok((fresh, connection)) => {
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client = fresh;
            }
            Err(_) => {
                app.pool.put(client).await;
                return unavailable("PGRST000", "Could not connect with the database");
            }
        }
    }
    let result = execute(&client, &req).await;
    app.pool.put(client).await;
    match result {
        Ok(resp) => resp,
        Err(e) => match e.as_db_error() {
            Some(db)
                if status_for(db.code().code(), &req.role) == StatusCode::SERVICE_UNAVAILABLE =>
            {
                unavailable(
                    "PGRST001",
                    "Database client error. Retrying the connection.",
                )
            }
            Some(db) => {
                let code = db.code().code();
                error_body(
                    status_for(code, &req.role),
                    code,
                    db.message(),
                    db.detail(),
                    db.hint(),
                )
            }
            None => unavailable(
                "PGRST001",
                "Database client error. Retrying the connection.",
            ),
        },
    }
}

async fn execute(
    client: &tokio_postgres::Client,
    req: &Request,
) -> Result<Response, tokio_postgres::Error> {
    let read_only = req.method == Method::GET;
    client
        .batch_execute(if read_only {
            "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
        } else {
            "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
        })
        .await?;
    let outcome = async {
        client
            .execute(
                "SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('request.method', $3, true)",
                &[&req.role, &req.claims, &req.method.as_str()],
            )
            .await?;
        let (sql, params) = statement(req);
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let row = client.query_one(sql.as_str(), &refs).await?;
        let body: String = row.get(0);
        let count: i64 = row.get(1);
        let inserted: i64 = row.get(2);
        Ok::<_, tokio_postgres::Error>((body, count, inserted))
    }
    .await;
    let (body, count, inserted) = match outcome {
        Ok(v) => v,
        Err(e) => {
            client.batch_execute("ROLLBACK").await?;
            return Err(e);
        }
    };
    if req.singular && count != 1 {
        client.batch_execute("ROLLBACK").await?;
        return Ok(error_body(
            StatusCode::NOT_ACCEPTABLE,
            "PGRST116",
            "Cannot coerce the result to a single JSON object",
            Some(&format!("The result contains {count} rows")),
            None,
        ));
    }
    if client.batch_execute("COMMIT").await.is_err() {
        // The connection failed during COMMIT: the transaction may or may not have committed
        // (a fast shutdown lets a commit in progress finish, then ends the session). PostgREST
        // answers such a connection failure with 503 PGRST001, whatever the outcome was.
        return Ok(unavailable(
            "PGRST001",
            "Database client error. Retrying the connection.",
        ));
    }

    let status = match req.method {
        Method::GET => StatusCode::OK,
        Method::POST if req.resolution == Resolution::Merge && inserted == 0 => StatusCode::OK,
        Method::POST => StatusCode::CREATED,
        _ if req.representation || req.singular => StatusCode::OK,
        _ => StatusCode::NO_CONTENT,
    };
    let with_body = req.method == Method::GET || req.representation;
    if !with_body {
        return Ok((status, [("content-range", "*/*")]).into_response());
    }
    let body = if req.singular {
        match serde_json::from_str::<Value>(&body) {
            Ok(Value::Array(mut rows)) if rows.len() == 1 => rows.remove(0).to_string(),
            _ => body,
        }
    } else {
        body
    };
    let content_type = if req.singular {
        "application/vnd.pgrst.object+json; charset=utf-8"
    } else {
        "application/json; charset=utf-8"
    };
    Ok((
        status,
        [("content-type", content_type), ("content-range", "*/*")],
        body,
    )
        .into_response())
}
