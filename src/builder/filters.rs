//! Filters and modifiers, implemented once for every builder that takes them.

use super::{Builder, Filterable, Reads};
use crate::error::Error;
use crate::filter::{
    field_name, in_list, op_value, pg_array, ArrayValue, Cond, FilterValue, Is, TextSearch,
};
use crate::request::Text;

/// The column as the filter and order grammar reads it (quoted where needed, see
/// [`field_name`]), or `None` after recording why it cannot be sent.
fn column_name<'c, Op, S>(
    builder: &mut Builder<Op, S>,
    column: &'c str,
) -> Option<std::borrow::Cow<'c, str>> {
    match field_name(column) {
        Ok(name) => Some(name),
        Err(why) => {
            builder.parts.fail(Error::invalid(why));
            None
        }
    }
}

impl<Op: Filterable, S> Builder<Op, S> {
    /// `?column=value`, for every filter on a column.
    fn column_filter(mut self, column: &str, value: String) -> Self {
        if let Some(name) = column_name(&mut self, column) {
            self.parts.push_query(&*name, value);
        }
        self
    }

    fn op_filter(self, column: &str, op: &str, value: &dyn FilterValue) -> Self {
        let value = op_value(op, value);
        self.column_filter(column, value)
    }

    /// `column = value`: `?column=eq.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").eq("title", "a,b").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=eq.a%2Cb"));
    /// ```
    pub fn eq(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "eq", &value)
    }

    /// `column <> value`: `?column=neq.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").neq("status", "closed").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&status=neq.closed"));
    /// ```
    pub fn neq(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "neq", &value)
    }

    /// `column > value`: `?column=gt.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").gt("amount", 1000).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&amount=gt.1000"));
    /// ```
    pub fn gt(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "gt", &value)
    }

    /// `column >= value`: `?column=gte.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").gte("deadline", "2024-01-01").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&deadline=gte.2024-01-01"));
    /// ```
    pub fn gte(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "gte", &value)
    }

    /// `column < value`: `?column=lt.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").lt("amount", 500).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&amount=lt.500"));
    /// ```
    pub fn lt(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "lt", &value)
    }

    /// `column <= value`: `?column=lte.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").lte("amount", 500).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&amount=lte.500"));
    /// ```
    pub fn lte(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "lte", &value)
    }

    /// `column LIKE pattern` (`*` may stand for `%`): `?column=like.pattern`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").like("title", "*Arts*").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=like.*Arts*"));
    /// ```
    pub fn like(self, column: impl AsRef<str>, pattern: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "like", &pattern)
    }

    /// `column ILIKE pattern` (case-insensitive): `?column=ilike.pattern`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").ilike("title", "%arts%").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=ilike.%25arts%25"));
    /// ```
    pub fn ilike(self, column: impl AsRef<str>, pattern: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "ilike", &pattern)
    }

    /// `column IS NULL / TRUE / FALSE / UNKNOWN`: `?column=is.null`.
    ///
    /// ```
    /// # use supabase_rest::{Client, Is};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .is("deadline", Is::Null)
    ///     .is("active", true)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&deadline=is.null&active=is.true"));
    /// ```
    pub fn is(self, column: impl AsRef<str>, value: impl Into<Is>) -> Self {
        let value = value.into();
        self.op_filter(column.as_ref(), "is", &value.as_str())
    }

    /// `column IN (values)`: `?column=in.(a,b)`. Duplicates are dropped; an element holding
    /// `,` `(` `)` `"` `\` or surrounding spaces is quoted and escaped so PostgREST reads it
    /// back exactly (supabase-js sends `"` and `\` unescaped, which PostgREST misreads).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").in_("title", ["Paris,France", "Quote:\""]).build().unwrap();
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("select=*&title=in.%28%22Paris%2CFrance%22%2C%22Quote%3A%5C%22%22%29")
    /// );
    /// ```
    pub fn in_<I, V>(self, column: impl AsRef<str>, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        let list = in_list(values);
        self.column_filter(column.as_ref(), format!("in.{list}"))
    }

    /// `column ~ pattern` (POSIX regular expression): `?column=match.pattern`
    /// (supabase-js `regexMatch`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").regex_match("title", "^Arts").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=match.%5EArts"));
    /// ```
    pub fn regex_match(self, column: impl AsRef<str>, pattern: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "match", &pattern)
    }

    /// `column ~* pattern` (case-insensitive regex): `?column=imatch.pattern`
    /// (supabase-js `regexIMatch`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").regex_imatch("title", "^arts").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=imatch.%5Earts"));
    /// ```
    pub fn regex_imatch(self, column: impl AsRef<str>, pattern: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "imatch", &pattern)
    }

    /// `column IS DISTINCT FROM value` (`None` is `null`): `?column=isdistinct.value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").is_distinct("owner_id", None::<&str>).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&owner_id=isdistinct.null"));
    /// ```
    pub fn is_distinct(self, column: impl AsRef<str>, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "isdistinct", &value)
    }

    /// `column NOT IN (values)`: `?column=not.in.(a,b)`, quoted like [`Builder::in_`].
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .not_in("status", ["closed", "draft"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&status=not.in.%28closed%2Cdraft%29"));
    /// ```
    pub fn not_in<I, V>(self, column: impl AsRef<str>, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        let list = in_list(values);
        self.column_filter(column.as_ref(), format!("not.in.{list}"))
    }

    fn quantified<I, V>(self, column: &str, op: &str, patterns: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        let mut value = format!("{op}.");
        pg_array(&mut value, patterns.into_iter());
        self.column_filter(column, value)
    }

    /// `column LIKE ALL (patterns)`: `?column=like(all).{p1,p2}`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").like_all_of("title", ["%a%", "%b%"]).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=like%28all%29.%7B%25a%25%2C%25b%25%7D"));
    /// ```
    pub fn like_all_of<I, V>(self, column: impl AsRef<str>, patterns: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        self.quantified(column.as_ref(), "like(all)", patterns)
    }

    /// `column LIKE ANY (patterns)`: `?column=like(any).{p1,p2}`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .like_any_of("title", ["%Arts%", "%Music%"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=like%28any%29.%7B%25Arts%25%2C%25Music%25%7D"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs[1], ("title".into(), "like(any).{%Arts%,%Music%}".into()));
    /// ```
    pub fn like_any_of<I, V>(self, column: impl AsRef<str>, patterns: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        self.quantified(column.as_ref(), "like(any)", patterns)
    }

    /// `column ILIKE ALL (patterns)`: `?column=ilike(all).{p1,p2}`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .ilike_all_of("title", ["%arts%", "%fund%"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=ilike%28all%29.%7B%25arts%25%2C%25fund%25%7D"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs[1], ("title".into(), "ilike(all).{%arts%,%fund%}".into()));
    /// ```
    pub fn ilike_all_of<I, V>(self, column: impl AsRef<str>, patterns: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        self.quantified(column.as_ref(), "ilike(all)", patterns)
    }

    /// `column ILIKE ANY (patterns)`: `?column=ilike(any).{p1,p2}`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .ilike_any_of("title", ["%arts%", "%music%"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&title=ilike%28any%29.%7B%25arts%25%2C%25music%25%7D"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs[1], ("title".into(), "ilike(any).{%arts%,%music%}".into()));
    /// ```
    pub fn ilike_any_of<I, V>(self, column: impl AsRef<str>, patterns: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        self.quantified(column.as_ref(), "ilike(any)", patterns)
    }

    fn operand_filter(self, column: &str, op: &str, operand: &dyn ArrayValue) -> Self {
        let mut value = format!("{op}.");
        operand.write_operand(&mut value);
        self.column_filter(column, value)
    }

    /// `column @> operand` (array, range or jsonb containment): `?column=cs.{a,b}`.
    /// See [`ArrayValue`] for how lists, JSON and strings are written.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").contains("tags", ["arts", "music"]).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&tags=cs.%7Barts%2Cmusic%7D"));
    /// ```
    pub fn contains(self, column: impl AsRef<str>, operand: impl ArrayValue) -> Self {
        self.operand_filter(column.as_ref(), "cs", &operand)
    }

    /// `column <@ operand`: `?column=cd.{a,b}`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .contained_by("tags", ["arts", "music", "film"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&tags=cd.%7Barts%2Cmusic%2Cfilm%7D"));
    /// ```
    pub fn contained_by(self, column: impl AsRef<str>, operand: impl ArrayValue) -> Self {
        self.operand_filter(column.as_ref(), "cd", &operand)
    }

    /// `column && operand` (arrays or ranges share an element): `?column=ov.{a,b}`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").overlaps("tags", ["arts", "film"]).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&tags=ov.%7Barts%2Cfilm%7D"));
    /// ```
    pub fn overlaps(self, column: impl AsRef<str>, operand: impl ArrayValue) -> Self {
        self.operand_filter(column.as_ref(), "ov", &operand)
    }

    /// `column >> range` (strictly right of): `?column=sr.[1,5)`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("reservations").select("*").range_gt("during", "[1,5)").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&during=sr.%5B1%2C5%29"));
    /// ```
    pub fn range_gt(self, column: impl AsRef<str>, range: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "sr", &range)
    }

    /// `column &> range` (does not extend left of): `?column=nxl.range`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("reservations").select("*").range_gte("during", "[1,5)").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&during=nxl.%5B1%2C5%29"));
    /// ```
    pub fn range_gte(self, column: impl AsRef<str>, range: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "nxl", &range)
    }

    /// `column << range` (strictly left of): `?column=sl.range`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("reservations").select("*").range_lt("during", "[1,5)").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&during=sl.%5B1%2C5%29"));
    /// ```
    pub fn range_lt(self, column: impl AsRef<str>, range: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "sl", &range)
    }

    /// `column &< range` (does not extend right of): `?column=nxr.range`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("reservations").select("*").range_lte("during", "[1,5)").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&during=nxr.%5B1%2C5%29"));
    /// ```
    pub fn range_lte(self, column: impl AsRef<str>, range: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "nxr", &range)
    }

    /// `column -|- range` (adjacent): `?column=adj.range`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("reservations")
    ///     .select("*")
    ///     .range_adjacent("during", "[1,5)")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&during=adj.%5B1%2C5%29"));
    /// ```
    pub fn range_adjacent(self, column: impl AsRef<str>, range: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), "adj", &range)
    }

    /// Full-text search: `?column=fts.query`, or `plfts`/`phfts`/`wfts` and a configuration as
    /// chosen by [`TextSearch`].
    ///
    /// ```
    /// # use supabase_rest::{Client, TextSearch};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .text_search("fts", "arts fund", TextSearch::plain())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&fts=plfts.arts+fund"));
    /// ```
    pub fn text_search(
        self,
        column: impl AsRef<str>,
        query: impl FilterValue,
        search: TextSearch,
    ) -> Self {
        let op = search.operator();
        self.op_filter(column.as_ref(), &op, &query)
    }

    /// A typed logic tree ([`Cond`]): `Cond::or([...])` becomes `?or=(...)`, `Cond::and` becomes
    /// `?and=(...)`, negated groups `?not.or=(...)`; values are quoted and escaped so they reach
    /// PostgREST intact.
    ///
    /// ```
    /// # use supabase_rest::{Client, Cond};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .where_(Cond::or([Cond::eq("status", "open"), Cond::gt("amount", 1000)]).not())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&not.or=%28status.eq.open%2Camount.gt.1000%29"));
    ///
    /// let req = client.from("grants").select("*").where_(Cond::eq("title", "a,b")).build().unwrap();
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs[1], ("and".into(), r#"(title.eq."a,b")"#.into()));
    /// ```
    pub fn where_(mut self, cond: Cond) -> Self {
        let (key, value) = cond.to_pair(None);
        self.parts.push_query(key, value);
        self
    }

    /// [`Builder::where_`] on an embedded resource: `?<table>.or=(...)`.
    ///
    /// ```
    /// # use supabase_rest::{Client, Cond};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("title, funders(name)")
    ///     .referenced_where(
    ///         "funders",
    ///         Cond::or([Cond::eq("country", "FR"), Cond::eq("country", "DE")]),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("select=title%2Cfunders%28name%29&funders.or=%28country.eq.FR%2Ccountry.eq.DE%29")
    /// );
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs[1], ("funders.or".into(), "(country.eq.FR,country.eq.DE)".into()));
    /// ```
    pub fn referenced_where(mut self, table: impl AsRef<str>, cond: Cond) -> Self {
        let (key, value) = cond.to_pair(Some(table.as_ref()));
        self.parts.push_query(key, value);
        self
    }

    /// [`Builder::or`] on an embedded resource: `?<table>.or=(...)`, raw.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("title, funders(name)")
    ///     .referenced_or("funders", "country.eq.FR,country.eq.DE")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("select=title%2Cfunders%28name%29&funders.or=%28country.eq.FR%2Ccountry.eq.DE%29")
    /// );
    /// ```
    pub fn referenced_or(mut self, table: impl AsRef<str>, filters: impl AsRef<str>) -> Self {
        self.parts.push_query(
            format!("{}.or", table.as_ref()),
            format!("({})", filters.as_ref()),
        );
        self
    }

    /// `NOT (column <op> value)`: `?column=not.<op>.value`, the operator given raw
    /// (`"is"`, `"eq"`, `"cs"`, ...), the value as written.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .not("status", "eq", "closed")
    ///     .not("notes", "is", "null")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&status=not.eq.closed&notes=not.is.null"));
    /// ```
    pub fn not(self, column: impl AsRef<str>, operator: &str, value: impl FilterValue) -> Self {
        let op = format!("not.{operator}");
        self.op_filter(column.as_ref(), &op, &value)
    }

    /// A raw filter: `?column=<operator>.<value>`, both sent exactly as given. The escape hatch
    /// for operators without their own method; the value is not quoted or escaped.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .filter("status", "in", "(open,review)")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&status=in.%28open%2Creview%29"));
    /// ```
    pub fn filter(self, column: impl AsRef<str>, operator: &str, value: impl FilterValue) -> Self {
        self.op_filter(column.as_ref(), operator, &value)
    }

    /// One `eq` filter per pair: `match_([("user_id", "u1"), ("grant_id", "g1")])`.
    /// Sends `?k1=eq.v1&k2=eq.v2`, in the pairs' order.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .select("*")
    ///     .match_([("user_id", "u1"), ("grant_id", "g1")])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&user_id=eq.u1&grant_id=eq.g1"));
    /// ```
    pub fn match_<I, K, V>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: FilterValue,
    {
        for (k, v) in pairs {
            self = self.op_filter(k.as_ref(), "eq", &v);
        }
        self
    }

    /// A raw `or` group, written in PostgREST's syntax: `or("a.eq.1,b.eq.2")` sends
    /// `?or=(a.eq.1,b.eq.2)`. Values are not escaped: quote any containing `,` `(` `)`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").or("status.eq.open,amount.gt.1000").build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&or=%28status.eq.open%2Camount.gt.1000%29"));
    /// ```
    pub fn or(mut self, filters: impl AsRef<str>) -> Self {
        self.parts
            .push_query("or", format!("({})", filters.as_ref()));
        self
    }

    /// Applies `f` to the builder only when `value` is `Some`, keeping optional filters in one
    /// chain.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let action: Option<&str> = None;
    /// let req = client
    ///     .from("user_interactions")
    ///     .select("*")
    ///     .optional(action, |b, a| b.eq("action", a))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// ```
    pub fn optional<V>(self, value: Option<V>, f: impl FnOnce(Self, V) -> Self) -> Self {
        match value {
            Some(v) => f(self, v),
            None => self,
        }
    }
}

