//! Both transports put the same bytes on the wire: each request below is sent once through the
//! hyper transport and once through reqwest to a raw TCP server that keeps the bytes of every
//! request (head and body) exactly as they arrived, and the two captures must be equal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use serde_json::json;
use supabase_rest::{Client, Count, Error, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Every request's bytes, in arrival order.
type Captures = Arc<Mutex<Vec<Vec<u8>>>>;

/// A server that reads HTTP/1.1 requests (`Content-Length` bodies) and answers each `[]`.
async fn raw_server() -> (String, Captures) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let captures: Captures = Arc::default();
    let keep = Arc::clone(&captures);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let keep = Arc::clone(&keep);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let Some(end) = find(&buf, b"\r\n\r\n") else {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    let total = end + 4 + length;
                    while buf.len() < total {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    keep.lock().unwrap().push(buf.drain(..total).collect());
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]";
                    if socket.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), captures)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends every request of the list through `client` (answers are not looked at).
async fn send_all(client: &Client) {
    let row = json!({"user_id": "u1", "grant_id": "g1", "action": "saved"});
    let rows = json!([{"a": 1}, {"a": 2, "b": null}]);
    let _ = client
        .from("grants")
        .select("id,title")
        .eq("status", "open")
        .limit(10)
        .await;
    let _ = client
        .from("user_interactions")
        .upsert(&row)
        .on_conflict("user_id,grant_id")
        .select("*")
        .single()
        .await;
    let _ = client.from("t").insert(&rows).await;
    let _ = client
        .from("t")
        .update(&json!({"a": 3}))
        .eq("id", 1)
        .header("x-request-id", "r-1")
        .await;
    let _ = client.from("t").delete().in_("id", [1, 2]).await;
    let _ = client
        .from("t")
        .select("*")
        .count(Count::Exact)
        .head()
        .await;
    let _ = client.rpc("add", &json!({"a": 1, "b": 2})).await;
    let _ = client.rpc("now", &json!({})).get().await;
    let _ = client.from("t").select("*").csv().await;
}

#[tokio::test]
async fn hyper_and_reqwest_send_the_same_bytes() {
    let (base, captures) = raw_server().await;
    let mut by_transport = Vec::new();
    for transport in [Transport::Hyper, Transport::Reqwest] {
        let client = Client::builder(&base, "anon-key")
            .access_token("user-jwt")
            .transport(transport)
            .build()
            .unwrap();
        send_all(&client).await;
        by_transport.push(std::mem::take(&mut *captures.lock().unwrap()));
    }
    let (hyper, reqwest) = (&by_transport[0], &by_transport[1]);
    assert_eq!(hyper.len(), 9, "every request arrived");
    assert_eq!(hyper.len(), reqwest.len());
    for (h, r) in hyper.iter().zip(reqwest) {
        assert_eq!(
            String::from_utf8_lossy(h),
            String::from_utf8_lossy(r),
            "hyper (left) and reqwest (right) differ"
        );
    }
}

/// The test command runs the suite once per transport through `SUPABASE_REST_TRANSPORT`: a
/// client that names none must use the one the environment names (else hyper), or the second
/// run would test the first transport again.
#[test]
fn a_client_that_names_no_transport_uses_the_environments() {
    let client = Client::new("http://localhost:3000", "anon-key").unwrap();
    let expected = match std::env::var("SUPABASE_REST_TRANSPORT").as_deref() {
        Ok("reqwest") => Transport::Reqwest,
        _ => Transport::Hyper,
    };
    assert_eq!(client.transport(), expected);
    let given = Client::builder("http://localhost:3000", "anon-key")
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    assert_eq!(given.transport(), Transport::Reqwest);
}

/// A large answer arriving in many pieces (with its `Content-Length`) is read whole, on both
/// transports: the buffer that gathers it grows with the bytes and stops at the declared size.
#[tokio::test]
async fn a_large_answer_in_many_pieces_is_read_whole_on_both_transports() {
    let rows = 20_000;
    let body: String = {
        let one = r#"{"id":12345,"title":"a grant with a longish title","status":"open"}"#;
        let mut text = String::from("[");
        for i in 0..rows {
            if i > 0 {
                text.push(',');
            }
            text.push_str(one);
        }
        text.push(']');
        text
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = body.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                while find(&seen, b"\r\n\r\n").is_none() {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                for piece in answer.as_bytes().chunks(50_000) {
                    if socket.write_all(piece).await.is_err() {
                        return;
                    }
                    let _ = socket.flush().await;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            });
        }
    });
    for transport in [Transport::Hyper, Transport::Reqwest] {
        let client = Client::builder(format!("http://{addr}"), "anon-key")
            .transport(transport)
            .build()
            .unwrap();
        let got = client
            .from("grants")
            .select("id,title,status")
            .await
            .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
        assert_eq!(got.len(), rows, "{transport:?}");
        assert_eq!(got[rows - 1]["title"], "a grant with a longish title");
        // Cut at the cap: the declared size is over it, so the answer is refused.
        let capped = Client::builder(format!("http://{addr}"), "anon-key")
            .transport(transport)
            .max_response_bytes(body.len() - 1)
            .build()
            .unwrap();
        let err = capped.from("grants").select("*").await.unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{transport:?}: {err:?}");
        assert!(
            std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default()
                .contains("exceeds the limit"),
            "{transport:?}: {err:?}"
        );
    }
}
