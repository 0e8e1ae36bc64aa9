//! Filter values and their exact encoding inside PostgREST's grammar: a top-level `eq.<value>`
//! is taken literally, but an element of an `in.(...)` list, of an array literal or of an
//! `or=(...)` tree must be double-quoted when it holds a reserved character, with `"` and `\`
//! escaped by a backslash. The query string around them is written by [`crate::encode`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// A value that can be compared in a filter (`eq`, `in_`, ...).
///
/// Strings go out as they are (PostgREST reads a top-level filter value literally), numbers and
/// booleans in their usual text form, `serde_json::Value` strings unquoted and other JSON as JSON
/// text, `Uuid` hyphenated.
///
/// ```
/// # use supabase_rest::Client;
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client
///     .from("grants")
///     .select("*")
///     .eq("title", "a,b")
///     .gt("amount", 1000)
///     .eq("active", true)
///     .build()
///     .unwrap();
/// assert_eq!(
///     req.url().query(),
///     Some("select=*&title=eq.a%2Cb&amount=gt.1000&active=eq.true")
/// );
/// ```
pub trait FilterValue {
    /// Appends the value's text form to `out`.
    fn write_value(&self, out: &mut String);

    /// Whether the value is SQL NULL (`None`, JSON `null`). Inside an array literal such an
    /// element is written as a bare `NULL`, which PostgreSQL reads as a null element, while
    /// the text `"null"` stays quoted. `false` unless a type says otherwise.
    fn is_null(&self) -> bool {
        false
    }
}

impl<T: FilterValue + ?Sized> FilterValue for &T {
    fn write_value(&self, out: &mut String) {
        (**self).write_value(out);
    }

    fn is_null(&self) -> bool {
        (**self).is_null()
    }
}

