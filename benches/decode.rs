//! Decoding a single-object answer and a 1,000-row answer into `UserInteraction`, through the
//! crate's decode path (`Shape::decode`, reached by `testing::decode_one` and `testing::decode_rows`)
//! against `serde_json::from_slice` on the same bytes, in one run.
//!
//! `cargo bench --bench decode`: criterion's times, then paired `RATIO` lines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use supabase_rest::grants::UserInteraction;

use common::{interaction_row, paired, per_call, report};

fn main() {
    let one = Bytes::from(common::server::UPSERT_ANSWER);
    let rows: Vec<UserInteraction> = (0..1_000).map(interaction_row).collect();
    let many = Bytes::from(serde_json::to_vec(&rows).unwrap());

    let ours_one = || -> UserInteraction {
        supabase_rest::testing::decode_one(black_box(one.clone())).unwrap()
    };
    let floor_one =
        || -> UserInteraction { serde_json::from_slice(black_box(one.as_ref())).unwrap() };
    let ours_many = || -> Vec<UserInteraction> {
        supabase_rest::testing::decode_rows(black_box(many.clone())).unwrap()
    };
    let floor_many =
        || -> Vec<UserInteraction> { serde_json::from_slice(black_box(many.as_ref())).unwrap() };
    assert_eq!(ours_one(), floor_one());
    assert_eq!(ours_many(), rows);
    assert_eq!(floor_many(), rows);

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("decode_single");
        g.throughput(Throughput::Bytes(one.len() as u64));
        g.bench_function("supabase_rest", |b| b.iter(ours_one));
        g.bench_function("serde_json_from_slice", |b| b.iter(floor_one));
        g.finish();
    }
    {
        let mut g = c.benchmark_group("decode_1000_rows");
        g.throughput(Throughput::Bytes(many.len() as u64));
        g.bench_function("supabase_rest", |b| b.iter(ours_many));
        g.bench_function("serde_json_from_slice", |b| b.iter(floor_many));
        g.finish();
    }
    c.final_summary();

    let (rounds, n_one, n_many) = if common::bench_mode() {
        (41, 20_000, 40)
    } else {
        (3, 10, 1)
    };
    let p = paired(
        rounds,
        || per_call(n_one, || drop(black_box(ours_one()))),
        || per_call(n_one, || drop(black_box(floor_one()))),
    );
    report("decode: single object / from_slice", "per answer", &p, 1.05);
    let p = paired(
        rounds,
        || per_call(n_many, || drop(black_box(ours_many()))),
        || per_call(n_many, || drop(black_box(floor_many()))),
    );
    report("decode: 1,000 rows / from_slice", "per answer", &p, 1.05);
}
