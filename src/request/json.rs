//! Writing a request body as JSON: [`write`] serializes any `Serialize` value to exactly the
//! bytes `serde_json::to_vec` writes (compact; the same escapes; numbers formatted by
//! `serde_json`'s own `CompactFormatter`), and notes on the way the keys of the objects in a
//! top-level array, which become a bulk body's `columns`.
//!
//! Why not `serde_json::Serializer`: it reads every string one byte at a time to find what needs
//! escaping, which was two thirds of a bulk body's cost, and it gives a `Formatter` no way to
//! see keys short of following every string it writes. [`Writer`] scans strings eight bytes at
//! a time and sees each key as the key it is (a struct field's name, a map key).

use std::fmt::{self, Display};

use serde::ser::{self, Error as _, Impossible, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

type Error = serde_json::Error;
type Result<T> = std::result::Result<T, Error>;

/// The names `serde_json` gives the structs that carry already-written JSON: a `RawValue`
/// (feature `raw_value`, which this crate enables) and, with `arbitrary_precision`, a number's
/// digits. Their one field is written as it is, as `serde_json` does.
const RAW_TOKENS: [&str; 2] = [
    "$serde_json::private::RawValue",
    "$serde_json::private::Number",
];

/// The bytes of `value`, and the keys of its top-level array's objects in first-seen order:
/// `None` when a raw JSON fragment stood where such a key could be (the caller then reads the
/// bytes instead).
pub(crate) fn write<T: Serialize + ?Sized>(value: &T) -> Result<(Vec<u8>, Option<Vec<String>>)> {
    let mut writer = Writer {
        // The seed's row (two uuids and an action) fits; a larger start measured slower for it
        // (`benches/request_build.rs`).
        buf: Vec::with_capacity(128),
        open: 0,
        top_array: false,
        total: 0,
        done: 0,
        keys: Keys::default(),
        exact: true,
    };
    value.serialize(&mut writer)?;
    let Writer {
        mut buf,
        keys,
        exact,
        ..
    } = writer;
    // A first element much larger than the rest can leave a large reservation unused.
    let spare = buf.capacity() - buf.len();
    if spare > 64 * 1024 && spare > buf.len() / 4 {
        buf.shrink_to_fit();
    }
    Ok((buf, exact.then_some(keys.list)))
}

/// The serializer: the output, and where in the value it is.
struct Writer {
    buf: Vec<u8>,
    /// Arrays and objects open around what is being written.
    open: usize,
    /// The outermost value is an array: the objects directly in it are rows.
    top_array: bool,
    /// Elements the top-level array will have (0: unknown), and how many are written: after a
    /// few, the buffer is sized once for the whole array from their average (plus 1/8), instead
    /// of doubling (less copying, and a peak near the body's own size).
    total: usize,
    done: usize,
    keys: Keys,
    /// No raw fragment stood where a row or the whole value was.
    exact: bool,
}

impl Writer {
    /// The next value is a row: an element of the top-level array.
    #[inline]
    fn at_row(&self) -> bool {
        self.open == 1 && self.top_array
    }

    /// Opens an array or object; returns whether it is a row.
    #[inline]
    fn open(&mut self, byte: u8) -> bool {
        let row = self.at_row();
        self.open += 1;
        self.buf.push(byte);
        row
    }

    /// Closes as many arrays and objects as `bytes` has bytes (`]`, or `]}` for the array of
    /// a tuple variant and its object).
    #[inline]
    fn close(&mut self, bytes: &[u8]) {
        self.open -= bytes.len();
        self.buf.extend_from_slice(bytes);
    }

    /// A top-level element is written.
    #[inline]
    fn row_done(&mut self) {
        self.done += 1;
        if self.done == 8 && self.total > self.done {
            let len = self.buf.len();
            // Saturating: `total` is what the value's `Serialize` says, which may be anything.
            let estimate = (len / self.done).saturating_mul(self.total);
            let estimate = estimate.saturating_add(estimate / 8);
            if estimate > self.buf.capacity() {
                // Only a guess: if memory is short, doubling takes over.
                let _ = self.buf.try_reserve_exact(estimate - len);
            }
        }
    }

    /// `"s"`, escaped as `serde_json` escapes.
    #[inline]
    fn string(&mut self, s: &str) {
        self.buf.reserve(s.len() + 2);
        self.buf.push(b'"');
        escape_into(&mut self.buf, s);
        self.buf.push(b'"');
    }

    /// `"variant":`, opening the object around an enum variant's content.
    fn variant_key(&mut self, variant: &'static str) {
        if self.open(b'{') {
            self.keys.start_row();
            self.keys.note(variant);
        }
        self.string(variant);
        self.buf.push(b':');
    }

    /// A number by `CompactFormatter` (writing to a `Vec` cannot fail).
    #[inline]
    fn number(&mut self, write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<()> {
        write(&mut self.buf).map_err(Error::io)
    }
}

/// Appends the text of `s` as a JSON string's contents: `"`, `\` and the control characters
/// escaped exactly as `serde_json` escapes them (`\n` and the like where JSON has a short form,
/// else `\u00xx` in lower case), everything else as it is.
#[inline]
fn escape_into(buf: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    while let Some(at) = first_escape(rest) {
        buf.extend_from_slice(&rest[..at]);
        escape_byte(buf, rest[at]);
        rest = &rest[at + 1..];
    }
    buf.extend_from_slice(rest);
}

/// Where the first byte that needs escaping is, reading eight bytes at a time (four for short
/// text; the last word overlaps the one before it rather than reading byte by byte).
#[inline]
fn first_escape(bytes: &[u8]) -> Option<usize> {
    let len = bytes.len();
    if len >= 8 {
        let word = |at: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let mut at = 0;
        while at + 8 <= len {
            let found = needs_escape(word(at), 0x0101_0101_0101_0101);
            if found != 0 {
                return Some(at + (found.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        if at == len {
            return None;
        }
        // The last eight bytes, less those already read.
        let seen = 8 - (len - at);
        let found = needs_escape(word(len - 8), 0x0101_0101_0101_0101) >> (seen * 8);
        return (found != 0).then(|| at + (found.trailing_zeros() / 8) as usize);
    }
    if len >= 4 {
        let word = |at: usize| {
            let mut w = [0; 4];
            w.copy_from_slice(&bytes[at..at + 4]);
            u64::from(u32::from_le_bytes(w))
        };
        let found = needs_escape(word(0), 0x0101_0101);
        if found != 0 {
            return Some((found.trailing_zeros() / 8) as usize);
        }
        let seen = 8 - len;
        let found = needs_escape(word(len - 4), 0x0101_0101) >> (seen * 8);
        return (found != 0).then(|| 4 + (found.trailing_zeros() / 8) as usize);
    }
    bytes
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// The high bit of each byte of `word` that is `"`, `\` or below 0x20, for a word of eight
/// bytes (`ones` = 0x0101…01 over eight) or four (over four, in the low half). Above the lowest
/// flagged byte a flag may be wrong (a borrow carries upwards), but the lowest one is always
/// right, which is all [`first_escape`] reads; bytes already known to be clean never carry a
/// borrow, so their flags can simply be shifted out. Bytes of multi-byte UTF-8 characters (0x80
/// and up) are never flagged.
#[inline(always)]
fn needs_escape(word: u64, ones: u64) -> u64 {
    let high = ones * 0x80;
    let zero_byte = |v: u64| v.wrapping_sub(ones) & !v;
    let control = word.wrapping_sub(ones * 0x20) & !word;
    let quote = zero_byte(word ^ (ones * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ones * u64::from(b'\\')));
    (control | quote | backslash) & high
}

/// One escaped byte, by `serde_json`'s own formatter (its forms are the contract).
#[cold]
fn escape_byte(buf: &mut Vec<u8>, byte: u8) {
    let escape = match byte {
        b'"' => CharEscape::Quote,
        b'\\' => CharEscape::ReverseSolidus,
        0x08 => CharEscape::Backspace,
        0x0c => CharEscape::FormFeed,
        b'\n' => CharEscape::LineFeed,
        b'\r' => CharEscape::CarriageReturn,
        b'\t' => CharEscape::Tab,
        other => CharEscape::AsciiControl(other),
    };
    // Writing to a `Vec` cannot fail.
    let _ = CompactFormatter.write_char_escape(buf, escape);
}

/// The keys seen so far, in first-seen order.
#[derive(Default)]
struct Keys {
    list: Vec<String>,
    /// Where the current row's next key most likely sits in `list` (rows of one type write the
    /// same keys in the same order, so this is usually the only comparison).
    cursor: usize,
    /// Each key's place in `list`, once there are more than [`Keys::SCAN_LIMIT`]: rows with
    /// many different keys (maps built from user data) must not cost a scan of all the keys
    /// seen so far per key.
    index: Option<std::collections::HashMap<String, usize>>,
}

impl Keys {
    #[inline]
    fn start_row(&mut self) {
        self.cursor = 0;
    }

    #[inline(always)]
    fn note(&mut self, key: &str) {
        if self.list.get(self.cursor).is_some_and(|k| same(k, key)) {
            self.cursor += 1;
        } else {
            self.note_other(key);
        }
    }

    /// Keys looked for by a scan of `list`; past that, through `index`.
    const SCAN_LIMIT: usize = 32;

    /// The rest of [`Self::note`]: a key out of the usual order, or new.
    #[inline(never)]
    fn note_other(&mut self, key: &str) {
        let found = match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.list.iter().position(|k| k == key),
        };
        if let Some(at) = found {
            self.cursor = at + 1;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.to_owned(), self.list.len());
        }
        self.list.push(key.to_owned());
        self.cursor = self.list.len();
        if self.index.is_none() && self.list.len() > Self::SCAN_LIMIT {
            let index = self.list.iter().enumerate().map(|(at, k)| (k.clone(), at));
            self.index = Some(index.collect());
        }
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

/// The integer methods of a serializer, each written by `CompactFormatter` through
/// `self.$via(..)`: as they are in a value, in quotes in a map key.
macro_rules! integers {
    ($via:ident) => {
        integers! { @$via:
            serialize_i8(i8) => write_i8;
            serialize_i16(i16) => write_i16;
            serialize_i32(i32) => write_i32;
            serialize_i64(i64) => write_i64;
            serialize_i128(i128) => write_i128;
            serialize_u8(u8) => write_u8;
            serialize_u16(u16) => write_u16;
            serialize_u32(u32) => write_u32;
            serialize_u64(u64) => write_u64;
            serialize_u128(u128) => write_u128;
        }
    };
    (@$via:ident: $($method:ident($ty:ty) => $write:ident;)*) => {$(
        #[inline]
        fn $method(self, v: $ty) -> Result<()> {
            self.$via(|b| CompactFormatter.$write(b, v))
        }
    )*};
}

/// An array in progress (a sequence, tuple, or the array of a tuple variant).
struct Array<'w> {
    w: &'w mut Writer,
    first: bool,
    /// This is the top-level array: its elements are counted.
    top: bool,
    /// `]`, or `]}` for a tuple variant.
    close: &'static [u8],
}

impl Array<'_> {
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        if !self.first {
            self.w.buf.push(b',');
        }
        self.first = false;
        value.serialize(&mut *self.w)?;
        if self.top {
            self.w.row_done();
        }
        Ok(())
    }
}

/// An object in progress (a map, struct, or the object of a struct variant).
struct Object<'w> {
    w: &'w mut Writer,
    first: bool,
    /// This object is a row: its keys are columns.
    row: bool,
    /// `}`, or `}}` for a struct variant.
    close: &'static [u8],
}

impl Object<'_> {
    #[inline]
    fn comma(&mut self) {
        if !self.first {
            self.w.buf.push(b',');
        }
        self.first = false;
    }

    /// A struct field: the key is a name known at compile time.
    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.comma();
        if self.row {
            self.w.keys.note(key);
        }
        self.w.string(key);
        self.w.buf.push(b':');
        value.serialize(&mut *self.w)
    }
}

/// A struct, or a struct that stands for raw JSON ([`RAW_TOKENS`]).
enum Struct<'w> {
    Object(Object<'w>),
    Raw(&'w mut Writer),
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'w>;
    type SerializeTuple = Array<'w>;
    type SerializeTupleStruct = Array<'w>;
    type SerializeTupleVariant = Array<'w>;
    type SerializeMap = Object<'w>;
    type SerializeStruct = Struct<'w>;
    type SerializeStructVariant = Object<'w>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    integers!(number);

    /// NaN and the infinities are `null`, as in `serde_json`.
    fn serialize_f32(self, v: f32) -> Result<()> {
        if v.is_finite() {
            self.number(|b| CompactFormatter.write_f32(b, v))
        } else {
            self.serialize_unit()
        }
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        if v.is_finite() {
            self.number(|b| CompactFormatter.write_f64(b, v))
        } else {
            self.serialize_unit()
        }
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        self.string(v);
        Ok(())
    }

    /// An array of numbers, as in `serde_json`.
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.number(|b| CompactFormatter.write_byte_array(b, v))
    }

    #[inline]
    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<()> {
        self.buf.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.string(variant);
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    /// `{"variant":value}`.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.close(b"}");
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Array<'w>> {
        let top = self.open == 0;
        if top {
            self.top_array = true;
            self.total = len.unwrap_or(0);
        }
        self.open(b'[');
        Ok(Array {
            w: self,
            first: true,
            top,
            close: b"]",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Array<'w>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'w>> {
        self.serialize_seq(Some(len))
    }

    /// `{"variant":[...]}`.
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'w>> {
        self.variant_key(variant);
        self.open(b'[');
        Ok(Array {
            w: self,
            first: true,
            top: false,
            close: b"]}",
        })
    }

    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'w>> {
        let row = self.open(b'{');
        if row {
            self.keys.start_row();
        }
        Ok(Object {
            w: self,
            first: true,
            row,
            close: b"}",
        })
    }

    #[inline]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Struct<'w>> {
        if RAW_TOKENS.contains(&name) {
            // Keys inside a raw row (or a raw whole value) cannot be seen here.
            if self.open == 0 || self.at_row() {
                self.exact = false;
            }
            return Ok(Struct::Raw(self));
        }
        self.serialize_map(Some(len)).map(Struct::Object)
    }

    /// `{"variant":{...}}`.
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'w>> {
        self.variant_key(variant);
        self.open(b'{');
        Ok(Object {
            w: self,
            first: true,
            row: false,
            close: b"}}",
        })
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<()> {
        /// Escapes each piece of the text as it is formatted.
        struct Escaping<'b>(&'b mut Vec<u8>);
        impl fmt::Write for Escaping<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                escape_into(self.0, s);
                Ok(())
            }
        }
        self.buf.push(b'"');
        fmt::write(&mut Escaping(&mut self.buf), format_args!("{value}"))
            .map_err(|_| Error::custom("a Display implementation returned an error"))?;
        self.buf.push(b'"');
        Ok(())
    }
}