impl FilterValue for str {
    fn write_value(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl FilterValue for String {
    fn write_value(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl FilterValue for Cow<'_, str> {
    fn write_value(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl FilterValue for char {
    fn write_value(&self, out: &mut String) {
        out.push(*self);
    }
}

macro_rules! display_filter_value {
    ($($t:ty),*) => {$(
        impl FilterValue for $t {
            fn write_value(&self, out: &mut String) {
                // Writing to a String cannot fail.
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

display_filter_value!(
    bool,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    uuid::Uuid
);

impl FilterValue for serde_json::Value {
    fn write_value(&self, out: &mut String) {
        match self {
            serde_json::Value::String(s) => out.push_str(s),
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }

    fn is_null(&self) -> bool {
        serde_json::Value::is_null(self)
    }
}

/// `2024-05-31`, as PostgreSQL reads a `date`.
impl FilterValue for chrono::NaiveDate {
    fn write_value(&self, out: &mut String) {
        let _ = write!(out, "{}", self.format("%Y-%m-%d"));
    }
}

/// `08:30:00` (with fractions of a second when there are any), as PostgreSQL reads a `time`.
impl FilterValue for chrono::NaiveTime {
    fn write_value(&self, out: &mut String) {
        let _ = write!(out, "{}", self.format("%H:%M:%S%.f"));
    }
}

/// `2024-05-31T08:30:00`, as PostgreSQL reads a `timestamp` (no time zone).
impl FilterValue for chrono::NaiveDateTime {
    fn write_value(&self, out: &mut String) {
        let _ = write!(out, "{}", self.format("%Y-%m-%dT%H:%M:%S%.f"));
    }
}

/// RFC 3339 with the offset (`2024-05-31T08:30:00+02:00`), as PostgreSQL reads a
/// `timestamptz`; the `+` reaches the server as `%2B`, not as a space.
///
/// ```
/// # use supabase_rest::Client;
/// use chrono::{FixedOffset, TimeZone};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let deadline = FixedOffset::east_opt(2 * 3600).unwrap().with_ymd_and_hms(2024, 5, 31, 8, 30, 0).unwrap();
/// let req = client.from("grants").select("*").lt("deadline", deadline).build().unwrap();
/// assert_eq!(req.url().query(), Some("select=*&deadline=lt.2024-05-31T08%3A30%3A00%2B02%3A00"));
/// ```
impl<Tz: chrono::TimeZone> FilterValue for chrono::DateTime<Tz>
where
    Tz::Offset: std::fmt::Display,
{
    fn write_value(&self, out: &mut String) {
        out.push_str(&self.to_rfc3339());
    }
}

impl<T: FilterValue> FilterValue for Option<T> {
    /// `None` is written as `null`, as supabase-js writes JavaScript's `null`.
    fn write_value(&self, out: &mut String) {
        match self {
            Some(v) => v.write_value(out),
            None => out.push_str("null"),
        }
    }

    fn is_null(&self) -> bool {
        self.as_ref().is_none_or(FilterValue::is_null)
    }
}

/// The operand of `contains`, `contained_by` and `overlaps`: a PostgreSQL array literal built
/// from a list (elements quoted and escaped as PostgreSQL's array input expects), a JSON object
/// for `jsonb` columns, or a string sent as written (a range such as `[1,5)`, or a literal
/// you built yourself).
///
/// ```
/// # use supabase_rest::Client;
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client
///     .from("grants")
///     .select("*")
///     .contains("tags", ["arts", "music, film"])
///     .contained_by("meta", serde_json::json!({"region": "EU"}))
///     .build()
///     .unwrap();
/// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
/// assert_eq!(pairs[1], ("tags".into(), r#"cs.{arts,"music, film"}"#.into()));
/// assert_eq!(pairs[2], ("meta".into(), r#"cd.{"region":"EU"}"#.into()));
/// ```
pub trait ArrayValue {
    /// Appends the operand's text form to `out`.
    fn write_operand(&self, out: &mut String);
}

impl<T: ArrayValue + ?Sized> ArrayValue for &T {
    fn write_operand(&self, out: &mut String) {
        (**self).write_operand(out);
    }
}

impl ArrayValue for str {
    fn write_operand(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl ArrayValue for String {
    fn write_operand(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: FilterValue> ArrayValue for [T] {
    fn write_operand(&self, out: &mut String) {
        pg_array(out, self.iter());
    }
}

impl<T: FilterValue, const N: usize> ArrayValue for [T; N] {
    fn write_operand(&self, out: &mut String) {
        pg_array(out, self.iter());
    }
}

impl<T: FilterValue> ArrayValue for Vec<T> {
    fn write_operand(&self, out: &mut String) {
        pg_array(out, self.iter());
    }
}

impl ArrayValue for serde_json::Value {
    /// A JSON array becomes a PostgreSQL array literal of its elements; anything else is sent
    /// as JSON (for `jsonb` containment), strings as written.
    fn write_operand(&self, out: &mut String) {
        match self {
            serde_json::Value::Array(items) => pg_array(out, items.iter()),
            serde_json::Value::String(s) => out.push_str(s),
            other => {
                let _ = write!(out, "{other}");
            }
        }
    }
}

/// A column name as PostgREST's filter and order grammar reads it. Plain names (spaces
/// included, which the grammar allows) go out as written, byte-identical to supabase-js; so do
/// JSON paths (`data->>key`), embedded paths (`tags.name`) and ordering by an embedded
/// resource's column (`section(name)`, where parentheses have that meaning). A segment holding
/// `,` or `:`, which the grammar reserves, is double-quoted, the way PostgREST reads quoted
/// field names. Refused: a `::` cast (PostgREST ignores it in a filter and compares the uncast
/// column) and a `"` inside a name (the grammar cannot express it).
pub(crate) fn field_name(name: &str) -> Result<Cow<'_, str>, &'static str> {
    const RESERVED: [char; 3] = [',', ':', '"'];
    if name.contains("::") {
        return Err("a filter or order column cannot carry a `::` cast: PostgREST ignores it and compares the uncast column");
    }
    let quoted = |s: &str| {
        s.len() >= 2 && s.starts_with('"') && s.ends_with('"') && !s[1..s.len() - 1].contains('"')
    };
    if name.contains("->") || !name.contains(RESERVED) || quoted(name) {
        return Ok(Cow::Borrowed(name));
    }
    let mut out = String::with_capacity(name.len() + 4);
    for (i, segment) in name.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        if quoted(segment) || !segment.contains(RESERVED) {
            out.push_str(segment);
        } else if segment.contains('"') {
            return Err("a column name holding a double quote cannot be written in PostgREST's filter syntax");
        } else {
            out.push('"');
            out.push_str(segment);
            out.push('"');
        }
    }
    Ok(Cow::Owned(out))
}

/// `{a,"b,c",NULL}`: a PostgreSQL array literal. A null element ([`FilterValue::is_null`]) is a
/// bare `NULL`; any other element is double-quoted (with `"` and `\` escaped) when it is
/// empty, reads as NULL, or holds a delimiter, brace, quote, backslash or whitespace. supabase-js joins elements raw, which PostgreSQL misreads for such elements.
pub(crate) fn pg_array<V: FilterValue>(out: &mut String, values: impl Iterator<Item = V>) {
    let mut scratch = String::new();
    out.push('{');
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if v.is_null() {
            // PostgreSQL's array input reads a bare NULL as a null element.
            out.push_str("NULL");
            continue;
        }
        scratch.clear();
        v.write_value(&mut scratch);
        let needs_quotes = scratch.is_empty()
            || scratch.eq_ignore_ascii_case("null")
            || scratch
                .chars()
                .any(|c| matches!(c, ',' | '{' | '}' | '"' | '\\') || c.is_whitespace());
        if needs_quotes {
            push_quoted(out, &scratch);
        } else {
            out.push_str(&scratch);
        }
    }
    out.push('}');
}

/// `"…"` with `"` and `\` escaped by a backslash: the quoting PostgREST's list and logic-tree
/// grammar and PostgreSQL's array input share.
fn push_quoted(out: &mut String, v: &str) {
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Which parser a full-text search runs its query through.
///
/// ```
/// # use supabase_rest::{Client, TextSearch};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client
///     .from("grants")
///     .select("*")
///     .text_search("fts", "arts fund", TextSearch::websearch().config("english"))
///     .build()
///     .unwrap();
/// assert_eq!(req.url().query(), Some("select=*&fts=wfts%28english%29.arts+fund"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextSearch {
    op: &'static str,
    config: Option<String>,
}

impl TextSearch {
    /// `to_tsquery`: the query is tsquery syntax (`'a' & 'b'`). The default.
    pub fn tsquery() -> Self {
        TextSearch {
            op: "fts",
            config: None,
        }
    }

    /// `plainto_tsquery`: plain words, all required.
    pub fn plain() -> Self {
        TextSearch {
            op: "plfts",
            config: None,
        }
    }

    /// `phraseto_tsquery`: the words as a phrase.
    pub fn phrase() -> Self {
        TextSearch {
            op: "phfts",
            config: None,
        }
    }

    /// `websearch_to_tsquery`: search-box syntax (`"a b" -c or d`).
    pub fn websearch() -> Self {
        TextSearch {
            op: "wfts",
            config: None,
        }
    }

    /// The text search configuration (language), e.g. `english`.
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = Some(config.into());
        self
    }

    pub(crate) fn operator(&self) -> String {
        let op = if self.op.is_empty() { "fts" } else { self.op };
        match &self.config {
            Some(c) => format!("{op}({c})"),
            None => op.to_owned(),
        }
    }
}

/// The value of an `is` filter.
///
/// ```
/// # use supabase_rest::{Client, Is};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client.from("user_interactions").select("*").is("notes", Is::Null).build().unwrap();
/// assert_eq!(req.url().query(), Some("select=*&notes=is.null"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Is {
    /// `IS NULL`
    Null,
    /// `IS NOT NULL` (PostgREST v13+; on older servers use `not("col", "is", "null")`).
    NotNull,
    /// `IS TRUE`
    True,
    /// `IS FALSE`
    False,
    /// `IS UNKNOWN`
    Unknown,
}

impl Is {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Is::Null => "null",
            Is::NotNull => "not_null",
            Is::True => "true",
            Is::False => "false",
            Is::Unknown => "unknown",
        }
    }
}

impl From<bool> for Is {
    fn from(b: bool) -> Self {
        if b {
            Is::True
        } else {
            Is::False
        }
    }
}

impl From<Option<bool>> for Is {
    fn from(b: Option<bool>) -> Self {
        b.map_or(Is::Null, Is::from)
    }
}

/// `<op>.<value>` for a top-level filter: the value is taken literally by PostgREST.
pub(crate) fn op_value(op: &str, value: &dyn FilterValue) -> String {
    let mut out = String::with_capacity(op.len() + 16);
    out.push_str(op);
    out.push('.');
    value.write_value(&mut out);
    out
}

/// `(a,"b,c")`: the list of an `in` filter, de-duplicated (first occurrence kept), each element
/// quoted when PostgREST's list grammar would otherwise misread it.
pub(crate) fn in_list<I, V>(values: I) -> String
where
    I: IntoIterator<Item = V>,
    V: FilterValue,
{
    let mut seen: Vec<String> = Vec::new();
    let mut scratch = String::new();
    for v in values {
        scratch.clear();
        v.write_value(&mut scratch);
        if !seen.contains(&scratch) {
            seen.push(scratch.clone());
        }
    }
    let mut out = String::with_capacity(2 + seen.iter().map(|s| s.len() + 3).sum::<usize>());
    out.push('(');
    for (i, v) in seen.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_list_element(&mut out, v);
    }
    out.push(')');
    out
}

/// Whether an `in` list element must be quoted. postgrest-js quotes only on `, ( )`; we also
/// quote `"` and `\` (which it sends broken) and leading/trailing whitespace (which PostgREST
/// would trim or misread).
fn needs_list_quotes(v: &str) -> bool {
    v.is_empty()
        || v.contains([',', '(', ')', '"', '\\'])
        || v.starts_with(char::is_whitespace)
        || v.ends_with(char::is_whitespace)
}

fn push_list_element(out: &mut String, v: &str) {
    if needs_list_quotes(v) {
        push_quoted(out, v);
    } else {
        out.push_str(v);
    }
}

/// A value inside an `or`/`and` tree: quoted (with escapes) unless it is a plain run that the
/// tree grammar reads back unchanged.
fn push_tree_value(out: &mut String, v: &str) {
    let plain = !v.is_empty()
        && !v.starts_with(char::is_whitespace)
        && !v.ends_with(char::is_whitespace)
        && !v.contains([',', '(', ')', '"', '\\', '{', '}']);
    if plain {
        out.push_str(v);
    } else {
        push_quoted(out, v);
    }
}

/// One condition of a logic tree, for [`Builder::where_`](crate::Builder::where_): leaves
/// compare a column, `and`/`or` group conditions, `not` negates. Values are quoted and escaped
/// by PostgREST's grammar, so any string round-trips; no hand-written `title.eq."a,b"`.
///
/// ```
/// # use supabase_rest::{Client, Cond, Is};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client
///     .from("grants")
///     .select("*")
///     .where_(Cond::or([
///         Cond::eq("title", "a,b"),
///         Cond::and([Cond::eq("status", "open"), Cond::is("funder", Is::Null)]),
///     ]))
///     .build()
///     .unwrap();
/// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
/// assert_eq!(pairs[1], ("or".into(), r#"(title.eq."a,b",and(status.eq.open,funder.is.null))"#.into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    negated: bool,
    kind: CondKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CondKind {
    /// `column.op.value`, the value already encoded for a tree.
    Leaf {
        column: String,
        op: String,
        value: String,
    },
    Group {
        all: bool,
        items: Vec<Cond>,
    },
}

macro_rules! cond_ops {
    ($($(#[$doc:meta])* $name:ident => $op:literal;)*) => {$(
        $(#[$doc])*
        pub fn $name(column: impl Into<String>, value: impl FilterValue) -> Cond {
            Cond::compare(column, $op, &value)
        }
    )*};
}

impl Cond {
    fn leaf(column: impl Into<String>, op: impl Into<String>, value: String) -> Cond {
        Cond {
            negated: false,
            kind: CondKind::Leaf {
                column: column.into(),
                op: op.into(),
                value,
            },
        }
    }

    fn compare(column: impl Into<String>, op: &str, value: &dyn FilterValue) -> Cond {
        let mut raw = String::new();
        value.write_value(&mut raw);
        let mut encoded = String::with_capacity(raw.len() + 2);
        push_tree_value(&mut encoded, &raw);
        Cond::leaf(column, op, encoded)
    }

    cond_ops! {
        /// `column = value`
        eq => "eq";
        /// `column <> value`
        neq => "neq";
        /// `column > value`
        gt => "gt";
        /// `column >= value`
        gte => "gte";
        /// `column < value`
        lt => "lt";
        /// `column <= value`
        lte => "lte";
        /// `column LIKE pattern`
        like => "like";
        /// `column ILIKE pattern`
        ilike => "ilike";
        /// `column ~ regex`
        regex_match => "match";
        /// `column ~* regex`
        regex_imatch => "imatch";
        /// `column IS DISTINCT FROM value`
        is_distinct => "isdistinct";
        /// `column << range`
        range_lt => "sl";
        /// `column >> range`
        range_gt => "sr";
        /// `column &> range`
        range_gte => "nxl";
        /// `column &< range`
        range_lte => "nxr";
        /// `column -|- range`
        range_adjacent => "adj";
    }

    /// `column IS NULL / TRUE / FALSE / UNKNOWN`
    pub fn is(column: impl Into<String>, value: impl Into<Is>) -> Cond {
        Cond::leaf(column, "is", value.into().as_str().to_owned())
    }

    /// `column IN (values)`
    pub fn in_<I, V>(column: impl Into<String>, values: I) -> Cond
    where
        I: IntoIterator<Item = V>,
        V: FilterValue,
    {
        Cond::leaf(column, "in", in_list(values))
    }

    /// `column @> operand`
    pub fn contains(column: impl Into<String>, operand: impl ArrayValue) -> Cond {
        Cond::operand(column, "cs", &operand)
    }

    /// `column <@ operand`
    pub fn contained_by(column: impl Into<String>, operand: impl ArrayValue) -> Cond {
        Cond::operand(column, "cd", &operand)
    }

    /// `column && operand`
    pub fn overlaps(column: impl Into<String>, operand: impl ArrayValue) -> Cond {
        Cond::operand(column, "ov", &operand)
    }

    /// Full-text search.
    pub fn text_search(
        column: impl Into<String>,
        query: impl FilterValue,
        search: TextSearch,
    ) -> Cond {
        Cond::compare(column, &search.operator(), &query)
    }

    fn operand(column: impl Into<String>, op: &str, operand: &dyn ArrayValue) -> Cond {
        let mut raw = String::new();
        operand.write_operand(&mut raw);
        let mut encoded = String::with_capacity(raw.len() + 2);
        push_tree_value(&mut encoded, &raw);
        Cond::leaf(column, op, encoded)
    }

    /// All of the conditions.
    pub fn and(items: impl IntoIterator<Item = Cond>) -> Cond {
        Cond {
            negated: false,
            kind: CondKind::Group {
                all: true,
                items: items.into_iter().collect(),
            },
        }
    }

    /// Any of the conditions.
    pub fn or(items: impl IntoIterator<Item = Cond>) -> Cond {
        Cond {
            negated: false,
            kind: CondKind::Group {
                all: false,
                items: items.into_iter().collect(),
            },
        }
    }

    /// The negation of this condition.
    #[allow(clippy::should_implement_trait)]
    pub fn not(mut self) -> Cond {
        self.negated = !self.negated;
        self
    }

    /// Writes the condition as it appears inside a tree.
    fn write_nested(&self, out: &mut String) {
        match &self.kind {
            CondKind::Leaf { column, op, value } => {
                out.push_str(column);
                out.push('.');
                if self.negated {
                    out.push_str("not.");
                }
                out.push_str(op);
                out.push('.');
                out.push_str(value);
            }
            CondKind::Group { all, items } => {
                if self.negated {
                    out.push_str("not.");
                }
                out.push_str(if *all { "and" } else { "or" });
                write_items(out, items);
            }
        }
    }

    /// The query pair this condition becomes at the top level, its key prefixed by
    /// `referenced_table.` when given.
    pub(crate) fn to_pair(&self, referenced_table: Option<&str>) -> (String, String) {
        let prefix = referenced_table
            .map(|t| format!("{t}."))
            .unwrap_or_default();
        match &self.kind {
            CondKind::Group { all, items } => {
                let mut key = prefix;
                if self.negated {
                    key.push_str("not.");
                }
                key.push_str(if *all { "and" } else { "or" });
                let mut value = String::new();
                write_items(&mut value, items);
                (key, value)
            }
            CondKind::Leaf { column, .. } => {
                // A single comparison is an `and` of one: the tree grammar keeps its quoting.
                let mut value = String::new();
                write_items(&mut value, std::slice::from_ref(self));
                let _ = column;
                (format!("{prefix}and"), value)
            }
        }
    }
}

fn write_items(out: &mut String, items: &[Cond]) {
    out.push('(');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item.write_nested(out);
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_list_quotes_and_escapes() {
        let got = in_list([
            "a,b", "c(d)", "e)f", "g\"h", "i j", "plain", "x\\y", " lead",
        ]);
        assert_eq!(
            got,
            r#"("a,b","c(d)","e)f","g\"h",i j,plain,"x\\y"," lead")"#
        );
    }

    #[test]
    fn in_list_deduplicates_and_handles_empty() {
        assert_eq!(in_list([1, 1, 2, 2]), "(1,2)");
        assert_eq!(in_list(Vec::<i32>::new()), "()");
        assert_eq!(in_list([""]), r#"("")"#);
    }

    #[test]
    fn null_elements_are_bare_null_and_the_text_null_stays_quoted() {
        let mut out = String::new();
        pg_array(&mut out, [Some(true), Some(false), None].iter());
        assert_eq!(out, "{true,false,NULL}");
        out.clear();
        pg_array(&mut out, ["null", "NULL", "x"].iter());
        assert_eq!(out, r#"{"null","NULL",x}"#);
        out.clear();
        let json = serde_json::json!([1, null, "null"]);
        pg_array(&mut out, json.as_array().into_iter().flatten());
        assert_eq!(out, r#"{1,NULL,"null"}"#);
    }

    #[test]
    fn dates_and_times_as_postgresql_reads_them() {
        use chrono::{NaiveDate, TimeZone, Utc};
        let date = NaiveDate::from_ymd_opt(2024, 5, 31).unwrap();
        let at = date.and_hms_milli_opt(8, 30, 0, 250).unwrap();
        let mut out = String::new();
        date.write_value(&mut out);
        out.push('|');
        at.write_value(&mut out);
        out.push('|');
        at.time().write_value(&mut out);
        out.push('|');
        Utc.from_utc_datetime(&date.and_hms_opt(8, 30, 0).unwrap())
            .write_value(&mut out);
        assert_eq!(
            out,
            "2024-05-31|2024-05-31T08:30:00.250|08:30:00.250|2024-05-31T08:30:00+00:00"
        );
    }

    #[test]
    fn field_names_quoted_only_where_the_grammar_needs_it() {
        let ok = |n: &str| field_name(n).unwrap().into_owned();
        assert_eq!(ok("display name"), "display name");
        assert_eq!(ok("tags.name"), "tags.name");
        assert_eq!(ok("data->>key"), "data->>key");
        assert_eq!(ok("col:name"), r#""col:name""#);
        assert_eq!(ok("a,b"), r#""a,b""#);
        assert_eq!(ok("section(name)"), "section(name)");
        assert_eq!(ok("tags.my:col"), r#"tags."my:col""#);
        assert_eq!(ok(r#""already:quoted""#), r#""already:quoted""#);
        assert!(field_name("cost::text").is_err());
        assert!(field_name(r#"a"b:c"#).is_err());
    }

    #[test]
    fn json_values_as_filter_text() {
        let mut out = String::new();
        serde_json::json!("text").write_value(&mut out);
        serde_json::json!(1.5).write_value(&mut out);
        serde_json::json!(null).write_value(&mut out);
        assert_eq!(out, "text1.5null");
    }
}
