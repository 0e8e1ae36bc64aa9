//! Decoding answers: the output shape of a builder decides what `.await` returns.
//!
//! | shape | awaiting returns | set by |
//! |---|---|---|
//! | [`Rows<T>`] | `Vec<T>` | `select(cols)` |
//! | [`One<T>`] | `T` | `.single()` |
//! | [`MaybeOne<T>`] | `Option<T>` | `.maybe_single()` |
//! | [`NoContent`] | `()` | a write without `.select(cols)` |
//! | [`Counted<S>`] | [`WithCount`] of the above | `.count(Count::...)` |

use std::marker::PhantomData;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{DecodeError, Error, PostgrestError, Result};

/// A result together with the total count PostgREST reported in `Content-Range`.
///
/// `count` is `None` when the server did not count (`*/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithCount<T> {
    /// The decoded result.
    pub data: T,
    /// The total from `Content-Range`, if the server sent one.
    pub count: Option<u64>,
}

/// A result together with the HTTP status of the answer, after
/// [`with_status()`](crate::Builder::with_status): supabase-js's `status`. An upsert answers
/// `201 Created` when it inserted a row and `200 OK` when it only updated (PostgREST 12+).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithStatus<T> {
    /// The decoded result.
    pub data: T,
    /// The status of the (successful) answer.
    pub status: StatusCode,
    /// The answer's `Warning` headers, as sent (PostgREST 13+ warns with
    /// `299 PostgREST/13 "..."`, e.g. when a filter names an embedded table by its table name
    /// instead of its alias). The client also logs each at WARN level.
    pub warnings: Vec<String>,
}

/// A 2xx answer, read in full.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: bytes::Bytes,
}

mod sealed {
    pub trait Sealed {}
}

/// The output shape of a builder: what awaiting it returns and how the answer is decoded.
///
/// Sealed: the shapes are [`Rows`], [`One`], [`MaybeOne`], [`NoContent`], [`Json`], [`Text`],
/// [`Head`], [`Counted`] and [`Statused`].
pub trait Shape: sealed::Sealed + Send + 'static {
    /// What awaiting the builder returns on success.
    type Output: Send + 'static;

    /// The `Accept` header this shape needs, if any.
    #[doc(hidden)]
    const ACCEPT: Option<&'static str>;

    /// Decodes a successful answer.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<Self::Output>;
}

/// Shapes whose row type can be changed with `returns::<U>()`.
pub trait Retype: Shape {
    /// The same shape with rows of type `U`.
    type With<U: DeserializeOwned + Send + 'static>: Shape;
}

/// Shapes that yield rows and can be narrowed with `single()` / `maybe_single()`.
pub trait RowSet: Shape {
    /// The shape after `.single()`.
    type Single: Shape;
    /// The shape after `.maybe_single()`.
    type MaybeSingle: Shape;
}

/// Shapes that can still take `.count(...)`.
pub trait Countable: Shape {}

/// Write shapes that `.select(cols)` turns into rows of `T`.
pub trait Returning: Shape {
    /// The shape after `.select(cols)` with rows of type `T`.
    type Rows<T: DeserializeOwned + Send + 'static>: Shape;
}

/// Awaits to `Vec<T>`.
#[derive(Debug)]
pub struct Rows<T>(PhantomData<fn() -> T>);
/// Awaits to `T`; the server answers 406 `PGRST116` unless exactly one row matches.
#[derive(Debug)]
pub struct One<T>(PhantomData<fn() -> T>);
/// Awaits to `Option<T>`; more than one row is an error.
#[derive(Debug)]
pub struct MaybeOne<T>(PhantomData<fn() -> T>);
/// Awaits to `()`: a write without `.select(cols)`.
#[derive(Debug)]
pub struct NoContent;
/// Awaits to any JSON-shaped `T` (an RPC result: scalar, object or array). An empty body
/// (a `void` function's 204) decodes as JSON `null`.
#[derive(Debug)]
pub struct Json<T>(PhantomData<fn() -> T>);
/// Awaits to the body as text: `.csv()` and `.explain(..)`.
#[derive(Debug)]
pub struct Text;
/// A `HEAD` request: awaits to [`WithCount<()>`], the count present when one was asked for.
#[derive(Debug)]
pub struct Head;
/// Awaits to the methods of the answer's `Allow` header (an `options()` request).
#[derive(Debug)]
pub struct Allowed;
/// Awaits to [`WithCount`] of the inner shape's output.
#[derive(Debug)]
pub struct Counted<S>(PhantomData<fn() -> S>);
/// Awaits to [`WithStatus`] of the inner shape's output.
#[derive(Debug)]
pub struct Statused<S>(PhantomData<fn() -> S>);

impl<T> sealed::Sealed for Rows<T> {}
impl<T> sealed::Sealed for One<T> {}
impl<T> sealed::Sealed for MaybeOne<T> {}
impl sealed::Sealed for NoContent {}
impl<T> sealed::Sealed for Json<T> {}
impl<S> sealed::Sealed for Counted<S> {}
impl<S> sealed::Sealed for Statused<S> {}
impl sealed::Sealed for Text {}
impl sealed::Sealed for Head {}
impl sealed::Sealed for Allowed {}

