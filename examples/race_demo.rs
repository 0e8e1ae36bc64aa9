//! The original bug and its fix, side by side: N concurrent clicks on one user + grant, first
//! through a copy of the grants app's old select-then-insert flow (SELECT the row, then UPDATE it
//! or INSERT a new one), then through `UsersService::record_user_interaction` (one atomic upsert).
//!
//! ```text
//! cargo run --example race_demo                 # 50 clicks against an in-process mock PostgREST
//! cargo run --example race_demo -- --clicks 200
//! ```
//!
//! The mock is the crate's `testing::MemoryTable::user_interactions()`, which behaves like
//! PostgREST over the schema of `supabase/migrations/`: one row per `(user_id, grant_id)`, `409`
//! with a `23505` body for a plain duplicate insert, insert-or-merge for
//! `Prefer: resolution=merge-duplicates` + `on_conflict=user_id,grant_id`. Every request is
//! applied the moment it arrives and answered after `--latency-ms` (default 20 ms) as network
//! latency, so the old flow's window between its SELECT and its INSERT is as real as it is in
//! production.
//!
//! Against a real project set `SUPABASE_URL`, `SUPABASE_ANON_KEY`, a signed-in user's
//! `SUPABASE_ACCESS_TOKEN` and that user's `SUPABASE_USER_ID` (`SUPABASE_GRANT_ID` defaults to the
//! first grant of `supabase/seed.sql`). The demo deletes that user's interaction with the grant
//! before each flow and leaves the upsert's row behind.
//!
//! Exits 0 when the run shows the old flow failing and the new one clean, 1 otherwise.

#![allow(clippy::print_stdout)]

use std::env;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::testing::MemoryTable;
use supabase_rest::Client;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use uuid::Uuid;
use wiremock::matchers::path;
use wiremock::MockServer;

/// The first grant in `supabase/seed.sql`.
const SEED_GRANT: &str = "00000000-0000-4000-8000-000000000001";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    clicks: usize,
    latency: Duration,
}

