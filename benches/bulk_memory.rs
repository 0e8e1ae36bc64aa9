//! Peak memory of building one upsert of 10,000 and of 100,000 rows, against
//! `serde_json::to_vec` of the same rows, with a counting global allocator; then of sending
//! 100,000 rows with `upsert_chunked` (10,000-row chunks, 2 in flight) to a loopback server in
//! a child process, against the size of one chunk's body.
//!
//! The allocator (`peak_alloc`) counts a `realloc` as a new block plus the old one until the
//! copy is done, so a growing buffer's peak is its worst case (what the system allocator does
//! below its `mmap` threshold). "Peak extra" is the peak above what was live before the call,
//! reported as a multiple of the body's size.
//!
//! `cargo bench --bench bulk_memory`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod common;

use std::future::IntoFuture;
use std::hint::black_box;

use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Bytes allocated at the peak of `f`, above what was live before it.
fn peak_extra<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let out = black_box(f());
    (ALLOC.peak_usage().saturating_sub(before), out)
}

fn main() {
    common::server::serve_if_child();
    let client = common::client("http://127.0.0.1:54321");
    let sizes: &[usize] = if common::bench_mode() {
        &[10_000, 100_000]
    } else {
        &[100]
    };
    for &size in sizes {
        let rows = common::rows(size);
        let (ours, req) = peak_extra(|| {
            client
                .from("user_interactions")
                .upsert(&rows)
                .on_conflict("user_id,grant_id")
                .build()
                .unwrap()
        });
        let body_len = req.body().and_then(|b| b.as_bytes()).map_or(0, <[u8]>::len);
        drop(req);
        let (floor, body) = peak_extra(|| serde_json::to_vec(&rows).unwrap());
        assert_eq!(body.len(), body_len);
        drop(body);
        let x = |n: usize| n as f64 / body_len as f64;
        let verdict = if x(ours) <= 1.5 { "met" } else { "NOT met" };
        eprintln!(
            "MEMORY bulk {size} rows: body {body_len} B; peak extra build() {ours} B ({:.2}x body), to_vec {floor} B ({:.2}x body); build/to_vec {:.2}x; target build <= 1.50x body: {verdict}",
            x(ours),
            x(floor),
            ours as f64 / floor as f64,
        );
    }
    chunked(sizes[sizes.len() - 1]);
}

/// Sends `size` rows with `upsert_chunked` and reports the peak memory above what was live
/// before, as a multiple of one chunk's body: bodies are made as chunks start, so the peak
/// should stay near `concurrency` bodies (plus the connections' buffers), whatever `size` is.
fn chunked(size: usize) {
    let server = common::server::ServerProcess::start().unwrap();
    let client = common::client(&format!("http://{}", server.addr));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = common::rows(size);
    let chunk = (size / 10).max(1);
    let concurrency = 2;
    let send = |rows: &[common::Row]| {
        rt.block_on(
            client
                .from("user_interactions")
                .upsert_chunked(rows)
                .on_conflict("user_id,grant_id")
                .chunk_size(chunk)
                .concurrency(concurrency)
                .into_future(),
        )
        .unwrap();
    };
    // Warm: connections, pools and the client's memo exist before the measurement.
    send(&rows[..chunk.min(rows.len()) * 2]);
    let (peak, ()) = peak_extra(|| send(&rows));
    let one_chunk = serde_json::to_vec(&rows[..chunk]).unwrap().len();
    let whole = serde_json::to_vec(&rows).unwrap().len();
    let x = peak as f64 / one_chunk as f64;
    let limit = (concurrency + 1) as f64;
    let verdict = match (common::bench_mode(), x <= limit) {
        // A quick run's chunks are so small that fixed buffers dominate.
        (false, _) => "not judged in a quick run",
        (true, true) => "met",
        (true, false) => "NOT met",
    };
    eprintln!(
        "MEMORY chunked upsert {size} rows ({chunk}-row chunks, {concurrency} in flight): peak extra {peak} B = {x:.2}x one chunk body ({one_chunk} B), {:.2}x the whole body ({whole} B); target <= {limit:.0} chunk bodies: {verdict}",
        peak as f64 / whole as f64,
    );
}
