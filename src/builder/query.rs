//! `client.from(table)`: the entry to select, insert, upsert, update and delete.

use reqwest::Method;
use serde::Serialize;

use super::{
    op, Builder, DeleteBuilder, InsertBuilder, RequestParts, SelectBuilder, Target, UpdateBuilder,
    UpsertBuilder,
};
use crate::client::Client;
use crate::filter::clean_columns;
use crate::prefer::Resolution;

/// A table or view, returned by [`Client::from`]. Pick the operation next.
#[must_use = "choose an operation: select, insert, upsert, update or delete"]
#[derive(Debug, Clone)]
pub struct QueryBuilder {
    pub(super) client: Client,
    pub(super) table: super::Text,
}

impl QueryBuilder {
    #[inline]
    pub(crate) fn new(client: Client, table: super::Text) -> Self {
        QueryBuilder { client, table }
    }

    #[inline]
    pub(super) fn parts(self, method: Method) -> Box<RequestParts> {
        RequestParts::new(self.client, method, Target::Table(self.table))
    }

    /// Reads rows: `GET /<table>?select=<columns>`. Awaiting returns `Vec<serde_json::Value>`;
    /// use `.returns::<T>()` for your own row type, `.single()` / `.maybe_single()` for one row.
    /// Whitespace outside double quotes is dropped from `columns`, as supabase-js does.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("id, title").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=id%2Ctitle"));
    /// ```
    #[inline]
    pub fn select(self, columns: impl AsRef<str>) -> SelectBuilder {
        let mut parts = self.parts(Method::GET);
        parts.push_query("select", clean_columns(columns.as_ref()));
        Builder::from_parts(parts)
    }

    /// Inserts one row (any `Serialize` object) or many (a slice or `Vec` of them):
    /// `POST /<table>`. Awaiting returns `()`; add `.select(cols)` to get the rows back.
    ///
    /// For several rows, `columns` lists the union of their keys, as supabase-js sends it: a
    /// row missing a key gets NULL there (or the column default after `default_to_null(false)`).
    /// Sends no query for one row, `?columns="a","b"` for several.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .insert(&serde_json::json!([{"user_id": "u1", "action": "saved"}, {"user_id": "u2"}]))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "POST");
    /// assert_eq!(req.url().path(), "/rest/v1/user_interactions");
    /// assert_eq!(req.url().query(), Some("columns=%22user_id%22%2C%22action%22"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs, [("columns".to_owned(), r#""user_id","action""#.to_owned())]);
    /// assert!(req.headers().get("prefer").is_none());
    /// ```
    pub fn insert<T: Serialize + ?Sized>(self, values: &T) -> InsertBuilder {
        let mut parts = self.parts(Method::POST);
        parts.set_json_body(values);
        Builder::from_parts(parts)
    }

    /// Inserts or updates on conflict: `POST /<table>` with
    /// `Prefer: resolution=merge-duplicates` (`INSERT ... ON CONFLICT ... DO UPDATE`), one
    /// atomic statement. Name the conflict target with `.on_conflict(cols)` (default: the
    /// primary key). Only the keys you send are updated on conflict.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1", "action": "saved"}))
    ///     .on_conflict("user_id,grant_id")
    ///     .select::<serde_json::Value>("*")
    ///     .single()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id&select=*"));
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates, return=representation");
    /// assert_eq!(req.headers()["accept"], "application/vnd.pgrst.object+json");
    /// ```
    #[inline]
    pub fn upsert<T: Serialize + ?Sized>(self, values: &T) -> UpsertBuilder {
        let mut parts = self.parts(Method::POST);
        parts.set_json_body(values);
        parts.prefer.resolution = Some(Resolution::MergeDuplicates);
        Builder::from_parts(parts)
    }

    /// Updates the rows matched by the filters that follow: `PATCH /<table>`. Awaiting returns
    /// `()`; add `.select(cols)` to get the rows back.
    ///
    /// Without a filter this updates every row the caller may see; add one.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .update(&serde_json::json!({"status": "closed"}))
    ///     .eq("id", 1)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "PATCH");
    /// assert_eq!(req.url().query(), Some("id=eq.1"));
    /// ```
    pub fn update<T: Serialize + ?Sized>(self, values: &T) -> UpdateBuilder {
        let mut parts = self.parts(Method::PATCH);
        parts.set_json_body(values);
        Builder::from_parts(parts)
    }

