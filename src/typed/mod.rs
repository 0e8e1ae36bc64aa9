//! Tables, columns and conflict targets checked by the compiler, from code generated out of
//! the database (`supabase-rest-gen`, the `codegen/` member of this repository).
//!
//! The generator writes, per table or view, a unit type naming the relation (implementing
//! [`Relation`] and, where PostgreSQL says the relation is writable, [`Insertable`],
//! [`Updatable`], [`Deletable`]), its `Row`, `Insert` and `Update` types, a [`Column`] handle
//! per column carrying the column's Rust type, and a [`ConflictTarget`] per usable unique key
//! (the primary key, unique constraints and non-partial unique indexes on plain columns).
//! [`Client::table`] starts a typed request:
//!
//! ```
//! # use supabase_rest::Client;
//! use supabase_rest::grants::schema::public::user_interactions::{self as ui, Insert};
//! use uuid::Uuid;
//!
//! # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
//! let (user, grant) = (Uuid::from_u128(1), Uuid::from_u128(2));
//! let req = client
//!     .table(ui::TABLE)
//!     .upsert(&Insert::new(user, grant, "saved".to_owned()), ui::conflict::USER_ID_GRANT_ID)
//!     .returning()
//!     .single()
//!     .build()
//!     .unwrap();
//! assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id&select=*"));
//! assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates, return=representation");
//! ```
//!
//! What does not compile: a column of another table, a value of another type than the
//! column's, an upsert into a view PostgreSQL cannot insert into, an upsert with a conflict
//! target of another table (or without one: `upsert` takes it as an argument), an upsert into
//! a table with no unique key, an `Insert` missing a required column. A typed call sends
//! exactly the bytes of the equivalent string call; [`Typed::untyped`] leads to the string API
//! for everything the types do not cover.

mod values;

use std::future::IntoFuture;
use std::marker::PhantomData;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use values::{deserialize_enum, serialize_enum, Field, InvalidNumeric, Numeric, PgEnum};

use crate::builder::{
    op, Builder, Filterable, Order, Reads, RequestTemplate, RpcBuilder, TakesBody, Writes,
};
use crate::client::Client;
use crate::error::Result;
use crate::filter::FilterValue;
use crate::prefer::Count;
use crate::response::{Counted, Json, NoContent, Retype, RowSet, Rows, Shape};

/// What generated code needs from other crates, under names that cannot drift from the
/// versions this crate was built with.
#[doc(hidden)]
pub mod __private {
    pub use chrono;
    pub use serde;
    pub use serde_json;
    pub use uuid;
}

/// A table, view or materialized view of the database (implemented by generated code).
pub trait Relation: Copy + Send + Sync + 'static {
    /// The schema, sent as `Accept-Profile` / `Content-Profile` when it is not the client's.
    const SCHEMA: &'static str;
    /// The relation's name.
    const NAME: &'static str;
    /// One row as a read returns it (`select=*`).
    type Row: DeserializeOwned + Send + 'static;
}

/// A relation PostgreSQL can insert into.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not insertable: PostgreSQL reports this relation as read-only",
    label = "this relation cannot be inserted into or upserted",
    note = "views that PostgreSQL cannot update automatically, and materialized views, are read-only; write to the underlying table"
)]
pub trait Insertable: Relation {
    /// The body of an insert: required columns plain, the others optional.
    type Insert: Serialize;
}

/// A relation with at least one usable unique key, so it can be upserted.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be upserted: it has no primary key or usable unique constraint",
    label = "no conflict target exists for this relation",
    note = "add a unique constraint (partial and expression indexes cannot be conflict targets), or insert instead"
)]
pub trait Upsertable: Insertable {}

/// A relation PostgreSQL can update.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not updatable: PostgreSQL reports this relation as read-only",
    label = "this relation cannot be updated"
)]
pub trait Updatable: Relation {
    /// The body of an update: every column optional.
    type Update: Serialize;
}

/// A relation PostgreSQL can delete from.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not allow DELETE: PostgreSQL reports this relation as read-only",
    label = "rows of this relation cannot be deleted"
)]
pub trait Deletable: Relation {}