/// The serde traits of an array in progress: each element written the same way.
macro_rules! array_traits {
    ($($name:ident: $method:ident;)*) => {$(
        impl ser::$name for Array<'_> {
            type Ok = ();
            type Error = Error;

            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
                self.element(value)
            }

            #[inline]
            fn end(self) -> Result<()> {
                self.w.close(self.close);
                Ok(())
            }
        }
    )*};
}

array_traits! {
    SerializeSeq: serialize_element;
    SerializeTuple: serialize_element;
    SerializeTupleStruct: serialize_field;
    SerializeTupleVariant: serialize_field;
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.comma();
        key.serialize(MapKey {
            w: self.w,
            row: self.row,
        })?;
        self.w.buf.push(b':');
        Ok(())
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.w)
    }

    #[inline]
    fn end(self) -> Result<()> {
        self.w.close(self.close);
        Ok(())
    }
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        match self {
            Struct::Object(object) => object.field(key, value),
            Struct::Raw(w) if RAW_TOKENS.contains(&key) => value.serialize(RawText(w)),
            Struct::Raw(_) => Err(Error::custom("invalid raw value")),
        }
    }

    #[inline]
    fn end(self) -> Result<()> {
        match self {
            Struct::Object(object) => ser::SerializeMap::end(object),
            Struct::Raw(_) => Ok(()),
        }
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }

    fn end(self) -> Result<()> {
        ser::SerializeMap::end(self)
    }
}

