//! Proxies from the environment for the hyper transport, as curl and reqwest read them:
//! `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` (and lower case), with `NO_PROXY` exceptions.
//!
//! An `https` request goes through an HTTP `CONNECT` tunnel (the proxy sees the host name, not
//! the request: TLS runs inside the tunnel, end to end). A plain `http` request is sent to the
//! proxy in absolute form, with `Proxy-Authorization` when the proxy URL has credentials. Only
//! `http://` proxies are supported; any other proxy scheme fails the connection with an error
//! saying so (reqwest, `Transport::Reqwest`, does the same without its `socks` feature).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The proxy variables curl and reqwest read; when none is set, no proxy is considered at all.
const VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The environment's proxy rules, if any proxy is set.
pub(crate) fn from_env() -> Option<Arc<Matcher>> {
    let set = VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    set.then(|| Arc::new(Matcher::from_env()))
}

/// Connects directly, through a `CONNECT` tunnel, or to the proxy itself, as the rules say for
/// each destination.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    pub(crate) tcp: HttpConnector,
    pub(crate) rules: Arc<Matcher>,
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = Proxied;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Proxied, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let intercept = self.rules.intercept(&dst);
        Box::pin(async move {
            let Some(intercept) = intercept else {
                let io = tcp.call(dst).await?;
                return Ok(Proxied {
                    io,
                    absolute: false,
                });
            };
            let proxy = intercept.uri().clone();
            if proxy.scheme_str() != Some("http") {
                return Err(format!(
                    "proxy scheme {:?} is not supported (only http:// proxies are)",
                    proxy.scheme_str().unwrap_or("")
                )
                .into());
            }
            if dst.scheme_str() == Some("https") {
                let mut tunnel = Tunnel::new(proxy, tcp);
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let io = tunnel.call(dst).await?;
                Ok(Proxied {
                    io,
                    absolute: false,
                })
            } else {
                let io = tcp.call(proxy).await?;
                Ok(Proxied { io, absolute: true })
            }
        })
    }
}

/// The `Proxy-Authorization` value for a plain-http request to `uri`, when it goes through a
/// proxy with credentials.
pub(crate) fn authorization(rules: &Matcher, uri: &Uri) -> Option<http::HeaderValue> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    let mut value = rules.intercept(uri)?.basic_auth()?.clone();
    value.set_sensitive(true);
    Some(value)
}

/// A connection made by [`ProxyConnector`]; `absolute` when it goes to a proxy that expects
/// requests in absolute form.
pub(crate) struct Proxied {
    io: TokioIo<TcpStream>,
    absolute: bool,
}

impl Connection for Proxied {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.absolute)
    }
}

impl Read for Proxied {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Proxied {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
