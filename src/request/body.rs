//! Serializing a JSON body once, and the facts about it that a request needs (the `columns` of
//! a bulk body), without building a `serde_json::Value` or scanning the bytes again.
//!
//! [`to_json`] writes with `serde_json` through [`Observer`], a [`Formatter`] that hands every
//! write to `CompactFormatter` (so the bytes are exactly `serde_json::to_vec`'s) and notes on the
//! way the keys of the objects inside a top-level array. It sees the JSON being written, not the
//! Rust values, so structs, maps, enums and flattened fields all look alike to it. What it cannot
//! read exactly (a map key written as a number, a raw JSON fragment) falls back to
//! [`array_columns`], a scan of the bytes.

use std::cell::Cell;
use std::fmt::Display;
use std::io;

use serde::ser::{Serialize, Serializer};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use crate::error::{Error, Result};

/// A serialized body and its `columns` (see [`array_columns`]), or the error that forbids them.
pub(crate) struct JsonBody {
    pub(crate) bytes: Vec<u8>,
    pub(crate) columns: Result<Option<String>>,
}

/// Serializes `value` as `serde_json::to_vec` does, noting the keys of a top-level array's
/// objects on the way. For an array whose length is known, the buffer is sized once from the
/// first elements instead of doubling (less copying, and a peak near the body's own size).
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<JsonBody> {
    let (bytes, keys) = write(value)?;
    let columns = match keys {
        Some(keys) => columns_param(keys.iter().map(String::as_str)),
        None => array_columns(&bytes),
    };
    Ok(JsonBody { bytes, columns })
}

/// The bytes of `value`, and the keys of its top-level array's objects in first-seen order
/// (`None` when they could not be read exactly).
fn write<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<(Vec<u8>, Option<Vec<String>>)> {
    let progress = Progress::default();
    let mut observer = Observer {
        progress: &progress,
        depth: 0,
        top_array: false,
        key: Key::None,
        text: String::new(),
        keys: Keys::default(),
        fallback: false,
    };
    let sink = Sink {
        // As serde_json::to_vec starts: the seed's row (two uuids and an action) fits, and a
        // larger start measured slower for it (`benches/request_build.rs`).
        buf: Vec::with_capacity(128),
        progress: &progress,
    };
    let mut ser = serde_json::Serializer::with_formatter(sink, &mut observer);
    value.serialize(Top {
        inner: &mut ser,
        progress: &progress,
    })?;
    let mut bytes = ser.into_inner().buf;
    // A first element much larger than the rest can leave a large reservation unused.
    let spare = bytes.capacity() - bytes.len();
    if spare > 64 * 1024 && spare > bytes.len() / 4 {
        bytes.shrink_to_fit();
    }
    Ok((bytes, (!observer.fallback).then_some(observer.keys.list)))
}

/// How far serialization of a top-level array has come; read by [`Sink`] when it must grow.
#[derive(Default)]
struct Progress {
    /// Elements the array will have (0: unknown or not an array).
    total: Cell<usize>,
    /// Elements written so far.
    done: Cell<usize>,
}

/// `serde_json`'s output buffer. When it must grow during a top-level array of known length, it
/// reserves for the whole array at the average size of the elements written so far (plus 1/8),
/// once.
struct Sink<'p> {
    buf: Vec<u8>,
    progress: &'p Progress,
}

impl Sink<'_> {
    #[cold]
    fn grow(&mut self, needed: usize) {
        let total = self.progress.total.get();
        let done = self.progress.done.get();
        // Wait for a few elements so that their average is a fair guess; the element being
        // written counts as half done.
        if total > done && done >= 8 {
            self.progress.total.set(0); // once
            let len = self.buf.len();
            let average = len.saturating_mul(2) / (done * 2 + 1);
            let estimate = average.saturating_mul(total);
            let estimate = estimate.saturating_add(estimate / 8);
            if estimate > len + needed && self.buf.try_reserve_exact(estimate - len).is_ok() {
                return;
            }
        }
        self.buf.reserve(needed);
    }
}

