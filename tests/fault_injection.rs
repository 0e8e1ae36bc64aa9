//! Fault injection: 10,000 `record_user_interaction` calls through a server that drops 10% of
//! connections, answers 503 to 10% (half with `Retry-After: 0`, half without) and stalls past
//! the client's timeout on 2%. Then the same load of plain inserts.
//!
//! Faults are decided per (call, attempt) from a fixed hash, so the figures do not depend on
//! scheduling and every run prints the same numbers. No timing is asserted.
//!
//! Checks: every call ends in `Ok` or a clear error; the server holds exactly one row per key,
//! holding the last successful write (or a later write whose call failed with
//! `may_have_been_applied()`); with 4 retries at least 99.9% of calls succeed; plain inserts
//! are never duplicated because they are not retried once sent.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use serde_json::{json, Value};
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::{Client, Error, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

const CALLS: usize = 10_000;
const KEYS: usize = 100;
const TIMEOUT: Duration = Duration::from_millis(150);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// Close the connection before applying the request.
    DropBefore,
    /// Apply the request, then close the connection without answering.
    DropAfter,
    Unavailable {
        retry_after: bool,
    },
    /// Apply, then hold the connection past the client's timeout.
    Stall,
    None,
}

/// The fault for one attempt of one call: a fixed hash of (call id, attempt).
fn fault(call: &str, attempt: u32) -> Fault {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (call, attempt).hash(&mut h);
    let roll = h.finish();
    match roll % 1000 {
        0..=49 => Fault::DropBefore,
        50..=99 => Fault::DropAfter,
        100..=199 => Fault::Unavailable {
            retry_after: roll % 2 == 0,
        },
        200..=219 => Fault::Stall,
        _ => Fault::None,
    }
}

#[derive(Default)]
struct State {
    /// (user, grant) → row
    rows: HashMap<(String, String), serde_json::Map<String, Value>>,
    /// insert id → how many times it was inserted
    inserts: HashMap<String, usize>,
    requests: usize,
    retries: usize,
}

