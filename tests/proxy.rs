//! Proxies from the environment, on both transports, through a proxy stand-in that keeps what
//! it was asked: an `https` project is reached through an authenticated `CONNECT` tunnel (TLS
//! runs end to end inside it, so the proxy never sees the api key), a plain-`http` one by
//! absolute-form requests carrying `Proxy-Authorization`, and `NO_PROXY` hosts directly. The
//! proxy's password never shows in a client's `Debug`.
//!
//! One test in a binary of its own: it sets process-wide environment variables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tls_server;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use supabase_rest::{Client, RetryPolicy, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy was asked: each request line (`CONNECT host:port HTTP/1.1` or an
/// absolute-form request) with its `Proxy-Authorization`, if any.
type Asked = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A proxy: `CONNECT` opens a tunnel to the target; any other request is answered `[]` by the
/// proxy itself (the origin in its URL is never contacted).
async fn proxy_standin() -> (SocketAddr, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let asked: Asked = Arc::default();
    let log = Arc::clone(&asked);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let Some(end) = read_head(&mut client, &mut buf).await else {
                        return;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let mut lines = head.split("\r\n");
                    let line = lines.next().unwrap_or("").to_owned();
                    let header = |name: &str| {
                        head.split("\r\n").skip(1).find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.trim()
                                .eq_ignore_ascii_case(name)
                                .then(|| v.trim().to_owned())
                        })
                    };
                    log.lock()
                        .unwrap()
                        .push((line.clone(), header("proxy-authorization")));
                    if let Some(target) = line
                        .strip_prefix("CONNECT ")
                        .and_then(|r| r.split(' ').next())
                    {
                        let Ok(mut upstream) = TcpStream::connect(target).await else {
                            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                            return;
                        };
                        let _ = client
                            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                            .await;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        return;
                    }
                    let length: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
                    buf.drain(..end + 4);
                    while buf.len() < length {
                        let mut chunk = [0u8; 4096];
                        match client.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..length);
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]";
                    if client.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, asked)
}

/// Reads until a request head is complete; its length (without the blank line).
async fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(end);
        }
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct Grant {
    id: i64,
    title: String,
}

async fn grants(client: &Client) -> supabase_rest::Result<Vec<Grant>> {
    client
        .from("grants")
        .select("id,title")
        .returns::<Grant>()
        .await
}

fn set_env(name: &str, value: &str) {
    // Edition 2021: setting the environment is safe here, and this binary has one test.
    std::env::set_var(name, value);
    std::env::set_var(name.to_lowercase(), value);
}

#[tokio::test]
async fn both_transports_use_the_environments_proxies() {
    let origin = tls_server::https_server().await;
    let port = origin.addr.port();
    let (proxy, asked) = proxy_standin().await;
    let proxy_url = format!("http://grants-app:proxy-secret@{proxy}");
    // "grants-app:proxy-secret", base64: what the proxy must be shown.
    let expected_auth = Some("Basic Z3JhbnRzLWFwcDpwcm94eS1zZWNyZXQ=".to_owned());
    // The https origin (through a tunnel, or directly), and plain http to a port where
    // nothing listens (an answer can only come from the proxy). No retries: one attempt each.
    let to_origin = |transport| {
        Client::builder(format!("https://localhost:{port}"), "anon-key-secret")
            .transport(transport)
            .add_root_certificate(origin.ca.clone())
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    };
    let to_closed_port = |transport| {
        Client::builder("http://127.0.0.1:9", "anon-key-secret")
            .transport(transport)
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    };
    set_env("HTTPS_PROXY", &proxy_url);
    set_env("HTTP_PROXY", &proxy_url);
    set_env("NO_PROXY", "");

    for transport in [Transport::Hyper, Transport::Reqwest] {
        // https: an authenticated CONNECT tunnel, TLS to the origin inside it.
        let client = to_origin(transport);
        assert!(!format!("{client:?}").contains("proxy-secret"));
        let before = origin.seen.lock().unwrap().len();
        let rows = grants(&client)
            .await
            .unwrap_or_else(|e| panic!("{transport:?} over the tunnel: {e}"));
        assert_eq!(rows.len(), 1);
        let (line, auth) = asked.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            line,
            format!("CONNECT localhost:{port} HTTP/1.1"),
            "{transport:?}"
        );
        assert_eq!(auth, expected_auth, "{transport:?}");
        assert_eq!(
            origin.seen.lock().unwrap().len(),
            before + 1,
            "{transport:?}: the origin answered through the tunnel"
        );

        // Plain http: the request goes to the proxy in absolute form (nothing listens on the
        // origin's port 9, so an answer can only come from the proxy).
        let rows: Vec<serde_json::Value> = to_closed_port(transport)
            .from("grants")
            .select("id")
            .await
            .unwrap_or_else(|e| panic!("{transport:?} through the proxy: {e}"));
        assert!(rows.is_empty());
        let (line, auth) = asked.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            line, "GET http://127.0.0.1:9/rest/v1/grants?select=id HTTP/1.1",
            "{transport:?}"
        );
        assert_eq!(auth, expected_auth, "{transport:?}");
    }

    // NO_PROXY: the origin is reached directly; the proxy is asked nothing more.
    set_env("NO_PROXY", "localhost,127.0.0.1");
    let asked_before = asked.lock().unwrap().len();
    for transport in [Transport::Hyper, Transport::Reqwest] {
        let rows = grants(&to_origin(transport))
            .await
            .unwrap_or_else(|e| panic!("{transport:?} direct: {e}"));
        assert_eq!(rows.len(), 1);
        let err = to_closed_port(transport)
            .from("grants")
            .select("id")
            .await
            .unwrap_err();
        assert!(
            err.is_connect(),
            "{transport:?}: direct to a closed port: {err}"
        );
        assert!(!err.to_string().contains("proxy-secret"), "{err}");
    }
    assert_eq!(
        asked.lock().unwrap().len(),
        asked_before,
        "the proxy was bypassed"
    );
}
