//! Request builders: one builder type per operation, all sharing [`RequestParts`].
//!
//! [`Builder<Op, S>`] is a plain value: `Op` names the operation (so verb-specific methods such as
//! `on_conflict` exist only on upserts) and `S` is the output [`Shape`] (what `.await` returns).
//! The aliases [`SelectBuilder`], [`InsertBuilder`], [`UpsertBuilder`], [`UpdateBuilder`],
//! [`DeleteBuilder`] and [`RpcBuilder`] are the names to use.

mod bulk;
mod filter;
mod modifiers;
mod query;
mod reusable;
mod rpc;
mod template;

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use bulk::{ChunkFailure, ChunkOutput, ChunkedError, ChunkedUpsert, DEFAULT_CHUNK_SIZE};
pub use filter::Order;
pub use modifiers::Explain;
pub use query::QueryBuilder;
pub use reusable::{RequestTemplate, TakesBody};
pub(crate) use template::Templates;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::filter::clean_columns;
use crate::prefer::Prefer;
use crate::response::{Countable, Counted, Json, NoContent, Retype, RowSet, Rows, Shape};
use crate::Count;

/// Operation markers for [`Builder`]. They only select which methods a builder offers.
pub mod op {
    /// `GET` on a table or view: `from(t).select(cols)`.
    #[derive(Debug)]
    pub struct Select;
    /// `POST` without conflict resolution: `from(t).insert(&rows)`.
    #[derive(Debug)]
    pub struct Insert;
    /// `POST` with `Prefer: resolution=...`: `from(t).upsert(&rows)`.
    #[derive(Debug)]
    pub struct Upsert;
    /// `PATCH`: `from(t).update(&patch)`.
    #[derive(Debug)]
    pub struct Update;
    /// `DELETE`: `from(t).delete()`.
    #[derive(Debug)]
    pub struct Delete;
    /// A function call: `client.rpc(f, &args)`.
    #[derive(Debug)]
    pub struct Rpc;
}

mod sealed {
    pub trait Operation {}
    impl Operation for super::op::Select {}
    impl Operation for super::op::Insert {}
    impl Operation for super::op::Upsert {}
    impl Operation for super::op::Update {}
    impl Operation for super::op::Delete {}
    impl Operation for super::op::Rpc {}
}

/// Operations that take row filters (`eq`, `in_`, ...): select, update, delete and rpc.
pub trait Filterable: sealed::Operation {}
impl Filterable for op::Select {}
impl Filterable for op::Update {}
impl Filterable for op::Delete {}
impl Filterable for op::Rpc {}

/// Operations that read rows and so take `order`, `limit` and `range`: select and rpc.
pub trait Reads: sealed::Operation {}
impl Reads for op::Select {}
impl Reads for op::Rpc {}

/// Writes that can return the affected rows with `.select(cols)`.
pub trait Writes: sealed::Operation {}
impl Writes for op::Insert {}
impl Writes for op::Upsert {}
impl Writes for op::Update {}
impl Writes for op::Delete {}

/// A request being built. Use the aliases ([`SelectBuilder`], [`UpsertBuilder`], ...).
///
/// Nothing is sent until the builder is awaited; [`Builder::build`] returns the exact
/// `reqwest::Request` that awaiting would send, without any I/O.
#[must_use = "builders do nothing until awaited (or built with build())"]
pub struct Builder<Op, S> {
    /// Boxed: the parts move through every step of a chain, and a pointer moves for free.
    pub(crate) parts: Box<RequestParts>,
    marker: PhantomData<fn() -> (Op, S)>,
}

