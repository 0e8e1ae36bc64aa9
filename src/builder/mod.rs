//! Request builders, by stage: `table.rs` (`Client::from` and the five verbs), `write.rs`
//! (options of writes), `rpc.rs` (`Client::rpc` and its options), `filters.rs`, `modifiers.rs`
//! (order, limit, range, formats, head), `template.rs` (`RequestTemplate`), `chunked.rs`
//! (`upsert_chunked`). This file holds [`Builder`] itself and what every stage shares.
//!
//! [`Builder<Op, S>`] is a plain value: a [`Client`] and the request's parts. `Op` names the
//! operation (so verb-specific methods such as `on_conflict` exist only on upserts) and `S` is
//! the output [`Shape`] (what `.await` returns). The aliases [`SelectBuilder`],
//! [`InsertBuilder`], [`UpsertBuilder`], [`UpdateBuilder`], [`DeleteBuilder`] and
//! [`RpcBuilder`] are the names to use. `build()` and `.await` both prepare the parts the same
//! way (`request::RequestParts::prepare`); `.await` hands the result to `transport::send`.

mod chunked;
mod filters;
mod modifiers;
mod rpc;
mod table;
mod template;
mod write;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use chunked::{ChunkFailure, ChunkOutput, ChunkedError, ChunkedUpsert, DEFAULT_CHUNK_SIZE};
pub use filters::Order;
pub use modifiers::Explain;
pub use table::QueryBuilder;
pub use template::{RequestTemplate, TakesBody};

use crate::client::Client;
use crate::error::Result;
use crate::prefer::Count;
use crate::request::RequestParts;
use crate::response::{Countable, Counted, Json, NoContent, Retype, RowSet, Rows, Shape};

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
    /// `OPTIONS` on a table, view or function: `from(t).options()`, `client.rpc_options(f)`.
    #[derive(Debug)]
    pub struct Options;
}

mod sealed {
    pub trait Operation {}
    impl Operation for super::op::Select {}
    impl Operation for super::op::Insert {}
    impl Operation for super::op::Upsert {}
    impl Operation for super::op::Update {}
    impl Operation for super::op::Delete {}
    impl Operation for super::op::Rpc {}
    impl Operation for super::op::Options {}
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
    client: Client,
    /// Boxed: the parts move through every step of a chain, and a pointer moves for free.
    parts: Box<RequestParts>,
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
    fn new(client: Client, parts: Box<RequestParts>) -> Self {
        Builder {
            client,
            parts,
            marker: PhantomData,
        }
    }

    #[inline]
    fn reshape<S2>(self) -> Builder<Op, S2> {
        Builder {
            client: self.client,
            parts: self.parts,
            marker: PhantomData,
        }
    }

    /// Adds a header to this request only (replacing a client default of the same name).
    /// A name or value that is not a valid header (CR, LF, NUL ...) makes the request fail
    /// with [`Error::InvalidRequest`](crate::Error::InvalidRequest).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").header("x-request-id", "abc123").build().unwrap();
    /// assert_eq!(req.headers()["x-request-id"], "abc123");
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// ```
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        match crate::secret::header_pair(name.as_ref(), value.as_ref()) {
            Ok((n, v)) => {
                self.parts.headers_mut().insert(n, v);
            }
            Err(e) => self.parts.fail(e),
        }
        self
    }

    /// A timeout for this request only, overriding the client's default. Each attempt gets
    /// the full timeout; a timed-out request fails with [`Error::Timeout`](crate::Error::Timeout).
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
        self.parts.retry = (!enabled).then(crate::RetryPolicy::none);
        self
    }

    /// A retry policy for this request only, instead of the client's (Supabase's cross-SDK
    /// spec asks for both levels). Which requests may be resent does not change: a plain insert
    /// is still never sent twice once it may have reached the server.
    ///
    /// ```
    /// # use supabase_rest::{Client, RetryPolicy};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let patient = client
    ///     .from("grants")
    ///     .select("*")
    ///     .retry_policy(RetryPolicy::default().max_retries(8));
    /// assert_eq!(patient.build().unwrap().url().query(), Some("select=*"));
    /// ```
    pub fn retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
        self.parts.retry = Some(policy);
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

    /// Asks PostgREST to write timestamps of the answer in this time zone
    /// (`Prefer: timezone=<name>`, an IANA name such as `Europe/Paris`). A name with characters
    /// no zone name has fails before sending; an unknown zone is ignored by the server unless
    /// [`handling(Handling::Strict)`](Builder::handling).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("deadline").timezone("Asia/Tokyo").build().unwrap();
    /// assert_eq!(req.headers()["prefer"], "timezone=Asia/Tokyo");
    /// assert!(client.from("t").select("*").timezone("UTC, tx=commit").build().is_err());
    /// ```
    pub fn timezone(mut self, zone: impl AsRef<str>) -> Self {
        let zone = zone.as_ref();
        let valid = !zone.is_empty()
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        if valid {
            self.parts.prefer.timezone = Some(zone.into());
        } else {
            self.parts.fail(crate::Error::invalid(
                "time zone names hold only letters, digits, '/', '_', '-' and '+'",
            ));
        }
        self
    }

    /// How the server treats preferences it cannot honour (`Prefer: handling=strict|lenient`):
    /// strict refuses the request instead of ignoring them. See [`Handling`](crate::Handling).
    pub fn handling(mut self, handling: crate::Handling) -> Self {
        self.parts.prefer.handling = Some(handling);
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
        let inner = &self.client.inner;
        self.parts.build(&inner.defaults, &inner.memo, S::ACCEPT)
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
    ///     .select("*")
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
    /// Decodes rows into `U` instead of the current row type: the one way to choose the row
    /// type, for reads, for writes after `.select(cols)`, and for rpc.
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
    /// tell them apart with [`Error::is_no_rows`](crate::Error::is_no_rows) and [`Error::is_too_many_rows`](crate::Error::is_too_many_rows).
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
    /// ([`Error::is_too_many_rows`](crate::Error::is_too_many_rows)).
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

impl<Op, S: Shape> IntoFuture for Builder<Op, S> {
    type Output = Result<S::Output>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<S::Output>> + Send + 'static>>;

    fn into_future(self) -> Self::IntoFuture {
        let Builder { client, parts, .. } = self;
        let prepared = parts.prepare(&client.inner.defaults, &client.inner.memo, S::ACCEPT);
        crate::transport::send::<S>(client, prepared)
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
            client: self.client.clone(),
            parts: self.parts.clone(),
            marker: PhantomData,
        }
    }
}

impl<Op, S> fmt::Debug for Builder<Op, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Builder {
            client,
            parts,
            marker: _,
        } = self;
        f.debug_struct("Builder")
            .field("client", client)
            .field("parts", parts)
            .finish()
    }
}
