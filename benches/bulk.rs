//! One upsert of 10,000 and of 100,000 rows: `build()` (which serializes the rows once and
//! derives `columns`, the union of their keys) against `serde_json::to_vec` of the same rows,
//! in one run. Peak memory is measured separately by `bulk_memory` (its counting allocator
//! would distort these timings).
//!
//! `cargo bench --bench bulk`: criterion's times, then paired `RATIO` lines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};

use common::{client, paired, per_call, report, rows, Row};

fn build(client: &supabase_rest::Client, rows: &[Row]) -> reqwest::Request {
    client
        .from("user_interactions")
        .upsert(black_box(rows))
        .on_conflict("user_id,grant_id")
        .build()
        .unwrap()
}

fn main() {
    let client = client("http://127.0.0.1:54321");
    let bench = common::bench_mode();
    let sizes: &[usize] = if bench { &[10_000, 100_000] } else { &[100] };

    let mut c = Criterion::default().configure_from_args();
    let mut summary = Vec::new();
    for &size in sizes {
        let rows = rows(size);
        let body = serde_json::to_vec(&rows).unwrap();
        let req = build(&client, &rows);
        assert_eq!(req.body().and_then(|b| b.as_bytes()), Some(body.as_slice()));
        let columns = req
            .url()
            .query_pairs()
            .find(|(k, _)| k == "columns")
            .map(|(_, v)| v.into_owned());
        assert_eq!(
            columns.as_deref(),
            Some(r#""user_id","grant_id","action","notes""#)
        );

        let mut g = c.benchmark_group(format!("bulk_upsert_{size}_rows"));
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.sample_size(20);
        g.bench_function("build", |b| b.iter(|| build(&client, &rows)));
        g.bench_function("serde_json_to_vec", |b| {
            b.iter(|| serde_json::to_vec(black_box(&rows)).unwrap())
        });
        g.finish();
        summary.push((size, rows));
    }
    c.final_summary();

    for (size, rows) in &summary {
        let (rounds, n) = match (bench, *size) {
            (false, _) => (3, 1),
            (true, s) if s >= 100_000 => (21, 2),
            (true, _) => (31, 10),
        };
        let p = paired(
            rounds,
            || per_call(n, || drop(black_box(build(&client, rows)))),
            || {
                per_call(n, || {
                    drop(black_box(serde_json::to_vec(black_box(rows)).unwrap()))
                })
            },
        );
        report(
            &format!("bulk: build {size} rows / to_vec"),
            "per request",
            &p,
            // Noting the `columns` on the way must cost nothing over the floor.
            1.00,
        );
    }
}