/// `from(t).select(cols)`: awaits to `Vec<serde_json::Value>` unless narrowed or retyped.
pub type SelectBuilder<S = Rows<serde_json::Value>> = Builder<op::Select, S>;
/// `from(t).insert(&rows)`: awaits to `()` unless `.select(cols)` asks for the rows.
pub type InsertBuilder<S = NoContent> = Builder<op::Insert, S>;
/// `from(t).upsert(&rows)`: awaits to `()` unless `.select(cols)` asks for the rows.
pub type UpsertBuilder<S = NoContent> = Builder<op::Upsert, S>;
/// `from(t).update(&patch)`: awaits to `()` unless `.select(cols)` asks for the rows.
pub type UpdateBuilder<S = NoContent> = Builder<op::Update, S>;
/// `from(t).delete()`: awaits to `()` unless `.select(cols)` asks for the rows.
pub type DeleteBuilder<S = NoContent> = Builder<op::Delete, S>;
/// `client.rpc(f, &args)`: awaits to the function's JSON result.
pub type RpcBuilder<S = Json<serde_json::Value>> = Builder<op::Rpc, S>;

impl<Op, S> Builder<Op, S> {
    #[inline]
    pub(crate) fn from_parts(parts: impl Into<Box<RequestParts>>) -> Self {
        Builder {
            parts: parts.into(),
            marker: PhantomData,
        }
    }

    #[inline]
    fn reshape<S2>(self) -> Builder<Op, S2> {
        Builder {
            parts: self.parts,
            marker: PhantomData,
        }
    }

    /// Adds a header to this request only (replacing a client default of the same name).
    /// A name or value that is not a valid header (CR, LF, NUL ...) makes the request fail
    /// with [`Error::InvalidRequest`].
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").header("x-request-id", "abc123").build().unwrap();
    /// assert_eq!(req.headers()["x-request-id"], "abc123");
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// ```
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::invalid(format!("invalid header name {name:?}")))
            .and_then(|n| {
                HeaderValue::from_str(value.as_ref())
                    .map(|v| (n, v))
                    .map_err(|_| {
                        Error::invalid(format!(
                            "value of header {name} contains a character not allowed in a header"
                        ))
                    })
            });
        match parsed {
            Ok((n, v)) => {
                self.parts.headers_mut().insert(n, v);
            }
            Err(e) => self.parts.fail(e),
        }
        self
    }

    /// A timeout for this request only, overriding the client's default. Each attempt gets
    /// the full timeout; a timed-out request fails with [`Error::Timeout`].
    /// Nothing is added to the query or headers: the timeout is set on the `reqwest::Request`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// use std::time::Duration;
    /// let req = client.from("grants").select("*").timeout(Duration::from_secs(5)).build().unwrap();
    /// assert_eq!(req.timeout(), Some(&Duration::from_secs(5)));
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.parts.timeout = Some(timeout);
        self
    }

    /// `false` turns the client's retries off for this request (supabase-js `.retry(false)`).
    /// Changes only how the client sends the request: nothing is added to the query or headers.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").retry(false).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// assert!(req.headers().get("prefer").is_none());
    /// ```
    pub fn retry(mut self, enabled: bool) -> Self {
        self.parts.retry = Some(enabled);
        self
    }

    /// Declares that sending this request twice has the same effect as sending it once, so
    /// the client may retry it after a timeout or a 503 (e.g. an RPC that is an upsert inside,
    /// or an insert whose rows carry their own primary keys and `ignore_duplicates`).
    /// Reads and upserts with `on_conflict` are idempotent already.
    /// Changes only how the client sends the request: nothing is added to the query or headers.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .rpc("touch_grant", &serde_json::json!({"id": 1}))
    ///     .idempotent()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "POST");
    /// assert_eq!(req.url().query(), None);
    /// assert!(req.headers().get("prefer").is_none());
    /// ```
    pub fn idempotent(mut self) -> Self {
        self.parts.idempotent = true;
        self
    }
}

impl<Op, S: Shape> Builder<Op, S> {
    /// The request that awaiting would send, built without any I/O.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").eq("id", 1).single().build().unwrap();
    /// assert_eq!(req.method(), "GET");
    /// assert_eq!(req.url().query(), Some("select=*&id=eq.1"));
    /// assert_eq!(req.headers()["accept"], "application/vnd.pgrst.object+json");
    /// ```
    #[inline]
    pub fn build(self) -> Result<reqwest::Request> {
        self.parts.into_request(S::ACCEPT)
    }
}

