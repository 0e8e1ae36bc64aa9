//! Building and serializing the seed's upsert, through `UsersService`, a `RequestTemplate` and
//! the builder chain, against a hand-written `reqwest::Request` with the same method, URL, headers and
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
use supabase_rest::grants::schema::public::user_interactions as ui;
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

    // The service's request comes from the template it prepares once.
    let service = || {
        users
            .record_user_interaction(user, black_box(&new).clone())
            .build()
            .unwrap()
    };
    let template = client
        .from("user_interactions")
        .upsert(&body)
        .on_conflict("user_id,grant_id")
        .select("*")
        .single()
        .template()
        .unwrap();
    let templated = || template.build(black_box(&body)).unwrap();
    let chain = || {
        client
            .from("user_interactions")
            .upsert(black_box(&body))
            .on_conflict("user_id,grant_id")
            .select("*")
            .single()
            .build()
            .unwrap()
    };
    let hand_written = || floor.request(black_box(&body));

    // The typed path against the string chain, same generated `Insert` body on both sides.
    let insert = ui::Insert::new(user, common::grant_id(7), "saved".to_owned());
    let typed = || {
        client
            .table(ui::TABLE)
            .upsert(black_box(&insert), ui::conflict::USER_ID_GRANT_ID)
            .returning()
            .single()
            .build()
            .unwrap()
    };
    let chain_same_body = || {
        client
            .from("user_interactions")
            .upsert(black_box(&insert))
            .on_conflict("user_id,grant_id")
            .select("*")
            .single()
            .build()
            .unwrap()
    };

    // Same request on the wire, or the comparison means nothing.
    assert_same_request(&service(), &hand_written());
    assert_same_request(&templated(), &hand_written());
    assert_same_request(&chain(), &hand_written());
    assert_same_request(&typed(), &hand_written());
    assert_same_request(&chain_same_body(), &hand_written());

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("build_upsert");
        g.bench_function("users_service_request", |b| b.iter(service));
        g.bench_function("request_template", |b| b.iter(templated));
        g.bench_function("builder_chain", |b| b.iter(chain));
        g.bench_function("hand_written_reqwest", |b| b.iter(hand_written));
        g.bench_function("typed_generated", |b| b.iter(typed));
        g.finish();
    }
    c.final_summary();

    let (rounds, n) = if common::bench_mode() {
        (41, 20_000)
    } else {
        (3, 10)
    };
    let sides: [(&str, &dyn Fn() -> reqwest::Request, f64); 3] = [
        ("build: UsersService request / hand-written", &service, 1.25),
        ("build: request template / hand-written", &templated, 1.25),
        ("build: builder chain / hand-written", &chain, 1.25),
    ];
    for (name, ours, target) in sides {
        let p = paired(
            rounds,
            || per_call(n, || drop(black_box(ours()))),
            || per_call(n, || drop(black_box(hand_written()))),
        );
        report(name, "per request", &p, target);
    }
    let p = paired(
        rounds,
        || per_call(n, || drop(black_box(typed()))),
        || per_call(n, || drop(black_box(chain_same_body()))),
    );
    report(
        "build: typed (generated) / builder chain",
        "per request",
        &p,
        1.02,
    );
}
