//! A typed Rust client for Supabase's REST API (PostgREST).
//!
//! It builds exactly the requests the official JavaScript client sends (checked against
//! requests captured from supabase-js), decodes rows into your serde types, retries only what
//! cannot duplicate data, and turns every failure into one typed [`Error`].
//!
//! # Quick start
//!
//! ```no_run
//! use supabase_rest::Client;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize)]
//! struct NewInteraction<'a> { user_id: &'a str, grant_id: &'a str, action: &'a str }
//!
//! #[derive(Deserialize)]
//! struct UserInteraction { id: String, action: String }
//!
//! # async fn run() -> supabase_rest::Result<()> {
//! let client = Client::new("https://xyz.supabase.co", "anon-key")?
//!     .with_access_token("the signed-in user's JWT");
//!
//! // One atomic request: INSERT ... ON CONFLICT (user_id, grant_id) DO UPDATE.
//! let row: UserInteraction = client
//!     .from("user_interactions")
//!     .upsert(&NewInteraction { user_id: "u1", grant_id: "g1", action: "saved" })
//!     .on_conflict("user_id,grant_id")
//!     .ignore_duplicates(false)
//!     .select("*")
//!     .returns::<UserInteraction>()
//!     .single()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! A [`Client`] is cheap to clone (an `Arc` inside, one connection pool); keep one per process
//! and derive per-user clones with [`Client::with_access_token`].
//!
//! # Selecting and decoding
//!
//! `client.from(table).select(cols)` awaits to `Vec<serde_json::Value>`; `.returns::<T>()`
//! decodes into your type, `.single()` into exactly one row, `.maybe_single()` into an `Option`.
//! Every builder has `build()`, which returns the `reqwest::Request` awaiting would send,
//! without any I/O:
//!
//! ```
//! # use supabase_rest::{Client, Order};
//! let client = Client::new("https://xyz.supabase.co", "anon-key")?;
//! let req = client
//!     .from("grants")
//!     .select("id, title")
//!     .eq("status", "open")
//!     .order("deadline", Order::asc())
//!     .range(0, 19)
//!     .build()?;
//! assert_eq!(
//!     req.url().query(),
//!     Some("select=id%2Ctitle&status=eq.open&order=deadline.asc&offset=0&limit=20")
//! );
//! # Ok::<(), supabase_rest::Error>(())
//! ```
//!
//! `.csv()` awaits to a `String`, `.geojson()` to JSON, `.explain(..)` to the plan,
//! `.strip_nulls()` drops null keys.
//!
//! # Filters
//!
//! Every PostgREST operator has a method (`eq`, `neq`, `gt`, `gte`, `lt`, `lte`, `like`,
//! `ilike`, `like_all_of`, ..., `is`, `is_distinct`, `in_`, `not_in`, `contains`,
//! `contained_by`, `overlaps`, the `range_*` family, `regex_match`, `text_search`), plus
//! `match_`, `not`, the raw `or` and `filter` escape hatches, and typed logic trees with
//! [`Cond`]. Values are encoded by PostgREST's grammar: an `in_` element holding `,` or `"` is
//! quoted and escaped, so user input reaches the database intact.
//!
//! ```
//! # use supabase_rest::{Client, Cond};
//! # let client = Client::new("https://xyz.supabase.co", "anon-key")?;
//! let req = client
//!     .from("grants")
//!     .select("*")
//!     .in_("status", ["open", "on hold, soon"])
//!     .where_(Cond::or([Cond::ilike("title", "*water*"), Cond::contains("tags", ["rivers"])]))
//!     .build()?;
//! let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
//! assert_eq!(pairs[1].1, r#"in.(open,"on hold, soon")"#);
//! assert_eq!(pairs[2].1, r#"(title.ilike.*water*,tags.cs."{rivers}")"#);
//! # Ok::<(), supabase_rest::Error>(())
//! ```
//!
//! # Insert and upsert
//!
//! `insert(&rows)` and `upsert(&rows)` take one `Serialize` row or a slice of them and await to
//! `()`; `.select(cols)` after them asks for the rows back (`Prefer: return=representation`) as
//! `serde_json::Value`s, or as your type after `.returns::<T>()`, exactly as on a read. Upserts take `on_conflict`, `ignore_duplicates` and
//! `default_to_null`; bulk bodies send `columns` as supabase-js does. On conflict only the keys
//! you send are updated: leave a key out (`#[serde(skip_serializing_if = "Option::is_none")]`)
//! to keep the stored value.
//!
//! For very many rows, [`QueryBuilder::upsert_chunked`] sends chunks of a size you choose, a
//! number at a time you choose, and reports exactly which rows a failed chunk held
//! ([`ChunkedError`]). For a hot write path, [`Builder::template`] fixes the request once as a
//! [`RequestTemplate`]; each call then only serializes its body.
//!
//! # Types from the schema
//!
//! The [`typed`] module is the same API over code generated from your database by
//! `supabase-rest-gen`: `client.table(user_interactions::TABLE)` accepts only that table's
//! columns, values of their types and its own conflict targets, so a misspelt column or a
//! wrong conflict target is a compile error instead of a 42703 or 42P10 in production. The
//! grants schema's generated types are [`grants::schema`].
//!
//! # Update and delete
//!
//! `update(&patch)` and `delete()` take the same filters as reads; `max_affected(n)` makes the
//! server refuse (and roll back) a change touching more rows. Without a filter they touch every
//! row the caller may see.
//!
//! # RPC
//!
//! `client.rpc("fn", &args)` posts the arguments as JSON and awaits to the function's JSON
//! result; `.returns::<T>()` types it, `.get()` sends the arguments in the query instead, and
//! filters, `order`, `limit` and `single()` apply to set-returning functions.
//!
//! # Counting and ranges
//!
//! `.count(Count::Exact | Planned | Estimated)` makes awaiting return [`WithCount`], with the
//! total from `Content-Range`; `.head()` asks for the count alone. `range(from, to)` pages.
//!
//! # Errors
//!
//! Every non-2xx answer is an `Err`. PostgREST's JSON error keeps its `code`, `message`,
//! `details`, `hint` and the HTTP status ([`PostgrestError`]); anything else (a proxy's HTML 502)
//! keeps the status and the start of the body ([`Error::Http`]). Helpers answer the usual
//! questions: [`Error::is_unique_violation`], [`Error::is_rls_violation`],
//! [`Error::is_no_rows`], [`Error::is_too_many_rows`], [`Error::is_retryable`],
//! [`Error::may_have_been_applied`].
//!
//! # Auth and row-level security
//!
//! The api key goes in `apikey`; `Authorization` carries the user's JWT from
//! [`Client::with_access_token`] (or the api key when there is none), so PostgREST runs the
//! request under that user's policies. Neither ever appears in `Debug` output, error text or
//! logs. For a token that changes (a signed-in user whose session refreshes), give the client an
//! [`auth::AccessTokenSource`] instead ([`Client::with_access_token_source`]): a Supabase Auth
//! [`auth::Session`], or a closure ([`auth::token_fn`]). It is asked before every request, and
//! once more when PostgREST rejects the JWT (the request is then resent, safe for any method).
//!
//! **Identifiers are PostgREST syntax, values are not.** Filter *values* are encoded and quoted
//! here, so any text is safe as a value. Column names, `order` terms, `on_conflict` targets,
//! `select` lists, `or`/`filter` strings and rpc argument names go out as PostgREST syntax:
//! `order("title.asc,secret", ..)` orders by a second column, `Cond::eq("id.gt.0,owner", v)`
//! adds a condition. Never build them from untrusted input; map what a user may choose to a
//! fixed set of names in your code instead, or use the generated column handles of [`typed`],
//! which only name real columns. (Row-level security still applies either way.)
//!
//! # Retries and timeouts
//!
//! [`RetryPolicy`] (3 retries by default) retries connection failures, timeouts, 408, 429, 502,
//! 503, 504 and 520, honouring `Retry-After`, but only for requests that cannot duplicate data:
//! reads, upserts with `on_conflict`, and requests marked `.idempotent()`. A plain insert is
//! never sent twice. [`ClientBuilder::timeout`] and `.timeout()` per request bound each attempt
//! (60 s by default, with 10 s to connect and 30 s of silence at most);
//! [`ClientBuilder::deadline`] bounds a whole call, retries included. Redirects are never
//! followed ([`Error::Redirect`]), so credentials reach no other host, and a plain `http://`
//! URL is accepted only for this machine unless [`ClientBuilder::allow_insecure_http`].
//!
//! # Testing
//!
//! With the `testing` feature, `supabase_rest::testing` offers wiremock matchers such as
//! `upsert_into("user_interactions").on_conflict("user_id,grant_id")`, canned PostgREST
//! answers (`responses::rls_violation(..)`, `responses::no_rows()`, ...) and `MemoryTable`, a
//! stateful in-memory table keyed by a conflict target.
//!
//! # The grants app
//!
//! [`grants::UsersService`] is the typed service over the schema in `supabase/migrations/`;
//! its `record_user_interaction` is the one-request atomic upsert this crate was written for.
//!
//! # Optional features
//!
//! - `rustls` (default): TLS through rustls.
//! - `native-tls`: TLS through the platform's library.
//! - `testing`: the `testing` module (wiremock matchers, canned answers, an in-memory table).
//!
//! # Coming from supabase-js
//!
//! | supabase-js | supabase-rest |
//! |---|---|
//! | `createClient(url, key)` | `Client::new(url, key)?` |
//! | `global: { headers: { Authorization: 'Bearer ' + jwt } }` | `client.with_access_token(jwt)` |
//! | `db: { schema: 'grants' }` / `.schema('grants')` | `.schema("grants")` on the builder or client |
//! | `.from('t').select('a,b')` | `.from("t").select("a,b")` |
//! | `.select('*', { count: 'exact', head: true })` | `.select("*").count(Count::Exact).head()` |
//! | `.upsert(row, { onConflict: 'a,b', ignoreDuplicates: false })` | `.upsert(&row).on_conflict("a,b").ignore_duplicates(false)` |
//! | `.insert(rows, { defaultToNull: false })` | `.insert(&rows).default_to_null(false)` |
//! | `.update(patch, { count: 'exact' })` | `.update(&patch).count(Count::Exact)` |
//! | `.in('c', [..])`, `.match({..})`, `.is('c', null)` | `.in_("c", [..])`, `.match_([..])`, `.is("c", Is::Null)` |
//! | `.regexMatch`, `.isDistinct`, `.textSearch(c, q, { type: 'websearch' })` | `.regex_match`, `.is_distinct`, `.text_search(c, q, TextSearch::websearch())` |
//! | `.or('a.eq.1,b.eq.2', { referencedTable: 't' })` | `.referenced_or("t", "a.eq.1,b.eq.2")` or typed `.where_(Cond::or([..]))` |
//! | `.order('c', { ascending: false, nullsFirst: true })` | `.order("c", Order::desc().nulls_first())` |
//! | `.limit(n, { referencedTable: 't' })` | `.referenced_limit("t", n)`; likewise `referenced_order`, `referenced_range`, `referenced_or` |
//! | `.select().single()` / `.maybeSingle()` | `.select("*").single()` / `.maybe_single()` |
//! | `.rpc('f', args, { get: true })` | `.rpc("f", &args).get()` |
//! | `.csv()`, `.explain({ analyze: true })`, `.stripNulls()` | `.csv()`, `.explain(Explain::new().analyze())`, `.strip_nulls()` |
//! | `.retry(false)`, `.abortSignal(s)` | `.retry(false)`; drop the future to cancel |
//! | `Prefer: timezone=..` / `handling=strict` headers | `.timezone("Europe/Paris")`, `.handling(Handling::Strict)` |
//! | `fetch(url, { method: 'OPTIONS' })` | `.from("t").options()`, `client.rpc_options("f")` |
//! | `response.headers.get('warning')` | `.with_status().await?.warnings` |
//! | `const { data, error } = await q` | `let data = q.await?;` (every non-2xx is an `Err`) |
//! | `const { data, status } = await q` | `let WithStatus { data, status, .. } = q.with_status().await?;` |
//! | `error.code === '23505'` | `err.is_unique_violation()` |
//! | `createClient<Database>(..)` with `supabase gen types` | `client.table(t::TABLE)` with `supabase-rest-gen` ([`typed`]) |
//!
//! What a supabase-js user must still do differently: pick the row type with `.returns::<T>()`
//! (on reads, writes and rpc alike; `serde_json::Value` otherwise); sign in through
//! [`auth::AuthClient`] (or give any [`auth::AccessTokenSource`] to
//! `Client::with_access_token_source`) where supabase-js keeps the session inside the client;
//! express `undefined` by leaving a key out of the
//! serialized row; and handle `Err` for 404s and gateway errors that supabase-js reports as
//! success.
//!
//! # How the crate is laid out
//!
//! A call flows one way through the crate's modules: `encode` and `filter` (query-string and
//! filter-value encoding), `prefer` (the `Prefer` header), `request` (the request model: URL
//! parts, body, the per-client memo, assembly of the outgoing request), `wire` (the HTTP
//! exchange: hyper's pooled client by default, or reqwest), `client` (base URL, credentials,
//! defaults), `retry` (the whole retry rule), `transport` (the one `send`: attempts, reading,
//! errors), `response` (decoding), then `builder` (the public builders, one file per stage).
//!
//! # Transports
//!
//! With the default `rustls` feature a client sends through hyper's pooled client directly
//! ([`Transport::Hyper`]): HTTP/1.1 keep-alive, HTTP/2 by ALPN, rustls with the platform's
//! certificate store, the connect, read and total timeouts, no redirects followed, and the
//! environment's proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, as curl reads
//! them; `http://` proxies). It costs about a fifth less CPU per request than reqwest's
//! stack. reqwest is used instead ([`Transport::Reqwest`]) for a caller's
//! [`ClientBuilder::http_client`], with the `native-tls` feature, or when asked with
//! [`ClientBuilder::transport`] or `SUPABASE_REST_TRANSPORT=reqwest`. Both send the same bytes
//! (`tests/wire_bytes.rs`), and the test suite runs on both. `build()` returns a
//! `reqwest::Request` whichever transport sends.
//!
//! # Coming from postgrest-rs
//!
//! postgrest-rs sends untyped strings and returns `reqwest::Response` for every status. Here
//! filters take typed values and encode them, the body is any `Serialize` value, awaiting
//! decodes into your types, every 4xx/5xx is an `Err` with PostgREST's fields, builders never
//! panic on bad input (the error is returned at `.await` or `build()`), and the api key and
//! token are redacted from `Debug`.