impl<Op, S: Shape> Builder<Op, S> {
    /// Also returns the HTTP status of the answer (supabase-js's `status`): awaiting gives
    /// [`WithStatus`](crate::WithStatus) of what it gave before. Call it last. Nothing is added
    /// to the request.
    ///
    /// An upsert answers `201` when it inserted a row and `200` when it only updated existing
    /// ones (PostgREST 12+), so this tells a new interaction from a changed one:
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # async fn run(client: Client) -> supabase_rest::Result<()> {
    /// let saved = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1", "action": "saved"}))
    ///     .on_conflict("user_id,grant_id")
    ///     .select::<serde_json::Value>("*")
    ///     .single()
    ///     .with_status()
    ///     .await?;
    /// let created = saved.status == reqwest::StatusCode::CREATED;
    /// # Ok(()) }
    /// ```
    pub fn with_status(self) -> Builder<Op, crate::response::Statused<S>> {
        self.reshape()
    }
}

impl<Op, S: Retype> Builder<Op, S> {
    /// Decodes rows into `U` instead of the current row type.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// #[derive(serde::Deserialize)]
    /// struct Grant { id: uuid::Uuid, title: String }
    ///
    /// # async fn run(client: Client) -> supabase_rest::Result<()> {
    /// let grants: Vec<Grant> = client.from("grants").select("id,title").returns::<Grant>().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// Only the decoding changes; the request is the same:
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("id,title")
    ///     .returns::<serde_json::Value>()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=id%2Ctitle"));
    /// ```
    #[inline]
    pub fn returns<U: DeserializeOwned + Send + 'static>(self) -> Builder<Op, S::With<U>> {
        self.reshape()
    }
}

impl<Op, S: RowSet> Builder<Op, S> {
    /// Exactly one row: awaits to `T`. Sends `Accept: application/vnd.pgrst.object+json`, so
    /// the server answers 406 `PGRST116` for zero or several rows (and rolls a write back);
    /// tell them apart with [`Error::is_no_rows`] and [`Error::is_too_many_rows`].
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").eq("id", 1).single().build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&id=eq.1"));
    /// assert_eq!(req.headers()["accept"], "application/vnd.pgrst.object+json");
    /// ```
    #[inline]
    pub fn single(self) -> Builder<Op, S::Single> {
        self.reshape()
    }

    /// Zero or one row: awaits to `Option<T>`; more than one row is an error
    /// ([`Error::is_too_many_rows`]).
    /// Adds nothing to the request: the rows are read as an array and checked on arrival.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").eq("id", 1).maybe_single().build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&id=eq.1"));
    /// assert!(req.headers().get("accept").is_none());
    /// ```
    #[inline]
    pub fn maybe_single(self) -> Builder<Op, S::MaybeSingle> {
        self.reshape()
    }
}

impl<Op, S: Countable> Builder<Op, S> {
    /// Asks for a total count (`Prefer: count=...`); awaiting then returns
    /// [`WithCount`](crate::WithCount) with the total from `Content-Range`.
    ///
    /// ```
    /// # use supabase_rest::{Client, Count};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").count(Count::Exact).limit(10).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&limit=10"));
    /// assert_eq!(req.headers()["prefer"], "count=exact");
    /// ```
    pub fn count(mut self, count: Count) -> Builder<Op, Counted<S>> {
        self.parts.prefer.count = Some(count);
        self.reshape()
    }
}

impl<Op: Writes, S: crate::response::Returning> Builder<Op, S> {
    /// Returns the written rows (`return=representation`) with these columns: awaiting gives
    /// `Vec<T>`, `T` inferred from use (or chosen with `select::<T>`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .insert(&serde_json::json!({"user_id": "u1", "grant_id": "g1"}))
    ///     .select::<serde_json::Value>("id, action")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=id%2Caction"));
    /// assert_eq!(req.headers()["prefer"], "return=representation");
    /// ```
    #[inline]
    pub fn select<T: DeserializeOwned + Send + 'static>(
        mut self,
        columns: impl AsRef<str>,
    ) -> Builder<Op, S::Rows<T>> {
        self.parts.prefer.representation = Some(true);
        self.parts
            .set_query("select", clean_columns(columns.as_ref()));
        self.reshape()
    }

    /// Runs the write and rolls it back (`Prefer: tx=rollback`), e.g. to validate it. Honoured
    /// only where the server allows the override (`db-tx-end = *-allow-override`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .update(&serde_json::json!({"status": "closed"}))
    ///     .eq("id", 1)
    ///     .rollback()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "PATCH");
    /// assert_eq!(req.url().query(), Some("id=eq.1"));
    /// assert_eq!(req.headers()["prefer"], "tx=rollback");
    /// ```
    pub fn rollback(mut self) -> Self {
        self.parts.prefer.rollback = true;
        self
    }
}

