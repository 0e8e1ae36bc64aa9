//! The grants app's HTTP API (axum) over `UsersService`, the routes in `app.rs`:
//!
//! ```text
//! POST   /api/grants/{id}/save | apply | ignore     optional body {"notes": "..."} / {"notes": null}
//! GET    /api/users/interactions[?action=saved|applied|ignored]
//! DELETE /api/users/interactions/{grant_id}
//! ```
//!
//! Every route needs `Authorization: Bearer <the user's Supabase JWT>`; the token is passed
//! through, so row-level security applies.
//!
//! With no configuration it starts the API against an in-process mock PostgREST, sends itself a
//! scripted sequence of requests (save, apply, list, ignore, delete, and a few failures), prints
//! each request and answer, and exits 0 if every answer had the expected status:
//!
//! ```text
//! cargo run --example grants_api
//! cargo run --example grants_api -- --serve          # keep serving (GRANTS_API_ADDR, default 127.0.0.1:3000)
//! ```
//!
//! Against a real project (schema from `supabase/migrations/`) set `SUPABASE_URL` and
//! `SUPABASE_ANON_KEY`; the scripted run also needs a signed-in user's `SUPABASE_ACCESS_TOKEN`
//! (`SUPABASE_GRANT_ID` defaults to the first grant of `supabase/seed.sql`; the script records,
//! then deletes, that user's interaction with it). `GRANTS_API_ADDR` (or `--serve`) serves
//! instead of running the script. `RUST_LOG` sets the log filter (default: `info` when serving,
//! nothing during the script).

#![allow(clippy::print_stdout)]

mod app;
mod mock;

use std::env;
use std::net::SocketAddr;
use std::process::ExitCode;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;
use supabase_rest::Client;
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