// The rooms of the crate, in the order a request flows through them; each imports only rooms
// listed before it (and `error`, `secret`, which everything may use).
// Generated code names this crate `supabase_rest`, inside it too (`grants::schema`).
extern crate self as supabase_rest;

pub mod auth;
mod builder;
mod client;
mod encode;
mod error;
mod escape;
mod filter;
pub mod grants;
#[cfg(test)]
mod hostile_tests;
mod prefer;
mod request;
mod response;
mod retry;
mod secret;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod token;
mod transport;
pub mod typed;
mod wire;

pub use builder::{
    op, Builder, ChunkFailure, ChunkOutput, ChunkedError, ChunkedUpsert, DeleteBuilder, Explain,
    Filterable, InsertBuilder, Order, QueryBuilder, Reads, RequestTemplate, RpcBuilder,
    SelectBuilder, TakesBody, UpdateBuilder, UpsertBuilder, Writes, DEFAULT_CHUNK_SIZE,
};
pub use client::{
    Client, ClientBuilder, CLIENT_INFO, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_URL_BYTES, DEFAULT_READ_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use error::{
    BuildError, DecodeError, Error, ErrorKind, PostgrestError, RedirectError, Result,
    TransportError,
};
pub use filter::{ArrayValue, Cond, FilterValue, Is, TextSearch};
pub use prefer::{Count, Handling};
pub use response::{
    Allowed, Countable, Counted, Head, Json, MaybeOne, NoContent, One, Returning, Retype, RowSet,
    Rows, Shape, Statused, Text, WithCount, WithStatus,
};
pub use retry::{Clock, RetryPolicy};
pub use wire::Transport;
