//! PostgREST clients side by side on one loopback workload: this crate (on its default hyper
//! transport and on reqwest), raw reqwest 0.13, raw hyper 1 (hyper-util's pooled client),
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
//! `BULK_ROWS` rows, repeated, without representation (`return=minimal`, the answer has no
//! body) and with it (the answer is the rows, decoded). Every client sends the same request and
//! decodes the same answer (postgrest-rs cannot ask for `return=minimal`: its minimal bulk
//! carries the rows back, undecoded).
//!
//! Peak memory: each Rust client runs the workloads once more in a process of its own
//! (this binary with `--rss <client>`), which reports its `VmHWM`.
//!
//! ```text
//! cargo run --release --manifest-path tools/compare/Cargo.toml [-- --requests N --rounds R --no-js]
//! ```

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::{Deserialize, Serialize};
use supabase_rest::grants::{InteractionAction, NewInteraction, UserInteraction, UsersService};
use supabase_rest::Transport;
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
    OursReqwest,
    Raw,
    RawHyper,
    Postgrest,
}

const KINDS: [Kind; 5] = [
    Kind::Ours,
    Kind::OursReqwest,
    Kind::Raw,
    Kind::RawHyper,
    Kind::Postgrest,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "supabase-rest (this crate, hyper transport)",
            Kind::OursReqwest => "supabase-rest on its reqwest transport",
            Kind::Raw => "raw reqwest 0.13",
            Kind::RawHyper => "raw hyper 1 (hyper-util pooled client)",
            Kind::Postgrest => "postgrest-rs 1.6 (reqwest 0.11)",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::OursReqwest => "ours-reqwest",
            Kind::Raw => "raw",
            Kind::RawHyper => "raw-hyper",
            Kind::Postgrest => "postgrest",
        }
    }
}

/// The workloads, in the order of the table's columns.
const WORKLOADS: [&str; 4] = [
    "sequential",
    "in flight",
    "bulk minimal",
    "bulk with representation",
];

/// A request prepared once, as a careful hand-written client keeps it.
struct Prepared {
    url: url::Url,
    uri: http::Uri,
    headers: reqwest::header::HeaderMap,
}

impl Prepared {
    fn of(req: &reqwest::Request) -> Prepared {
        Prepared {
            url: req.url().clone(),
            uri: http::Uri::try_from(req.url().as_str()).expect("uri"),
            headers: req.headers().clone(),
        }
    }
}

/// One client under test, and nothing of the others.
enum Side {
    Ours {
        client: supabase_rest::Client,
        users: UsersService,
    },
    Raw(reqwest::Client),
    RawHyper(hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>),
    Postgrest(postgrest::Postgrest),
}

impl Side {
    fn new(base: &str, kind: Kind) -> Side {
        let ours = |transport| {
            let client = supabase_rest::Client::builder(base, API_KEY)
                .access_token(JWT)
                .transport(transport)
                .build()
                .expect("client");
            Side::Ours {
                users: UsersService::new(client.clone()),
                client,
            }
        };
        match kind {
            Kind::Ours => ours(Transport::Hyper),
            Kind::OursReqwest => ours(Transport::Reqwest),
            Kind::Raw => Side::Raw(reqwest::Client::new()),
            Kind::RawHyper => Side::RawHyper(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .pool_timer(hyper_util::rt::TokioTimer::new())
                    .build_http(),
            ),
            Kind::Postgrest => Side::Postgrest(
                postgrest::Postgrest::new(format!("{base}/rest/v1"))
                    .schema("public")
                    .insert_header("apikey", API_KEY)
                    .insert_header("Authorization", format!("Bearer {JWT}"))
                    .insert_header("x-client-info", supabase_rest::CLIENT_INFO),
            ),
        }
    }
}

/// The clients of a run (all of them, or the one a memory child measures) and what they send.
struct Clients {
    sides: Vec<(Kind, Side)>,
    one: Prepared,
    bulk_minimal: Prepared,
    bulk_rows: Prepared,
    /// The bulk rows; empty in a memory child that runs only the upserts.
    rows: Vec<Row>,
}