/// Serializer methods that refuse their value with `$error()`.
macro_rules! refuse {
    ($error:ident; $($method:ident($($ty:ty),*);)*) => {$(
        fn $method(self $(, _: $ty)*) -> Result<()> {
            Err($error())
        }
    )*};
}

/// The compound-value methods of a serializer that takes only a scalar, refusing with `$error()`.
macro_rules! refuse_compounds {
    ($error:ident) => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Impossible<(), Error>> {
            Err($error())
        }

        fn serialize_tuple(self, _: usize) -> Result<Impossible<(), Error>> {
            Err($error())
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), Error>> {
            Err($error())
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), Error>> {
            Err($error())
        }

        fn serialize_map(self, _: Option<usize>) -> Result<Impossible<(), Error>> {
            Err($error())
        }

        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Impossible<(), Error>> {
            Err($error())
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Impossible<(), Error>> {
            Err($error())
        }
    };
}

/// Why a map key was refused, in `serde_json`'s words.
fn key_must_be_a_string() -> Error {
    Error::custom("key must be a string")
}

/// A map key: a string, or what `serde_json` turns into one (a number or boolean in quotes, a
/// unit variant's name); anything else is refused as `serde_json` refuses it.
struct MapKey<'w> {
    w: &'w mut Writer,
    /// The key is a row's: note it.
    row: bool,
}

