//! End to end over loopback: the seed's upsert (`UsersService::record_user_interaction`), on
//! this crate's default hyper transport and on its reqwest transport, against raw reqwest and
//! raw hyper (hyper-util's pooled client) sending the same request (same headers,
//! `serde_json::to_vec` body) and decoding the same answer into `UserInteraction`; 10,000
//! sequential and 10,000 with 64 in flight.
//!
//! The server (`common/server.rs`) runs in a child process, so the CPU time measured here, the
//! sum over this process's threads from `/proc/self/task/*/schedstat`, is the client's alone.
//! The clients run on a current-thread tokio runtime; all keep their warm pools.
//!
//! `cargo bench --bench loopback`: criterion's numbers are client CPU time per request (not
//! wall time); the `RATIO` lines compare CPU per 10,000 requests, all four clients measured in
//! the same rounds (their order rotating from round to round).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use supabase_rest::grants::{UserInteraction, UsersService};
use supabase_rest::Transport;

use common::server::ServerProcess;
use common::{interaction, measure, ratio_of, report, rotated, row, Floor};

struct Clients {
    /// This crate on its default transport (hyper).
    users: UsersService,
    /// This crate on its reqwest transport.
    users_reqwest: UsersService,
    http: reqwest::Client,
    hyper: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    floor: Floor,
}

impl Clients {
    async fn ours(&self, n: u64) -> UserInteraction {
        self.users
            .record_user_interaction(common::user_id(), interaction(u128::from(n)))
            .await
            .unwrap()
    }

    async fn ours_reqwest(&self, n: u64) -> UserInteraction {
        self.users_reqwest
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

    /// What a careful hand-written client on hyper does: a prepared URI and header map, the
    /// same body, the whole answer collected, then decoded.
    async fn raw_hyper(&self, n: u64) -> UserInteraction {
        let body = serde_json::to_vec(&row(u128::from(n))).unwrap();
        let mut req = http::Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.floor.headers.clone();
        let resp = self.hyper.request(req).await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let body = resp.into_body().collect().await.unwrap().to_bytes();
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
    let floor = Floor::upsert(&base);
    let clients = rt.block_on(async {
        Clients {
            users: UsersService::new(common::client(&base)),
            users_reqwest: UsersService::new(common::client_on(&base, Transport::Reqwest)),
            http: reqwest::Client::new(),
            hyper: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .build_http(),
            uri: http::Uri::try_from(floor.url.as_str()).unwrap(),
            floor,
        }
    });
    assert_eq!(
        clients.users.client().transport(),
        Transport::Hyper,
        "the default transport is measured"
    );
    // Same answer every way, and warm pools (64 connections each).
    rt.block_on(async {
        let expected = clients.raw(1).await;
        assert_eq!(clients.ours(1).await, expected);
        assert_eq!(clients.ours_reqwest(1).await, expected);
        assert_eq!(clients.raw_hyper(1).await, expected);
        drive(256, 64, |n| clients.ours(n)).await;
        drive(256, 64, |n| clients.ours_reqwest(n)).await;
        drive(256, 64, |n| clients.raw(n)).await;
        drive(256, 64, |n| clients.raw_hyper(n)).await;
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
        g.bench_function("supabase_rest_on_reqwest", |b| {
            b.iter_custom(|iters| {
                measure(|| rt.block_on(drive(iters, in_flight, |n| clients.ours_reqwest(n))))
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
        g.bench_function("raw_hyper", |b| {
            b.iter_custom(|iters| {
                measure(|| rt.block_on(drive(iters, in_flight, |n| clients.raw_hyper(n))))
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
        let mut walls: [Vec<f64>; 4] = Default::default();
        let costs = rotated(rounds, 4, |side| {
            let (cost, ()) = measure(|| {
                rt.block_on(async {
                    match side {
                        0 => drive(count, in_flight, |n| clients.ours(n)).await,
                        1 => drive(count, in_flight, |n| clients.ours_reqwest(n)).await,
                        2 => drive(count, in_flight, |n| clients.raw(n)).await,
                        _ => drive(count, in_flight, |n| clients.raw_hyper(n)).await,
                    }
                })
            });
            walls[side].push(cost.wall.as_secs_f64());
            cost.cpu.as_secs_f64()
        });
        let [ours, ours_reqwest, raw, raw_hyper] = &costs[..] else {
            unreachable!("four sides")
        };
        let title = format!("loopback CPU, {count} upserts {name}");
        eprintln!("{title}:");
        for (label, a, b, target) in [
            ("  supabase_rest (hyper) / raw reqwest", ours, raw, 0.80),
            ("  supabase_rest (hyper) / raw hyper", ours, raw_hyper, 1.05),
            (
                "  supabase_rest (reqwest transport) / raw reqwest",
                ours_reqwest,
                raw,
                1.05,
            ),
            ("  raw hyper / raw reqwest", raw_hyper, raw, 1.00),
        ] {
            report(label, "client CPU", &ratio_of(a, b), target);
        }
        let count_f = count as f64;
        let rate = |w: &mut Vec<f64>| count_f / common::median(w);
        eprintln!(
            "       {name}: supabase_rest {:.0} req/s, on reqwest {:.0}, raw reqwest {:.0}, raw hyper {:.0} (wall, median of {rounds})",
            rate(&mut walls[0]),
            rate(&mut walls[1]),
            rate(&mut walls[2]),
            rate(&mut walls[3]),
        );
    }
    drop(server);
}
