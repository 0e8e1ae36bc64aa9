//! Shared helpers for the wiremock contract tests.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod old_flow;

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

/// Matches a header whose whole value equals `value`. (wiremock's own `header` splits values on
/// commas, which breaks on `Prefer: a, b`.)
pub fn header(name: &'static str, value: impl Into<String>) -> HeaderIs {
    HeaderIs(name, value.into())
}

pub struct HeaderIs(&'static str, String);

impl wiremock::Match for HeaderIs {
    fn matches(&self, request: &wiremock::Request) -> bool {
        let mut values = request.headers.get_all(self.0).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => v.as_bytes() == self.1.as_bytes(),
            _ => false,
        }
    }
}

/// Every log line written while the returned guard lives, at every level, on this thread.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Starts capturing (plain text, TRACE and up) until the guard is dropped.
    pub fn start() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || writer.clone())
            .finish();
        (captured, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