impl MapKey<'_> {
    #[inline]
    fn text(self, s: &str) -> Result<()> {
        if self.row {
            self.w.keys.note(s);
        }
        self.w.string(s);
        Ok(())
    }

    /// A number or boolean in quotes; its text needs no escaping.
    fn quoted(self, write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<()> {
        let buf = &mut self.w.buf;
        buf.push(b'"');
        let start = buf.len();
        write(buf).map_err(Error::io)?;
        if self.row {
            let text = String::from_utf8_lossy(&buf[start..]).into_owned();
            self.w.keys.note(&text);
        }
        self.w.buf.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<()> {
        self.text(v)
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }

    integers!(quoted);

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.quoted(|b| CompactFormatter.write_bool(b, v))
    }

    fn serialize_f32(self, v: f32) -> Result<()> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(|b| CompactFormatter.write_f32(b, v))
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        if !v.is_finite() {
            return Err(float_key_must_be_finite());
        }
        self.quoted(|b| CompactFormatter.write_f64(b, v))
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<()> {
        self.text(&value.to_string())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<()> {
        Err(key_must_be_a_string())
    }

    refuse! {
        key_must_be_a_string;
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
    }

    refuse_compounds!(key_must_be_a_string);
}

fn float_key_must_be_finite() -> Error {
    Error::custom("float key must be finite (got NaN or +/-inf)")
}

/// The one field of a raw-JSON struct: its text, written as it is.
struct RawText<'w>(&'w mut Writer);

