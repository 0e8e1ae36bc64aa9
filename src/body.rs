//! Facts about a serialized JSON body, read from its bytes without building a
//! `serde_json::Value`.

use crate::error::{Error, Result};

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
    if keys.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(keys.iter().map(|k| k.len() + 3).sum());
    for (n, key) in keys.iter().enumerate() {
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
    Ok(Some(out))
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