impl io::Write for Sink<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.capacity() - self.buf.len() < bytes.len() {
            self.grow(bytes.len());
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The keys seen so far, in first-seen order.
#[derive(Default)]
struct Keys {
    list: Vec<String>,
    /// Where the current element's next key most likely sits in `list` (elements of one type
    /// write the same keys in the same order, so this is usually the only comparison).
    cursor: usize,
}

impl Keys {
    #[inline]
    fn note(&mut self, key: &str) {
        if self.list.get(self.cursor).is_some_and(|k| k == key) {
            self.cursor += 1;
            return;
        }
        match self.list.iter().position(|k| k == key) {
            Some(at) => self.cursor = at + 1,
            None => {
                self.list.push(key.to_owned());
                self.cursor = self.list.len();
            }
        }
    }
}

/// The `columns` value: each key in double quotes, comma-separated; `None` without keys.
fn columns_param<'k>(keys: impl Iterator<Item = &'k str> + Clone) -> Result<Option<String>> {
    let mut out = String::with_capacity(keys.clone().map(|k| k.len() + 3).sum());
    for (n, key) in keys.enumerate() {
        if key.contains('"') {
            return Err(Error::invalid(
                "a column name in a bulk body contains a double quote, which PostgREST's columns parameter cannot express",
            ));
        }
        if n > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(key);
        out.push('"');
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Follows the JSON as `serde_json` writes it, collecting the keys of the objects that are
/// elements of a top-level array (depth 2), and counting those elements for [`Sink`].
struct Observer<'p> {
    progress: &'p Progress,
    /// Arrays and objects open around the current write.
    depth: usize,
    /// The top-level value is an array: only then are keys at depth 2 columns.
    top_array: bool,
    /// How much is known of the element key being written.
    key: Key,
    /// The unescaped text of that key, once it is not simply the expected next key.
    text: String,
    keys: Keys,
    /// Something was written that this cannot read exactly: scan the bytes instead.
    fallback: bool,
}

impl Observer<'_> {
    /// The innermost open value is an element of the top-level array.
    #[inline]
    fn in_element(&self) -> bool {
        self.depth == 2 && self.top_array
    }

    /// A write that is not string text: inside a key (a number or `true` as a map key,
    /// converted by `serde_json`'s own rules), the key is not known exactly.
    #[inline]
    fn not_text(&mut self) {
        if self.key != Key::None {
            self.fallback = true;
        }
    }

    /// A piece of string text. Inside an element's key, it is first compared with the key
    /// expected next (the common case, without a copy), else collected. (`inline(always)`,
    /// like `same` and `write_string_fragment`: this runs for every string, and LLVM's choice
    /// to call it out of line cost as much as the rest of the observer.)
    #[inline(always)]
    fn key_piece(&mut self, s: &str) {
        match self.key {
            Key::None => {}
            Key::Start
                if self
                    .keys
                    .list
                    .get(self.keys.cursor)
                    .is_some_and(|k| same(k, s)) =>
            {
                self.key = Key::Expected;
            }
            _ => self.collect_key(s),
        }
    }

    /// The rest of [`Self::key_piece`]: the key is not simply the expected one (or not yet
    /// known to be: a key with escapes comes in several pieces).
    #[inline(never)]
    fn collect_key(&mut self, s: &str) {
        match self.key {
            Key::Start => self.text.clear(),
            Key::Expected => {
                self.text.clear();
                let expected = self.keys.list.get(self.keys.cursor);
                self.text.push_str(expected.map_or("", String::as_str));
            }
            Key::None | Key::Text => {}
        }
        self.text.push_str(s);
        self.key = Key::Text;
    }
}

/// `a == b` without a call to `memcmp`, which is a measurable part of a row's cost: keys are
/// short, and two overlapping 8- or 4-byte comparisons cover any length from 4 to 16.
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && match a.len() {
            8..=16 => {
                a.first_chunk::<8>() == b.first_chunk::<8>()
                    && a.last_chunk::<8>() == b.last_chunk::<8>()
            }
            4..=7 => {
                a.first_chunk::<4>() == b.first_chunk::<4>()
                    && a.last_chunk::<4>() == b.last_chunk::<4>()
            }
            _ => a == b,
        }
}

/// The state of an element's key being written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    /// No element key is being written.
    None,
    /// An element key is open; no text yet.
    Start,
    /// The text so far is the key expected next (`Keys::list[Keys::cursor]`).
    Expected,
    /// The text so far is in `Observer::text`.
    Text,
}