impl Shape for Allowed {
    type Output = Vec<reqwest::Method>;
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<Vec<reqwest::Method>> {
        let mut methods = Vec::new();
        for value in raw.headers.get_all(reqwest::header::ALLOW) {
            let Ok(text) = value.to_str() else {
                return Err(DecodeError::other(
                    raw.status,
                    value.as_bytes(),
                    "Allow header is not text",
                ));
            };
            for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match reqwest::Method::from_bytes(name.as_bytes()) {
                    Ok(m) if !methods.contains(&m) => methods.push(m),
                    Ok(_) => {}
                    Err(_) => {
                        return Err(DecodeError::other(
                            raw.status,
                            value.as_bytes(),
                            "Allow header names an invalid method",
                        ))
                    }
                }
            }
        }
        Ok(methods)
    }
}

impl Shape for Text {
    type Output = String;
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<String> {
        match String::from_utf8(raw.body.to_vec()) {
            Ok(text) => Ok(text),
            Err(_) => Err(DecodeError::other(
                raw.status,
                &raw.body,
                "response body is not valid UTF-8",
            )),
        }
    }
}

impl Shape for Head {
    type Output = WithCount<()>;
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<WithCount<()>> {
        Ok(WithCount {
            data: (),
            count: content_range_total(&raw)?,
        })
    }
}

/// The body as JSON. It is checked to be UTF-8 once, as a whole: `serde_json::from_slice`
/// checks every string on its own, which was an eighth of decoding 10,000 rows. A body that is
/// not UTF-8 goes to `from_slice`, which says where it is not.
fn json<T: DeserializeOwned>(raw: &RawResponse) -> Result<T> {
    let parsed = match std::str::from_utf8(&raw.body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(&raw.body),
    };
    parsed.map_err(|e| DecodeError::json(raw.status, &raw.body, e))
}

impl<T: DeserializeOwned + Send + 'static> Shape for Rows<T> {
    type Output = Vec<T>;
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<Vec<T>> {
        json(&raw)
    }
}

impl<T: DeserializeOwned + Send + 'static> Shape for One<T> {
    type Output = T;
    const ACCEPT: Option<&'static str> = Some("application/vnd.pgrst.object+json");

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<T> {
        json(&raw)
    }
}

impl<T: DeserializeOwned + Send + 'static> Shape for MaybeOne<T> {
    type Output = Option<T>;
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<Option<T>> {
        let mut rows: Vec<T> = json(&raw)?;
        match rows.len() {
            0 | 1 => Ok(rows.pop()),
            n => Err(Error::Api(Box::new(PostgrestError::new(
                StatusCode::NOT_ACCEPTABLE,
                "PGRST116",
                "JSON object requested, multiple (or no) rows returned",
                Some(serde_json::Value::String(format!(
                    "Results contain {n} rows, application/vnd.pgrst.object+json requires 1 row"
                ))),
            )))),
        }
    }
}

impl Shape for NoContent {
    type Output = ();
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(_raw: RawResponse) -> Result<()> {
        Ok(())
    }
}

impl<T: DeserializeOwned + Send + 'static> Shape for Json<T> {
    type Output = T;
    const ACCEPT: Option<&'static str> = None;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<T> {
        if raw.body.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_slice(b"null")
                .map_err(|e| DecodeError::json(raw.status, &raw.body, e));
        }
        json(&raw)
    }
}

impl<S: Shape> Shape for Counted<S> {
    type Output = WithCount<S::Output>;
    const ACCEPT: Option<&'static str> = S::ACCEPT;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<Self::Output> {
        let count = content_range_total(&raw)?;
        let data = S::decode(raw)?;
        Ok(WithCount { data, count })
    }
}

impl<S: Shape> Shape for Statused<S> {
    type Output = WithStatus<S::Output>;
    const ACCEPT: Option<&'static str> = S::ACCEPT;

    #[allow(private_interfaces)]
    fn decode(raw: RawResponse) -> Result<Self::Output> {
        let status = raw.status;
        let warnings = raw
            .headers
            .get_all(reqwest::header::WARNING)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let data = S::decode(raw)?;
        Ok(WithStatus {
            data,
            status,
            warnings,
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> Retype for Rows<T> {
    type With<U: DeserializeOwned + Send + 'static> = Rows<U>;
}
impl<T: DeserializeOwned + Send + 'static> Retype for One<T> {
    type With<U: DeserializeOwned + Send + 'static> = One<U>;
}
impl<T: DeserializeOwned + Send + 'static> Retype for MaybeOne<T> {
    type With<U: DeserializeOwned + Send + 'static> = MaybeOne<U>;
}
impl<T: DeserializeOwned + Send + 'static> Retype for Json<T> {
    type With<U: DeserializeOwned + Send + 'static> = Json<U>;
}
impl<S: Retype> Retype for Counted<S> {
    type With<U: DeserializeOwned + Send + 'static> = Counted<S::With<U>>;
}

impl<T: DeserializeOwned + Send + 'static> RowSet for Rows<T> {
    type Single = One<T>;
    type MaybeSingle = MaybeOne<T>;
}
impl<T: DeserializeOwned + Send + 'static> RowSet for Json<T> {
    type Single = One<T>;
    type MaybeSingle = MaybeOne<T>;
}
impl<S: RowSet> RowSet for Counted<S> {
    type Single = Counted<S::Single>;
    type MaybeSingle = Counted<S::MaybeSingle>;
}