/// Sort order for [`Builder::order`]: ascending by default, nulls placement left to the server
/// unless set.
///
/// ```
/// # use supabase_rest::{Client, Order};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client
///     .from("grants")
///     .select("*")
///     .order("deadline", Order::asc())
///     .order("amount", Order::desc().nulls_last())
///     .build()
///     .unwrap();
/// assert_eq!(
///     req.url().query(),
///     Some("select=*&order=deadline.asc%2Camount.desc.nullslast")
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    descending: bool,
    nulls_first: Option<bool>,
    referenced_table: Option<String>,
}

impl Order {
    /// Ascending (the default).
    pub fn asc() -> Self {
        Order::default()
    }

    /// Descending.
    pub fn desc() -> Self {
        Order {
            descending: true,
            ..Order::default()
        }
    }

    /// Nulls sort before other values.
    pub fn nulls_first(mut self) -> Self {
        self.nulls_first = Some(true);
        self
    }

    /// Nulls sort after other values.
    pub fn nulls_last(mut self) -> Self {
        self.nulls_first = Some(false);
        self
    }

    /// Orders the rows of an embedded resource instead (`?<table>.order=`).
    #[deprecated(
        since = "0.1.0",
        note = "use `referenced_order(table, column, order)`, like `referenced_limit` and `referenced_range`"
    )]
    pub fn referenced_table(mut self, table: impl Into<String>) -> Self {
        self.referenced_table = Some(table.into());
        self
    }
}