/// The character a JSON escape stands for.
fn unescape(escape: &CharEscape) -> char {
    match escape {
        CharEscape::Quote => '"',
        CharEscape::ReverseSolidus => '\\',
        CharEscape::Solidus => '/',
        CharEscape::Backspace => '\u{8}',
        CharEscape::FormFeed => '\u{c}',
        CharEscape::LineFeed => '\n',
        CharEscape::CarriageReturn => '\r',
        CharEscape::Tab => '\t',
        CharEscape::AsciiControl(byte) => char::from(*byte),
    }
}

/// Formatter methods that write a value other than string text: noted by
/// [`Observer::not_text`], then written by `CompactFormatter`.
macro_rules! not_text {
    ($($method:ident($($v:ident: $ty:ty)?);)*) => {$(
        #[inline]
        fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $v: $ty)?) -> io::Result<()> {
            self.not_text();
            CompactFormatter.$method(w $(, $v)?)
        }
    )*};
}

/// Formatter methods this need not see: written by `CompactFormatter`.
macro_rules! compact {
    ($($method:ident($($v:ident: $ty:ty)?);)*) => {$(
        #[inline]
        fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $v: $ty)?) -> io::Result<()> {
            CompactFormatter.$method(w $(, $v)?)
        }
    )*};
}

impl Formatter for &mut Observer<'_> {
    not_text! {
        write_null(); write_bool(v: bool);
        write_i8(v: i8); write_i16(v: i16); write_i32(v: i32); write_i64(v: i64);
        write_i128(v: i128); write_u8(v: u8); write_u16(v: u16); write_u32(v: u32);
        write_u64(v: u64); write_u128(v: u128); write_f32(v: f32); write_f64(v: f64);
        write_number_str(v: &str); write_byte_array(v: &[u8]);
    }

    compact! {
        begin_string(); end_string(); begin_array_value(first: bool);
        begin_object_value(); end_object_value();
    }

    #[inline(always)]
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        s: &str,
    ) -> io::Result<()> {
        self.key_piece(s);
        CompactFormatter.write_string_fragment(w, s)
    }

    #[inline]
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        if self.key != Key::None {
            self.key_piece(unescape(&escape).encode_utf8(&mut [0; 4]));
        }
        CompactFormatter.write_char_escape(w, escape)
    }

    /// A `RawValue`: JSON this did not see being built.
    fn write_raw_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        self.fallback = true;
        CompactFormatter.write_raw_fragment(w, s)
    }

    #[inline]
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.not_text();
        self.top_array |= self.depth == 0;
        self.depth += 1;
        CompactFormatter.begin_array(w)
    }

    #[inline]
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        CompactFormatter.end_array(w)
    }

    #[inline]
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        // Only the top-level array's values end at depth 1.
        if self.depth == 1 {
            self.progress.done.set(self.progress.done.get() + 1);
        }
        CompactFormatter.end_array_value(w)
    }

    #[inline]
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.not_text();
        self.depth += 1;
        if self.in_element() {
            self.keys.cursor = 0;
        }
        CompactFormatter.begin_object(w)
    }

    #[inline]
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        CompactFormatter.end_object(w)
    }

    #[inline]
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if self.in_element() {
            self.key = Key::Start;
        }
        CompactFormatter.begin_object_key(w, first)
    }

    #[inline]
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        match std::mem::replace(&mut self.key, Key::None) {
            Key::None => {}
            Key::Start => self.keys.note(""),
            Key::Expected => self.keys.cursor += 1,
            Key::Text => self.keys.note(&self.text),
        }
        CompactFormatter.end_object_key(w)
    }
}

/// Methods of [`Serializer`] that [`Top`] hands to `serde_json` as they are.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ok:ty;)*) => {$(
        fn $method(self $(, $arg: $ty)*) -> std::result::Result<$ok, S::Error> {
            self.inner.$method($($arg),*)
        }
    )*};
}

/// The top-level value's serializer, there only to tell [`Sink`] how many elements a top-level
/// array will have (no formatter callback carries the length). Everything below the top level
/// is written by `serde_json` directly.
struct Top<'p, S> {
    inner: S,
    progress: &'p Progress,
}

