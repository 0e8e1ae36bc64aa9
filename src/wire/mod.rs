//! The HTTP exchange itself: one request out, its answer's head, then its body read with a cap.
//!
//! Two transports sit behind [`Wire`]: the client's own, on hyper's pooled client
//! (`wire/hyper.rs`, with the environment's proxies in `wire/proxy.rs`; the default with the
//! `rustls` feature), and reqwest (a caller's `reqwest::Client`, or the client's own under
//! `native-tls` or on request).
//! Both take the same [`Outgoing`] request, which is what `build()` turns into a
//! `reqwest::Request` too, so both put the same bytes on the wire. Nothing here knows about
//! PostgREST, retries or decoding: `transport.rs` does.

#[cfg(feature = "rustls")]
mod hyper;
#[cfg(feature = "rustls")]
mod proxy;

use std::future::Future;
use std::sync::Arc;
#[cfg(feature = "rustls")]
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

#[cfg(feature = "rustls")]
use self::hyper::HyperWire;
use crate::error::{Cause, Error, Result};

/// Which HTTP implementation a client sends through (see
/// `ClientBuilder::transport`). Both send the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// hyper's pooled client, set up by this crate: about a fifth less CPU per request than
    /// reqwest's stack. The default with the `rustls` feature. It honours `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` as curl and reqwest do (`http://` proxies:
    /// `CONNECT` tunnels for https, absolute-form requests for plain http).
    Hyper,
    /// A reqwest client with the same settings (timeouts, no redirects, extra root
    /// certificates, the environment's proxies).
    Reqwest,
}

impl Transport {
    /// The transport of a client that names none: `SUPABASE_REST_TRANSPORT` (`hyper` or
    /// `reqwest`) when set; else reqwest without the `rustls` feature (the hyper transport's
    /// TLS); else hyper.
    pub(crate) fn default_for_environment() -> Result<Transport> {
        match std::env::var("SUPABASE_REST_TRANSPORT") {
            Ok(v) if v.eq_ignore_ascii_case("hyper") => return Ok(Transport::Hyper),
            Ok(v) if v.eq_ignore_ascii_case("reqwest") => return Ok(Transport::Reqwest),
            Ok(v) if !v.is_empty() => {
                return Err(Error::invalid(
                    "SUPABASE_REST_TRANSPORT must be \"hyper\" or \"reqwest\"",
                ))
            }
            _ => {}
        }
        if cfg!(not(feature = "rustls")) {
            Ok(Transport::Reqwest)
        } else {
            Ok(Transport::Hyper)
        }
    }
}

/// How the client's own transport is set up (from `ClientBuilder`).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    /// The limit of an attempt that sets none.
    pub(crate) timeout: Duration,
    /// The project is reached over `https` (else plain `http`: no TLS is set up).
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) tls: bool,
    /// Certificates (DER) trusted besides the platform's store.
    #[cfg_attr(not(any(feature = "rustls", feature = "native-tls")), allow(dead_code))]
    pub(crate) roots: Vec<Vec<u8>>,
}

/// How a request holds its URL and header map: its own copy (for `build()`, which hands them
/// over once), or shared with the memo or a template (for sending, where each attempt copies
/// them). Copying under the memo's lock instead of sharing saves the atomic reference counting
/// that would otherwise cost `build()` more than the copy itself.
#[derive(Debug)]
pub(crate) enum Held<T> {
    Own(T),
    Shared(Arc<T>),
}

impl<T: Clone> Held<T> {
    pub(crate) fn get(&self) -> &T {
        match self {
            Held::Own(t) => t,
            Held::Shared(t) => t,
        }
    }

    pub(crate) fn into_inner(self) -> T {
        match self {
            Held::Own(t) => t,
            Held::Shared(t) => Arc::try_unwrap(t).unwrap_or_else(|shared| T::clone(&shared)),
        }
    }

    /// Another handle: a copy of an own value, the same shared one.
    pub(crate) fn another(&self) -> Held<T> {
        match self {
            Held::Own(t) => Held::Own(t.clone()),
            Held::Shared(t) => Held::Shared(Arc::clone(t)),
        }
    }
}

/// A request's URL and, once the hyper transport has sent it, the `http::Uri` it parsed from
/// it: kept together wherever the URL is shared (the memo, a template), so that a shape sent
/// again is not parsed again.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    url: Url,
    #[cfg(feature = "rustls")]
    uri: OnceLock<Option<http::Uri>>,
}

impl Address {
    pub(crate) fn new(url: Url) -> Address {
        Address {
            url,
            #[cfg(feature = "rustls")]
            uri: OnceLock::new(),
        }
    }

    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    pub(crate) fn into_url(self) -> Url {
        self.url
    }

