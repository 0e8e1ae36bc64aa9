//! End to end over loopback: the seed's upsert (`UsersService::record_user_interaction`) against
//! raw reqwest sending the same request (same headers, `serde_json::to_vec` body) and decoding
//! the same answer into `UserInteraction`, 10,000 sequential and 10,000 with 64 in flight.
//!
//! The server (`common/server.rs`) runs in a child process, so the CPU time measured here, the
//! sum over this process's threads from `/proc/self/task/*/schedstat`, is the client's alone.
//! The client runs on a current-thread tokio runtime; both clients keep their warm pools.
//!
//! `cargo bench --bench loopback`: criterion's numbers are client CPU time per request (not
//! wall time); the `RATIO` lines compare CPU per 10,000 requests in alternating rounds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::future::Future;
use std::time::Duration;

use criterion::Criterion;
use futures::StreamExt;
use supabase_rest::grants::{UserInteraction, UsersService};

use common::server::ServerProcess;
use common::{interaction, measure, paired, report, row, Floor};

struct Clients {
    users: UsersService,
    http: reqwest::Client,
    floor: Floor,
}

impl Clients {
    async fn ours(&self, n: u64) -> UserInteraction {
        self.users
            .record_user_interaction(common::user_id(), interaction(u128::from(n)))
            .await
            .unwrap()
    }

    async fn raw(&self, n: u64) -> UserInteraction {
        let req = self.floor.request(&row(u128::from(n)));
        let resp = self.http.execute(req).await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let body = resp.bytes().await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }
}

/// Runs `count` requests made by `make`, `in_flight` at a time.
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
            .for_each(|row| {
                std::hint::black_box(row);
                async {}
            })
            .await;
    }
}

fn main() {
    common::server::serve_if_child();

    let server = ServerProcess::start().unwrap();
    let base = format!("http://{}", server.addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let clients = Clients {
        users: UsersService::new(common::client(&base)),
        http: reqwest::Client::new(),
        floor: Floor::upsert(&base),
    };
    // Same answer both ways, and warm pools (64 connections each).
    rt.block_on(async {
        assert_eq!(clients.ours(1).await, clients.raw(1).await);
        drive(256, 64, |n| clients.ours(n)).await;
        drive(256, 64, |n| clients.raw(n)).await;
    });

    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for (group, in_flight) in [
        ("loopback_cpu_sequential", 1),
        ("loopback_cpu_64_in_flight", 64),
    ] {
        let mut g = c.benchmark_group(group);
        g.bench_function("supabase_rest", |b| {
            b.iter_custom(|iters| {
                measure(|| rt.block_on(drive(iters, in_flight, |n| clients.ours(n))))
                    .0
                    .cpu
            })
        });
        g.bench_function("raw_reqwest", |b| {
            b.iter_custom(|iters| {
                measure(|| rt.block_on(drive(iters, in_flight, |n| clients.raw(n))))
                    .0
                    .cpu
            })
        });
        g.finish();
    }
    c.final_summary();

    let (rounds, count) = if common::bench_mode() {
        (15, 10_000)
    } else {
        (1, 20)
    };
    for (name, in_flight) in [("sequential", 1), ("64 in flight", 64)] {
        let mut walls = (Vec::new(), Vec::new());
        let cpu = paired(
            rounds,
            || {
                let (cost, ()) =
                    measure(|| rt.block_on(drive(count, in_flight, |n| clients.ours(n))));
                walls.0.push(cost.wall.as_secs_f64());
                cost.cpu.as_secs_f64()
            },
            || {
                let (cost, ()) =
                    measure(|| rt.block_on(drive(count, in_flight, |n| clients.raw(n))));
                walls.1.push(cost.wall.as_secs_f64());
                cost.cpu.as_secs_f64()
            },
        );
        report(
            &format!("loopback CPU, {count} upserts {name}"),
            "client CPU",
            &cpu,
            1.05,
        );
        let count_f = count as f64;
        let (w_ours, w_raw) = (common::median(&mut walls.0), common::median(&mut walls.1));
        eprintln!(
            "       {name}: supabase_rest {:.0} req/s, raw reqwest {:.0} req/s (wall, median of {rounds})",
            count_f / w_ours,
            count_f / w_raw,
        );
    }
    drop(server);
}
