//! PostgREST clients side by side on one loopback workload: this crate, raw reqwest 0.13,
//! postgrest-rs (on reqwest 0.11) and, when `node` and `js/node_modules` are present,
//! supabase-js.
//!
//! The server (`benches/common/server.rs`, shared through `#[path]`) runs in a child process
//! and answers like PostgREST, so the CPU time measured is the client's alone: for the Rust
//! clients the harness process's own threads (`/proc/self/task/*/schedstat`), for supabase-js
//! the node process's `process.cpuUsage()`.
//!
//! Workloads: `REQUESTS` single-row upserts returning the row (the seed's
//! `record_user_interaction`), one at a time and `IN_FLIGHT` at a time; one bulk upsert of
//! `BULK_ROWS` rows, repeated. Every client sends the same request and decodes the same answer.
//!
//! ```text
//! cargo run --release --manifest-path tools/compare/Cargo.toml [-- --requests N --rounds R --no-js]
//! ```

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use supabase_rest::grants::{InteractionAction, NewInteraction, UserInteraction, UsersService};
use uuid::Uuid;

#[path = "../../../benches/common/server.rs"]
mod server;

const API_KEY: &str = "sb_publishable_0123456789abcdefghijklmnopqrstuvwxyzABCD";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwYjZhM2MyZS0xZjRkLTRlNWEtOGI3Yy05ZDBlMWYyYTNiNGMiLCJyb2xlIjoiYXV0aGVudGljYXRlZCIsImF1ZCI6ImF1dGhlbnRpY2F0ZWQiLCJleHAiOjE4OTM0NTYwMDAsImlhdCI6MTc0MDAwMDAwMH0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1mb3ItdGhlLWJlbmNobWFyaw";
const IN_FLIGHT: usize = 64;
const BULK_ROWS: usize = 10_000;
const BULK_REPEATS: u64 = 20;

fn user_id() -> Uuid {
    Uuid::from_u128(0x0b6a_3c2e_1f4d_4e5a_8b7c_9d0e_1f2a_3b4c)
}

fn grant_id(n: u64) -> Uuid {
    Uuid::from_u128(0x5d4c_3b2a_1e0f_4a9b_8c7d_0000_0000_0000 + u128::from(n))
}

/// The row a hand-written client sends (the same bytes as the crate's own row type).
#[derive(Debug, Clone, Serialize)]
struct Row {
    user_id: Uuid,
    grant_id: Uuid,
    action: InteractionAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
}

fn row(n: u64) -> Row {
    Row {
        user_id: user_id(),
        grant_id: grant_id(n),
        action: InteractionAction::Saved,
        notes: None,
    }
}

fn bulk_rows() -> Vec<Row> {
    (0..BULK_ROWS as u64)
        .map(|n| Row {
            action: InteractionAction::ALL[(n % 3) as usize],
            notes: (n % 2 == 0).then(|| format!("note {n}")),
            ..row(n)
        })
        .collect()
}

/// CPU time of this process: `sum_exec_runtime` over its threads (nanoseconds).
fn process_cpu() -> Duration {
    let mut total = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) {
                total += text
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(total)
}

#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    cpu: f64,
    wall: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    Raw,
    Postgrest,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "supabase-rest (this crate)",
            Kind::Raw => "raw reqwest 0.13",
            Kind::Postgrest => "postgrest-rs 1.6 (reqwest 0.11)",
        }
    }
}

struct Clients {
    users: UsersService,
    ours: supabase_rest::Client,
    raw: reqwest::Client,
    raw_url: url::Url,
    raw_headers: reqwest::header::HeaderMap,
    raw_bulk_url: url::Url,
    raw_bulk_headers: reqwest::header::HeaderMap,
    postgrest: postgrest::Postgrest,
    rows: Vec<Row>,
}

impl Clients {
    fn new(base: &str) -> Clients {
        let ours = supabase_rest::Client::builder(base, API_KEY)
            .access_token(JWT)
            .build()
            .expect("client");
        let users = UsersService::new(ours.clone());
        let rows = bulk_rows();
        // Raw reqwest sends exactly what this crate sends: take URL and headers from a build.
        let one = users
            .record_user_interaction(
                user_id(),
                NewInteraction::new(grant_id(0), InteractionAction::Saved),
            )
            .build()
            .expect("build");
        let bulk = ours
            .from("user_interactions")
            .upsert(&rows)
            .on_conflict("user_id,grant_id")
            .build()
            .expect("build");
        let postgrest = postgrest::Postgrest::new(format!("{base}/rest/v1"))
            .schema("public")
            .insert_header("apikey", API_KEY)
            .insert_header("Authorization", format!("Bearer {JWT}"))
            .insert_header("x-client-info", supabase_rest::CLIENT_INFO);
        Clients {
            users,
            ours,
            raw: reqwest::Client::new(),
            raw_url: one.url().clone(),
            raw_headers: one.headers().clone(),
            raw_bulk_url: bulk.url().clone(),
            raw_bulk_headers: bulk.headers().clone(),
            postgrest,
            rows,
        }
    }