/// A column of relation `R` whose values are of type `V` (`V` is the non-null type; a
/// nullable column is filtered with the same `V` and tested with [`Typed::is_null`]).
pub struct Column<R, V> {
    name: &'static str,
    marker: PhantomData<fn() -> (R, V)>,
}

impl<R, V> Column<R, V> {
    /// For generated code: a column named `name` (as PostgreSQL spells it). Nothing checks
    /// that `R` has it; the generator only writes columns the catalog lists.
    #[doc(hidden)]
    pub const fn generated(name: &'static str) -> Self {
        Column {
            name,
            marker: PhantomData,
        }
    }

    /// The column's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<R, V> Clone for Column<R, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R, V> Copy for Column<R, V> {}

impl<R, V> std::fmt::Debug for Column<R, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Column").field(&self.name).finish()
    }
}

/// A usable conflict target of relation `R` (`?on_conflict=`): its primary key or one of its
/// unique keys, columns in key order.
pub struct ConflictTarget<R> {
    columns: &'static str,
    marker: PhantomData<fn() -> R>,
}

impl<R: Upsertable> ConflictTarget<R> {
    /// For generated code: the key's columns, comma-separated as `on_conflict` takes them.
    #[doc(hidden)]
    pub const fn generated(columns: &'static str) -> Self {
        ConflictTarget {
            columns,
            marker: PhantomData,
        }
    }

    /// The columns, comma-separated (`"user_id,grant_id"`).
    pub const fn columns(&self) -> &'static str {
        self.columns
    }
}

impl<R> Clone for ConflictTarget<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for ConflictTarget<R> {}

impl<R> std::fmt::Debug for ConflictTarget<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ConflictTarget")
            .field(&self.columns)
            .finish()
    }
}

/// A foreign key of a generated relation: what `select` embeds the referenced rows by.
///
/// ```
/// use supabase_rest::grants::schema::public::user_interactions::relationships;
///
/// let fk = relationships::USER_INTERACTIONS_GRANT_ID_FKEY;
/// assert_eq!(fk.referenced_table, "grants");
/// assert_eq!(fk.embed("title"), "grants!user_interactions_grant_id_fkey(title)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relationship {
    /// The constraint's name.
    pub name: &'static str,
    /// The referencing columns, in key order.
    pub columns: &'static [&'static str],
    /// The referenced relation's schema.
    pub referenced_schema: &'static str,
    /// The referenced relation.
    pub referenced_table: &'static str,
    /// The referenced columns, in key order.
    pub referenced_columns: &'static [&'static str],
}

impl Relationship {
    /// The `select` item embedding the referenced rows through this key:
    /// `referenced!constraint(columns)`.
    pub fn embed(&self, columns: &str) -> String {
        format!("{}!{}({columns})", self.referenced_table, self.name)
    }
}

/// A database function (implemented by generated code), called with [`Client::call`].
pub trait Function: Copy + Send + Sync + 'static {
    /// The function's schema.
    const SCHEMA: &'static str;
    /// The function's name.
    const NAME: &'static str;
    /// Its arguments, serialized by name.
    type Args: Serialize;
    /// What it returns.
    type Returns: DeserializeOwned + Send + 'static;
}

/// A function declared `STABLE` or `IMMUTABLE`: PostgREST allows calling it with GET.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is volatile: PostgREST only allows POST for it",
    label = "a volatile function cannot be called with GET",
    note = "use `client.call(..)`, or declare the function STABLE if it does not write"
)]
pub trait ReadOnly: Function {}

impl Client {
    /// Calls a generated function: `POST /rpc/<name>` with its arguments as the JSON body,
    /// awaiting to its result type.
    pub fn call<F: Function>(&self, function: F, args: &F::Args) -> RpcBuilder<Json<F::Returns>> {
        let _ = function;
        self.in_schema(
            self.rpc(F::NAME, args).returns::<F::Returns>(),
            false,
            F::SCHEMA,
        )
    }

