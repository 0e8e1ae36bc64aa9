//! The request model: what a request is made of, as plain data, and the one path from that data
//! to the [`Outgoing`] request both transports send (and `build()` hands over as a
//! `reqwest::Request`).
//!
//! A builder fills a [`RequestParts`]. Its URL and headers are decided in one place
//! (`RequestParts::head`: the deferred errors, the client's [`Defaults`] and [`Memo`], the URL
//! budget) and every request is put together by one function (`assemble`): `build()` does
//! both once; sending keeps a [`Prepared`] request and assembles one [`Outgoing`] per attempt
//! from it.
//! Nothing here sends anything or knows about builders.

mod body;
mod json;
mod memo;
mod url_parts;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde::Serialize;

pub(crate) use self::body::to_json;
pub(crate) use self::memo::{HeaderKey, Memo};
pub(crate) use self::url_parts::{Query, Target, Text, UrlParts};
use crate::error::{BuildError, Error, Result};
use crate::prefer::Prefer;
pub(crate) use crate::wire::Held;
use crate::wire::{Address, Outgoing};

const OBJECT: &str = "application/vnd.pgrst.object+json";
const OBJECT_STRIPPED: &str = "application/vnd.pgrst.object+json;nulls=stripped";
const ARRAY_STRIPPED: &str = "application/vnd.pgrst.array+json;nulls=stripped";

/// What a prepared request is for: decides how it holds the shared parts ([`Held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Built once and handed over (`build()`).
    Build,
    /// Sent, possibly several times.
    Send,
}

/// What every request of one client starts from. Made once by `ClientBuilder::build` (and by
/// the clients derived with `with_access_token` or `schema`).
#[derive(Clone)]
pub(crate) struct Defaults {
    /// `<project>/rest/v1` or the bare PostgREST URL, without a trailing slash.
    pub(crate) base: url::Url,
    /// `apikey`, `Authorization`, `x-client-info` and the caller's default headers.
    pub(crate) headers: HeaderMap,
    /// The schema sent as `Accept-Profile` / `Content-Profile`; `None` sends neither.
    pub(crate) schema: Option<HeaderValue>,
    /// The timeout of each attempt, unless a request sets its own.
    pub(crate) timeout: Option<Duration>,
    /// A problem found after the client was built (e.g. an access token with CR/LF): every
    /// request fails with it.
    pub(crate) error: Option<&'static str>,
    /// Longest URL a request may have (see `ClientBuilder::max_url_bytes`).
    pub(crate) max_url_bytes: usize,
}

impl Defaults {
    /// Refuses a URL over the budget before it is sent: gateways answer a long URL with an
    /// unhelpful 414 or drop the connection.
    pub(crate) fn check_url(&self, url: &url::Url) -> Result<()> {
        let len = url.as_str().len();
        if len > self.max_url_bytes {
            return Err(Error::invalid(format!(
                "request URL is {len} bytes, over the budget of {} (gateways refuse long URLs); send the values in a body instead, e.g. through an rpc called with POST",
                self.max_url_bytes
            )));
        }
        Ok(())
    }
}

/// Everything a request is made of, kept as plain data until it is prepared.
#[derive(Clone)]
pub(crate) struct RequestParts {
    pub(crate) method: Method,
    pub(crate) url: UrlParts,
    pub(crate) prefer: Prefer,
    /// Overrides the shape's `Accept` (csv, geojson, explain).
    pub(crate) accept: Option<HeaderValue>,
    /// `;nulls=stripped` on the JSON media type.
    pub(crate) strip_nulls: bool,
    /// This request's own headers, boxed: most requests have none, and the parts move through
    /// every builder step.
    pub(crate) headers: Option<Box<HeaderMap>>,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Option<Duration>,
    /// This request's own retry policy (`retry(false)` is `RetryPolicy::none()`); `None`: the
    /// client's.
    pub(crate) retry: Option<crate::retry::RetryPolicy>,
    /// The caller vouches that repeating this request cannot change the outcome.
    pub(crate) idempotent: bool,
    /// The first problem found while building; returned by `build()` and `.await`.
    pub(crate) error: Option<BuildError>,
}

impl RequestParts {
    #[inline]
    pub(crate) fn new(method: Method, target: Target) -> Box<Self> {
        // Made in place on the heap: builders pass the box along, never the parts.
        let mut parts = Box::new(RequestParts {
            method,
            url: UrlParts::new(target),
            prefer: Prefer::default(),
            accept: None,
            strip_nulls: false,
            headers: None,
            body: None,
            timeout: None,
            retry: None,
            idempotent: false,
            error: None,
        });
        let name = parts.url.target.name();
        if name.is_empty() {
            parts.fail(Error::invalid("table or function name is empty"));
        } else if !name.bytes().all(|b| (0x20..0x7f).contains(&b))
            && name.chars().any(char::is_control)
        {
            // URL parsing drops tab and newline before it looks at the path, so "..\n" would
            // become ".." below: refuse control characters first.
            parts.fail(Error::invalid(
                "table or function name contains a control character",
            ));
        } else if name == "." || name == ".." {
            // URLs treat these segments as "this" and "parent" directory, even percent-encoded,
            // so such a name would address another resource.
            parts.fail(Error::invalid(
                "table or function name cannot be \".\" or \"..\"",
            ));
        }
        parts
    }