    async fn upsert(&self, kind: Kind, n: u64) -> UserInteraction {
        match kind {
            Kind::Ours => self
                .users
                .record_user_interaction(
                    user_id(),
                    NewInteraction::new(grant_id(n), InteractionAction::Saved),
                )
                .await
                .expect("supabase-rest upsert"),
            Kind::Raw => {
                let mut req = reqwest::Request::new(reqwest::Method::POST, self.raw_url.clone());
                *req.headers_mut() = self.raw_headers.clone();
                *req.body_mut() = Some(serde_json::to_vec(&row(n)).expect("json").into());
                let resp = self.raw.execute(req).await.expect("raw send");
                assert!(resp.status().is_success(), "{}", resp.status());
                let body = resp.bytes().await.expect("raw body");
                serde_json::from_slice(&body).expect("raw decode")
            }
            Kind::Postgrest => {
                let body = serde_json::to_string(&row(n)).expect("json");
                let resp = self
                    .postgrest
                    .from("user_interactions")
                    .upsert(body)
                    .on_conflict("user_id,grant_id")
                    .select("*")
                    .single()
                    .execute()
                    .await
                    .expect("postgrest send");
                assert!(resp.status().is_success(), "{}", resp.status());
                let body = resp.bytes().await.expect("postgrest body");
                serde_json::from_slice(&body).expect("postgrest decode")
            }
        }
    }

    async fn bulk(&self, kind: Kind) {
        match kind {
            Kind::Ours => self
                .ours
                .from("user_interactions")
                .upsert(&self.rows)
                .on_conflict("user_id,grant_id")
                .await
                .expect("supabase-rest bulk"),
            Kind::Raw => {
                let mut req =
                    reqwest::Request::new(reqwest::Method::POST, self.raw_bulk_url.clone());
                *req.headers_mut() = self.raw_bulk_headers.clone();
                *req.body_mut() = Some(serde_json::to_vec(&self.rows).expect("json").into());
                let resp = self.raw.execute(req).await.expect("raw bulk");
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.expect("raw bulk body");
            }
            Kind::Postgrest => {
                let body = serde_json::to_string(&self.rows).expect("json");
                let resp = self
                    .postgrest
                    .from("user_interactions")
                    .upsert(body)
                    .on_conflict("user_id,grant_id")
                    .execute()
                    .await
                    .expect("postgrest bulk");
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.expect("postgrest bulk body");
            }
        }
    }
}

async fn drive<F, Fut>(count: u64, in_flight: usize, make: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = UserInteraction>,
{
    if in_flight <= 1 {
        for n in 0..count {
            std::hint::black_box(make(n).await);
        }
    } else {
        futures::stream::iter(0..count)
            .map(&make)
            .buffer_unordered(in_flight)
            .for_each(|r| {
                std::hint::black_box(r);
                async {}
            })
            .await;
    }
}

fn measure(f: impl FnOnce()) -> Cost {
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    f();
    Cost {
        wall: t0.elapsed().as_secs_f64(),
        cpu: process_cpu().saturating_sub(cpu0).as_secs_f64(),
    }
}

/// Medians over rounds of: sequential, in-flight, bulk (per bulk request).
#[derive(Debug, Clone, Copy, Default)]
struct Result3 {
    sequential: Cost,
    in_flight: Cost,
    bulk: Cost,
}

#[derive(Debug, Deserialize)]
struct JsLine {
    workload: String,
    cpu_s: f64,
    wall_s: f64,
    requests: f64,
}

fn run_js(url: &str, requests: u64, rounds: usize) -> Option<Result3> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    if !dir.join("node_modules/@supabase/supabase-js").exists() {
        eprintln!(
            "supabase-js skipped: run `npm install` in {} (from the npm registry) to include it",
            dir.display()
        );
        return None;
    }
    let mut seq = (Vec::new(), Vec::new());
    let mut fly = (Vec::new(), Vec::new());
    let mut bulk = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let out = Command::new("node")
            .current_dir(&dir)
            .env("COMPARE_JWT", JWT)
            .args([
                "bench.mjs",
                url,
                &requests.to_string(),
                &IN_FLIGHT.to_string(),
                &BULK_ROWS.to_string(),
                &BULK_REPEATS.to_string(),
            ])
            .output();
        let out = match out {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                eprintln!(
                    "supabase-js round {round} failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                return None;
            }
            Err(e) => {
                eprintln!("supabase-js skipped: cannot run node ({e})");
                return None;
            }
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(l) = serde_json::from_str::<JsLine>(line) else {
                continue;
            };
            // Per 10,000 requests (sequential, in flight) or per bulk request.
            let scale = match l.workload.as_str() {
                "bulk" => 1.0 / l.requests,
                _ => requests as f64 / l.requests,
            };
            let target = match l.workload.as_str() {
                "sequential" => &mut seq,
                "in_flight" => &mut fly,
                _ => &mut bulk,
            };
            target.0.push(l.cpu_s * scale);
            target.1.push(l.wall_s * scale);
        }
    }
    let cost = |(c, w): (Vec<f64>, Vec<f64>)| Cost {
        cpu: median(c),
        wall: median(w),
    };
    Some(Result3 {
        sequential: cost(seq),
        in_flight: cost(fly),
        bulk: cost(bulk),
    })
}