    /// Calls a `STABLE` or `IMMUTABLE` generated function with GET, its arguments in the
    /// query (cacheable, and allowed on read replicas).
    pub fn call_get<F: ReadOnly>(
        &self,
        function: F,
        args: &F::Args,
    ) -> RpcBuilder<Json<F::Returns>> {
        let _ = function;
        let b = self.rpc(F::NAME, args).get().returns::<F::Returns>();
        self.in_schema(b, true, F::SCHEMA)
    }

    /// `builder` aimed at `schema`: unchanged when it is the client's own, else with the
    /// profile header of a read (`Accept-Profile`) or a write (`Content-Profile`).
    fn in_schema<Op, S>(
        &self,
        builder: Builder<Op, S>,
        reads: bool,
        schema: &str,
    ) -> Builder<Op, S> {
        let own = self.inner.defaults.schema.as_ref();
        if own.is_some_and(|s| s.as_bytes() == schema.as_bytes()) {
            builder
        } else if reads {
            builder.header("accept-profile", schema)
        } else {
            builder.header("content-profile", schema)
        }
    }

    /// Starts a typed request on a generated relation: see the [`typed`](crate::typed)
    /// module. Same requests as [`Client::from`] with the relation's name (plus its schema's
    /// profile header when it is not the client's schema).
    #[inline]
    pub fn table<R: Relation>(&self, relation: R) -> Table<R> {
        let _ = relation;
        Table {
            client: self.clone(),
            marker: PhantomData,
        }
    }
}

/// A typed relation, returned by [`Client::table`]. Pick the operation next.
#[must_use = "choose an operation: select, insert, upsert, update or delete"]
#[derive(Debug, Clone)]
pub struct Table<R> {
    client: Client,
    marker: PhantomData<fn() -> R>,
}

impl<R: Relation> Table<R> {
    #[inline]
    fn start<Op, S>(&self, method: &Method, builder: Builder<Op, S>) -> Typed<R, Op, S> {
        let reads = matches!(*method, Method::GET | Method::HEAD);
        Typed {
            inner: self.client.in_schema(builder, reads, R::SCHEMA),
            marker: PhantomData,
        }
    }

    /// Reads every column: `GET /<relation>?select=*`, awaiting to `Vec<R::Row>`.
    pub fn select(&self) -> Typed<R, op::Select, Rows<R::Row>> {
        let b = self.client.from(R::NAME).select("*").returns::<R::Row>();
        self.start(&Method::GET, b)
    }

    /// Inserts one row: `POST /<relation>`. Awaits to `()`; `.returning()` gives the row back.
    pub fn insert(&self, row: &R::Insert) -> Typed<R, op::Insert, NoContent>
    where
        R: Insertable,
    {
        self.start(&Method::POST, self.client.from(R::NAME).insert(row))
    }

    /// Inserts several rows in one request (`?columns=` lists the union of their keys).
    pub fn insert_many(&self, rows: &[R::Insert]) -> Typed<R, op::Insert, NoContent>
    where
        R: Insertable,
    {
        self.start(&Method::POST, self.client.from(R::NAME).insert(rows))
    }

    /// Inserts or, on a conflict on `target`, updates the sent columns: one atomic
    /// `INSERT ... ON CONFLICT (target) DO UPDATE`. The target is required: a typed upsert
    /// cannot fall back to a key the caller did not choose.
    pub fn upsert(
        &self,
        row: &R::Insert,
        target: ConflictTarget<R>,
    ) -> Typed<R, op::Upsert, NoContent>
    where
        R: Upsertable,
    {
        let b = self
            .client
            .from(R::NAME)
            .upsert(row)
            .on_conflict(target.columns);
        self.start(&Method::POST, b)
    }

    /// [`Table::upsert`] of several rows in one request.
    pub fn upsert_many(
        &self,
        rows: &[R::Insert],
        target: ConflictTarget<R>,
    ) -> Typed<R, op::Upsert, NoContent>
    where
        R: Upsertable,
    {
        let b = self
            .client
            .from(R::NAME)
            .upsert(rows)
            .on_conflict(target.columns);
        self.start(&Method::POST, b)
    }