    /// Deletes the rows matched by the filters that follow: `DELETE /<table>`. Awaiting returns
    /// `()`; add `.select(cols)` to get the deleted rows back.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("user_interactions").delete().eq("user_id", "u1").build().unwrap();
    /// assert_eq!(req.method(), "DELETE");
    /// assert_eq!(req.url().query(), Some("user_id=eq.u1"));
    /// ```
    pub fn delete(self) -> DeleteBuilder {
        Builder::from_parts(self.parts(Method::DELETE))
    }
}

impl<S> Builder<op::Upsert, S> {
    /// The conflict target (`?on_conflict=`): columns of a unique constraint, e.g.
    /// `"user_id,grant_id"`. Sent as written.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1"}))
    ///     .on_conflict("user_id,grant_id")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id"));
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates");
    /// ```
    #[inline]
    pub fn on_conflict(mut self, columns: impl AsRef<str>) -> Self {
        self.parts.on_conflict = Some(super::Text::from(columns.as_ref()));
        self
    }

    /// `true`: keep the existing row and skip the new one (`ON CONFLICT DO NOTHING`,
    /// `resolution=ignore-duplicates`). `false` (default): merge the new values in.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1"}))
    ///     .on_conflict("user_id,grant_id")
    ///     .ignore_duplicates(true)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id"));
    /// assert_eq!(req.headers()["prefer"], "resolution=ignore-duplicates");
    /// ```
    pub fn ignore_duplicates(mut self, ignore: bool) -> Self {
        self.parts.prefer.resolution = Some(if ignore {
            Resolution::IgnoreDuplicates
        } else {
            Resolution::MergeDuplicates
        });
        self
    }

    /// See [`Builder::<op::Insert, S>::default_to_null`].
    /// `false` sends `Prefer: missing=default`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!([{"user_id": "u1", "notes": "x"}, {"user_id": "u2"}]))
    ///     .default_to_null(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("columns=%22user_id%22%2C%22notes%22"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs, [("columns".to_owned(), r#""user_id","notes""#.to_owned())]);
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates, missing=default");
    /// ```
    pub fn default_to_null(mut self, default_to_null: bool) -> Self {
        self.parts.prefer.missing_default = !default_to_null;
        self
    }
}

impl<S> Builder<op::Insert, S> {
    /// `true` (default): in a bulk write, a key missing from a row is written as NULL.
    /// `false`: it takes the column's default (`Prefer: missing=default`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .insert(&serde_json::json!([{"user_id": "u1", "notes": "x"}, {"user_id": "u2"}]))
    ///     .default_to_null(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("columns=%22user_id%22%2C%22notes%22"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs, [("columns".to_owned(), r#""user_id","notes""#.to_owned())]);
    /// assert_eq!(req.headers()["prefer"], "missing=default");
    /// ```
    pub fn default_to_null(mut self, default_to_null: bool) -> Self {
        self.parts.prefer.missing_default = !default_to_null;
        self
    }
}

impl<S> Builder<op::Update, S> {
    /// Fails the update (and rolls it back) if it would touch more than `n` rows
    /// (`Prefer: handling=strict, max-affected=n`, PostgREST 12.2+).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .update(&serde_json::json!({"status": "closed"}))
    ///     .eq("status", "open")
    ///     .max_affected(5)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("status=eq.open"));
    /// assert_eq!(req.headers()["prefer"], "handling=strict, max-affected=5");
    /// ```
    pub fn max_affected(mut self, n: u64) -> Self {
        self.parts.prefer.max_affected = Some(n);
        self
    }
}

impl<S> Builder<op::Delete, S> {
    /// Fails the delete (and rolls it back) if it would remove more than `n` rows
    /// (`Prefer: handling=strict, max-affected=n`, PostgREST 12.2+).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .delete()
    ///     .eq("user_id", "u1")
    ///     .max_affected(1)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "DELETE");
    /// assert_eq!(req.url().query(), Some("user_id=eq.u1"));
    /// assert_eq!(req.headers()["prefer"], "handling=strict, max-affected=1");
    /// ```
    pub fn max_affected(mut self, n: u64) -> Self {
        self.parts.prefer.max_affected = Some(n);
        self
    }
}
