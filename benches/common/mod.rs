//! Shared by the benchmarks: fixtures identical to the seed's upsert, the hand-written floors,
//! and paired measurements that report ratios taken in one run.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::cast_possible_truncation)] // statistics on small counts

pub mod server;

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Request};
use serde::Serialize;
use supabase_rest::grants::{InteractionAction, NewInteraction, UserInteraction};
use uuid::Uuid;

pub const API_KEY: &str = "sb_publishable_0123456789abcdefghijklmnopqrstuvwxyzABCD";
/// About the size of a Supabase user JWT.
pub const USER_JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwYjZhM2MyZS0xZjRkLTRlNWEtOGI3Yy05ZDBlMWYyYTNiNGMiLCJyb2xlIjoiYXV0aGVudGljYXRlZCIsImF1ZCI6ImF1dGhlbnRpY2F0ZWQiLCJleHAiOjE4OTM0NTYwMDAsImlhdCI6MTc0MDAwMDAwMH0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1mb3ItdGhlLWJlbmNobWFyaw";

pub fn user_id() -> Uuid {
    Uuid::from_u128(0x0b6a_3c2e_1f4d_4e5a_8b7c_9d0e_1f2a_3b4c)
}

pub fn grant_id(n: u128) -> Uuid {
    Uuid::from_u128(0x5d4c_3b2a_1e0f_4a9b_8c7d_6e5f_4a3b_0000 + n)
}

pub fn interaction(n: u128) -> NewInteraction {
    NewInteraction::new(grant_id(n), InteractionAction::Saved)
}

/// The body the seed's upsert sends, as a hand-written client would declare it (the crate's own
/// row type is private; the bytes are asserted equal).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub user_id: Uuid,
    pub grant_id: Uuid,
    pub action: InteractionAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

pub fn row(n: u128) -> Row {
    Row {
        user_id: user_id(),
        grant_id: grant_id(n),
        action: InteractionAction::Saved,
        notes: None,
    }
}

pub fn rows(count: usize) -> Vec<Row> {
    (0..count as u128)
        .map(|n| Row {
            action: InteractionAction::ALL[(n % 3) as usize],
            notes: (n % 2 == 0).then(|| format!("note {n}")),
            ..row(n)
        })
        .collect()
}

/// A client shaped like the seed's: api key plus a user's JWT.
pub fn client(base: &str) -> supabase_rest::Client {
    supabase_rest::Client::builder(base, API_KEY)
        .access_token(USER_JWT)
        .build()
        .unwrap()
}

/// The same client on a given transport.
pub fn client_on(base: &str, transport: supabase_rest::Transport) -> supabase_rest::Client {
    supabase_rest::Client::builder(base, API_KEY)
        .access_token(USER_JWT)
        .transport(transport)
        .build()
        .unwrap()
}

/// What a careful hand-written reqwest client prepares once: the URL and the header map of the
/// seed's upsert.
#[derive(Debug, Clone)]
pub struct Floor {
    pub url: url::Url,
    pub headers: HeaderMap,
}

impl Floor {
    pub fn upsert(base: &str) -> Floor {
        let url = url::Url::parse(&format!(
            "{base}/rest/v1/user_interactions?on_conflict=user_id%2Cgrant_id&select=*"
        ))
        .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-client-info"),
            HeaderValue::from_static(supabase_rest::CLIENT_INFO),
        );
        let mut key = HeaderValue::from_static(API_KEY);
        key.set_sensitive(true);
        headers.insert(HeaderName::from_static("apikey"), key);
        let mut bearer = HeaderValue::try_from(format!("Bearer {USER_JWT}")).unwrap();
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(
            HeaderName::from_static("content-profile"),
            HeaderValue::from_static("public"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("prefer"),
            HeaderValue::from_static("resolution=merge-duplicates, return=representation"),
        );
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.pgrst.object+json"),
        );
        Floor { url, headers }
    }

    /// The hand-written request: same method, URL, headers and `serde_json::to_vec` body.
    pub fn request<T: Serialize + ?Sized>(&self, body: &T) -> Request {
        let mut req = Request::new(Method::POST, self.url.clone());
        *req.headers_mut() = self.headers.clone();
        *req.body_mut() = Some(serde_json::to_vec(body).unwrap().into());
        req
    }
}

/// Panics unless two requests are the same on the wire (method, URL, headers, body).
pub fn assert_same_request(ours: &Request, floor: &Request) {
    assert_eq!(ours.method(), floor.method());
    assert_eq!(ours.url().as_str(), floor.url().as_str());
    let sorted = |h: &HeaderMap| {
        let mut v: Vec<(String, Vec<u8>)> = h
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(sorted(ours.headers()), sorted(floor.headers()));
    let body = |r: &Request| r.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec);
    assert_eq!(body(ours), body(floor));
}