    /// This request's own headers, created on first use.
    pub(crate) fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers.get_or_insert_with(Box::default)
    }

    /// Keeps the first error; later ones are consequences.
    pub(crate) fn fail(&mut self, err: Error) {
        if self.error.is_none() {
            self.error = Some(match err {
                Error::InvalidRequest(b) => b,
                other => BuildError::caused_by("request cannot be built", other),
            });
        }
    }

    /// Appends a query pair (filters may repeat a key).
    #[inline]
    pub(crate) fn push_query(&mut self, key: impl Into<Text>, value: impl Into<Text>) {
        self.url.push_query(key, value);
    }

    /// Sets a query pair: replaces the first pair with this key in place, or appends.
    #[inline]
    pub(crate) fn set_query(&mut self, key: impl AsRef<str>, value: impl Into<Text>) {
        self.url.set_query(key.as_ref(), value);
    }

    /// Serializes the body once. For an array of objects, also sets `columns` to the union of
    /// their keys in first-seen order, as postgrest-js does.
    pub(crate) fn set_json_body<T: Serialize + ?Sized>(&mut self, value: &T) {
        match to_json(value) {
            Ok(body) => {
                match body.columns {
                    Ok(columns) => self.url.columns = columns,
                    Err(e) => self.fail(e),
                }
                self.body = Some(Bytes::from(body.bytes));
            }
            Err(e) => self.fail(Error::InvalidRequest(BuildError::caused_by(
                "body does not serialize to JSON",
                e,
            ))),
        }
    }

    /// Whether sending this request again cannot change the outcome (see `retry.rs`).
    pub(crate) fn may_resend(&self) -> bool {
        let upsert_on_target = self.prefer.resolution.is_some() && self.url.on_conflict.is_some();
        crate::retry::may_resend(&self.method, upsert_on_target, self.idempotent)
    }

    /// The `Accept` value the request will carry, given its output shape's.
    pub(crate) fn effective_accept(
        &self,
        shape_accept: Option<&'static str>,
    ) -> Option<HeaderValue> {
        // Constants, so the common values are not validated byte by byte on every request.
        const OBJECT_VALUE: HeaderValue = HeaderValue::from_static(OBJECT);
        const OBJECT_STRIPPED_VALUE: HeaderValue = HeaderValue::from_static(OBJECT_STRIPPED);
        const ARRAY_STRIPPED_VALUE: HeaderValue = HeaderValue::from_static(ARRAY_STRIPPED);
        match (&self.accept, shape_accept, self.strip_nulls) {
            (Some(a), _, _) => Some(a.clone()),
            (None, Some(OBJECT), true) => Some(OBJECT_STRIPPED_VALUE),
            (None, _, true) => Some(ARRAY_STRIPPED_VALUE),
            (None, Some(OBJECT), false) => Some(OBJECT_VALUE),
            (None, Some(a), false) => Some(HeaderValue::from_static(a)),
            (None, None, false) => None,
        }
    }

    /// The key of this request's header map in the memo.
    pub(crate) fn header_key(&self, shape_accept: Option<&'static str>) -> HeaderKey {
        HeaderKey {
            reads: matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS),
            prefer: self.prefer.clone(),
            accept: self.effective_accept(shape_accept),
        }
    }

    /// The URL and header map of this request, or the first problem found while building it:
    /// the one place both `build()` and sending decide them. They come from the client's memo
    /// when this shape was built before.
    fn head(
        &mut self,
        defaults: &Defaults,
        memo: &Memo,
        shape_accept: Option<&'static str>,
        usage: Use,
    ) -> Result<(Held<Address>, Held<HeaderMap>)> {
        if let Some(err) = self.error.take() {
            return Err(Error::InvalidRequest(err));
        }
        if let Some(msg) = defaults.error {
            return Err(Error::invalid(msg));
        }
        let (url, headers) =
            memo.get(defaults, &self.url, &self.header_key(shape_accept), usage)?;
        defaults.check_url(url.get().url())?;
        Ok((url, headers))
    }

    /// The `reqwest::Request` of `build()`: [`RequestParts::head`], then [`assemble`], with
    /// nothing kept for another attempt (a `Prepared` would only be copied and taken apart).
    pub(crate) fn build(
        mut self: Box<Self>,
        defaults: &Defaults,
        memo: &Memo,
        shape_accept: Option<&'static str>,
    ) -> Result<reqwest::Request> {
        let (url, headers) = self.head(defaults, memo, shape_accept, Use::Build)?;
        Ok(assemble(
            std::mem::replace(&mut self.method, Method::GET),
            url,
            headers.into_inner(),
            self.headers.as_deref(),
            self.body.take(),
            self.timeout.or(defaults.timeout),
        )
        .into_reqwest())
    }

    /// The request ready to send, attempt after attempt: [`RequestParts::head`], kept as a
    /// [`Prepared`] that [`assemble`]s each attempt's `reqwest::Request`.
    pub(crate) fn prepare(
        mut self: Box<Self>,
        defaults: &Defaults,
        memo: &Memo,
        shape_accept: Option<&'static str>,
    ) -> Result<Prepared> {
        let (url, headers) = self.head(defaults, memo, shape_accept, Use::Send)?;
        // Fields are taken out one by one: moving the whole parts out of their box would copy
        // them, and this runs for every request.
        Ok(Prepared {
            may_resend: self.may_resend(),
            target: std::mem::replace(&mut self.url.target, Target::Table(Text::const_new(""))),
            method: std::mem::replace(&mut self.method, Method::GET),
            url,
            headers,
            extra: self.headers.take(),
            body: self.body.take(),
            timeout: self.timeout.or(defaults.timeout),
            retry: self.retry.take(),
        })
    }
}