fn modifier_key(referenced_table: Option<&str>, key: &'static str) -> Text {
    match referenced_table {
        Some(t) => Text::from(format!("{t}.{key}")),
        None => Text::const_new(key),
    }
}

impl<Op: Reads, S> Builder<Op, S> {
    /// Sorts by `column`. Repeated calls add tie-breakers to one `order` parameter, as
    /// supabase-js does.
    /// Sends `?order=column.asc` (or `.desc`, then `.nullsfirst`/`.nullslast` when set); see
    /// [`Builder::referenced_order`] for an embedded resource.
    ///
    /// ```
    /// # use supabase_rest::{Client, Order};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("title, funders(name)")
    ///     .order("deadline", Order::desc())
    ///     .referenced_order("funders", "name", Order::asc())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("select=title%2Cfunders%28name%29&order=deadline.desc&funders.order=name.asc")
    /// );
    /// ```
    pub fn order(self, column: impl AsRef<str>, order: Order) -> Self {
        let table = order.referenced_table.clone();
        self.order_for(table.as_deref(), column.as_ref(), order)
    }

    /// [`Builder::order`] on an embedded resource: `?<table>.order=..`.
    ///
    /// ```
    /// # use supabase_rest::{Client, Order};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("title, funders(name)")
    ///     .referenced_order("funders", "name", Order::desc().nulls_last())
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("select=title%2Cfunders%28name%29&funders.order=name.desc.nullslast")
    /// );
    /// ```
    pub fn referenced_order(
        self,
        table: impl AsRef<str>,
        column: impl AsRef<str>,
        order: Order,
    ) -> Self {
        self.order_for(Some(table.as_ref()), column.as_ref(), order)
    }