    /// The URL as hyper sends it (`None` if it cannot be one: a URL the `url` crate accepts
    /// is always a valid URI, but this is not trusted blindly).
    #[cfg(feature = "rustls")]
    pub(crate) fn uri(&self) -> Option<http::Uri> {
        self.uri
            .get_or_init(|| http::Uri::try_from(self.url.as_str()).ok())
            .clone()
    }
}

/// One request as it goes out: what both transports send, and what `build()` hands over as a
/// `reqwest::Request`.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) url: Held<Address>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    /// This attempt's own limit; `None`: the transport's default.
    pub(crate) timeout: Option<Duration>,
}

impl Outgoing {
    /// The same request as a `reqwest::Request`.
    #[inline]
    pub(crate) fn into_reqwest(self) -> reqwest::Request {
        let Outgoing {
            method,
            url,
            headers,
            body,
            timeout,
        } = self;
        let mut request = reqwest::Request::new(method, url.into_inner().into_url());
        *request.headers_mut() = headers;
        if let Some(body) = body {
            *request.body_mut() = Some(reqwest::Body::from(body));
        }
        *request.timeout_mut() = timeout;
        request
    }
}

/// The transport a client sends through.
#[derive(Clone)]
pub(crate) enum Wire {
    /// hyper's pooled client, set up by this crate (no redirects, its own timeouts).
    #[cfg(feature = "rustls")]
    Hyper(std::sync::Arc<HyperWire>),
    /// A reqwest client: the caller's (`own: false`, which may follow redirects) or one this
    /// crate built with redirects off.
    Reqwest { client: reqwest::Client, own: bool },
}

/// A failed exchange: why, and the URL it was for (named in the error without its query).
pub(crate) struct Failure {
    pub(crate) cause: Cause,
    pub(crate) url: Option<Url>,
}

impl Wire {
    /// The client's own transport: never follows redirects, sends no referer.
    pub(crate) fn own(transport: Transport, settings: Settings) -> Result<Wire> {
        let failed = |cause| Error::Transport(crate::error::TransportError::of(cause, None, None));
        match transport {
            #[cfg(feature = "rustls")]
            Transport::Hyper => HyperWire::new(settings)
                .map(|wire| Wire::Hyper(std::sync::Arc::new(wire)))
                .map_err(failed),
            #[cfg(not(feature = "rustls"))]
            Transport::Hyper => Err(Error::invalid(
                "the hyper transport needs the rustls feature of supabase-rest",
            )),
            Transport::Reqwest => {
                let builder = reqwest::Client::builder()
                    // PostgREST never redirects; following one would hand the `apikey`
                    // header (a custom header reqwest does not know is a secret) to another
                    // host.
                    .redirect(reqwest::redirect::Policy::none())
                    .referer(false)
                    .connect_timeout(settings.connect_timeout)
                    .read_timeout(settings.read_timeout)
                    .timeout(settings.timeout);
                #[cfg(any(feature = "rustls", feature = "native-tls"))]
                let builder = {
                    let mut builder = builder;
                    for der in &settings.roots {
                        let cert = reqwest::Certificate::from_der(der)
                            .map_err(|e| failed(Cause::Reqwest(e)))?;
                        builder = builder.add_root_certificate(cert);
                    }
                    builder
                };
                let client = builder.build().map_err(|e| failed(Cause::Reqwest(e)))?;
                Ok(Wire::Reqwest { client, own: true })
            }
        }
    }

    /// A caller's reqwest client, used as it is.
    pub(crate) fn caller(client: reqwest::Client) -> Wire {
        Wire::Reqwest { client, own: false }
    }

    /// Which transport this is.
    pub(crate) fn transport(&self) -> Transport {
        match self {
            #[cfg(feature = "rustls")]
            Wire::Hyper(_) => Transport::Hyper,
            Wire::Reqwest { .. } => Transport::Reqwest,
        }
    }

    /// `true` when the transport never follows a redirect (so an answer cannot come from
    /// another URL than the request's).
    pub(crate) fn is_own(&self) -> bool {
        match self {
            #[cfg(feature = "rustls")]
            Wire::Hyper(_) => true,
            Wire::Reqwest { own, .. } => *own,
        }
    }

    /// Sends `request`; the future waits for the head of its answer. It holds only what the
    /// wait needs (see `HyperWire::send`).
    pub(crate) fn send(
        &self,
        request: Outgoing,
    ) -> impl Future<Output = Result<Answer, Failure>> + Send + 'static {
        match self {
            #[cfg(feature = "rustls")]
            Wire::Hyper(hyper) => Either::Left(hyper.send(request)),
            Wire::Reqwest { client, own } => {
                let exchange = reqwest_exchange(client, *own, request);
                // Without the hyper transport, its side of `Either` is never made.
                #[cfg(not(feature = "rustls"))]
                let exchange =
                    Either::<std::future::Ready<Result<Answer, Failure>>, _>::Right(exchange);
                #[cfg(feature = "rustls")]
                let exchange = Either::Right(exchange);
                exchange
            }
        }
    }
}