/// A request ready to send: [`Prepared::request`] makes an [`Outgoing`] request from it as often
/// as attempts need, without building anything again.
pub(crate) struct Prepared {
    /// What it addresses (named in the transport's span).
    pub(crate) target: Target,
    pub(crate) method: Method,
    pub(crate) url: Held<Address>,
    /// The client's headers with the profile, content type, `Prefer` and `Accept` of this shape.
    pub(crate) headers: Held<HeaderMap>,
    /// This request's own headers (`.header(..)`), applied last.
    pub(crate) extra: Option<Box<HeaderMap>>,
    pub(crate) body: Option<Bytes>,
    pub(crate) timeout: Option<Duration>,
    /// The request's own retry policy, if it has one.
    pub(crate) retry: Option<crate::retry::RetryPolicy>,
    /// Whether it may be sent again once it may have reached the server.
    pub(crate) may_resend: bool,
}

impl Prepared {
    /// A request for one attempt, keeping everything for the next.
    pub(crate) fn request(&self) -> Outgoing {
        assemble(
            self.method.clone(),
            self.url.another(),
            HeaderMap::clone(self.headers.get()),
            self.extra.as_deref(),
            self.body.clone(),
            self.timeout,
        )
    }

    /// The request, for the last (or only) use.
    pub(crate) fn into_request(self) -> Outgoing {
        let Prepared {
            target: _,
            method,
            url,
            headers,
            extra,
            body,
            timeout,
            retry: _,
            may_resend: _,
        } = self;
        assemble(
            method,
            url,
            headers.into_inner(),
            extra.as_deref(),
            body,
            timeout,
        )
    }
}

/// The one function that puts a request together: the shape's header map with the request's
/// own headers on top.
#[inline]
pub(crate) fn assemble(
    method: Method,
    url: Held<Address>,
    mut headers: HeaderMap,
    extra: Option<&HeaderMap>,
    body: Option<Bytes>,
    timeout: Option<Duration>,
) -> Outgoing {
    for (name, value) in extra.into_iter().flatten() {
        headers.insert(name.clone(), value.clone());
    }
    Outgoing {
        method,
        url,
        headers,
        body,
        timeout,
    }
}

/// Shows the parts, never header values (they may hold secrets) nor the body (row data).
impl fmt::Debug for RequestParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RequestParts {
            method,
            url,
            prefer,
            accept,
            strip_nulls,
            headers,
            body,
            timeout,
            retry,
            idempotent,
            error,
        } = self;
        let header_names: Vec<&str> = headers
            .iter()
            .flat_map(|h| h.keys())
            .map(|k| k.as_str())
            .collect();
        f.debug_struct("RequestParts")
            .field("method", method)
            .field("url", url)
            .field("prefer", &prefer.header_value())
            .field("accept", accept)
            .field("strip_nulls", strip_nulls)
            .field("header_names", &header_names)
            .field("body_bytes", &body.as_ref().map(Bytes::len))
            .field("timeout", timeout)
            .field("retry", retry)
            .field("idempotent", idempotent)
            .field("error", error)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URL parsing drops tab and newline, so `..\n` used to request the parent path.
    #[test]
    fn names_with_control_characters_are_refused() {
        for name in ["..\n", "..\t", "a\rb", "t\u{7f}", ".", "..", ""] {
            let parts = RequestParts::new(Method::GET, Target::Table(name.into()));
            assert!(parts.error.is_some(), "{name:?}");
        }
        let parts = RequestParts::new(Method::GET, Target::Rpc("my fn.v2".into()));
        assert!(parts.error.is_none());
    }
}