impl<S: Serializer> Serializer for Top<'_, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = S::SerializeStructVariant;

    forward! {
        serialize_bool(v: bool) -> S::Ok;
        serialize_i8(v: i8) -> S::Ok;
        serialize_i16(v: i16) -> S::Ok;
        serialize_i32(v: i32) -> S::Ok;
        serialize_i64(v: i64) -> S::Ok;
        serialize_i128(v: i128) -> S::Ok;
        serialize_u8(v: u8) -> S::Ok;
        serialize_u16(v: u16) -> S::Ok;
        serialize_u32(v: u32) -> S::Ok;
        serialize_u64(v: u64) -> S::Ok;
        serialize_u128(v: u128) -> S::Ok;
        serialize_f32(v: f32) -> S::Ok;
        serialize_f64(v: f64) -> S::Ok;
        serialize_char(v: char) -> S::Ok;
        serialize_str(v: &str) -> S::Ok;
        serialize_bytes(v: &[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(name: &'static str) -> S::Ok;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> S::Ok;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize)
            -> S::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> S::SerializeMap;
        serialize_struct(name: &'static str, len: usize) -> S::SerializeStruct;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize)
            -> S::SerializeStructVariant;
    }

    fn serialize_seq(self, len: Option<usize>) -> std::result::Result<S::SerializeSeq, S::Error> {
        self.progress.total.set(len.unwrap_or(0));
        self.inner.serialize_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> std::result::Result<S::SerializeTuple, S::Error> {
        self.progress.total.set(len);
        self.inner.serialize_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> std::result::Result<S::SerializeTupleStruct, S::Error> {
        self.progress.total.set(len);
        self.inner.serialize_tuple_struct(name, len)
    }

    // serde_json writes `Some(x)` and a newtype struct as `x`: the array may be inside.
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> std::result::Result<S::Ok, S::Error> {
        v.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.inner
            .serialize_newtype_variant(name, index, variant, v)
    }

    fn collect_str<T: Display + ?Sized>(self, v: &T) -> std::result::Result<S::Ok, S::Error> {
        self.inner.collect_str(v)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// For a top-level JSON array of objects, the `columns` parameter postgrest-js sends: the union
/// of the objects' keys in first-seen order, each in double quotes, comma-separated. `None` for
/// a single object, a scalar, or an array without keys (`[]`).
///
/// `body` must be valid JSON as `serde_json` writes it.
pub(crate) fn array_columns(body: &[u8]) -> Result<Option<String>> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    if start.map(|i| body[i]) != Some(b'[') {
        return Ok(None);
    }
    let mut keys: Vec<String> = Vec::new();
    // Depth 1 = inside the top array; depth 2 = inside one of its elements.
    let mut depth = 0usize;
    let mut element_is_object = false;
    let mut expect_key = false;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let end = string_end(body, i)?;
                if depth == 2 && element_is_object && expect_key {
                    let key = key_text(&body[i..=end])?;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                    expect_key = false;
                }
                i = end;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth == 2 {
                    element_is_object = body[i] == b'{';
                    expect_key = element_is_object;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 2 && element_is_object => expect_key = true,
            _ => {}
        }
        i += 1;
    }
    columns_param(keys.iter().map(String::as_str))
}

/// Index of the closing quote of the string that opens at `start`.
fn string_end(body: &[u8], start: usize) -> Result<usize> {
    let mut i = start + 1;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i),
            _ => i += 1,
        }
    }
    Err(Error::invalid(
        "body is not valid JSON (unterminated string)",
    ))
}

/// The text of a quoted JSON key (with its quotes).
fn key_text(quoted: &[u8]) -> Result<String> {
    let inner = &quoted[1..quoted.len() - 1];
    if !inner.contains(&b'\\') {
        return std::str::from_utf8(inner)
            .map(str::to_owned)
            .map_err(|_| Error::invalid("body is not valid UTF-8"));
    }
    serde_json::from_slice(quoted).map_err(|_| Error::invalid("body has an invalid JSON key"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cols(v: serde_json::Value) -> Option<String> {
        array_columns(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    #[test]
    fn union_of_keys_in_first_seen_order() {
        let v = json!([
            {"user_id": "u1", "grant_id": "g1", "action": "saved"},
            {"user_id": "u1", "grant_id": "g2", "action": "applied", "notes": "sent"},
            {"grant_id": "g3", "user_id": "u2", "status_note": null}
        ]);
        assert_eq!(
            cols(v).unwrap(),
            r#""user_id","grant_id","action","notes","status_note""#
        );
    }

    #[test]
    fn nested_values_do_not_leak_keys() {
        let v = json!([{"a": {"inner": 1}, "b": ["x", {"deep": 2}], "c": "k\"ey,:{"}, [1, "z"], 3]);
        assert_eq!(cols(v).unwrap(), r#""a","b","c""#);
    }

    #[test]
    fn no_columns_for_objects_scalars_and_empty_arrays() {
        assert_eq!(cols(json!({"a": 1})), None);
        assert_eq!(cols(json!([])), None);
        assert_eq!(cols(json!([{}])), None);
        assert_eq!(cols(json!("x")), None);
    }

    /// `to_json` must write `serde_json::to_vec`'s bytes and find the columns the byte scan finds.
    fn same_as_scan<T: Serialize + ?Sized>(value: &T) -> Option<String> {
        let expected = serde_json::to_vec(value).unwrap();
        let got = to_json(value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got.bytes),
            String::from_utf8_lossy(&expected)
        );
        let scanned = array_columns(&expected);
        match (&got.columns, &scanned) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", String::from_utf8_lossy(&expected)),
            (Err(_), Err(_)) => {}
            _ => panic!(
                "observer {:?} vs scan {:?} for {}",
                got.columns.is_ok(),
                scanned.is_ok(),
                String::from_utf8_lossy(&expected)
            ),
        }
        got.columns.ok().flatten()
    }

    #[derive(serde::Serialize)]
    struct Row<'a> {
        user_id: u32,
        #[serde(rename = "grant")]
        grant_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<&'a str>,
    }

    #[derive(serde::Serialize)]
    struct Flat {
        id: u8,
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, u8>,
    }

    #[derive(serde::Serialize)]
    struct Wrapper(Row<'static>);

    #[derive(serde::Serialize)]
    struct Pair(u8, Row<'static>);

    #[derive(serde::Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Struct { a: u8 },
        Tuple(u8, u8),
    }

    #[test]
    fn observer_matches_the_byte_scan() {
        let r = |n: u32, notes: Option<&'static str>| Row {
            user_id: n,
            grant_id: "g,\"x\"",
            notes,
        };
        assert_eq!(
            same_as_scan(&[r(1, None), r(2, Some("n")), r(3, None)]).unwrap(),
            r#""user_id","grant","notes""#
        );
        assert_eq!(same_as_scan(&r(1, Some("a"))), None);
        assert_eq!(same_as_scan(&Vec::<Row<'_>>::new()), None);
        same_as_scan(&[Some(r(1, None)), None]);
        same_as_scan(&(r(1, None), 5, "x", r(2, Some("b"))));
        same_as_scan(&Pair(1, r(2, None)));
        same_as_scan(&[Wrapper(r(1, Some("w")))]);
        same_as_scan(&Some(vec![r(1, None)]));
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("z".to_owned(), 1);
        extra.insert("a\"b".to_owned(), 2);
        same_as_scan(&[Flat {
            id: 1,
            extra: extra.clone(),
        }]);
        extra.remove("a\"b");
        assert_eq!(
            same_as_scan(&[Flat { id: 1, extra }]).unwrap(),
            r#""id","z""#
        );
        same_as_scan(&[
            Shape::Unit,
            Shape::Newtype(1),
            Shape::Struct { a: 1 },
            Shape::Tuple(1, 2),
        ]);
        same_as_scan(&[Shape::Unit]);
        same_as_scan(&Shape::Struct { a: 1 });
        let mut by_number = std::collections::BTreeMap::new();
        by_number.insert(7, "seven");
        same_as_scan(&[by_number.clone()]);
        same_as_scan(&[[by_number]]);
        same_as_scan(
            &json!([{"a": {"inner": 1}, "b": ["x", {"deep": 2}], "c": "k\"ey,:{"}, [1, "z"], 3, {"d": null, "a": 0}]),
        );
        same_as_scan(&json!([{"a\\b": 1, "é": 2, "new\nline": 3}]));
        same_as_scan(&json!([{"a\"b": 1}]));
        same_as_scan(&json!([{}, {}]));
        same_as_scan(&json!([[{"a": 1}]]));
        same_as_scan(&json!({"a": [{"b": 1}]}));
        same_as_scan(&json!("text"));
        same_as_scan(&json!(null));
        same_as_scan(&[1u8, 2, 3]);
    }

    #[test]
    fn large_arrays_are_sized_once_and_written_exactly() {
        let rows: Vec<Row<'_>> = (0..5_000)
            .map(|n| Row {
                user_id: n,
                grant_id: "a grant",
                notes: (n % 7 == 0).then_some("some notes"),
            })
            .collect();
        let body = to_json(&rows).unwrap();
        assert_eq!(body.bytes, serde_json::to_vec(&rows).unwrap());
        assert!(
            body.bytes.capacity() < body.bytes.len() / 4 * 5,
            "{}",
            body.bytes.capacity()
        );
        // A first element far larger than the rest: the spare reservation is given back.
        let big = "x".repeat(100_000);
        let mut skewed = vec![Row {
            user_id: 0,
            grant_id: &big,
            notes: None,
        }];
        skewed.extend((1..100).map(|n| Row {
            user_id: n,
            grant_id: "g",
            notes: None,
        }));
        let body = to_json(&skewed).unwrap();
        assert_eq!(body.bytes, serde_json::to_vec(&skewed).unwrap());
        assert!(body.bytes.capacity() <= body.bytes.len() + 64 * 1024);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        #[test]
        fn observer_matches_the_byte_scan_on_any_json(value in json_value()) {
            same_as_scan(&value);
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("id".to_owned()),
            Just("user_id".to_owned()),
            Just("a\"q".to_owned()),
            "[a-z\\\\\n é,]{0,6}",
        ];
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[ -~é\n]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn escaped_keys_are_unescaped_and_quotes_rejected() {
        assert_eq!(
            cols(json!([{"a\\b": 1, "é": 2}])).unwrap(),
            "\"a\\b\",\"é\""
        );
        let body = serde_json::to_vec(&json!([{"a\"b": 1}])).unwrap();
        assert!(array_columns(&body).is_err());
    }

    /// The keys are read from the formatter, not from the byte scan, for what serializes as
    /// plain objects: derived structs (with skipped and flattened fields), maps, enums.
    #[test]
    fn common_shapes_need_no_byte_scan() {
        fn observed<T: Serialize + ?Sized>(value: &T) -> Option<Vec<String>> {
            write(value).unwrap().1
        }
        let row = |n| Row {
            user_id: n,
            grant_id: "g",
            notes: (n == 2).then_some("n"),
        };
        assert_eq!(
            observed(&[row(1), row(2), row(3)]),
            Some(vec!["user_id".into(), "grant".into(), "notes".into()])
        );
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("z\tq".to_owned(), 1);
        assert_eq!(
            observed(&[Flat { id: 1, extra }]),
            Some(vec!["id".into(), "z\tq".into()])
        );
        assert!(observed(&[Shape::Struct { a: 1 }, Shape::Newtype(1)]).is_some());
        assert!(observed(&json!([{"a\"b": {"c": [1, {"d": 2}]}}, "x"])).is_some());
        assert_eq!(observed(&json!({"a": 1})), Some(vec![]));
        // Map keys that serde_json writes from numbers or booleans: the scan reads them.
        let mut by_bool = std::collections::BTreeMap::new();
        by_bool.insert(true, 1);
        assert_eq!(observed(&[by_bool.clone()]), None);
        assert_eq!(same_as_scan(&[by_bool]).unwrap(), r#""true""#);
    }

    /// serde_json's `raw_value` feature is on in tests (axum, a dev-dependency, enables it):
    /// a raw fragment anywhere sends the body to the byte scan.
    #[test]
    fn raw_values_fall_back_to_the_byte_scan() {
        use serde_json::value::RawValue;
        let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();

        #[derive(serde::Serialize)]
        struct WithRaw {
            id: u8,
            extra: Box<RawValue>,
        }

        let rows = [
            WithRaw {
                id: 1,
                extra: raw(r#"{"x":[{"y":1}]}"#),
            },
            WithRaw {
                id: 2,
                extra: raw("null"),
            },
        ];
        assert_eq!(write(&rows).unwrap().1, None);
        assert_eq!(same_as_scan(&rows).unwrap(), r#""id","extra""#);
        let elements = [raw(r#"{"a":1,"b":{"c":2}}"#), raw(r#"{"d":[]}"#)];
        assert_eq!(same_as_scan(&elements).unwrap(), r#""a","b","d""#);
        assert_eq!(
            same_as_scan(&raw(r#"[{"k":1},{"j":2,"k":3}]"#)).unwrap(),
            r#""k","j""#
        );
        assert_eq!(same_as_scan(&(raw("[1]"), 2)), None);
        let quoted = [raw(r#"{"a\"b":1}"#)];
        assert!(to_json(&quoted).unwrap().columns.is_err());
        same_as_scan(&quoted);
    }
}
