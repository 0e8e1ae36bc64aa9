//! The default transport: hyper 1's pooled client (hyper-util), with TLS by rustls and the
//! platform's certificate store.
//!
//! What reqwest's stack did and this does too: connection pooling with keep-alive (idle
//! connections closed after 90 s), HTTP/2 when the server offers it by ALPN, connect, read and
//! total timeouts, TCP_NODELAY, proxies from the environment (`wire/proxy.rs`). What it leaves
//! out on purpose: following redirects (PostgREST never redirects, and following would hand the
//! `apikey` header to another host), cookies, decompression (the client asks for none).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;
use url::Url;

use crate::error::{Cause, Stage};
use crate::wire::proxy::{self, ProxyConnector};
use crate::wire::{Address, Answer, Body, Failure, Held, Outgoing, Settings};

/// The client's own connection pool.
pub(crate) struct HyperWire {
    pool: Pool,
    /// The environment's proxy rules (for `Proxy-Authorization` on plain-http requests).
    proxies: Option<Arc<hyper_util::client::proxy::matcher::Matcher>>,
    read_timeout: Duration,
    connect_timeout: Duration,
    timeout: Duration,
}

impl HyperWire {
    /// The pool and, for an `https` project, its TLS setup; fails when the platform's
    /// certificate store cannot be read or a given certificate is not valid DER.
    pub(crate) fn new(settings: Settings) -> Result<HyperWire, Cause> {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(settings.connect_timeout));
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90));
        let proxies = proxy::from_env();
        let https = |tls| {
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_only()
                .enable_http1()
                .enable_http2()
        };
        // A client talks to one project, so one scheme: a plain `http` one (local development,
        // a private network) needs no TLS at all, and its pool skips the TLS connector's clone
        // on every request.
        let pool = match (settings.tls, &proxies) {
            (true, None) => {
                tcp.enforce_http(false);
                Pool::Tls(builder.build(https(tls_config(&settings.roots)?).wrap_connector(tcp)))
            }
            (false, None) => Pool::Plain(builder.build(tcp)),
            (tls, Some(rules)) => {
                // The proxy connector hands the TLS layer a tunnel, or a plain connection.
                tcp.enforce_http(false);
                let connector = ProxyConnector {
                    tcp,
                    rules: Arc::clone(rules),
                };
                if tls {
                    let tls = tls_config(&settings.roots)?;
                    Pool::ProxiedTls(builder.build(https(tls).wrap_connector(connector)))
                } else {
                    Pool::ProxiedPlain(builder.build(connector))
                }
            }
        };
        Ok(HyperWire {
            pool,
            proxies,
            read_timeout: settings.read_timeout,
            connect_timeout: settings.connect_timeout,
            timeout: settings.timeout,
        })
    }

    /// Sends the request; the future waits for its answer's head. The attempt's limit starts
    /// now and also bounds the body's reading ([`HyperBody`]); the head must come within the
    /// connect and read timeouts.
    ///
    /// Not an `async fn`: the request is turned into hyper's own and handed to the pool here,
    /// so the future holds only what it waits with (an `async fn` would keep its argument, the
    /// whole request, in its state for as long as it runs, and every caller's state with it).
    pub(crate) fn send(
        &self,
        request: Outgoing,
    ) -> impl Future<Output = Result<Answer, Failure>> + Send + 'static {
        let Outgoing {
            method,
            url,
            mut headers,
            body,
            timeout,
        } = request;
        let now = Instant::now();
        let deadline = now + timeout.unwrap_or(self.timeout);
        let head_by = deadline.min(now + self.connect_timeout + self.read_timeout);
        let read_timeout = self.read_timeout;
        let pending = match url.get().uri() {
            Some(uri) => {
                // What reqwest (and Node's fetch) add when a request names no media type, so
                // that both transports send the same bytes.
                if let http::header::Entry::Vacant(slot) = headers.entry(http::header::ACCEPT) {
                    slot.insert(http::HeaderValue::from_static("*/*"));
                }
                let mut req = http::Request::new(Full::new(body.unwrap_or_default()));
                *req.method_mut() = method;
                *req.uri_mut() = uri;
                *req.headers_mut() = headers;
                if let Some(rules) = &self.proxies {
                    if let Some(value) = proxy::authorization(rules, req.uri()) {
                        req.headers_mut()
                            .insert(http::header::PROXY_AUTHORIZATION, value);
                    }
                }
                Some(match &self.pool {
                    Pool::Plain(client) => client.request(req),
                    Pool::Tls(client) => client.request(req),
                    Pool::ProxiedPlain(client) => client.request(req),
                    Pool::ProxiedTls(client) => client.request(req),
                })
            }
            None => None,
        };
        async move {
            let failure = |cause| Failure {
                cause,
                url: Some(url.get().url().clone()),
            };
            let Some(pending) = pending else {
                return Err(failure(Cause::wire(
                    Stage::Setup,
                    "the URL is not a valid URI",
                )));
            };
            let response = match tokio::time::timeout_at(head_by, pending).await {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => {
                    let stage = if !e.is_connect() {
                        Stage::Send
                    } else if timed_out(&e) {
                        // As reqwest reports it: a timeout (`is_timeout`) while connecting.
                        Stage::ConnectTimeout
                    } else {
                        Stage::Connect
                    };
                    return Err(failure(Cause::wire(stage, e)));
                }
                Err(elapsed) => return Err(failure(Cause::wire(Stage::Timeout, elapsed))),
            };
            let (parts, body) = response.into_parts();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                redirected_to: None,
                body: Body::Hyper(HyperBody {
                    body,
                    url,
                    deadline,
                    read_timeout,
                }),
            })
        }
    }
}