impl<Op, S: Shape> IntoFuture for Builder<Op, S> {
    type Output = Result<S::Output>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<S::Output>> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        crate::transport::send::<S>(self.parts)
    }
}

/// A copy of the request being built: send it twice, or branch a common start into several
/// requests. Cheap: the body is shared, not copied.
///
/// ```
/// # use supabase_rest::Client;
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let open = client.from("grants").select("id,title").eq("status", "open");
/// let newest = open.clone().order("created_at", supabase_rest::Order::desc()).limit(5);
/// assert_eq!(open.build().unwrap().url().query(), Some("select=id%2Ctitle&status=eq.open"));
/// assert_eq!(
///     newest.build().unwrap().url().query(),
///     Some("select=id%2Ctitle&status=eq.open&order=created_at.desc&limit=5")
/// );
/// ```
impl<Op, S> Clone for Builder<Op, S> {
    fn clone(&self) -> Self {
        Builder {
            parts: self.parts.clone(),
            marker: PhantomData,
        }
    }
}

impl<Op, S> fmt::Debug for Builder<Op, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts.fmt(f)
    }
}

const OBJECT: &str = "application/vnd.pgrst.object+json";
const OBJECT_STRIPPED: &str = "application/vnd.pgrst.object+json;nulls=stripped";
const ARRAY_STRIPPED: &str = "application/vnd.pgrst.array+json;nulls=stripped";

/// Short text kept inline (names, conflict targets, query pairs are usually a few bytes), so a
/// builder chain does not allocate for each of them.
pub(crate) type Text = compact_str::CompactString;

/// Query pairs (decoded form) in call order; most requests have one or two.
pub(crate) type Query = smallvec::SmallVec<[(Text, Text); 2]>;

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Table(Text),
    Rpc(Text),
}

impl Target {
    pub(crate) fn name(&self) -> &str {
        match self {
            Target::Table(t) | Target::Rpc(t) => t,
        }
    }
}

/// Everything a request is made of, kept as plain data until `build()`.
#[derive(Clone)]
pub(crate) struct RequestParts {
    pub(crate) client: Client,
    pub(crate) method: Method,
    pub(crate) target: Target,
    /// Upsert conflict target; sent first, as postgrest-js does.
    pub(crate) on_conflict: Option<Text>,
    /// `columns` of a bulk body; sent right after `on_conflict`.
    pub(crate) columns: Option<String>,
    /// Query pairs (decoded form) in call order.
    pub(crate) query: Query,
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
    /// `Some(false)` disables retries for this request.
    pub(crate) retry: Option<bool>,
    /// The caller vouches that repeating this request cannot change the outcome.
    pub(crate) idempotent: bool,
    /// The first problem found while building; returned by `build()` and `.await`.
    /// Every such problem is an [`Error::InvalidRequest`]; its message is kept, so that the
    /// parts (and builders) can be cloned.
    pub(crate) error: Option<Cow<'static, str>>,
}

impl RequestParts {
    #[inline]
    pub(crate) fn new(client: Client, method: Method, target: Target) -> Box<Self> {
        // Made in place on the heap: builders pass the box along, never the parts.
        let mut parts = Box::new(RequestParts {
            client,
            method,
            target,
            on_conflict: None,
            columns: None,
            query: Query::new(),
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
        match parts.target.name() {
            "" => parts.fail(Error::invalid("table or function name is empty")),
            // URLs treat these segments as "this" and "parent" directory, even percent-encoded,
            // so such a name would address another resource.
            "." | ".." => parts.fail(Error::invalid(
                "table or function name cannot be \".\" or \"..\"",
            )),
            _ => {}
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
                Error::InvalidRequest(msg) => msg,
                other => Cow::Owned(other.to_string()),
            });
        }
    }

