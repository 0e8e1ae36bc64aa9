//! [`RequestTemplate`]: a write's shape fixed once (method, URL, headers, output shape), then
//! sent many times with different bodies, like a prepared statement.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Serialize;
use url::Url;

use super::{op, Builder};
use crate::client::Client;
use crate::error::{BuildError, Error, Result};
use crate::request::{assemble, to_json, Held, Prepared, UrlParts};
use crate::response::Shape;
use crate::wire::Address;

/// Writes whose body a [`RequestTemplate`] can vary: insert, upsert, update and rpc.
pub trait TakesBody: super::sealed::Operation {}
impl TakesBody for op::Insert {}
impl TakesBody for op::Upsert {}
impl TakesBody for op::Update {}
impl TakesBody for op::Rpc {}

/// A request whose method, URL, headers and output shape are fixed, made once with
/// [`Builder::template`]; each [`build`](RequestTemplate::build) or
/// [`send`](RequestTemplate::send) only serializes a new body.
///
/// Building from a template costs what hand-written `reqwest` code costs (a URL clone, a header
/// map clone and `serde_json::to_vec`), where a builder chain also assembles and looks up its
/// parts. Use one for a hot write path; a template is cheap to clone and `Send + Sync`.
///
/// The request is exactly the one the builder chain would make for the same body, including
/// the bulk `columns` parameter, which is worked out from each body:
///
/// ```
/// # use supabase_rest::Client;
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// use serde_json::json;
///
/// let save = client
///     .from("user_interactions")
///     .upsert(&())
///     .on_conflict("user_id,grant_id")
///     .select("*")
///     .single()
///     .template()?;
///
/// let row = json!({"user_id": "u1", "grant_id": "g1", "action": "saved"});
/// let from_template = save.build(&row)?;
/// let from_chain = client
///     .from("user_interactions")
///     .upsert(&row)
///     .on_conflict("user_id,grant_id")
///     .select("*")
///     .single()
///     .build()?;
/// assert_eq!(from_template.url(), from_chain.url());
/// assert_eq!(from_template.headers(), from_chain.headers());
/// assert_eq!(
///     from_template.body().and_then(|b| b.as_bytes()),
///     from_chain.body().and_then(|b| b.as_bytes()),
/// );
/// # Ok::<(), supabase_rest::Error>(())
/// ```
#[must_use = "a template does nothing until built or sent"]
pub struct RequestTemplate<S> {
    client: Client,
    method: Method,
    /// What the URL is made of, for bodies that add `columns` (it has none itself).
    parts: UrlParts,
    /// The URL without `columns`: the one a single-object body uses.
    url: Arc<Address>,
    /// The client's headers with this shape's and the builder's own, merged once.
    headers: Arc<HeaderMap>,
    timeout: Option<Duration>,
    retry: Option<crate::RetryPolicy>,
    may_resend: bool,
    marker: PhantomData<fn() -> S>,
}

impl<Op: TakesBody, S: Shape> Builder<Op, S> {
    /// Fixes this request's shape (method, URL, headers, output shape, timeout, retries) as a
    /// [`RequestTemplate`]; the body given to the builder is dropped. Fails as
    /// [`Builder::build`] would (invalid names or headers), or when the request carries no body
    /// (an rpc sent with `get()` or `head()`).
    pub fn template(self) -> Result<RequestTemplate<S>> {
        let Builder {
            client, mut parts, ..
        } = self;
        if parts.method == Method::GET || parts.method == Method::HEAD {
            return Err(Error::invalid(
                "a template varies the body: an rpc sent with get() or head() has none",
            ));
        }
        // The template's own URL is the single-object one; bodies with `columns` add theirs.
        parts.url.columns = None;
        let url_parts = parts.url.clone();
        let inner = &client.inner;
        let prepared = parts.prepare(&inner.defaults, &inner.memo, S::ACCEPT)?;
        let shared = |held| match held {
            Held::Shared(t) => t,
            Held::Own(t) => Arc::new(t),
        };
        let headers = match prepared.extra {
            None => shared(prepared.headers),
            Some(extra) => {
                let mut merged = HeaderMap::clone(prepared.headers.get());
                for (name, value) in *extra {
                    if let Some(name) = name {
                        merged.insert(name, value);
                    }
                }
                Arc::new(merged)
            }
        };
        Ok(RequestTemplate {
            client,
            method: prepared.method,
            parts: url_parts,
            url: match prepared.url {
                Held::Shared(t) => t,
                Held::Own(t) => Arc::new(t),
            },
            headers,
            timeout: prepared.timeout,
            retry: prepared.retry,
            may_resend: prepared.may_resend,
            marker: PhantomData,
        })
    }
}

impl<S: Shape> RequestTemplate<S> {
    /// The request for `body`, built without any I/O: what [`send`](RequestTemplate::send)
    /// would send.
    pub fn build<T: Serialize + ?Sized>(&self, body: &T) -> Result<reqwest::Request> {
        let (url, body) = self.encode(body)?;
        let url = url.unwrap_or_else(|| Url::clone(self.url.url()));
        Ok(assemble(
            self.method.clone(),
            Held::Own(Address::new(url)),
            HeaderMap::clone(&self.headers),
            None,
            Some(body),
            self.timeout,
        )
        .into_reqwest())
    }

