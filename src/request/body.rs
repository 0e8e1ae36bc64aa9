//! Serializing a JSON body once, and the facts about it that a request needs (the `columns` of
//! a bulk body), without building a `serde_json::Value` or scanning the bytes again.
//!
//! [`to_json`] serializes with `serde_json` (the bytes are exactly `serde_json::to_vec`'s) through
//! a thin observer that notes the keys of the objects inside a top-level array as they are
//! written. Shapes it cannot observe exactly (an element written as a map with non-string keys,
//! an enum variant, a raw JSON value) fall back to [`array_columns`], a scan of the bytes.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::io;

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeTuple, SerializeTupleStruct,
    Serializer,
};

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
    let progress = Progress::default();
    let state = RefCell::new(Keys::default());
    let mut ser = serde_json::Serializer::new(Sink {
        buf: Vec::with_capacity(128),
        progress: &progress,
    });
    value.serialize(Top {
        inner: &mut ser,
        state: &state,
        progress: &progress,
    })?;
    let mut bytes = ser.into_inner().buf;
    // A first element much larger than the rest can leave a large reservation unused.
    let spare = bytes.capacity() - bytes.len();
    if spare > 64 * 1024 && spare > bytes.len() / 4 {
        bytes.shrink_to_fit();
    }
    let keys = state.into_inner();
    let columns = if keys.fallback {
        array_columns(&bytes)
    } else {
        columns_param(keys.list.iter().map(|k| k.as_ref()))
    };
    Ok(JsonBody { bytes, columns })
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
    list: Vec<Cow<'static, str>>,
    /// Where the current element's next key most likely sits in `list` (elements of one type
    /// write the same keys in the same order).
    cursor: usize,
    /// The element shapes could not be followed: scan the bytes instead.
    fallback: bool,
}

impl Keys {
    fn start_object(&mut self) {
        self.cursor = 0;
    }

    #[inline]
    fn static_key(&mut self, key: &'static str) {
        // Field names of one struct type are the same literals every time: compare pointers.
        if let Some(Cow::Borrowed(k)) = self.list.get(self.cursor) {
            if std::ptr::eq(*k, key) {
                self.cursor += 1;
                return;
            }
        }
        self.static_key_slow(key);
    }

    fn static_key_slow(&mut self, key: &'static str) {
        if let Some(k) = self.list.get(self.cursor) {
            if k.as_ref() == key {
                self.cursor += 1;
                return;
            }
        }
        self.find_or_push(key, Cow::Borrowed);
    }

    fn owned_key(&mut self, key: &str) {
        if let Some(k) = self.list.get(self.cursor) {
            if k.as_ref() == key {
                self.cursor += 1;
                return;
            }
        }
        self.find_or_push(key, |k| Cow::Owned(k.to_owned()));
    }

    fn find_or_push<'k>(&mut self, key: &'k str, own: impl FnOnce(&'k str) -> Cow<'static, str>) {
        match self.list.iter().position(|k| k.as_ref() == key) {
            Some(at) => self.cursor = at + 1,
            None => {
                self.list.push(own(key));
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

/// Forwards every call of the scalar methods of [`Serializer`] to `self.inner`.
macro_rules! forward_scalars {
    () => {
        fn serialize_bool(self, v: bool) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_bool(v)
        }
        fn serialize_i8(self, v: i8) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_i8(v)
        }
        fn serialize_i16(self, v: i16) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_i16(v)
        }
        fn serialize_i32(self, v: i32) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_i32(v)
        }
        fn serialize_i64(self, v: i64) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_i64(v)
        }
        fn serialize_i128(self, v: i128) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_i128(v)
        }
        fn serialize_u8(self, v: u8) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_u8(v)
        }
        fn serialize_u16(self, v: u16) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_u16(v)
        }
        fn serialize_u32(self, v: u32) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_u32(v)
        }
        fn serialize_u64(self, v: u64) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_u64(v)
        }
        fn serialize_u128(self, v: u128) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_u128(v)
        }
        fn serialize_f32(self, v: f32) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_f32(v)
        }
        fn serialize_f64(self, v: f64) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_f64(v)
        }
        fn serialize_char(self, v: char) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_char(v)
        }
        fn serialize_str(self, v: &str) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_str(v)
        }
        fn serialize_bytes(self, v: &[u8]) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_bytes(v)
        }
        fn serialize_none(self) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_none()
        }
        fn serialize_unit(self) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_unit()
        }
        fn serialize_unit_struct(self, name: &'static str) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_unit_struct(name)
        }
        fn serialize_unit_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
        ) -> std::result::Result<S::Ok, S::Error> {
            self.inner.serialize_unit_variant(name, index, variant)
        }
        fn collect_str<V: Display + ?Sized>(self, v: &V) -> std::result::Result<S::Ok, S::Error> {
            self.inner.collect_str(v)
        }
        fn is_human_readable(&self) -> bool {
            self.inner.is_human_readable()
        }
    };
}