impl ser::Serializer for RawText<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<()> {
        self.0.buf.extend_from_slice(v.as_bytes());
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<()> {
        Err(invalid_raw_value())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<()> {
        Err(invalid_raw_value())
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<()> {
        Err(invalid_raw_value())
    }

    refuse! {
        invalid_raw_value;
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    refuse_compounds!(invalid_raw_value);
}

fn invalid_raw_value() -> Error {
    Error::custom("invalid raw value")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Serialize, Serializer};

    use super::*;

    /// `value` is written as `serde_json::to_vec` writes it, or refused as it refuses it.
    fn exact<T: Serialize + ?Sized>(value: &T) {
        match (write(value), serde_json::to_vec(value)) {
            (Ok((ours, _)), Ok(theirs)) => assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            ),
            (Err(ours), Err(theirs)) => assert_eq!(ours.to_string(), theirs.to_string()),
            (ours, theirs) => panic!(
                "writer: {:?}, serde_json: {:?}",
                ours.map(|(b, _)| String::from_utf8_lossy(&b).into_owned()),
                theirs.map(|b| String::from_utf8_lossy(&b).into_owned())
            ),
        }
    }

    #[test]
    fn every_ascii_byte_and_some_unicode_at_every_offset() {
        let specials = (0u8..0x80)
            .map(char::from)
            .chain(['é', '€', '😀', '\u{2028}', '\u{7f}', '\u{ffff}']);
        for c in specials {
            for at in 0..20 {
                let text = format!("{}{c}{}", "a".repeat(at), "b".repeat(19 - at));
                exact(&text);
                exact(&[(text.clone(), c)].into_iter().collect::<BTreeMap<_, _>>());
            }
            exact(&c);
            exact(&c.to_string().repeat(17));
        }
        exact("");
        exact("\"\\\"\\");
    }

    #[test]
    fn numbers_and_scalars() {
        exact(&(i8::MIN, i16::MIN, i32::MIN, i64::MIN, i128::MIN));
        exact(&(u8::MAX, u16::MAX, u32::MAX, u64::MAX, u128::MAX));
        exact(&[
            0.0f64,
            -0.0,
            1.5,
            1e300,
            -2.5e-300,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ]);
        exact(&[0.1f32, f32::MAX, f32::NEG_INFINITY]);
        exact(&(true, false, (), None::<u8>, Some(3u8)));
        struct Bytes;
        impl Serialize for Bytes {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_bytes(&[0, 7, 255])
            }
        }
        exact(&Bytes);
    }