impl Clients {
    fn new(base: &str, kinds: &[Kind], with_rows: bool) -> Clients {
        // The raw clients send exactly what this crate sends: URL and headers from a build.
        // The first two rows have every key (the `columns` of the whole bulk), so the bulk
        // requests are built from them alone: a memory child must not serialize 10,000 rows
        // that its client never sends.
        let prepared = {
            let ours = supabase_rest::Client::builder(base, API_KEY)
                .access_token(JWT)
                .build()
                .expect("client");
            let sample = &bulk_rows()[..2];
            let one = UsersService::new(ours.clone())
                .record_user_interaction(
                    user_id(),
                    NewInteraction::new(grant_id(0), InteractionAction::Saved),
                )
                .build()
                .expect("build");
            let bulk = || {
                ours.from("user_interactions")
                    .upsert(sample)
                    .on_conflict("user_id,grant_id")
            };
            [
                one,
                bulk().build().expect("build"),
                bulk().select("*").build().expect("build"),
            ]
            .map(|r| Prepared::of(&r))
        };
        let [one, bulk_minimal, bulk_rows_req] = prepared;
        Clients {
            sides: kinds.iter().map(|k| (*k, Side::new(base, *k))).collect(),
            one,
            bulk_minimal,
            bulk_rows: bulk_rows_req,
            rows: if with_rows { bulk_rows() } else { Vec::new() },
        }
    }

    fn side(&self, kind: Kind) -> &Side {
        self.sides
            .iter()
            .find_map(|(k, s)| (*k == kind).then_some(s))
            .expect("a client of this kind")
    }

    /// Raw reqwest: the prepared request with `body`; the answer's bytes.
    async fn raw_send(client: &reqwest::Client, p: &Prepared, body: Vec<u8>) -> Bytes {
        let mut req = reqwest::Request::new(reqwest::Method::POST, p.url.clone());
        *req.headers_mut() = p.headers.clone();
        *req.body_mut() = Some(body.into());
        let resp = client.execute(req).await.expect("raw send");
        assert!(resp.status().is_success(), "{}", resp.status());
        resp.bytes().await.expect("raw body")
    }

    /// Raw hyper: the same.
    async fn hyper_send(
        client: &hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
        p: &Prepared,
        body: Vec<u8>,
    ) -> Bytes {
        let mut req = http::Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = p.uri.clone();
        *req.headers_mut() = p.headers.clone();
        let resp = client.request(req).await.expect("hyper send");
        assert!(resp.status().is_success(), "{}", resp.status());
        resp.into_body()
            .collect()
            .await
            .expect("hyper body")
            .to_bytes()
    }