/// The top-level value: only an array (sequence, tuple) is followed into.
struct Top<'k, S> {
    inner: S,
    state: &'k RefCell<Keys>,
    progress: &'k Progress,
}

impl<'k, S: Serializer> Serializer for Top<'k, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Elements<'k, S::SerializeSeq>;
    type SerializeTuple = Elements<'k, S::SerializeTuple>;
    type SerializeTupleStruct = Elements<'k, S::SerializeTupleStruct>;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = S::SerializeStructVariant;

    forward_scalars!();

    fn serialize_some<T: Serialize + ?Sized>(
        self,
        value: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        // serde_json writes a newtype struct as its content.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.inner
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(
        self,
        len: Option<usize>,
    ) -> std::result::Result<Self::SerializeSeq, S::Error> {
        let inner = self.inner.serialize_seq(len)?;
        Ok(Elements::new(inner, len, self.state, self.progress))
    }

    fn serialize_tuple(self, len: usize) -> std::result::Result<Self::SerializeTuple, S::Error> {
        let inner = self.inner.serialize_tuple(len)?;
        Ok(Elements::new(inner, Some(len), self.state, self.progress))
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, S::Error> {
        let inner = self.inner.serialize_tuple_struct(name, len)?;
        Ok(Elements::new(inner, Some(len), self.state, self.progress))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, S::Error> {
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(
        self,
        len: Option<usize>,
    ) -> std::result::Result<Self::SerializeMap, S::Error> {
        self.inner.serialize_map(len)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeStruct, S::Error> {
        self.inner.serialize_struct(name, len)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, S::Error> {
        self.inner
            .serialize_struct_variant(name, index, variant, len)
    }
}

/// The elements of the top-level array: each one is written through [`Element`].
struct Elements<'k, C> {
    inner: C,
    state: &'k RefCell<Keys>,
    progress: &'k Progress,
}

impl<'k, C> Elements<'k, C> {
    fn new(inner: C, len: Option<usize>, state: &'k RefCell<Keys>, progress: &'k Progress) -> Self {
        progress.total.set(len.unwrap_or(0));
        Elements {
            inner,
            state,
            progress,
        }
    }

    fn element<'v, T: ?Sized>(&self, value: &'v T) -> Element<'k, 'v, T> {
        Element {
            value,
            state: self.state,
        }
    }

    fn done(&self) {
        self.progress.done.set(self.progress.done.get() + 1);
    }
}

impl<C: SerializeSeq> SerializeSeq for Elements<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), C::Error> {
        self.inner.serialize_element(&self.element(value))?;
        self.done();
        Ok(())
    }

    fn end(self) -> std::result::Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTuple> SerializeTuple for Elements<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), C::Error> {
        self.inner.serialize_element(&self.element(value))?;
        self.done();
        Ok(())
    }

    fn end(self) -> std::result::Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

impl<C: SerializeTupleStruct> SerializeTupleStruct for Elements<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), C::Error> {
        self.inner.serialize_field(&self.element(value))?;
        self.done();
        Ok(())
    }

    fn end(self) -> std::result::Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// One element of the top-level array, written through [`ElementSer`].
struct Element<'k, 'v, T: ?Sized> {
    value: &'v T,
    state: &'k RefCell<Keys>,
}

impl<T: Serialize + ?Sized> Serialize for Element<'_, '_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.value.serialize(ElementSer {
            inner: serializer,
            state: self.state,
        })
    }
}

/// Serializes one element, noting its keys when it is an object.
struct ElementSer<'k, S> {
    inner: S,
    state: &'k RefCell<Keys>,
}

impl<S> ElementSer<'_, S> {
    /// The element is an object whose keys this observer cannot read exactly.
    fn unobservable(&self) {
        self.state.borrow_mut().fallback = true;
    }
}