    #[test]
    fn enums_structs_and_wrappers() {
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct Newtype(Vec<u8>);
        #[derive(Serialize)]
        enum External {
            A,
            B(u8),
            C(u8, &'static str),
            D { x: u8, y: Option<u8> },
        }
        #[derive(Serialize)]
        #[serde(tag = "kind")]
        enum Internal {
            A { x: u8 },
            B(BTreeMap<String, u8>),
        }
        #[derive(Serialize)]
        #[serde(tag = "t", content = "c")]
        enum Adjacent {
            A(u8),
            B { s: &'static str },
        }
        #[derive(Serialize)]
        #[serde(untagged)]
        enum Untagged {
            A(u8),
            B { s: &'static str },
        }
        #[derive(Serialize)]
        struct Flat {
            id: u8,
            #[serde(flatten)]
            inner: External,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
        }
        exact(&Unit);
        exact(&Newtype(vec![]));
        exact(&Newtype(vec![1, 2]));
        exact(&[
            External::A,
            External::B(1),
            External::C(2, "c"),
            External::D { x: 3, y: None },
        ]);
        exact(&External::C(1, "top"));
        exact(&[External::D { x: 1, y: Some(2) }]);
        let map = [("k\n".to_owned(), 1)].into_iter().collect();
        exact(&[Internal::A { x: 1 }, Internal::B(map)]);
        exact(&[Adjacent::A(1), Adjacent::B { s: "\"" }]);
        exact(&[Untagged::A(1), Untagged::B { s: "x" }]);
        exact(&[
            Flat {
                id: 1,
                inner: External::D { x: 1, y: None },
                skipped: None,
            },
            Flat {
                id: 2,
                inner: External::B(2),
                skipped: Some(1),
            },
        ]);
        exact(&(
            Vec::<u8>::new(),
            BTreeMap::<u8, u8>::new(),
            [[[0u8; 0]; 1]; 2],
        ));
        // A sequence of unknown length.
        struct Odd(u8);
        impl Serialize for Odd {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_seq((0..self.0).filter(|n| n % 2 == 1))
            }
        }
        exact(&Odd(20));
        // A sequence that claims more elements than memory could hold.
        struct Boastful;
        impl Serialize for Boastful {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq;
                let mut seq = s.serialize_seq(Some(usize::MAX))?;
                for n in 0..20u64 {
                    seq.serialize_element(&[("id", n)].into_iter().collect::<BTreeMap<_, _>>())?;
                }
                seq.end()
            }
        }
        exact(&Boastful);
        exact(&[Odd(0), Odd(3)]);
    }

    #[test]
    fn map_keys_are_converted_or_refused_as_serde_json_does() {
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum Key {
            Named,
            Wrapped(u8),
        }
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        struct Id(u32);
        fn one<K: Ord>(key: K) -> BTreeMap<K, u8> {
            [(key, 1)].into_iter().collect()
        }
        exact(&one(true));
        exact(&one(-7i8));
        exact(&one(u128::MAX));
        exact(&one('"'));
        exact(&one(Key::Named));
        exact(&one(Id(3)));
        exact(&one(Some("opt")));
        exact(&one(Key::Wrapped(1)));
        exact(&one(None::<u8>));
        exact(&one(()));
        exact(&one((1u8, 2u8)));
        exact(&one(vec![1u8]));
        struct Floats(f64, f32);
        impl Serialize for Floats {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry(&self.0, &1u8)?;
                map.serialize_entry(&self.1, &2u8)?;
                map.end()
            }
        }
        exact(&Floats(0.25, 1e-7));
        exact(&Floats(f64::NAN, 1.0));
        exact(&Floats(1.0, f32::INFINITY));
    }

    #[test]
    fn display_values_and_raw_json() {
        struct Shown(&'static str);
        impl Serialize for Shown {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("<{}|{}>", self.0, self.0))
            }
        }
        exact(&Shown("plain"));
        exact(
            &[(Shown("a\"\n\u{1}b"), 1)]
                .into_iter()
                .map(|(k, v)| (k.0, v))
                .collect::<BTreeMap<_, _>>(),
        );
        exact(&[Shown("x\\y")]);
        struct ShownKey;
        impl Serialize for ShownKey {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_map([(Shown("k\t"), 1u8)])
            }
        }
        exact(&ShownKey);
        let raw = serde_json::value::RawValue::from_string(r#"{"a" : [1, 2]}"#.to_owned()).unwrap();
        exact(&raw);
        exact(&[&raw, &raw]);
        exact(&crate::typed::Numeric::new("12345678901234567890.000000000001").unwrap());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]
        #[test]
        fn any_string_is_written_exactly(text in proptest::prelude::any::<String>()) {
            exact(&text);
        }

        #[test]
        fn any_number_is_written_exactly(
            f in proptest::prelude::any::<f64>(),
            g in proptest::prelude::any::<f32>(),
            i in proptest::prelude::any::<i128>(),
        ) {
            exact(&(f, g, i));
        }
    }
}