    /// Updates the rows matched by the filters that follow: `PATCH /<relation>`. Only the
    /// fields set in `patch` are sent.
    pub fn update(&self, patch: &R::Update) -> Typed<R, op::Update, NoContent>
    where
        R: Updatable,
    {
        self.start(&Method::PATCH, self.client.from(R::NAME).update(patch))
    }

    /// Deletes the rows matched by the filters that follow: `DELETE /<relation>`.
    pub fn delete(&self) -> Typed<R, op::Delete, NoContent>
    where
        R: Deletable,
    {
        self.start(&Method::DELETE, self.client.from(R::NAME).delete())
    }
}

/// A typed request on relation `R`: the string builder inside, with methods that take only
/// `R`'s columns and values of their types. Awaits to what the string builder awaits to.
#[must_use = "builders do nothing until awaited (or built with build())"]
pub struct Typed<R, Op, S> {
    inner: Builder<Op, S>,
    marker: PhantomData<fn() -> R>,
}

impl<R, Op, S> Typed<R, Op, S> {
    #[inline]
    fn map<Op2, S2>(self, f: impl FnOnce(Builder<Op, S>) -> Builder<Op2, S2>) -> Typed<R, Op2, S2> {
        Typed {
            inner: f(self.inner),
            marker: PhantomData,
        }
    }

    /// The string builder, for what the typed methods do not cover (embedding, `or`,
    /// full-text search, ...).
    pub fn untyped(self) -> Builder<Op, S> {
        self.inner
    }

    /// Adds a header to this request only (see [`Builder::header`]).
    pub fn header(self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.map(|b| b.header(name, value))
    }

    /// A timeout for this request only (see [`Builder::timeout`]).
    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// This request's own retry policy (see [`Builder::retry_policy`]).
    pub fn retry_policy(self, policy: crate::RetryPolicy) -> Self {
        self.map(|b| b.retry_policy(policy))
    }
}

/// A value for a column holding `V`: a `V`, a `&V`, or a `&str` / `&String` for a text
/// column. Nothing else, so a value of another type is a compile error that names the column's
/// type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value of this column, which holds `{V}`",
    label = "expected a value convertible into `{V}`"
)]
pub trait ColumnValue<V> {
    /// The value as the column's type.
    fn into_value(self) -> V;
}

impl<V> ColumnValue<V> for V {
    fn into_value(self) -> V {
        self
    }
}

impl<V: Clone> ColumnValue<V> for &V {
    fn into_value(self) -> V {
        self.clone()
    }
}

impl ColumnValue<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name<V: FilterValue>(self, column: Column<R, V>, value: impl ColumnValue<V>) -> Self {
            self.map(|b| b.$name(column.name, value.into_value()))
        }
    )*};
}

impl<R: Relation, Op: Filterable, S> Typed<R, Op, S> {
    comparisons! {
        /// `column = value`.
        eq;
        /// `column <> value`.
        neq;
        /// `column > value`.
        gt;
        /// `column >= value`.
        gte;
        /// `column < value`.
        lt;
        /// `column <= value`.
        lte;
    }

    /// `column LIKE pattern` (`*` may stand for `%`), on a text column.
    pub fn like(self, column: Column<R, String>, pattern: impl AsRef<str>) -> Self {
        self.map(|b| b.like(column.name, pattern.as_ref()))
    }

    /// `column ILIKE pattern`, on a text column.
    pub fn ilike(self, column: Column<R, String>, pattern: impl AsRef<str>) -> Self {
        self.map(|b| b.ilike(column.name, pattern.as_ref()))
    }

    /// `column IN (values)`.
    pub fn in_<V, I>(self, column: Column<R, V>, values: I) -> Self
    where
        V: FilterValue,
        I: IntoIterator,
        I::Item: ColumnValue<V>,
    {
        self.map(|b| b.in_(column.name, values.into_iter().map(ColumnValue::into_value)))
    }

    /// `column IS NULL`.
    pub fn is_null<V>(self, column: Column<R, V>) -> Self {
        self.map(|b| b.is(column.name, crate::Is::Null))
    }