    /// Appends a query pair (filters may repeat a key).
    #[inline]
    pub(crate) fn push_query(&mut self, key: impl Into<Text>, value: impl Into<Text>) {
        self.query.push((key.into(), value.into()));
    }

    /// Sets a query pair: replaces the first pair with this key in place, or appends.
    #[inline]
    pub(crate) fn set_query(&mut self, key: impl AsRef<str>, value: impl Into<Text>) {
        let key = key.as_ref();
        match self.query.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.into(),
            None => self.query.push((Text::from(key), value.into())),
        }
    }

    /// Serializes the body once. For an array of objects, also sets `columns` to the union of
    /// their keys in first-seen order, as postgrest-js does.
    pub(crate) fn set_json_body<T: Serialize + ?Sized>(&mut self, value: &T) {
        match crate::body::to_json(value) {
            Ok(body) => {
                match body.columns {
                    Ok(columns) => self.columns = columns,
                    Err(e) => self.fail(e),
                }
                self.body = Some(Bytes::from(body.bytes));
            }
            Err(e) => self.fail(Error::invalid(format!(
                "body does not serialize to JSON: {e}"
            ))),
        }
    }

    /// Whether sending this request again cannot change the outcome (see `retry.rs`).
    pub(crate) fn is_idempotent(&self) -> bool {
        self.idempotent
            || self.method == Method::GET
            || self.method == Method::HEAD
            || (self.method == Method::POST
                && self.prefer.resolution.is_some()
                && self.on_conflict.is_some())
    }

    /// The `Accept` value the request will carry.
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

    /// Moves RPC arguments from the JSON body into the query (GET, or HEAD when `head`), as
    /// supabase-js does. A HEAD whose arguments include an object cannot carry them in the
    /// query, so it stays a POST with `Prefer: return=minimal`, again as supabase-js does.
    pub(crate) fn rpc_to_query(&mut self, head: bool) {
        let args: serde_json::Map<String, serde_json::Value> = match self.body.as_deref() {
            None => serde_json::Map::new(),
            Some(b) if b.iter().all(u8::is_ascii_whitespace) || b == b"null" => {
                serde_json::Map::new()
            }
            Some(b) => match serde_json::from_slice(b) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => {
                    self.fail(Error::invalid(
                        "RPC arguments sent in the query must serialize to a JSON object",
                    ));
                    return;
                }
            },
        };
        if head && args.values().any(serde_json::Value::is_object) {
            self.prefer.representation = Some(false);
            return;
        }
        let mut pairs = Query::with_capacity(args.len());
        for (name, value) in args {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => {
                    let mut out = String::new();
                    crate::filter::pg_array(&mut out, items.iter());
                    out
                }
                other => other.to_string(),
            };
            pairs.push((Text::from(name), Text::from(text)));
        }
        pairs.extend(self.query.drain(..));
        self.query = pairs;
        self.body = None;
        self.method = if head { Method::HEAD } else { Method::GET };
    }

    /// The `reqwest::Request` these parts describe (`build()`): the URL and the header map are
    /// copied straight out of the client's memo, with no shared handle kept.
    #[inline]
    pub(crate) fn into_request(
        mut self: Box<Self>,
        shape_accept: Option<&'static str>,
    ) -> Result<reqwest::Request> {
        let (url, headers) = self.lookup(shape_accept, |url, headers| {
            (url::Url::clone(url), HeaderMap::clone(headers))
        })?;
        let timeout = self.timeout.or(self.client.inner.timeout);
        let method = std::mem::replace(&mut self.method, Method::GET);
        Ok(assemble(
            method,
            url,
            headers,
            self.headers.as_deref(),
            self.body.take(),
            timeout,
        ))
    }

    /// Everything the request is made of, ready to be turned into a `reqwest::Request` once or
    /// (for retries) several times.
    pub(crate) fn prepare(
        mut self: Box<Self>,
        shape_accept: Option<&'static str>,
    ) -> Result<Prepared> {
        let (url, headers) = self.lookup(shape_accept, |url, headers| {
            (Arc::clone(url), Arc::clone(headers))
        })?;
        Ok(Prepared {
            method: std::mem::replace(&mut self.method, Method::GET),
            url,
            headers,
            extra: self.headers.take(),
            body: self.body.take(),
            timeout: self.timeout.or(self.client.inner.timeout),
        })
    }

    /// Hands the URL and the header map of this request to `take`, from the client's memo of
    /// request shapes (`template.rs`) when this shape was built before; fails with the first
    /// problem found while building.
    fn lookup<R>(
        &mut self,
        shape_accept: Option<&'static str>,
        take: impl FnOnce(&Arc<url::Url>, &Arc<HeaderMap>) -> R,
    ) -> Result<R> {
        if let Some(msg) = self.error.take() {
            return Err(Error::InvalidRequest(msg));
        }
        let inner = &self.client.inner;
        if let Some(msg) = inner.deferred_error {
            return Err(Error::invalid(msg));
        }
        let accept = self.effective_accept(shape_accept);
        inner.templates.get(
            inner,
            template::UrlKeyRef {
                target: &self.target,
                on_conflict: self.on_conflict.as_deref(),
                columns: self.columns.as_deref(),
                query: &self.query,
            },
            template::HeaderKeyRef {
                reads: self.method == Method::GET || self.method == Method::HEAD,
                prefer: &self.prefer,
                accept: accept.as_ref(),
            },
            take,
        )
    }
}

