//! Shared helpers for the wiremock contract tests.
#![allow(dead_code, unreachable_pub)]

pub mod old_flow;
pub mod table;

use supabase_rest::Client;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const API_KEY: &str = "anon-key-123";

/// A mock server and a client pointed at it (project-URL style: requests go to `/rest/v1/...`).
pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::new(server.uri(), API_KEY).expect("client");
    (server, client)
}

/// A lowest-priority catch-all that answers 599 and names the request nobody expected, so a
/// missing mock shows up as a clear failure instead of a 404 puzzle.
pub async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(|req: &wiremock::Request| {
            ResponseTemplate::new(599)
                .set_body_string(format!("unexpected request: {} {}", req.method, req.url))
        })
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}