/// The first grant in `supabase/seed.sql`.
const SEED_GRANT: &str = "00000000-0000-4000-8000-000000000001";
/// Not a grant of the seed: saving it violates the foreign key.
const UNKNOWN_GRANT: &str = "00000000-0000-4000-8000-0000000000ff";
const DEFAULT_ADDR: &str = "127.0.0.1:3000";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A required setting, named in the error when missing.
fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (needed with SUPABASE_URL)"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => code,
        Err(e) => {
            println!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<ExitCode, BoxError> {
    let mut serve = false;
    for arg in env::args().skip(1) {
        match arg.as_str() {
            "--serve" => serve = true,
            "-h" | "--help" => {
                println!("usage: grants_api [--serve]   (address: GRANTS_API_ADDR, default {DEFAULT_ADDR})");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    let addr = env::var("GRANTS_API_ADDR").ok();
    serve |= addr.is_some();
    let default_filter = if serve { "info" } else { "off" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();

    let (client, mock_server) = match env::var("SUPABASE_URL") {
        Ok(url) => {
            let key = required("SUPABASE_ANON_KEY")?;
            println!("database API: {url}");
            (Client::new(url, key)?, None)
        }
        Err(_) => {
            let mock = mock::start().await;
            println!(
                "SUPABASE_URL is not set: using an in-process mock PostgREST at {}",
                mock.uri()
            );
            (Client::new(mock.uri(), "anon-key")?, Some(mock))
        }
    };
    let router = app::router(client);

    if serve {
        let addr: SocketAddr = addr.as_deref().unwrap_or(DEFAULT_ADDR).parse()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!(
            "serving the grants API on http://{}",
            listener.local_addr()?
        );
        if mock_server.is_some() {
            let token = mock::user_token(Uuid::new_v4());
            println!(
                "try:\n  curl -i -X POST -H 'Authorization: Bearer {token}' -d '{{\"notes\":\"hi\"}}' http://{}/api/grants/{SEED_GRANT}/save",
                listener.local_addr()?
            );
        }
        axum::serve(listener, router).await?;
        return Ok(ExitCode::SUCCESS);
    }

    let token = match &mock_server {
        Some(_) => mock::user_token(Uuid::new_v4()),
        None => env::var("SUPABASE_ACCESS_TOKEN")
            .map_err(|_| "the scripted run needs SUPABASE_ACCESS_TOKEN (a signed-in user's JWT)")?,
    };
    let grant = env::var("SUPABASE_GRANT_ID").unwrap_or_else(|_| SEED_GRANT.to_owned());
    let grant: Uuid = grant.parse()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    println!("grants API listening on {base}; running the scripted requests\n");

    let steps = script(grant);
    let http = reqwest::Client::new();
    let mut failures = 0;
    for step in &steps {
        let status = send(&http, &base, &token, step).await?;
        if !step.expect.contains(&status) {
            failures += 1;
            println!("   !! expected {:?}, got {status}\n", step.expect);
        }
    }
    if failures == 0 {
        println!("all {} requests answered as expected", steps.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{failures} of {} requests answered unexpectedly",
            steps.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

struct Step {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<&'static str>,
    authorized: bool,
    expect: &'static [u16],
}

fn script(grant: Uuid) -> Vec<Step> {
    let step = |what, method, path: String, body, expect| Step {
        what,
        method,
        path,
        body,
        authorized: true,
        expect,
    };
    vec![
        step(
            "start clean: remove any earlier interaction with the grant",
            Method::DELETE,
            format!("/api/users/interactions/{grant}"),
            None,
            &[204, 404],
        ),
        step(
            "save with notes: creates the row (200: revives the one an earlier run removed)",
            Method::POST,
            format!("/api/grants/{grant}/save"),
            Some(r#"{"notes": "deadline in May"}"#),
            &[201, 200],
        ),
        step(
            "apply without a body: same row, notes kept",
            Method::POST,
            format!("/api/grants/{grant}/apply"),
            None,
            &[200],
        ),
        step(
            "list",
            Method::GET,
            "/api/users/interactions".into(),
            None,
            &[200],
        ),
        step(
            "list only saved ones: none left",
            Method::GET,
            "/api/users/interactions?action=saved".into(),
            None,
            &[200],
        ),
        step(
            "ignore with {\"notes\": null}: notes cleared",
            Method::POST,
            format!("/api/grants/{grant}/ignore"),
            Some(r#"{"notes": null}"#),
            &[200],
        ),
        step(
            "delete",
            Method::DELETE,
            format!("/api/users/interactions/{grant}"),
            None,
            &[204],
        ),
        step(
            "delete again: nothing left",
            Method::DELETE,
            format!("/api/users/interactions/{grant}"),
            None,
            &[404],
        ),
        step(
            "save again: the removed row comes back (same id and created_at)",
            Method::POST,
            format!("/api/grants/{grant}/save"),
            None,
            &[200],
        ),
        step(
            "history: every change, oldest first",
            Method::GET,
            format!("/api/grants/{grant}/history"),
            None,
            &[200],
        ),
        step(
            "save a grant that does not exist: foreign key",
            Method::POST,
            format!("/api/grants/{UNKNOWN_GRANT}/save"),
            None,
            &[409],
        ),
        step(
            "an unknown action filter",
            Method::GET,
            "/api/users/interactions?action=starred".into(),
            None,
            &[400],
        ),
        Step {
            what: "no token",
            method: Method::GET,
            path: "/api/users/interactions".into(),
            body: None,
            authorized: false,
            expect: &[401],
        },
    ]
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    step: &Step,
) -> Result<u16, BoxError> {
    println!("-- {}", step.what);
    let mut request = http.request(step.method.clone(), format!("{base}{}", step.path));
    let mut line = format!("> {} {}", step.method, step.path);
    if step.authorized {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(body) = step.body {
        request = request.header(CONTENT_TYPE, "application/json").body(body);
        line.push_str(&format!("  {body}"));
    }
    println!("{line}");
    let response = request.send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    let shown = match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => serde_json::to_string_pretty(&json)?,
        Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
    };
    println!("< {status}");
    if !shown.is_empty() {
        println!("{shown}");
    }
    println!();
    Ok(status.as_u16())
}