/// `request` sent through reqwest; the future waits for the answer's head.
fn reqwest_exchange(
    client: &reqwest::Client,
    own: bool,
    request: Outgoing,
) -> impl Future<Output = Result<Answer, Failure>> + Send + 'static {
    // A caller's client may follow redirects: keep the URL to notice one.
    let sent_to = (!own).then(|| request.url.get().url().clone());
    let pending = client.execute(request.into_reqwest());
    async move {
        match pending.await {
            Ok(mut response) => Ok(Answer {
                status: response.status(),
                headers: std::mem::take(response.headers_mut()),
                redirected_to: match sent_to {
                    Some(sent) if response.url() != &sent => {
                        Some(Box::new((sent, response.url().clone())))
                    }
                    _ => None,
                },
                body: Body::Reqwest(response),
            }),
            Err(e) => Err(Failure {
                url: e.url().cloned(),
                cause: Cause::Reqwest(e.without_url()),
            }),
        }
    }
}

/// The head of an answer, and its body still to be read ([`Answer::read_body`]).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The request's URL and the one that answered, when a caller's HTTP client followed a
    /// redirect (boxed: rare, and the answer is kept in every call's future).
    pub(crate) redirected_to: Option<Box<(Url, Url)>>,
    body: Body,
}

enum Body {
    #[cfg(feature = "rustls")]
    Hyper(self::hyper::HyperBody),
    Reqwest(reqwest::Response),
}

/// Why a body was not read to its end.
pub(crate) enum Cut {
    /// It exceeds the limit: the bytes seen so far.
    TooLarge(Bytes),
    Failed(Cause),
}

/// Most bytes reserved up front from a `Content-Length`: a server claiming a huge body gets
/// memory only as the bytes really arrive.
const INITIAL_BUFFER_LIMIT: usize = 1024 * 1024;

impl Answer {
    async fn chunk(&mut self) -> Result<Option<Bytes>, Cause> {
        match &mut self.body {
            #[cfg(feature = "rustls")]
            Body::Hyper(body) => body.chunk().await,
            Body::Reqwest(response) => response.chunk().await.map_err(Cause::Reqwest),
        }
    }

    /// The URL the answer came from, to name in an error (without its query).
    pub(crate) fn url(&self) -> &Url {
        match &self.body {
            #[cfg(feature = "rustls")]
            Body::Hyper(body) => body.url(),
            Body::Reqwest(response) => response.url(),
        }
    }

    fn content_length(&self) -> Option<u64> {
        match &self.body {
            #[cfg(feature = "rustls")]
            Body::Hyper(body) => body.content_length(),
            Body::Reqwest(response) => response.content_length(),
        }
    }

    /// Reads the body chunk by chunk, refusing more than `limit` bytes. A body that arrives in
    /// one chunk is used as is, without a copy. A longer one is gathered in one buffer that
    /// grows as the bytes arrive (doubling, from at most [`INITIAL_BUFFER_LIMIT`]), never past
    /// its `Content-Length`: the buffer kept (and decoded from) is the body's own size, where
    /// plain doubling would leave up to half of it unused for as long as the answer lives.
    pub(crate) async fn read_body(&mut self, limit: usize) -> Result<Bytes, Cut> {
        // Read before any chunk: the transports report what is left to come.
        let declared = self
            .content_length()
            .and_then(|n| usize::try_from(n).ok())
            .map(|n| n.min(limit));
        let Some(first) = self.chunk().await.map_err(Cut::Failed)? else {
            return Ok(Bytes::new());
        };
        if first.len() > limit {
            return Err(Cut::TooLarge(first.slice(..limit)));
        }
        let Some(second) = self.chunk().await.map_err(Cut::Failed)? else {
            return Ok(first);
        };
        let start = declared
            .unwrap_or(first.len() + second.len())
            .min(INITIAL_BUFFER_LIMIT);
        let mut buf: Vec<u8> = Vec::with_capacity(start.max(first.len() + second.len()));
        buf.extend_from_slice(&first);
        let mut next = Some(second);
        while let Some(chunk) = next {
            if buf.len() + chunk.len() > limit {
                let room = limit - buf.len();
                buf.extend_from_slice(&chunk[..room]);
                return Err(Cut::TooLarge(Bytes::from(buf)));
            }
            let needed = buf.len() + chunk.len();
            if needed > buf.capacity() {
                let doubled = buf.capacity().saturating_mul(2).max(needed);
                let target = match declared {
                    // The rest as declared, once that is what is left to come.
                    Some(total) if total >= needed => doubled.min(total),
                    _ => doubled,
                };
                buf.reserve_exact(target - buf.len());
            }
            buf.extend_from_slice(&chunk);
            next = self.chunk().await.map_err(Cut::Failed)?;
        }
        Ok(Bytes::from(buf))
    }
}
