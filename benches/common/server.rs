//! A loopback HTTP/1.1 server that answers like PostgREST, run in a child process so that its
//! CPU time never counts towards the client being measured.
//!
//! The benchmark binary re-executes itself with [`SERVER_ENV`] set; the child binds
//! `127.0.0.1:0`, prints the address on stdout, and serves until its stdin closes (so it ends
//! when the parent ends, however the parent ends). One blocking thread per connection: no
//! parsing beyond the request head and `Content-Length` (or chunked) body, a canned answer.
//!
//! Shared with `tools/compare` through `#[path]`, so it depends on `std` only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

/// Set (to anything) in the environment of the child that serves.
pub const SERVER_ENV: &str = "SUPABASE_REST_BENCH_SERVER";

/// The row PostgREST returns for the seed's upsert (`return=representation`, one object).
pub const UPSERT_ANSWER: &str = r#"{"id":"6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d","user_id":"0b6a3c2e-1f4d-4e5a-8b7c-9d0e1f2a3b4c","grant_id":"5d4c3b2a-1e0f-4a9b-8c7d-6e5f4a3b2c1d","action":"saved","notes":null,"created_at":"2025-03-01T12:34:56.789012+00:00","updated_at":"2025-03-02T08:09:10.111213+00:00"}"#;

/// Runs the server and exits if this process was started as the server child; returns
/// otherwise. Call it first thing in `main`.
pub fn serve_if_child() {
    if std::env::var_os(SERVER_ENV).is_none() {
        return;
    }
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(_) => std::process::exit(2),
    };
    let Ok(addr) = listener.local_addr() else {
        std::process::exit(2)
    };
    let mut out = std::io::stdout();
    if writeln!(out, "{addr}").and_then(|()| out.flush()).is_err() {
        std::process::exit(2);
    }
    // The parent holds our stdin; when it goes away, so do we.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        std::process::exit(0);
    });
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = connection(stream);
        });
    }
    std::process::exit(0);
}

/// The server child, ended when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts the current executable as the server child and waits for its address.
    pub fn start() -> std::io::Result<ServerProcess> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .env(SERVER_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .parse()
            .map_err(|_| std::io::Error::other(format!("server printed {line:?}")))?;
        Ok(ServerProcess { child, addr })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing stdin ends the child; kill it too in case it is stuck.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connection(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
    let mut writer = stream;
    let representation = response(
        "201 Created",
        "application/vnd.pgrst.object+json; charset=utf-8",
        UPSERT_ANSWER,
    );
    let minimal = response("201 Created", "", "");
    // A bulk upsert asking for representation gets one row per row sent (made once per size).
    let mut bulk_answers: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut head = Vec::with_capacity(1024);
    let mut body = Vec::new();
    loop {
        head.clear();
        // The request head, line by line, up to the blank line.
        let mut content_length = 0usize;
        let mut chunked = false;
        let mut wants_rows = false;
        loop {
            let start = head.len();
            if reader.read_until(b'\n', &mut head)? == 0 {
                return Ok(()); // connection closed
            }
            let line = &head[start..];
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix(b"content-length:") {
                content_length = std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
            } else if lower.starts_with(b"transfer-encoding:") && contains(&lower, b"chunked") {
                chunked = true;
            } else if lower.starts_with(b"prefer:") && contains(&lower, b"return=representation") {
                wants_rows = true;
            }
        }
        body.clear();
        if chunked {
            read_chunked(&mut reader, &mut body)?;
        } else {
            body.resize(content_length, 0);
            reader.read_exact(&mut body)?;
        }
        let answer = if wants_rows && body.first() == Some(&b'[') {
            let rows = body
                .windows(9)
                .filter(|w| **w == b"\"user_id\""[..])
                .count();
            let at = match bulk_answers.iter().position(|(n, _)| *n == rows) {
                Some(at) => at,
                None => {
                    let mut text = String::with_capacity(rows * (UPSERT_ANSWER.len() + 1) + 2);
                    text.push('[');
                    for i in 0..rows {
                        if i > 0 {
                            text.push(',');
                        }
                        text.push_str(UPSERT_ANSWER);
                    }
                    text.push(']');
                    let answer = response("201 Created", "application/json; charset=utf-8", &text);
                    bulk_answers.push((rows, answer));
                    bulk_answers.len() - 1
                }
            };
            &bulk_answers[at].1
        } else if wants_rows {
            &representation
        } else {
            &minimal
        };
        writer.write_all(answer)?;
    }
}

fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size_text = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| std::io::Error::other("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?; // CRLF after the chunk
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn response(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nDate: Sat, 01 Mar 2025 12:34:56 GMT\r\nServer: postgrest/12.2.3\r\nContent-Range: */*\r\nPreference-Applied: resolution=merge-duplicates\r\n"
    );
    if !content_type.is_empty() {
        out.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}