/// A request ready to send: [`Prepared::request`] makes a `reqwest::Request` from it as often
/// as attempts need, without building anything again.
pub(crate) struct Prepared {
    method: Method,
    /// Shared with the client's memo of request shapes.
    url: Arc<url::Url>,
    /// The client's headers with the profile, content type, `Prefer` and `Accept` of this shape.
    headers: Arc<HeaderMap>,
    /// This request's own headers (`.header(..)`), applied last.
    extra: Option<Box<HeaderMap>>,
    body: Option<Bytes>,
    timeout: Option<Duration>,
}

impl Prepared {
    /// The request's method.
    pub(crate) fn method(&self) -> &Method {
        &self.method
    }

    /// A request for one attempt, keeping everything for the next.
    pub(crate) fn request(&self) -> reqwest::Request {
        assemble(
            self.method.clone(),
            url::Url::clone(&self.url),
            HeaderMap::clone(&self.headers),
            self.extra.as_deref(),
            self.body.clone(),
            self.timeout,
        )
    }

    /// The request, for the last (or only) use.
    pub(crate) fn into_request(self) -> reqwest::Request {
        let Prepared {
            method,
            url,
            headers,
            extra,
            body,
            timeout,
        } = self;
        let url = Arc::try_unwrap(url).unwrap_or_else(|shared| url::Url::clone(&shared));
        let headers = Arc::try_unwrap(headers).unwrap_or_else(|shared| HeaderMap::clone(&shared));
        assemble(method, url, headers, extra.as_deref(), body, timeout)
    }
}

#[inline]
fn assemble(
    method: Method,
    url: url::Url,
    mut headers: HeaderMap,
    extra: Option<&HeaderMap>,
    body: Option<Bytes>,
    timeout: Option<Duration>,
) -> reqwest::Request {
    for (name, value) in extra.into_iter().flatten() {
        headers.insert(name.clone(), value.clone());
    }
    let mut request = reqwest::Request::new(method, url);
    *request.headers_mut() = headers;
    if let Some(body) = body {
        *request.body_mut() = Some(reqwest::Body::from(body));
    }
    if let Some(t) = timeout {
        *request.timeout_mut() = Some(t);
    }
    request
}

impl fmt::Debug for RequestParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RequestParts {
            client,
            method,
            target,
            on_conflict,
            columns,
            query,
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
        f.debug_struct("Builder")
            .field("client", client)
            .field("method", method)
            .field("target", target)
            .field("on_conflict", on_conflict)
            .field("columns", columns)
            .field("query", query)
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
