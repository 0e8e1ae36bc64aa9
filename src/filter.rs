//! Filter operators and the exact encoding of their values.
//!
//! Two layers of encoding meet here:
//! 1. PostgREST's own grammar inside a value: a top-level `eq.<value>` is taken literally, but an
//!    element of an `in.(...)` list must be double-quoted when it holds `,` `(` `)` `"` `\` or
//!    surrounding whitespace, with `"` and `\` escaped by a backslash.
//! 2. The query string itself, written as `application/x-www-form-urlencoded` the way the
//!    JavaScript client's `URLSearchParams` does it: space as `+`, `*-._` and ASCII alphanumerics
//!    bare, every other byte percent-encoded. PostgREST decodes `+` as a space, so a literal `+`
//!    must go out as `%2B`, which this does.

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
}

impl<T: FilterValue + ?Sized> FilterValue for &T {
    fn write_value(&self, out: &mut String) {
        (**self).write_value(out);
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
    if !needs_list_quotes(v) {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A `select` column list as postgrest-js sends it: whitespace outside double quotes removed.
pub(crate) fn clean_columns(columns: &str) -> String {
    let mut out = String::with_capacity(columns.len());
    let mut quoted = false;
    for c in columns.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if quoted || !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Appends `s` form-urlencoded (WHATWG `application/x-www-form-urlencoded` serializer).
pub(crate) fn form_encode(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0x0f)] as char);
            }
        }
    }
}

/// Encodes query pairs in order.
pub(crate) fn encode_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        form_encode(&mut out, k);
        out.push('=');
        form_encode(&mut out, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        let mut out = String::new();
        form_encode(&mut out, s);
        out
    }

    #[test]
    fn form_encoding_matches_url_search_params() {
        assert_eq!(enc("user_id,grant_id"), "user_id%2Cgrant_id");
        assert_eq!(enc("a b+c"), "a+b%2Bc");
        assert_eq!(enc("*-._~"), "*-._%7E");
        assert_eq!(enc("ü😀"), "%C3%BC%F0%9F%98%80");
        assert_eq!(enc("\"x\":(y)"), "%22x%22%3A%28y%29");
    }

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
    fn columns_lose_whitespace_outside_quotes() {
        assert_eq!(clean_columns("id, tags ( name )"), "id,tags(name)");
        assert_eq!(clean_columns("\"my col\", b"), "\"my col\",b");
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