    /// Sends the request for `body` and decodes the answer as the builder would have: the
    /// body is serialized now, so the future borrows nothing. Retries follow the builder's
    /// settings (an upsert with `on_conflict` may be retried; a plain insert is not).
    pub fn send<T: Serialize + ?Sized>(
        &self,
        body: &T,
    ) -> Pin<Box<dyn Future<Output = Result<S::Output>> + Send + 'static>> {
        let prepared = self.encode(body).map(|(url, body)| Prepared {
            target: self.parts.target.clone(),
            method: self.method.clone(),
            url: match url {
                Some(with_columns) => Held::Own(Address::new(with_columns)),
                None => Held::Shared(Arc::clone(&self.url)),
            },
            headers: Held::Shared(Arc::clone(&self.headers)),
            extra: None,
            body: Some(body),
            timeout: self.timeout,
            retry: self.retry.clone(),
            may_resend: self.may_resend,
        });
        crate::transport::send::<S>(self.client.clone(), prepared)
    }

    /// The serialized body, and the URL with `columns` when the body is an array of objects:
    /// what `build` and `send` share.
    fn encode<T: Serialize + ?Sized>(&self, body: &T) -> Result<(Option<Url>, Bytes)> {
        let json = to_json(body).map_err(|e| {
            Error::InvalidRequest(BuildError::caused_by("body does not serialize to JSON", e))
        })?;
        let url = match json.columns? {
            None => None,
            Some(columns) => {
                let mut parts = self.parts.clone();
                parts.columns = Some(columns);
                let defaults = &self.client.inner.defaults;
                let url = parts.url(&defaults.base)?;
                defaults.check_url(&url)?;
                Some(url)
            }
        };
        Ok((url, Bytes::from(json.bytes)))
    }
}

impl<S> Clone for RequestTemplate<S> {
    fn clone(&self) -> Self {
        RequestTemplate {
            client: self.client.clone(),
            method: self.method.clone(),
            parts: self.parts.clone(),
            url: Arc::clone(&self.url),
            headers: Arc::clone(&self.headers),
            timeout: self.timeout,
            retry: self.retry.clone(),
            may_resend: self.may_resend,
            marker: PhantomData,
        }
    }
}

/// Shows the method, URL and header names; never header values (they hold the api key and
/// the user's token).
impl<S> fmt::Debug for RequestTemplate<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RequestTemplate {
            client,
            method,
            parts: _,
            url,
            headers,
            timeout,
            retry,
            may_resend,
            marker: _,
        } = self;
        // The target, conflict target and query are all in the URL.
        let names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("RequestTemplate")
            .field("client", client)
            .field("method", method)
            .field("url", &url.url().as_str())
            .field("header_names", &names)
            .field("timeout", timeout)
            .field("retry", retry)
            .field("may_resend", may_resend)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::Client;

    fn same(a: &reqwest::Request, b: &reqwest::Request) {
        assert_eq!(a.method(), b.method());
        assert_eq!(a.url().as_str(), b.url().as_str());
        assert_eq!(a.headers(), b.headers());
        assert_eq!(a.timeout(), b.timeout());
        let body = |r: &reqwest::Request| r.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec);
        assert_eq!(body(a), body(b));
    }

    /// Every kind of body-carrying write, single and bulk bodies, extra headers and timeouts:
    /// the template builds what the chain builds.
    #[test]
    fn templates_build_what_chains_build() {
        let client = Client::builder("https://xyz.supabase.co", "anon-key")
            .access_token("jwt")
            .build()
            .unwrap();
        let bodies = [
            json!({"user_id": "u1", "grant_id": "g1", "action": "saved"}),
            json!([{"a": 1}, {"b": 2, "a": 3}]),
            json!([]),
            json!({"x": [1, 2], "y": null}),
        ];
        for body in &bodies {
            let upsert = || {
                client
                    .from("user_interactions")
                    .upsert(body)
                    .on_conflict("user_id,grant_id")
                    .header("x-request-id", "r1")
                    .select("id,action")
            };
            let t = upsert().single().template().unwrap();
            same(&t.build(body).unwrap(), &upsert().single().build().unwrap());

            let insert = || {
                client
                    .from("t")
                    .insert(body)
                    .default_to_null(false)
                    .timeout(std::time::Duration::from_secs(3))
            };
            let t = insert().template().unwrap();
            same(&t.build(body).unwrap(), &insert().build().unwrap());

            let update = || client.from("t").update(body).eq("id", 7).rollback();
            let t = update().template().unwrap();
            same(&t.build(body).unwrap(), &update().build().unwrap());

            let rpc = || client.rpc("f", body).single();
            let t = rpc().template().unwrap();
            same(&t.build(body).unwrap(), &rpc().build().unwrap());
        }
    }

    #[test]
    fn rpc_get_has_no_body_to_vary() {
        let client = Client::new("https://xyz.supabase.co", "anon-key").unwrap();
        let err = client
            .rpc("f", &json!({"a": 1}))
            .get()
            .template()
            .unwrap_err();
        assert!(matches!(err, crate::Error::InvalidRequest(_)), "{err:?}");
    }

    #[test]
    fn bad_names_fail_when_the_template_is_made() {
        let client = Client::new("https://xyz.supabase.co", "anon-key").unwrap();
        assert!(client.from("").insert(&json!({})).template().is_err());
        assert!(client
            .from("t")
            .insert(&json!({}))
            .header("x-bad", "a\r\nb")
            .template()
            .is_err());
    }

    #[test]
    fn debug_shows_no_secrets() {
        let client = Client::builder("https://xyz.supabase.co", "anon-key-secret")
            .access_token("jwt-secret")
            .build()
            .unwrap();
        let t = client.from("t").insert(&json!({})).template().unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("authorization"), "{shown}");
    }
}