impl<T: DeserializeOwned + Send + 'static> Countable for Rows<T> {}
impl<T: DeserializeOwned + Send + 'static> Countable for One<T> {}
impl<T: DeserializeOwned + Send + 'static> Countable for MaybeOne<T> {}
impl Countable for NoContent {}
impl<T: DeserializeOwned + Send + 'static> Countable for Json<T> {}

impl Returning for NoContent {
    type Rows<T: DeserializeOwned + Send + 'static> = Rows<T>;
}
impl Returning for Counted<NoContent> {
    type Rows<T: DeserializeOwned + Send + 'static> = Counted<Rows<T>>;
}

/// Decodes `body` as a 200 answer without headers, as awaiting a builder of shape `S` would
/// (for `testing::decode_rows`/`decode_one` and the decode benchmark).
#[cfg(feature = "testing")]
pub(crate) fn decode_ok<S: Shape>(body: bytes::Bytes) -> Result<S::Output> {
    S::decode(RawResponse {
        status: StatusCode::OK,
        headers: HeaderMap::new(),
        body,
    })
}

/// The total of `Content-Range: <range>/<total>`; `None` for `*` or a missing header.
fn content_range_total(raw: &RawResponse) -> Result<Option<u64>> {
    let Some(value) = raw.headers.get(reqwest::header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().ok();
    text.and_then(parse_content_range).ok_or_else(|| {
        DecodeError::other(
            raw.status,
            value.as_bytes(),
            "malformed Content-Range header",
        )
    })
}

/// Parses `0-9/42`, `*/42`, `*/*`, `0-9/*`. `Some(None)` = well-formed without a total.
pub(crate) fn parse_content_range(s: &str) -> Option<Option<u64>> {
    let (range, total) = s.trim().split_once('/')?;
    let range_ok = range == "*"
        || range.split_once('-').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        });
    if !range_ok {
        return None;
    }
    if total == "*" {
        return Some(None);
    }
    if total.is_empty() || !total.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    total.parse().ok().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(parse_content_range("0-9/42"), Some(Some(42)));
        assert_eq!(parse_content_range("*/0"), Some(Some(0)));
        assert_eq!(parse_content_range("*/*"), Some(None));
        assert_eq!(parse_content_range("0-24/*"), Some(None));
        assert_eq!(parse_content_range("garbage"), None);
        assert_eq!(parse_content_range("0-9/-1"), None);
        assert_eq!(parse_content_range("a-b/3"), None);
        assert_eq!(parse_content_range("0-9/99999999999999999999999"), None);
    }

    fn raw(body: &str) -> RawResponse {
        RawResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// Decoding checks UTF-8 once for the whole body, and still finds what `from_slice` finds:
    /// the same values, and the same error (with its place) for a body that is not UTF-8.
    #[test]
    fn json_is_decoded_as_from_slice_decodes_it() {
        let bodies: [&[u8]; 5] = [
            b"[{\"a\":\"caf\\u00e9\",\"b\":\"\xc3\xa9\",\"c\":[1,2.5,null]}]",
            b"[\"\xff\"]",
            b"[\"ok\", \"\xe9\"]",
            b"[1, 2,",
            b"\xef\xbb\xbf[1]",
        ];
        for body in bodies {
            let at = RawResponse {
                status: StatusCode::OK,
                headers: HeaderMap::new(),
                body: bytes::Bytes::copy_from_slice(body),
            };
            let ours = json::<serde_json::Value>(&at).map_err(|e| {
                // The error and its causes, as one text.
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    text = format!("{text}: {c}");
                    cause = c.source();
                }
                text
            });
            let theirs =
                serde_json::from_slice::<serde_json::Value>(body).map_err(|e| e.to_string());
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert!(a.contains(b.as_str()), "{a} / {b}"),
                _ => panic!("{ours:?} / {theirs:?}"),
            }
        }
    }

    #[test]
    fn maybe_one_decodes_zero_one_many() {
        type M = MaybeOne<serde_json::Value>;
        assert_eq!(M::decode(raw("[]")).unwrap(), None);
        assert_eq!(
            M::decode(raw(r#"[{"a":1}]"#)).unwrap(),
            Some(serde_json::json!({"a":1}))
        );
        let err = M::decode(raw(r#"[{"a":1},{"a":2}]"#)).unwrap_err();
        assert!(err.is_too_many_rows());
    }

    #[test]
    fn wrong_shape_is_a_decode_error_with_status() {
        let err = Rows::<i32>::decode(raw("<html>")).unwrap_err();
        assert!(
            matches!(err, Error::Decode(ref d) if d.status == StatusCode::OK && d.snippet == "<html>")
        );
    }
}