    /// `column IS NOT NULL`.
    pub fn not_null<V>(self, column: Column<R, V>) -> Self {
        self.map(|b| b.not(column.name, "is", "null"))
    }
}

impl<R: Relation, Op: Reads, S> Typed<R, Op, S> {
    /// Sorts by `column` (several calls sort by each in turn).
    pub fn order<V>(self, column: Column<R, V>, order: Order) -> Self {
        self.map(|b| b.order(column.name, order))
    }

    /// At most `n` rows.
    pub fn limit(self, n: u64) -> Self {
        self.map(|b| b.limit(n))
    }

    /// Rows `from..=to` (zero-based, inclusive).
    pub fn range(self, from: u64, to: u64) -> Self {
        self.map(|b| b.range(from, to))
    }
}

impl<R: Relation, Op: Writes> Typed<R, Op, NoContent> {
    /// Returns the written rows (`select=*`, `return=representation`): awaits to
    /// `Vec<R::Row>`; `.single()` for exactly one.
    pub fn returning(self) -> Typed<R, Op, Rows<R::Row>> {
        self.map(|b| b.select("*").returns::<R::Row>())
    }
}

impl<R: Relation, S> Typed<R, op::Upsert, S> {
    /// `true`: keep the existing row on a conflict (`ON CONFLICT DO NOTHING`); `false`
    /// (default): merge the sent columns in.
    pub fn ignore_duplicates(self, ignore: bool) -> Self {
        self.map(|b| b.ignore_duplicates(ignore))
    }
}

impl<R, Op, S: Retype> Typed<R, Op, S> {
    /// Decodes rows into your own type instead of the generated `Row`.
    pub fn returns<U: DeserializeOwned + Send + 'static>(self) -> Typed<R, Op, S::With<U>> {
        self.map(Builder::returns::<U>)
    }
}

impl<R, Op, S: RowSet> Typed<R, Op, S> {
    /// Exactly one row (`Accept: application/vnd.pgrst.object+json`); zero or several is an
    /// error.
    pub fn single(self) -> Typed<R, Op, S::Single> {
        self.map(Builder::single)
    }

    /// Zero or one row, as an `Option`.
    pub fn maybe_single(self) -> Typed<R, Op, S::MaybeSingle> {
        self.map(Builder::maybe_single)
    }
}

impl<R, Op, S: crate::response::Countable> Typed<R, Op, S> {
    /// Also returns a row count (`Prefer: count=...`).
    pub fn count(self, count: Count) -> Typed<R, Op, Counted<S>> {
        self.map(|b| b.count(count))
    }
}

impl<R, Op, S: Shape> Typed<R, Op, S> {
    /// Also returns the HTTP status and PostgREST's warnings (`WithStatus`).
    pub fn with_status(self) -> Typed<R, Op, crate::response::Statused<S>> {
        self.map(Builder::with_status)
    }

    /// The exact `reqwest::Request` awaiting would send, without any I/O.
    pub fn build(self) -> Result<reqwest::Request> {
        self.inner.build()
    }
}

impl<R, Op: TakesBody, S: Shape> Typed<R, Op, S> {
    /// A [`RequestTemplate`] of this request, to send many bodies of the same shape.
    pub fn template(self) -> Result<RequestTemplate<S>> {
        self.inner.template()
    }
}

impl<R, Op, S: Shape> IntoFuture for Typed<R, Op, S> {
    type Output = Result<S::Output>;
    type IntoFuture = <Builder<Op, S> as IntoFuture>::IntoFuture;

    fn into_future(self) -> Self::IntoFuture {
        self.inner.into_future()
    }
}

impl<R, Op, S> Clone for Typed<R, Op, S> {
    fn clone(&self) -> Self {
        Typed {
            inner: self.inner.clone(),
            marker: PhantomData,
        }
    }
}

impl<R: Relation, Op, S> std::fmt::Debug for Typed<R, Op, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typed")
            .field("relation", &R::NAME)
            .field("request", &self.inner)
            .finish()
    }
}