impl<'k, S: Serializer> Serializer for ElementSer<'k, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = S::SerializeTupleVariant;
    type SerializeMap = MapKeys<'k, S::SerializeMap>;
    type SerializeStruct = StructKeys<'k, S::SerializeStruct>;
    type SerializeStructVariant = S::SerializeStructVariant;

    forward_scalars!();

    fn serialize_some<T: Serialize + ?Sized>(
        self,
        value: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.unobservable(); // `{"Variant": ...}`
        self.inner
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(
        self,
        len: Option<usize>,
    ) -> std::result::Result<Self::SerializeSeq, S::Error> {
        self.inner.serialize_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> std::result::Result<Self::SerializeTuple, S::Error> {
        self.inner.serialize_tuple(len)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, S::Error> {
        self.inner.serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, S::Error> {
        self.unobservable();
        self.inner
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(
        self,
        len: Option<usize>,
    ) -> std::result::Result<Self::SerializeMap, S::Error> {
        self.state.borrow_mut().start_object();
        Ok(MapKeys {
            inner: self.inner.serialize_map(len)?,
            state: self.state,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeStruct, S::Error> {
        // serde_json's own markers (raw values, arbitrary-precision numbers) are not objects.
        let observe =
            !(name.as_bytes().first() == Some(&b'$') && name.starts_with("$serde_json::"));
        if observe {
            self.state.borrow_mut().start_object();
        } else {
            self.unobservable();
        }
        Ok(StructKeys {
            inner: self.inner.serialize_struct(name, len)?,
            state: self.state,
            observe,
        })
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, S::Error> {
        self.unobservable();
        self.inner
            .serialize_struct_variant(name, index, variant, len)
    }
}

/// The fields of a struct element: their names are its keys.
struct StructKeys<'k, C> {
    inner: C,
    state: &'k RefCell<Keys>,
    observe: bool,
}

impl<C: SerializeStruct> SerializeStruct for StructKeys<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> std::result::Result<(), C::Error> {
        if self.observe {
            self.state.borrow_mut().static_key(key);
        }
        self.inner.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> std::result::Result<(), C::Error> {
        self.inner.skip_field(key)
    }

    fn end(self) -> std::result::Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// The entries of a map element: string keys are noted, any other kind of key sends the body
/// to the byte scan (serde_json turns numbers and the like into key text by its own rules).
struct MapKeys<'k, C> {
    inner: C,
    state: &'k RefCell<Keys>,
}

impl<C: SerializeMap> SerializeMap for MapKeys<'_, C> {
    type Ok = C::Ok;
    type Error = C::Error;

    fn serialize_key<T: Serialize + ?Sized>(
        &mut self,
        key: &T,
    ) -> std::result::Result<(), C::Error> {
        let mut state = self.state.borrow_mut();
        if key.serialize(KeyText(&mut state)).is_err() {
            state.fallback = true;
        }
        drop(state);
        self.inner.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> std::result::Result<(), C::Error> {
        self.inner.serialize_value(value)
    }

    fn end(self) -> std::result::Result<C::Ok, C::Error> {
        self.inner.end()
    }
}

/// Reads a map key that is a string (directly or inside a newtype); refuses anything else.
struct KeyText<'s>(&'s mut Keys);

/// The refusal of [`KeyText`]: the key is not a plain string.
#[derive(Debug)]
struct NotAString;

impl Display for NotAString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("map key is not a string")
    }
}

impl std::error::Error for NotAString {}

impl serde::ser::Error for NotAString {
    fn custom<T: Display>(_msg: T) -> Self {
        NotAString
    }
}

impl Serializer for KeyText<'_> {
    type Ok = ();
    type Error = NotAString;
    type SerializeSeq = serde::ser::Impossible<(), NotAString>;
    type SerializeTuple = serde::ser::Impossible<(), NotAString>;
    type SerializeTupleStruct = serde::ser::Impossible<(), NotAString>;
    type SerializeTupleVariant = serde::ser::Impossible<(), NotAString>;
    type SerializeMap = serde::ser::Impossible<(), NotAString>;
    type SerializeStruct = serde::ser::Impossible<(), NotAString>;
    type SerializeStructVariant = serde::ser::Impossible<(), NotAString>;

    fn serialize_str(self, v: &str) -> std::result::Result<(), NotAString> {
        self.0.owned_key(v);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> std::result::Result<(), NotAString> {
        value.serialize(self)
    }

    fn serialize_bool(self, _v: bool) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_i8(self, _v: i8) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_i16(self, _v: i16) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_i32(self, _v: i32) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_i64(self, _v: i64) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_u8(self, _v: u8) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_u16(self, _v: u16) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_u32(self, _v: u32) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_u64(self, _v: u64) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_f32(self, _v: f32) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_f64(self, _v: f64) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_char(self, _v: char) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_bytes(self, _v: &[u8]) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_none(self) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_some<T: Serialize + ?Sized>(
        self,
        _value: &T,
    ) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_unit(self) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> std::result::Result<(), NotAString> {
        Err(NotAString)
    }
    fn serialize_seq(
        self,
        _len: Option<usize>,
    ) -> std::result::Result<Self::SerializeSeq, NotAString> {
        Err(NotAString)
    }
    fn serialize_tuple(self, _len: usize) -> std::result::Result<Self::SerializeTuple, NotAString> {
        Err(NotAString)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> std::result::Result<Self::SerializeTupleStruct, NotAString> {
        Err(NotAString)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> std::result::Result<Self::SerializeTupleVariant, NotAString> {
        Err(NotAString)
    }
    fn serialize_map(
        self,
        _len: Option<usize>,
    ) -> std::result::Result<Self::SerializeMap, NotAString> {
        Err(NotAString)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> std::result::Result<Self::SerializeStruct, NotAString> {
        Err(NotAString)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> std::result::Result<Self::SerializeStructVariant, NotAString> {
        Err(NotAString)
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
}