/// Connections of one scheme, direct or as the environment's proxy rules say.
enum Pool {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    ProxiedPlain(Client<ProxyConnector, Full<Bytes>>),
    ProxiedTls(Client<HttpsConnector<ProxyConnector>, Full<Bytes>>),
}

/// An answer's body being read: each chunk within the read timeout, all of it within the
/// attempt's limit.
pub(crate) struct HyperBody {
    body: Incoming,
    url: Held<Address>,
    deadline: Instant,
    read_timeout: Duration,
}

impl HyperBody {
    pub(crate) fn url(&self) -> &Url {
        self.url.get().url()
    }

    pub(crate) fn content_length(&self) -> Option<u64> {
        self.body.size_hint().exact()
    }

    /// The next piece of data (trailers are skipped); `None` at the end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, Cause> {
        loop {
            // A small answer arrives with its head: its frames are ready at once, and need no
            // timer (which would cost more than reading them). A frame not ready yet is waited
            // for under the timeouts; polling it again there registers the task's waker.
            let frame = match self.body.frame().now_or_never() {
                Some(ready) => ready,
                None => {
                    let by = self.deadline.min(Instant::now() + self.read_timeout);
                    match tokio::time::timeout_at(by, self.body.frame()).await {
                        Ok(frame) => frame,
                        Err(elapsed) => return Err(Cause::wire(Stage::Timeout, elapsed)),
                    }
                }
            };
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(Cause::wire(Stage::Body, e)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }
}

/// The connector gave up after the connect timeout (an I/O `TimedOut` in the error's chain).
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// rustls with aws-lc-rs (the provider reqwest uses too, so one is compiled), the platform's
/// verifier and store, and the extra `roots`.
fn tls_config(roots: &[Vec<u8>]) -> Result<rustls::ClientConfig, Cause> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let extra = roots
        .iter()
        .map(|der| rustls::pki_types::CertificateDer::from(der.clone()));
    let verifier = if roots.is_empty() {
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
    }
    .map_err(|e| Cause::wire(Stage::Setup, e))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Cause::wire(Stage::Setup, e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}
