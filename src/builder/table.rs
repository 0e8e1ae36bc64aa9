//! `client.from(table)` and its five verbs: select, insert, upsert, update and delete.

use reqwest::Method;
use serde::Serialize;

use super::{
    op, Builder, DeleteBuilder, InsertBuilder, SelectBuilder, UpdateBuilder, UpsertBuilder,
};
use crate::client::Client;
use crate::encode::clean_columns;
use crate::prefer::Resolution;
use crate::request::{RequestParts, Target, Text};
use crate::response::Allowed;

impl Client {
    /// Starts a request on a table or view. The name is percent-encoded into the path, so any
    /// name PostgREST accepts (spaces, dots, Unicode) works; an empty name, `.`, `..` or a name
    /// with a control character fails when the request is built.
    #[inline]
    pub fn from(&self, table: impl AsRef<str>) -> QueryBuilder {
        QueryBuilder {
            client: self.clone(),
            table: Text::from(table.as_ref()),
        }
    }
}

/// A table or view, returned by [`Client::from`]. Pick the operation next.
#[must_use = "choose an operation: select, insert, upsert, update or delete"]
#[derive(Debug, Clone)]
pub struct QueryBuilder {
    client: Client,
    table: Text,
}

impl QueryBuilder {
    /// A builder for `method` on this table.
    #[inline]
    fn verb<Op, S>(self, method: Method) -> Builder<Op, S> {
        Builder::new(
            self.client,
            RequestParts::new(method, Target::Table(self.table)),
        )
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
        let mut builder: SelectBuilder = self.verb(Method::GET);
        builder
            .parts
            .push_query("select", clean_columns(columns.as_ref()));
        builder
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
        let mut builder: InsertBuilder = self.verb(Method::POST);
        builder.parts.set_json_body(values);
        builder
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
    ///     .select("*")
    ///     .single()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id&select=*"));
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates, return=representation");
    /// assert_eq!(req.headers()["accept"], "application/vnd.pgrst.object+json");
    /// ```
    #[inline]
    pub fn upsert<T: Serialize + ?Sized>(self, values: &T) -> UpsertBuilder {
        let mut builder: UpsertBuilder = self.verb(Method::POST);
        builder.parts.set_json_body(values);
        builder.parts.prefer.resolution = Some(Resolution::MergeDuplicates);
        builder
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
        let mut builder: UpdateBuilder = self.verb(Method::PATCH);
        builder.parts.set_json_body(values);
        builder
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
        self.verb(Method::DELETE)
    }

    /// Which methods the table or view allows (`OPTIONS`, PostgREST's `Allow` header): a view
    /// PostgreSQL cannot update answers without `PATCH`. Awaits to `Vec<reqwest::Method>`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants_view").options().build().unwrap();
    /// assert_eq!(req.method(), "OPTIONS");
    /// assert_eq!(req.url().path(), "/rest/v1/grants_view");
    /// assert_eq!(req.headers()["accept-profile"], "public");
    /// ```
    pub fn options(self) -> Builder<op::Options, Allowed> {
        self.verb(Method::OPTIONS)
    }
}