    fn order_for(mut self, table: Option<&str>, column: &str, order: Order) -> Self {
        let Some(column) = column_name(&mut self, column) else {
            return self;
        };
        let mut term = format!(
            "{}.{}",
            column,
            if order.descending { "desc" } else { "asc" }
        );
        match order.nulls_first {
            Some(true) => term.push_str(".nullsfirst"),
            Some(false) => term.push_str(".nullslast"),
            None => {}
        }
        let key = modifier_key(table, "order");
        match self.parts.url.query.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&term);
            }
            None => self.parts.push_query(key, term),
        }
        self
    }

    /// At most `n` rows: `?limit=n`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").limit(10).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&limit=10"));
    /// ```
    pub fn limit(mut self, n: u64) -> Self {
        self.parts.set_query("limit", n.to_string());
        self
    }

    /// At most `n` rows of an embedded resource: `?<table>.limit=n`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("title, funders(name)")
    ///     .referenced_limit("funders", 3)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=title%2Cfunders%28name%29&funders.limit=3"));
    /// ```
    pub fn referenced_limit(mut self, table: impl AsRef<str>, n: u64) -> Self {
        let key = modifier_key(Some(table.as_ref()), "limit");
        self.parts.set_query(key, n.to_string());
        self
    }

    /// Rows `from..=to` (0-based, inclusive): `?offset=from&limit=to-from+1`.
    /// `to < from` fails with [`Error::InvalidRequest`](crate::Error::InvalidRequest).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").range(20, 29).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*&offset=20&limit=10"));
    /// ```
    pub fn range(self, from: u64, to: u64) -> Self {
        self.range_for(None, from, to)
    }

    /// [`Builder::range`] on an embedded resource: `?<table>.offset=..&<table>.limit=..`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("title, funders(name)")
    ///     .referenced_range("funders", 0, 4)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     req.url().query(),
    ///     Some("select=title%2Cfunders%28name%29&funders.offset=0&funders.limit=5")
    /// );
    /// ```
    pub fn referenced_range(self, table: impl AsRef<str>, from: u64, to: u64) -> Self {
        self.range_for(Some(table.as_ref()), from, to)
    }

    fn range_for(mut self, table: Option<&str>, from: u64, to: u64) -> Self {
        if to < from {
            self.parts.fail(Error::invalid(format!(
                "range end {to} is before its start {from}"
            )));
            return self;
        }
        // `0..=u64::MAX` holds one more row than a u64 counts: no limit can express it.
        let Some(count) = (to - from).checked_add(1) else {
            self.parts.fail(Error::invalid(
                "range covers more rows than a limit can express",
            ));
            return self;
        };
        self.parts
            .set_query(modifier_key(table, "offset"), from.to_string());
        self.parts
            .set_query(modifier_key(table, "limit"), count.to_string());
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::{Client, Is, Order};

    fn client() -> Client {
        Client::new("http://localhost:54321", "anon-key").unwrap()
    }

    fn query<Op, S: crate::response::Shape>(b: super::Builder<Op, S>) -> String {
        b.build().unwrap().url().query().unwrap_or("").to_owned()
    }

    /// A clone is independent of its original, and a problem found while building travels
    /// with every clone.
    #[test]
    fn clones_are_independent_and_keep_errors() {
        let base = client().from("t").select("*").eq("a", 1);
        let more = base.clone().eq("b", 2).header("x-n", "1");
        assert_eq!(query(base.clone()), "select=*&a=eq.1");
        assert_eq!(query(more.clone()), "select=*&a=eq.1&b=eq.2");
        assert!(base.build().unwrap().headers().get("x-n").is_none());
        assert_eq!(more.build().unwrap().headers()["x-n"], "1");

        let broken = client().from("t").select("*").header("x-bad", "a\nb");
        for b in [broken.clone(), broken] {
            let err = b.build().unwrap_err();
            assert!(matches!(err, crate::Error::InvalidRequest(_)), "{err:?}");
            assert!(err.to_string().contains("x-bad"), "{err}");
        }
    }

    /// Column names with reserved characters are quoted on the wire; plain ones are not.
    #[test]
    fn reserved_characters_in_column_names_are_quoted() {
        let c = client();
        let q = query(
            c.from("t")
                .select("*")
                .eq("col:name", "v")
                .in_("a,b", [1])
                .order("x:y", Order::asc()),
        );
        assert_eq!(
            q,
            "select=*&%22col%3Aname%22=eq.v&%22a%2Cb%22=in.%281%29&order=%22x%3Ay%22.asc"
        );
        let err = c.from("t").select("*").eq("a\"b:c", 1).build().unwrap_err();
        assert!(err.to_string().contains("double quote"), "{err}");
    }

    /// PostgREST silently ignores a cast in a filter column: refuse it instead of returning
    /// other rows than asked for. JSON paths and embedded columns keep working.
    #[test]
    fn casts_in_filter_and_order_columns_are_refused() {
        let c = client();
        for b in [
            c.from("t").select("*").eq("cost::text", 10),
            c.from("t").select("*").in_("id::text", [1]),
            c.from("t").select("*").contains("tags::text[]", ["a"]),
            c.from("t").select("*").order("title::text", Order::asc()),
        ] {
            let err = b.build().unwrap_err();
            assert!(err.to_string().contains("`::` cast"), "{err}");
        }
        let ok = c
            .from("t")
            .select("*")
            .eq("data->>key", "v")
            .eq("tags.name", "x")
            .order("data->>key", Order::desc());
        assert_eq!(
            query(ok),
            "select=*&data-%3E%3Ekey=eq.v&tags.name=eq.x&order=data-%3E%3Ekey.desc"
        );
    }

    #[test]
    fn basic_filters_in_call_order() {
        let q = query(
            client()
                .from("t")
                .select("*")
                .eq("a", 1)
                .neq("b", "x")
                .gt("c", 2.5)
                .gte("d", "2024-01-01")
                .lt("e", -1)
                .lte("f", "2024-12-31T23:59:59+00:00")
                .is("g", Is::Null)
                .is("h", false)
                .in_("i", ["saved", "applied"]),
        );
        assert_eq!(
            q,
            "select=*&a=eq.1&b=neq.x&c=gt.2.5&d=gte.2024-01-01&e=lt.-1&f=lte.2024-12-31T23%3A59%3A59%2B00%3A00&g=is.null&h=is.false&i=in.%28saved%2Capplied%29"
        );
    }

    #[test]
    fn range_and_limit_replace_in_place() {
        assert_eq!(
            query(client().from("t").select("*").range(0, 9)),
            "select=*&offset=0&limit=10"
        );
        assert_eq!(
            query(client().from("t").select("*").limit(5).range(20, 29)),
            "select=*&limit=10&offset=20"
        );
        let err = client()
            .from("t")
            .select("*")
            .range(5, 1)
            .build()
            .unwrap_err();
        assert!(matches!(err, crate::Error::InvalidRequest(_)));
    }

    #[test]
    fn order_terms_merge_per_key() {
        assert_eq!(
            query(
                client()
                    .from("t")
                    .select("*")
                    .order("deadline", Order::asc())
                    .order("amount", Order::desc().nulls_last())
                    .order("id", Order::default())
                    .referenced_order("instruments", "name", Order::asc())
            ),
            "select=*&order=deadline.asc%2Camount.desc.nullslast%2Cid.asc&instruments.order=name.asc"
        );
    }

    #[test]
    fn update_filters_and_select_keep_call_order() {
        let q = query(
            client()
                .from("t")
                .update(&serde_json::json!({"a": 1}))
                .eq("id", 1)
                .select("*"),
        );
        assert_eq!(q, "id=eq.1&select=*");
    }
}