async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, HashMap<String, String>, Vec<u8>)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let request_line = lines.next()?.to_owned();
            let headers: HashMap<String, String> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some((request_line, headers, body));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn response(status: u16, reason: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Applies a request to the state; returns the success response.
fn apply(state: &Mutex<State>, request_line: &str, body: &[u8]) -> Vec<u8> {
    let mut state = state.lock().unwrap();
    let value: Value = serde_json::from_slice(body).unwrap();
    if request_line.contains("on_conflict=") {
        let key = (
            value["user_id"].as_str().unwrap().to_owned(),
            value["grant_id"].as_str().unwrap().to_owned(),
        );
        let now = chrono::Utc::now().to_rfc3339();
        let existed = state.rows.contains_key(&key);
        let row = state.rows.entry(key).or_insert_with(|| {
            let mut row = serde_json::Map::new();
            row.insert("id".into(), json!(Uuid::new_v4()));
            row.insert("created_at".into(), json!(now));
            row
        });
        for (k, v) in value.as_object().unwrap() {
            row.insert(k.clone(), v.clone());
        }
        row.insert("updated_at".into(), json!(now));
        let body = Value::Object(row.clone()).to_string();
        if existed {
            response(200, "OK", "", &body)
        } else {
            response(201, "Created", "", &body)
        }
    } else {
        *state
            .inserts
            .entry(value["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
        response(201, "Created", "", "")
    }
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            while let Some((request_line, headers, body)) =
                read_request(&mut stream, &mut buf).await
            {
                let attempt: u32 = headers
                    .get("x-retry-count")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                {
                    let mut s = state.lock().unwrap();
                    s.requests += 1;
                    if attempt > 0 {
                        s.retries += 1;
                    }
                }
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let call = value
                    .get("notes")
                    .or_else(|| value.get("id"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                match fault(&call, attempt) {
                    Fault::DropBefore => return,
                    Fault::DropAfter => {
                        apply(&state, &request_line, &body);
                        return;
                    }
                    Fault::Unavailable { retry_after } => {
                        let extra = if retry_after {
                            "retry-after: 0\r\n"
                        } else {
                            ""
                        };
                        let body = r#"{"code":"PGRST002","message":"Could not query the database for the schema cache. Retrying.","details":null,"hint":null}"#;
                        if stream
                            .write_all(&response(503, "Service Unavailable", extra, body))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Fault::Stall => {
                        apply(&state, &request_line, &body);
                        tokio::time::sleep(TIMEOUT * 3).await;
                        return;
                    }
                    Fault::None => {
                        let out = apply(&state, &request_line, &body);
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

async fn start() -> (String, Arc<Mutex<State>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(State::default()));
    tokio::spawn(serve(listener, state.clone()));
    (url, state)
}

fn client(url: &str, retries: u32) -> Client {
    Client::builder(url, "anon-key")
        .timeout(TIMEOUT)
        .retry(
            RetryPolicy::default()
                .max_retries(retries)
                .base_delay(Duration::from_millis(2)),
        )
        .build()
        .unwrap()
        .with_access_token("user-jwt")
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Timeout(_) => "timeout",
        Error::Transport(_) => "transport",
        Error::Api(_) => "api",
        Error::Http { .. } => "http",
        Error::Decode(_) => "decode",
        _ => "other",
    }
}

struct Report {
    successes: usize,
    errors: HashMap<&'static str, usize>,
}

/// Runs the upsert load: KEYS keys in parallel, each key's calls one after another.
async fn upsert_load(retries: u32) -> Report {
    let (url, state) = start().await;
    let users = UsersService::new(client(&url, retries));
    let keys: Vec<(Uuid, Uuid)> = (0..KEYS)
        .map(|_| (Uuid::new_v4(), Uuid::new_v4()))
        .collect();
    let per_key = CALLS / KEYS;
    let runs = keys.iter().enumerate().map(|(k, &(user, grant))| {
        let users = users.clone();
        async move {
            let mut outcomes = Vec::with_capacity(per_key);
            for i in 0..per_key {
                let call = format!("call-{retries}-{k}-{i}");
                let action = InteractionAction::ALL[i % 3];
                let result = users
                    .record_user_interaction(
                        user,
                        NewInteraction::new(grant, action).with_notes(call.clone()),
                    )
                    .await;
                outcomes.push((call, result));
            }
            ((user, grant), outcomes)
        }
    });
    let results = join_all(runs).await;

    let state = state.lock().unwrap();
    let mut report = Report {
        successes: 0,
        errors: HashMap::new(),
    };
    for ((user, grant), outcomes) in &results {
        let row = state
            .rows
            .get(&(user.to_string(), grant.to_string()))
            .unwrap_or_else(|| panic!("no row for {user}/{grant}"));
        let stored = row["notes"].as_str().unwrap();
        // The row holds the last successful write, or a later write whose call failed after it
        // may have been applied.
        let last_ok = outcomes.iter().rposition(|(_, r)| r.is_ok());
        let allowed: Vec<&str> = outcomes
            .iter()
            .enumerate()
            .filter(|(i, (_, r))| match r {
                Ok(_) => Some(*i) == last_ok,
                Err(e) => last_ok.is_none_or(|l| *i > l) && e.may_have_been_applied(),
            })
            .map(|(_, (call, _))| call.as_str())
            .collect();
        assert!(
            allowed.contains(&stored),
            "row holds {stored}, expected one of {allowed:?}"
        );
        for (_, r) in outcomes {
            match r {
                Ok(row) => {
                    assert_eq!(row.user_id, *user);
                    report.successes += 1;
                }
                Err(e) => *report.errors.entry(kind(e)).or_default() += 1,
            }
        }
    }
    assert_eq!(state.rows.len(), KEYS, "exactly one row per key");
    println!(
        "upserts, {retries} retries: {CALLS} calls, {} ok ({:.2}%), {} requests, {} retries, errors {:?}, {} rows for {KEYS} keys",
        report.successes,
        100.0 * report.successes as f64 / CALLS as f64,
        state.requests,
        state.retries,
        report.errors,
        state.rows.len()
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_survive_faults_with_one_row_per_key() {
    let with_four = upsert_load(4).await;
    assert!(
        with_four.successes * 1000 >= CALLS * 999,
        "with 4 retries at least 99.9% must succeed: {} of {CALLS}",
        with_four.successes
    );
    // The default budget (3 retries), reported for comparison.
    let default_budget = RetryPolicy::default();
    assert_eq!(default_budget, RetryPolicy::default().max_retries(3));
    let with_default = upsert_load(3).await;
    assert!(with_default.successes <= with_four.successes + CALLS / 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_inserts_are_never_duplicated() {
    let (url, state) = start().await;
    let client = client(&url, 4);
    let ids: Vec<String> = (0..CALLS).map(|i| format!("insert-{i}")).collect();
    let chunks: Vec<Vec<String>> = ids.chunks(CALLS / KEYS).map(<[String]>::to_vec).collect();
    let runs = chunks.into_iter().map(|chunk| {
        let client = client.clone();
        async move {
            let mut out = Vec::new();
            for id in chunk {
                let r = client
                    .from("events")
                    .insert(&json!({"id": id, "kind": "click"}))
                    .await;
                out.push(r);
            }
            out
        }
    });
    let results: Vec<_> = join_all(runs).await.into_iter().flatten().collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let mut errors: HashMap<&str, usize> = HashMap::new();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        *errors.entry(kind(e)).or_default() += 1;
    }
    let state = state.lock().unwrap();
    let duplicates: usize = state.inserts.values().map(|n| n.saturating_sub(1)).sum();
    println!(
        "plain inserts: {CALLS} calls, {ok} ok, {} requests, {} retries, errors {errors:?}, {duplicates} duplicate rows",
        state.requests, state.retries
    );
    assert_eq!(duplicates, 0, "a plain insert must never be sent twice");
    assert_eq!(
        state.retries, 0,
        "plain inserts are not retried once they reached the server"
    );
    assert!(ok < CALLS, "the faults must have hit some inserts");
}
