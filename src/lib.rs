//! A typed Rust client for Supabase's REST API (PostgREST).
//!
//! It builds exactly the requests the official JavaScript client sends, decodes rows into your
//! serde types, and turns every failure into one typed [`Error`].
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
//!     .single()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Selecting and decoding
//!
//! `client.from(table).select(cols)` awaits to `Vec<serde_json::Value>`; `.returns::<T>()`
//! decodes into your type, `.single()` into exactly one `T`, `.maybe_single()` into `Option<T>`.
//! Every builder has `build()`, which returns the `reqwest::Request` it would send without any
//! I/O:
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
//! # Writes
//!
//! `insert`, `upsert`, `update` and `delete` await to `()`; `.select(cols)` after them asks for
//! the rows back (`Prefer: return=representation`), decoded into the type you bind them to.
//! Upserts take `on_conflict`, `ignore_duplicates` and `default_to_null`; every write takes
//! `count(Count::Exact)`.
//!
//! # Errors
//!
//! Every non-2xx answer is an `Err`. PostgREST's JSON error keeps its `code`, `message`,
//! `details`, `hint` and the HTTP status ([`PostgrestError`]); anything else (a proxy's HTML 502)
//! keeps the status and the start of the body ([`Error::Http`]). Helpers such as
//! [`Error::is_unique_violation`], [`Error::is_rls_violation`] and [`Error::is_no_rows`] answer
//! the usual questions.
//!
//! # Auth and row-level security
//!
//! The api key goes in `apikey`; `Authorization` carries the user's JWT from
//! [`Client::with_access_token`] (or the api key when there is none), so PostgREST runs the
//! request under that user's policies. Neither ever appears in `Debug` output or error text.
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
//! - `testing`: [`testing`] helpers (wiremock matchers, canned PostgREST answers, an in-memory
//!   table) for testing apps built on this crate.

mod body;
mod builder;
mod client;
mod error;
mod filter;
pub mod grants;
#[cfg(test)]
mod hostile_tests;
mod prefer;
mod response;
mod retry;
mod secret;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod transport;

pub use builder::{
    op, Builder, DeleteBuilder, Explain, Filterable, InsertBuilder, Order, QueryBuilder, Reads,
    RpcBuilder, SelectBuilder, UpdateBuilder, UpsertBuilder, Writes,
};
pub use client::{Client, ClientBuilder, CLIENT_INFO, DEFAULT_MAX_RESPONSE_BYTES};
pub use error::{DecodeError, Error, PostgrestError, Result, TransportError};
pub use filter::{ArrayValue, Cond, FilterValue, Is, TextSearch};
pub use response::{
    Count, Countable, Counted, Head, Json, MaybeOne, NoContent, One, Returning, Retype, RowSet,
    Rows, Shape, Text, WithCount,
};
pub use retry::RetryPolicy;