fn main() {
    server::serve_if_child();

    let mut requests: u64 = 10_000;
    let mut rounds: usize = 11;
    let mut js = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--requests" => requests = args.next().and_then(|v| v.parse().ok()).unwrap_or(requests),
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            "--no-js" => js = false,
            other => {
                eprintln!("unknown argument {other}; use --requests N --rounds R --no-js");
                std::process::exit(2);
            }
        }
    }

    let server = server::ServerProcess::start().expect("start the loopback server");
    let base = format!("http://{}", server.addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = Clients::new(&base);
    let kinds = [Kind::Ours, Kind::Raw, Kind::Postgrest];

    // Same answer from every client; warm pools (IN_FLIGHT connections each).
    rt.block_on(async {
        let expected = clients.upsert(Kind::Raw, 1).await;
        for kind in kinds {
            assert_eq!(clients.upsert(kind, 1).await, expected, "{}", kind.name());
            drive(1_000, IN_FLIGHT, |n| clients.upsert(kind, n)).await;
            clients.bulk(kind).await;
        }
    });

    let mut samples: Vec<[(Vec<f64>, Vec<f64>); 3]> =
        kinds.iter().map(|_| Default::default()).collect();
    for round in 0..rounds {
        // Rotate the order every round so that drift hits every client alike.
        for i in 0..kinds.len() {
            let at = (i + round) % kinds.len();
            let kind = kinds[at];
            let seq = measure(|| rt.block_on(drive(requests, 1, |n| clients.upsert(kind, n))));
            let fly =
                measure(|| rt.block_on(drive(requests, IN_FLIGHT, |n| clients.upsert(kind, n))));
            let bulk = measure(|| {
                rt.block_on(async {
                    for _ in 0..BULK_REPEATS {
                        clients.bulk(kind).await;
                    }
                })
            });
            let s = &mut samples[at];
            for (slot, cost, per) in [
                (0, seq, 1.0),
                (1, fly, 1.0),
                (2, bulk, 1.0 / BULK_REPEATS as f64),
            ] {
                s[slot].0.push(cost.cpu * per);
                s[slot].1.push(cost.wall * per);
            }
        }
    }
    // The Rust clients run in the same rounds: their ratio to raw reqwest is the median of the
    // per-round ratios, so that drift of this shared machine between rounds cancels out.
    let raw_at = kinds.iter().position(|k| *k == Kind::Raw).expect("raw");
    let paired: Vec<[f64; 3]> = samples
        .iter()
        .map(|s| {
            std::array::from_fn(|slot| {
                let per_round = s[slot]
                    .0
                    .iter()
                    .zip(&samples[raw_at][slot].0)
                    .map(|(ours, raw)| ours / raw)
                    .collect();
                median(per_round)
            })
        })
        .collect();
    let mut results: Vec<(String, Result3)> = kinds
        .iter()
        .zip(samples)
        .map(|(kind, s)| {
            let [a, b, c] = s.map(|(cpu, wall)| Cost {
                cpu: median(cpu),
                wall: median(wall),
            });
            (
                kind.name().to_owned(),
                Result3 {
                    sequential: a,
                    in_flight: b,
                    bulk: c,
                },
            )
        })
        .collect();
    if js {
        if let Some(r) = run_js(&base, requests, rounds.min(3)) {
            results.push(("supabase-js (node)".to_owned(), r));
        }
    }
    drop(server);

    let raw = results[raw_at].1;
    println!(
        "{requests} single-row upserts returning the row (sequential, then {IN_FLIGHT} in flight); one bulk upsert of {BULK_ROWS} rows (x{BULK_REPEATS}). Client CPU seconds, medians of {rounds} rounds; ratio = CPU / raw reqwest's (Rust clients: median of per-round ratios; node: ratio of medians).\n"
    );
    println!("| client | sequential: CPU s | req/s | ratio | {IN_FLIGHT} in flight: CPU s | req/s | ratio | bulk {BULK_ROWS}: CPU ms | ms | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (name, r)) in results.iter().enumerate() {
        let ratio = |slot: usize, ours: f64, floor: f64| {
            paired.get(i).map_or(ours / floor, |p| p[slot])
        };
        println!(
            "| {name} | {:.3} | {:.0} | {:.2} | {:.3} | {:.0} | {:.2} | {:.1} | {:.1} | {:.2} |",
            r.sequential.cpu,
            requests as f64 / r.sequential.wall,
            ratio(0, r.sequential.cpu, raw.sequential.cpu),
            r.in_flight.cpu,
            requests as f64 / r.in_flight.wall,
            ratio(1, r.in_flight.cpu, raw.in_flight.cpu),
            r.bulk.cpu * 1e3,
            r.bulk.wall * 1e3,
            ratio(2, r.bulk.cpu, raw.bulk.cpu),
        );
    }
}