    async fn upsert(&self, kind: Kind, n: u64) -> UserInteraction {
        let json = || serde_json::to_vec(&row(n)).expect("json");
        match self.side(kind) {
            Side::Ours { users, .. } => users
                .record_user_interaction(
                    user_id(),
                    NewInteraction::new(grant_id(n), InteractionAction::Saved),
                )
                .await
                .expect("supabase-rest upsert"),
            Side::Raw(client) => {
                let body = Self::raw_send(client, &self.one, json()).await;
                serde_json::from_slice(&body).expect("raw decode")
            }
            Side::RawHyper(client) => {
                let body = Self::hyper_send(client, &self.one, json()).await;
                serde_json::from_slice(&body).expect("hyper decode")
            }
            Side::Postgrest(postgrest) => {
                let body = serde_json::to_string(&row(n)).expect("json");
                let resp = postgrest
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

    /// One bulk upsert of the rows; with `rows`, the answer is the rows, decoded. Returns how
    /// many rows came back.
    async fn bulk(&self, kind: Kind, rows: bool) -> usize {
        let json = || serde_json::to_vec(&self.rows).expect("json");
        let decode = |b: &[u8]| {
            serde_json::from_slice::<Vec<UserInteraction>>(b)
                .expect("rows")
                .len()
        };
        let prepared = if rows {
            &self.bulk_rows
        } else {
            &self.bulk_minimal
        };
        let answer = match self.side(kind) {
            Side::Ours { client, .. } => {
                let upsert = client
                    .from("user_interactions")
                    .upsert(&self.rows)
                    .on_conflict("user_id,grant_id");
                return if rows {
                    upsert
                        .select("*")
                        .returns::<UserInteraction>()
                        .await
                        .expect("supabase-rest bulk rows")
                        .len()
                } else {
                    upsert.await.expect("supabase-rest bulk");
                    0
                };
            }
            Side::Raw(client) => Self::raw_send(client, prepared, json()).await,
            Side::RawHyper(client) => Self::hyper_send(client, prepared, json()).await,
            Side::Postgrest(postgrest) => {
                let body = serde_json::to_string(&self.rows).expect("json");
                let resp = postgrest
                    .from("user_interactions")
                    .upsert(body)
                    .on_conflict("user_id,grant_id")
                    .execute()
                    .await
                    .expect("postgrest bulk");
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.expect("postgrest bulk body")
            }
        };
        if rows {
            decode(&answer)
        } else {
            0
        }
    }

    /// One run of workload `w` for `kind`: its cost, per 10,000 requests or per bulk request.
    fn run(&self, rt: &tokio::runtime::Runtime, kind: Kind, w: usize, requests: u64) -> Cost {
        match w {
            0 => measure(|| rt.block_on(drive(requests, 1, |n| self.upsert(kind, n)))),
            1 => measure(|| rt.block_on(drive(requests, IN_FLIGHT, |n| self.upsert(kind, n)))),
            _ => {
                let with_rows = w == 3;
                let c = measure(|| {
                    rt.block_on(async {
                        for _ in 0..BULK_REPEATS {
                            let n = self.bulk(kind, with_rows).await;
                            assert_eq!(n, if with_rows { BULK_ROWS } else { 0 });
                        }
                    })
                });
                Cost {
                    cpu: c.cpu / BULK_REPEATS as f64,
                    wall: c.wall / BULK_REPEATS as f64,
                }
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

/// Peak resident memory of this process (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `--rss <client|none> <server-addr> <requests> <upserts|bulk>`: those workloads once for one
/// client, built alone in this process; prints its peak RSS in KiB. `none` builds no client
/// and runs nothing: the baseline (runtime, the prepared requests, for `bulk` the rows).
fn rss_child(kind: &str, addr: &str, requests: u64, phase: &str) {
    let kind = KINDS.into_iter().find(|k| k.arg() == kind);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bulk = phase == "bulk";
    let clients = Clients::new(&format!("http://{addr}"), kind.as_slice(), bulk);
    if let Some(kind) = kind {
        let workloads = if bulk { 2..4 } else { 0..2 };
        for w in workloads {
            clients.run(&rt, kind, w, requests);
        }
    }
    println!("{}", peak_rss_kib());
}

/// Peak RSS (KiB) of `kind` (`None`: the baseline) running the upserts, then of it running
/// the bulk upserts, each in a fresh process.
fn rss_of(kind: Option<Kind>, addr: &str, requests: u64) -> [Option<u64>; 2] {
    ["upserts", "bulk"].map(|phase| {
        let exe = std::env::current_exe().ok()?;
        let name = kind.map_or("none", Kind::arg);
        let out = Command::new(exe)
            .args(["--rss", name, addr, &requests.to_string(), phase])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    })
}

/// `--calls <client> <sequential|in-flight|bulk|bulk-rows> <count>`: that workload, `count`
/// requests of it, for one client built alone; nothing is timed. For instruction counts that
/// do not drift with the machine, run it under callgrind twice and take the difference:
///
/// ```text
/// valgrind --tool=callgrind supabase-rest-compare --calls ours in-flight 2000
/// valgrind --tool=callgrind supabase-rest-compare --calls ours in-flight 4000
/// ```
///
/// (Instructions per request = the difference / 2000; callgrind follows only this process, not
/// the server it starts.)
fn calls_child(args: &[String]) {
    let usage = "--calls <client> <sequential|in-flight|bulk|bulk-rows> <count>";
    let (Some(kind), Some(workload), Some(count)) = (
        args.first()
            .and_then(|a| KINDS.into_iter().find(|k| k.arg() == a.as_str())),
        args.get(1).and_then(|w| {
            ["sequential", "in-flight", "bulk", "bulk-rows"]
                .iter()
                .position(|x| x == w)
        }),
        args.get(2).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!(
            "usage: {usage}; clients: {}",
            KINDS.map(Kind::arg).join(", ")
        );
        std::process::exit(2);
    };
    let server = server::ServerProcess::start().expect("start the loopback server");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = Clients::new(&format!("http://{}", server.addr), &[kind], workload >= 2);
    rt.block_on(async {
        match workload {
            0 => drive(count, 1, |n| clients.upsert(kind, n)).await,
            1 => drive(count, IN_FLIGHT, |n| clients.upsert(kind, n)).await,
            _ => {
                for _ in 0..count {
                    clients.bulk(kind, workload == 3).await;
                }
            }
        }
    });
    drop(server);
}

#[derive(Debug, Deserialize)]
struct JsLine {
    workload: String,
    cpu_s: f64,
    wall_s: f64,
    requests: f64,
    #[serde(default)]
    max_rss_kib: Option<u64>,
}

/// supabase-js: per workload, the medians over `rounds` node runs; and its peak RSS.
fn run_js(url: &str, requests: u64, rounds: usize) -> Option<(Vec<Cost>, [Option<u64>; 2])> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    if !dir.join("node_modules/@supabase/supabase-js").exists() {
        eprintln!(
            "supabase-js skipped: run `npm install` in {} (from the npm registry) to include it",
            dir.display()
        );
        return None;
    }
    let mut samples: Vec<(Vec<f64>, Vec<f64>)> = vec![Default::default(); WORKLOADS.len()];
    let mut rss = [Vec::new(), Vec::new()];
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
            if let Some(kib) = l.max_rss_kib {
                let phase = usize::from(l.workload != "rss upserts");
                rss[phase].push(kib as f64);
                continue;
            }
            let Some(w) = WORKLOADS.iter().position(|w| *w == l.workload) else {
                continue;
            };
            // Per `requests` upserts (sequential, in flight) or per bulk request.
            let scale = if w >= 2 {
                1.0 / l.requests
            } else {
                requests as f64 / l.requests
            };
            samples[w].0.push(l.cpu_s * scale);
            samples[w].1.push(l.wall_s * scale);
        }
    }
    let costs = samples
        .into_iter()
        .map(|(c, w)| Cost {
            cpu: median(c),
            wall: median(w),
        })
        .collect();
    let rss = rss.map(|v| (!v.is_empty()).then(|| median(v) as u64));
    Some((costs, rss))
}

fn main() {
    server::serve_if_child();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--rss") {
        let requests = argv.get(3).and_then(|v| v.parse().ok()).unwrap_or(10_000);
        rss_child(
            &argv[1],
            &argv[2],
            requests,
            argv.get(4).map_or("upserts", String::as_str),
        );
        return;
    }

    if argv.first().map(String::as_str) == Some("--calls") {
        calls_child(&argv[1..]);
        return;
    }

    let mut requests: u64 = 10_000;
    let mut rounds: usize = 11;
    let mut js = true;
    let mut args = argv.into_iter();
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
    let addr = server.addr.to_string();
    let base = format!("http://{addr}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clients = Clients::new(&base, &KINDS, true);

    // Same answer from every client; warm pools (IN_FLIGHT connections each).
    rt.block_on(async {
        let expected = clients.upsert(Kind::Raw, 1).await;
        for kind in KINDS {
            assert_eq!(clients.upsert(kind, 1).await, expected, "{}", kind.name());
            drive(1_000, IN_FLIGHT, |n| clients.upsert(kind, n)).await;
            clients.bulk(kind, false).await;
            assert_eq!(clients.bulk(kind, true).await, BULK_ROWS, "{}", kind.name());
        }
    });

    // samples[kind][workload] = (cpu per round, wall per round)
    let mut samples: Vec<Vec<(Vec<f64>, Vec<f64>)>> = KINDS
        .iter()
        .map(|_| vec![Default::default(); WORKLOADS.len()])
        .collect();
    for round in 0..rounds {
        // Rotate the order every round so that drift hits every client alike.
        for i in 0..KINDS.len() {
            let at = (i + round) % KINDS.len();
            for (w, slot) in samples[at].iter_mut().enumerate() {
                let c = clients.run(&rt, KINDS[at], w, requests);
                slot.0.push(c.cpu);
                slot.1.push(c.wall);
            }
        }
        eprintln!("round {} of {rounds} done", round + 1);
    }
    let rss: Vec<[Option<u64>; 2]> = KINDS
        .iter()
        .map(|k| rss_of(Some(*k), &addr, requests))
        .collect();
    let baseline = rss_of(None, &addr, requests);

    // The Rust clients run in the same rounds: a ratio is the median of the per-round ratios,
    // so that drift of this shared machine between rounds cancels out.
    let at = |kind: Kind| KINDS.iter().position(|k| *k == kind).expect("kind");
    let (raw_at, hyper_at) = (at(Kind::Raw), at(Kind::RawHyper));
    let per_round = |a: usize, b: usize, w: usize| {
        median(
            samples[a][w]
                .0
                .iter()
                .zip(&samples[b][w].0)
                .map(|(x, y)| x / y)
                .collect(),
        )
    };
    struct Line {
        name: String,
        costs: Vec<Cost>,
        ratios: Vec<f64>,
        to_hyper: Vec<f64>,
        rss: [Option<u64>; 2],
        /// A Rust client: its memory above the Rust baseline means something.
        rust: bool,
    }
    let mut lines: Vec<Line> = KINDS
        .iter()
        .enumerate()
        .map(|(k, kind)| Line {
            name: kind.name().to_owned(),
            costs: samples[k]
                .iter()
                .map(|(c, w)| Cost {
                    cpu: median(c.clone()),
                    wall: median(w.clone()),
                })
                .collect(),
            ratios: (0..WORKLOADS.len())
                .map(|w| per_round(k, raw_at, w))
                .collect(),
            to_hyper: (0..WORKLOADS.len())
                .map(|w| per_round(k, hyper_at, w))
                .collect(),
            rss: rss[k],
            rust: true,
        })
        .collect();
    if js {
        if let Some((costs, js_rss)) = run_js(&base, requests, rounds.min(3)) {
            let raw = &lines[raw_at].costs;
            let hyper = &lines[hyper_at].costs;
            lines.push(Line {
                name: "supabase-js (node)".to_owned(),
                ratios: costs.iter().zip(raw).map(|(c, r)| c.cpu / r.cpu).collect(),
                to_hyper: costs
                    .iter()
                    .zip(hyper)
                    .map(|(c, r)| c.cpu / r.cpu)
                    .collect(),
                costs,
                rss: js_rss,
                rust: false,
            });
        }
    }
    drop(server);

    println!(
        "{requests} single-row upserts returning the row (sequential, then {IN_FLIGHT} in flight); one bulk upsert of {BULK_ROWS} rows (x{BULK_REPEATS}), without and with representation. Client CPU per workload (s for the upserts, ms per bulk request), medians of {rounds} rounds; ratio = CPU / raw reqwest's (Rust clients: median of per-round ratios; node: ratio of medians), [in brackets: / raw hyper's].\n"
    );
    println!("| client | sequential: CPU s | req/s | ratio | {IN_FLIGHT} in flight: CPU s | req/s | ratio | bulk minimal: CPU ms | ratio | bulk rows: CPU ms | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in &lines {
        let r = |w: usize| format!("{:.2} [{:.2}]", l.ratios[w], l.to_hyper[w]);
        println!(
            "| {} | {:.3} | {:.0} | {} | {:.3} | {:.0} | {} | {:.1} | {} | {:.1} | {} |",
            l.name,
            l.costs[0].cpu,
            requests as f64 / l.costs[0].wall,
            r(0),
            l.costs[1].cpu,
            requests as f64 / l.costs[1].wall,
            r(1),
            l.costs[2].cpu * 1e3,
            r(2),
            l.costs[3].cpu * 1e3,
            r(3),
        );
    }
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "\nPeak RSS (VmHWM) of each client alone in a process of its own: the upserts once, then (in another) the bulk upserts once; ratio = / raw reqwest's. Above the baseline: less the peak of the same process building no client and sending nothing ({} MiB for the upserts, {} MiB for the bulk, whose rows it holds).\n",
        baseline[0].map_or("?".to_owned(), |k| format!("{:.1}", mib(k))),
        baseline[1].map_or("?".to_owned(), |k| format!("{:.1}", mib(k))),
    );
    println!("| client | upserts: MiB | ratio | above the baseline: MiB | ratio | bulk: MiB | ratio | above the baseline: MiB | ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let raw_rss = lines[raw_at].rss;
    for l in &lines {
        let rss = |phase: usize| {
            let (Some(x), Some(y)) = (l.rss[phase], raw_rss[phase]) else {
                return "? | ? | ? | ?".to_owned();
            };
            let own = |v: u64| baseline[phase].map(|b| v.saturating_sub(b));
            let above = match (own(x), own(y)) {
                _ if !l.rust => "- | -".to_owned(),
                (Some(a), Some(b)) if b > 0 => {
                    format!("{:.1} | {:.2}", mib(a), a as f64 / b as f64)
                }
                _ => "? | ?".to_owned(),
            };
            format!("{:.1} | {:.2} | {above}", mib(x), x as f64 / y as f64)
        };
        println!("| {} | {} | {} |", l.name, rss(0), rss(1));
    }
}
