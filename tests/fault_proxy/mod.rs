//! A TCP proxy on loopback between the client and the PostgREST stand-in that injects faults,
//! one decision per connection, deterministic per seed.
//!
//! The client under test uses one connection per request (a caller-supplied reqwest client with
//! no idle pool), so "per connection" is "per attempt". The proxy works on bytes, never parses
//! HTTP: whatever the upstream sends first means the stand-in has run (and committed) the
//! request, which is what the lost-answer fault needs.
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// `FAULTS_FULL=1`: the fault scenarios run their full counts (CI runs smaller ones).
pub fn full_run() -> bool {
    std::env::var("FAULTS_FULL").is_ok_and(|v| v == "1")
}

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward both ways.
    Pass,
    /// Close the connection as soon as the request starts arriving; nothing reaches the server.
    CloseBeforeForward,
    /// Forward the request, let the server answer (so it has committed), close before the
    /// client sees a byte of the answer.
    LoseAnswer,
    /// Forward the request and the first bytes of the answer, then close mid-answer.
    ResetMidAnswer,
    /// Forward the request, then hold the answer until the client gives up.
    Stall,
}

/// Per-mille rates of each fault; the rest pass.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub close_before_forward: u32,
    pub lose_answer: u32,
    pub reset_mid_answer: u32,
    pub stall: u32,
}

/// A running proxy.
pub struct FaultProxy {
    pub addr: SocketAddr,
    open: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Fault>>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream`; connection `n` gets the fault that `seed` and `n` decide.
    pub async fn start(upstream: SocketAddr, seed: u64, rates: Rates) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (open_in, log_in) = (Arc::clone(&open), Arc::clone(&log));
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                let fault = decide(seed, n, rates);
                n += 1;
                log_in.lock().unwrap().push(fault);
                let open = Arc::clone(&open_in);
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    serve(client, upstream, fault).await;
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FaultProxy { addr, open, log }
    }

    /// `http://<addr>`, for a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections the proxy still holds open.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// How many connections got each fault so far.
    pub fn count(&self, fault: Fault) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|f| **f == fault)
            .count()
    }
}

fn decide(seed: u64, n: u64, rates: Rates) -> Fault {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (seed, n).hash(&mut h);
    let roll = u32::try_from(h.finish() % 1000).unwrap();
    let mut edge = rates.close_before_forward;
    if roll < edge {
        return Fault::CloseBeforeForward;
    }
    edge += rates.lose_answer;
    if roll < edge {
        return Fault::LoseAnswer;
    }
    edge += rates.reset_mid_answer;
    if roll < edge {
        return Fault::ResetMidAnswer;
    }
    edge += rates.stall;
    if roll < edge {
        return Fault::Stall;
    }
    Fault::Pass
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Fault) {
    if fault == Fault::CloseBeforeForward {
        let mut buf = [0u8; 1];
        let _ = client.read(&mut buf).await;
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // The request goes through whatever the fault.
    let mut forward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    match fault {
        Fault::Pass => {
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        }
        Fault::LoseAnswer => {
            // The first byte of the answer: the stand-in has run the request.
            let _ = server_read.read(&mut buf).await;
        }
        Fault::ResetMidAnswer => {
            if let Ok(n) = server_read.read(&mut buf).await {
                let _ = client_write.write_all(&buf[..n / 2]).await;
            }
        }
        Fault::Stall => {
            // Hold the answer until the client hangs up (or 30 s pass).
            let _ = server_read.read(&mut buf).await;
            let _ = tokio::time::timeout(Duration::from_secs(30), &mut forward).await;
        }
        Fault::CloseBeforeForward => {}
    }
    forward.abort();
}
