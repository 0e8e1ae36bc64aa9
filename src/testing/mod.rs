//! Test helpers for apps built on this crate (feature `testing`): wiremock matchers that read
//! PostgREST requests the way PostgREST does, canned PostgREST answers, and a stateful in-memory
//! table that behaves like PostgREST over a table with a unique key.
//!
//! ```
//! use supabase_rest::testing::{responses, upsert_into};
//! use supabase_rest::Client;
//! use wiremock::{Mock, MockServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = MockServer::start().await;
//! Mock::given(upsert_into("user_interactions").on_conflict("user_id,grant_id"))
//!     .respond_with(responses::rls_violation("user_interactions"))
//!     .expect(1)
//!     .mount(&server)
//!     .await;
//!
//! let client = Client::new(server.uri(), "anon-key").unwrap();
//! let err = client
//!     .from("user_interactions")
//!     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1", "action": "saved"}))
//!     .on_conflict("user_id,grant_id")
//!     .await
//!     .unwrap_err();
//! assert!(err.is_rls_violation());
//! # }
//! ```

mod clock;
mod matchers;
mod memory_table;
pub mod responses;

pub use clock::ManualClock;
pub use matchers::{
    delete_from, insert_into, rpc, select_from, update, upsert_into, PostgrestRequest,
};
pub use memory_table::{AppliedWrite, MemoryTable};

/// Decodes `body` as a 200 answer's rows, exactly as awaiting `select(..).returns::<T>()`
/// decodes it: to check that a row type reads PostgREST's JSON (a canned answer, a captured
/// one) without a server.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Grant { id: u32, title: String }
///
/// let rows: Vec<Grant> = supabase_rest::testing::decode_rows(r#"[{"id":1,"title":"Arts"}]"#.into())?;
/// assert_eq!((rows[0].id, rows[0].title.as_str()), (1, "Arts"));
/// # Ok::<(), supabase_rest::Error>(())
/// ```
pub fn decode_rows<T: serde::de::DeserializeOwned + Send + 'static>(
    body: bytes::Bytes,
) -> crate::Result<Vec<T>> {
    crate::response::decode_ok::<crate::Rows<T>>(body)
}

/// Decodes `body` as a 200 answer's single object, as awaiting after `.single()` does.
///
/// ```
/// let n: serde_json::Value = supabase_rest::testing::decode_one(r#"{"n":1}"#.into())?;
/// assert_eq!(n["n"], 1);
/// # Ok::<(), supabase_rest::Error>(())
/// ```
pub fn decode_one<T: serde::de::DeserializeOwned + Send + 'static>(
    body: bytes::Bytes,
) -> crate::Result<T> {
    crate::response::decode_ok::<crate::One<T>>(body)
}
