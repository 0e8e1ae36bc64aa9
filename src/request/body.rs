//! A JSON body and the facts about it that a request needs (the `columns` of a bulk body),
//! without building a `serde_json::Value` or, usually, reading the bytes again.
//!
//! [`to_json`] writes with [`write`](crate::request::json::write), which notes the keys of the
//! objects inside a top-level array as it writes them. When it cannot (a raw JSON fragment
//! stood where a row was), [`array_columns`] reads them from the bytes.

use serde::ser::Serialize;

use crate::error::{Error, Result};
use crate::request::json::write;

/// A serialized body and its `columns` (see [`array_columns`]), or the error that forbids them.
pub(crate) struct JsonBody {
    pub(crate) bytes: Vec<u8>,
    pub(crate) columns: Result<Option<String>>,
}

/// Serializes `value` to `serde_json::to_vec`'s bytes, and finds its `columns`.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<JsonBody> {
    let (bytes, keys) = write(value)?;
    let columns = match keys {
        Some(keys) => columns_param(keys.iter().map(String::as_str)),
        None => array_columns(&bytes),
    };
    Ok(JsonBody { bytes, columns })
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

    /// Rows with many different keys, in changing orders: past the first few dozen keys they
    /// are found through an index, with the same first-seen order as the byte scan.
    #[test]
    fn many_different_keys_keep_their_first_seen_order() {
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = (0..300u64)
            .map(|n| {
                (0..7u64)
                    .map(|i| {
                        let key = format!("k{}", (n * 7 + i * 131) % 500);
                        (key, json!(i))
                    })
                    .collect()
            })
            .collect();
        let columns = same_as_scan(&rows).unwrap();
        assert!(columns.matches(',').count() > 300, "{columns}");
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

    /// The keys are noted by the writer, not read by the byte scan, for everything but raw JSON:
    /// derived structs (with skipped and flattened fields), maps (with keys of any kind), enums.
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
        // Map keys that serde_json writes from numbers or booleans, as their text.
        let mut by_bool = std::collections::BTreeMap::new();
        by_bool.insert(true, 1);
        assert_eq!(observed(&[by_bool.clone()]), Some(vec!["true".into()]));
        assert_eq!(same_as_scan(&[by_bool]).unwrap(), r#""true""#);
        let by_float = [(1.5f64, 'x')].into_iter().collect::<Vec<_>>();
        struct FloatKeys(Vec<(f64, char)>);
        impl Serialize for FloatKeys {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        assert_eq!(same_as_scan(&[FloatKeys(by_float)]).unwrap(), r#""1.5""#);
    }

    /// serde_json's `raw_value` feature is on (this crate's `Numeric` uses it): a raw fragment
    /// that is a row, or the whole body, sends the body to the byte scan; one that is a column's
    /// value cannot hold a column and does not.
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
        assert_eq!(
            write(&rows).unwrap().1,
            Some(vec!["id".into(), "extra".into()])
        );
        assert_eq!(same_as_scan(&rows).unwrap(), r#""id","extra""#);
        let elements = [raw(r#"{"a":1,"b":{"c":2}}"#), raw(r#"{"d":[]}"#)];
        assert_eq!(write(&elements).unwrap().1, None);
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