/// A `UserInteraction` as PostgREST serializes it.
pub fn interaction_row(n: u128) -> UserInteraction {
    let at = chrono::DateTime::parse_from_rfc3339("2025-03-01T12:34:56.789012+00:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    UserInteraction {
        id: Uuid::from_u128(0x6f1c_2b8e_3d4a_4f5b_9c6d_7e8f_9a0b_0000 + n),
        user_id: user_id(),
        grant_id: grant_id(n),
        action: InteractionAction::ALL[(n % 3) as usize],
        notes: (n % 2 == 0).then(|| format!("sent on day {n}")),
        created_at: at,
        updated_at: at + chrono::Duration::seconds(n as i64),
    }
}

/// `cargo bench` (criterion's benchmark mode), as opposed to `cargo test --benches`, where each
/// benchmark runs once as a smoke test.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test")
}

/// CPU time of this process: the sum of `sum_exec_runtime` (nanoseconds) over its live
/// threads, from `/proc/self/task/*/schedstat`. Falls back to `utime + stime` of
/// `/proc/self/stat` (10 ms ticks) where schedstat is missing.
pub fn process_cpu() -> Duration {
    let mut total: u64 = 0;
    let mut found = false;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) {
                if let Some(ns) = text
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    total += ns;
                    found = true;
                }
            }
        }
    }
    if found {
        return Duration::from_nanos(total);
    }
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, s)| s).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU and wall time of one run.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub cpu: Duration,
    pub wall: Duration,
}

pub fn measure<R>(f: impl FnOnce() -> R) -> (Cost, R) {
    let cpu0 = process_cpu();
    let t0 = Instant::now();
    let out = f();
    let wall = t0.elapsed();
    let cpu = process_cpu().saturating_sub(cpu0);
    (Cost { cpu, wall }, out)
}

/// Wall time per call of `f`, over `n` calls.
pub fn per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let t0 = Instant::now();
    for _ in 0..n {
        f();
    }
    t0.elapsed().as_secs_f64() / f64::from(n)
}

/// The outcome of a paired comparison: medians of both sides and of the per-round ratio.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    pub ours: f64,
    pub floor: f64,
    pub ratio: f64,
    pub ratio_q1: f64,
    pub ratio_q3: f64,
}

/// Runs `ours` and `floor` alternately (`ours, floor, floor, ours, ...`) for `rounds` rounds,
/// each returning its cost, so drift on a noisy machine hits both sides alike. The ratio is
/// the median of the per-round ratios.
pub fn paired(
    rounds: usize,
    mut ours: impl FnMut() -> f64,
    mut floor: impl FnMut() -> f64,
) -> Paired {
    let mut a = Vec::with_capacity(rounds);
    let mut b = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = ours();
            (x, floor())
        } else {
            let y = floor();
            (ours(), y)
        };
        a.push(x);
        b.push(y);
    }
    let mut ratios: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x / y).collect();
    Paired {
        ours: median(&mut a),
        floor: median(&mut b),
        ratio: median(&mut ratios.clone()),
        ratio_q1: quantile(&mut ratios, 0.25),
        ratio_q3: quantile(&mut ratios, 0.75),
    }
}

/// Runs each of `sides` sides once per round (`run(side)` returns its cost), in an order that
/// rotates from round to round (so drift on a noisy machine hits all sides alike), and returns
/// each side's costs, round by round.
pub fn rotated(rounds: usize, sides: usize, mut run: impl FnMut(usize) -> f64) -> Vec<Vec<f64>> {
    let mut costs = vec![Vec::with_capacity(rounds); sides];
    for round in 0..rounds {
        for k in 0..sides {
            let side = (round + k) % sides;
            costs[side].push(run(side));
        }
    }
    costs
}

/// The comparison of two sides measured in the same rounds (see [`rotated`]).
pub fn ratio_of(ours: &[f64], floor: &[f64]) -> Paired {
    let mut ratios: Vec<f64> = ours.iter().zip(floor).map(|(x, y)| x / y).collect();
    Paired {
        ours: median(&mut ours.to_vec()),
        floor: median(&mut floor.to_vec()),
        ratio: median(&mut ratios.clone()),
        ratio_q1: quantile(&mut ratios, 0.25),
        ratio_q3: quantile(&mut ratios, 0.75),
    }
}

pub fn median(v: &mut [f64]) -> f64 {
    quantile(v, 0.5)
}

pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Formats seconds with a unit that suits them.
pub fn human(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.3} s")
    } else if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.2} µs", secs * 1e6)
    } else {
        format!("{:.1} ns", secs * 1e9)
    }
}

/// One line of the ratio summary, with the target and whether it is met.
pub fn report(name: &str, unit: &str, p: &Paired, target: f64) {
    let verdict = if p.ratio <= target { "met" } else { "NOT met" };
    eprintln!(
        "RATIO {name:<44} {:>6.3}x (IQR {:.3}-{:.3})  ours {} vs floor {} {unit}  target <= {target:.2}x: {verdict}",
        p.ratio,
        p.ratio_q1,
        p.ratio_q3,
        human(p.ours),
        human(p.floor),
    );
}