fn parse_args() -> Result<Options, BoxError> {
    let mut options = Options {
        clicks: 50,
        latency: Duration::from_millis(20),
    };
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || -> Result<String, BoxError> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value").into())
        };
        match name.as_str() {
            "--clicks" => {
                let v = value()?;
                options.clicks = v.parse().map_err(|e| format!("--clicks {v:?}: {e}"))?;
            }
            "--latency-ms" => {
                let v = value()?;
                let ms = v.parse().map_err(|e| format!("--latency-ms {v:?}: {e}"))?;
                options.latency = Duration::from_millis(ms);
            }
            "-h" | "--help" => {
                println!("usage: race_demo [--clicks N (default 50)] [--latency-ms MS (mock only, default 20)]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    if options.clicks == 0 {
        return Err("--clicks must be at least 1".into());
    }
    Ok(options)
}

/// Where the clicks go: a fresh mock per flow, or the same real project for both.
enum Backend {
    Mock { latency: Duration },
    Real { client: Client },
}

struct Target {
    client: Client,
    user_id: Uuid,
    grant_id: Uuid,
    mock: Option<Mock>,
}

/// An in-process PostgREST with `user_interactions` in memory; it stops when dropped.
struct Mock {
    server: MockServer,
    table: MemoryTable,
}

impl Mock {
    async fn start(latency: Duration) -> Mock {
        let server = MockServer::start().await;
        let table = MemoryTable::user_interactions().with_latency(latency);
        wiremock::Mock::given(path("/rest/v1/user_interactions"))
            .respond_with(table.clone())
            .mount(&server)
            .await;
        Mock { server, table }
    }
}

impl Backend {
    async fn target(&self, user_id: Uuid, grant_id: Uuid) -> Result<Target, BoxError> {
        match self {
            Backend::Mock { latency } => {
                let mock = Mock::start(*latency).await;
                let client =
                    Client::new(mock.server.uri(), "anon-key")?.with_access_token("user-jwt");
                Ok(Target {
                    client,
                    user_id,
                    grant_id,
                    mock: Some(mock),
                })
            }
            Backend::Real { client } => {
                // Start from "no row", the state in which the old flow races.
                UsersService::new(client.clone())
                    .remove_user_interaction(user_id, grant_id)
                    .await?;
                Ok(Target {
                    client: client.clone(),
                    user_id,
                    grant_id,
                    mock: None,
                })
            }
        }
    }
}

/// What one flow did.
#[derive(Debug, Default)]
struct Outcome {
    calls: usize,
    ok: usize,
    errors: usize,
    unique_violations: usize,
    other_errors: Vec<String>,
    requests: usize,
    server_requests: Option<usize>,
    rows_left: usize,
    elapsed: Duration,
}

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
    let options = parse_args()?;
    let (backend, user_id, grant_id) = match env::var("SUPABASE_URL") {
        Ok(url) => {
            let key = required("SUPABASE_ANON_KEY")?;
            let token = required("SUPABASE_ACCESS_TOKEN")?;
            let user_id: Uuid = required("SUPABASE_USER_ID")?.parse()?;
            let grant_id: Uuid = env::var("SUPABASE_GRANT_ID")
                .unwrap_or_else(|_| SEED_GRANT.to_owned())
                .parse()?;
            println!("talking to {url} as user {user_id}, grant {grant_id}");
            let client = Client::new(url, key)?.with_access_token(token);
            (Backend::Real { client }, user_id, grant_id)
        }
        Err(_) => {
            println!(
                "SUPABASE_URL is not set: using an in-process mock PostgREST that answers after {} ms",
                options.latency.as_millis()
            );
            (
                Backend::Mock {
                    latency: options.latency,
                },
                Uuid::new_v4(),
                SEED_GRANT.parse()?,
            )
        }
    };
    println!(
        "{} concurrent clicks of \"save\" on one user + grant, through each flow\n",
        options.clicks
    );

    let target = backend.target(user_id, grant_id).await?;
    let old = run_flow(&target, options.clicks, Flow::SelectThenInsert).await?;
    report("old: SELECT, then UPDATE or INSERT", &old);

    let target = backend.target(user_id, grant_id).await?;
    let new = run_flow(&target, options.clicks, Flow::AtomicUpsert).await?;
    report(
        "new: UsersService::record_user_interaction (one upsert)",
        &new,
    );

    let new_clean = new.errors == 0 && new.rows_left == 1 && new.requests == new.calls;
    let old_failed = old.errors > 0;
    println!("verdict:");
    if old_failed {
        println!(
            "  the old flow FAILED {} of {} clicks ({} unique violations) and needed {} requests;",
            old.errors, old.calls, old.unique_violations, old.requests
        );
    } else {
        println!(
            "  the old flow did not fail this time ({} clicks, {} requests): the race needs concurrent clicks and some latency;",
            old.calls, old.requests
        );
    }
    if new_clean {
        println!(
            "  the atomic upsert succeeded on all {} clicks with {} requests and left exactly 1 row.",
            new.calls, new.requests
        );
    } else {
        println!(
            "  the atomic upsert was NOT clean: {} errors, {} requests for {} clicks, {} rows left.",
            new.errors, new.requests, new.calls, new.rows_left
        );
    }
    if old_failed && new_clean {
        println!("  => the race is real, and the upsert fixes it.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("  => the demo did not show the bug and its fix (see above).");
        Ok(ExitCode::FAILURE)
    }
}

fn report(title: &str, o: &Outcome) {
    println!("{title}");
    println!("  calls          {}", o.calls);
    println!("  succeeded      {}", o.ok);
    println!(
        "  errors         {} ({} unique violations)",
        o.errors, o.unique_violations
    );
    for e in o.other_errors.iter().take(3) {
        println!("    other error: {e}");
    }
    match o.server_requests {
        Some(seen) => println!("  requests sent  {} (the mock received {seen})", o.requests),
        None => println!("  requests sent  {}", o.requests),
    }
    println!("  rows left      {}", o.rows_left);
    println!("  took           {} ms\n", o.elapsed.as_millis());
}

#[derive(Clone, Copy)]
enum Flow {
    SelectThenInsert,
    AtomicUpsert,
}

async fn run_flow(target: &Target, clicks: usize, flow: Flow) -> Result<Outcome, BoxError> {
    let requests = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(clicks));
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for _ in 0..clicks {
        let client = target.client.clone();
        let requests = requests.clone();
        let barrier = barrier.clone();
        let (user_id, grant_id) = (target.user_id, target.grant_id);
        tasks.spawn(async move {
            let click = NewInteraction::new(grant_id, InteractionAction::Saved);
            barrier.wait().await;
            match flow {
                Flow::SelectThenInsert => {
                    old_flow::record_user_interaction_old(&client, &requests, user_id, click).await
                }
                Flow::AtomicUpsert => {
                    requests.fetch_add(1, Ordering::SeqCst);
                    UsersService::new(client)
                        .record_user_interaction(user_id, click)
                        .await
                }
            }
        });
    }
    let mut outcome = Outcome {
        calls: clicks,
        ..Outcome::default()
    };
    while let Some(joined) = tasks.join_next().await {
        match joined? {
            Ok(_) => outcome.ok += 1,
            Err(e) => {
                outcome.errors += 1;
                if e.is_unique_violation() {
                    outcome.unique_violations += 1;
                } else {
                    outcome.other_errors.push(e.to_string());
                }
            }
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.requests = requests.load(Ordering::SeqCst);
    outcome.server_requests = target.mock.as_ref().map(|m| m.table.request_count());

    // How many rows the pair has now, asked the way any client would.
    let left = target
        .client
        .from("user_interactions")
        .select("id")
        .eq("user_id", target.user_id)
        .eq("grant_id", target.grant_id)
        .await?;
    outcome.rows_left = left.len();
    Ok(outcome)
}

mod old_flow {
    //! A copy of the grants app's original TypeScript flow (as kept in
    //! `tests/wiremock_helpers/old_flow.rs`): SELECT the row, then UPDATE it or INSERT a new one. Two
    //! requests per call, and a window between them in which a concurrent call can insert the
    //! same pair. Kept only to show the bug; never do this.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde::Serialize;
    use supabase_rest::grants::{InteractionAction, NewInteraction, Notes, UserInteraction};
    use supabase_rest::{Client, Result};
    use uuid::Uuid;

    #[derive(Serialize)]
    struct Insert<'a> {
        user_id: Uuid,
        grant_id: Uuid,
        action: InteractionAction,
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<&'a Notes>,
    }

    #[derive(Serialize)]
    struct Patch<'a> {
        action: InteractionAction,
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<&'a Notes>,
    }

    pub(crate) async fn record_user_interaction_old(
        client: &Client,
        requests: &AtomicUsize,
        user_id: Uuid,
        interaction: NewInteraction,
    ) -> Result<UserInteraction> {
        requests.fetch_add(1, Ordering::SeqCst);
        let existing: Option<UserInteraction> = client
            .from("user_interactions")
            .select("*")
            .eq("user_id", user_id)
            .eq("grant_id", interaction.grant_id)
            .returns::<UserInteraction>()
            .maybe_single()
            .await?;
        // The race window: another click may insert the pair right now.
        requests.fetch_add(1, Ordering::SeqCst);
        match existing {
            Some(row) => {
                client
                    .from("user_interactions")
                    .update(&Patch {
                        action: interaction.action,
                        notes: interaction.notes.as_ref(),
                    })
                    .eq("id", row.id)
                    .select("*")
                    .returns::<UserInteraction>()
                    .single()
                    .await
            }
            None => {
                client
                    .from("user_interactions")
                    .insert(&Insert {
                        user_id,
                        grant_id: interaction.grant_id,
                        action: interaction.action,
                        notes: interaction.notes.as_ref(),
                    })
                    .select("*")
                    .returns::<UserInteraction>()
                    .single()
                    .await
            }
        }
    }
}
