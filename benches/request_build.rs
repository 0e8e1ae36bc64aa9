//! Building and serializing the seed's upsert, through `UsersService` and through the generic
//! builder, against a hand-written `reqwest::Request` with the same method, URL, headers and
//! `serde_json::to_vec` body (the floor), in one run.
//!
//! `cargo bench --bench request_build`: criterion's per-call times, then `RATIO` lines from a
//! paired run (ours and the floor alternating, median of the per-round ratios).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::hint::black_box;

use criterion::Criterion;
use supabase_rest::grants::UsersService;

use common::{assert_same_request, client, interaction, paired, per_call, report, row, Floor};

const BASE: &str = "http://127.0.0.1:54321";

fn main() {
    let client = client(BASE);
    let users = UsersService::new(client.clone());
    let floor = Floor::upsert(BASE);
    let user = common::user_id();
    let new = interaction(7);
    let body = row(7);

    let service = || {
        users
            .record_user_interaction_builder(user, black_box(&new))
            .build()
            .unwrap()
    };
    let generic = || {
        client
            .from("user_interactions")
            .upsert(black_box(&body))
            .on_conflict("user_id,grant_id")
            .select::<serde_json::Value>("*")
            .single()
            .build()
            .unwrap()
    };
    let hand_written = || floor.request(black_box(&body));

    // Same request on the wire, or the comparison means nothing.
    assert_same_request(&service(), &hand_written());
    assert_same_request(&generic(), &hand_written());

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("build_upsert");
        g.bench_function("users_service_builder", |b| b.iter(service));
        g.bench_function("generic_builder", |b| b.iter(generic));
        g.bench_function("hand_written_reqwest", |b| b.iter(hand_written));
        g.finish();
    }
    c.final_summary();

    let (rounds, n) = if common::bench_mode() {
        (41, 20_000)
    } else {
        (3, 10)
    };
    let p = paired(
        rounds,
        || per_call(n, || drop(black_box(service()))),
        || per_call(n, || drop(black_box(hand_written()))),
    );
    report(
        "build: UsersService builder / hand-written",
        "per request",
        &p,
        1.25,
    );
    let p = paired(
        rounds,
        || per_call(n, || drop(black_box(generic()))),
        || per_call(n, || drop(black_box(hand_written()))),
    );
    report(
        "build: generic builder / hand-written",
        "per request",
        &p,
        1.25,
    );
}
