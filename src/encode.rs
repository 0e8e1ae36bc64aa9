//! The query string, written as `application/x-www-form-urlencoded` the way the JavaScript
//! client's `URLSearchParams` writes it: space as `+`, `*-._` and ASCII alphanumerics bare,
//! every other byte percent-encoded. PostgREST decodes `+` as a space, so a literal `+` must go
//! out as `%2B`, which this does. Also the `select` column lists, cleaned as postgrest-js
//! cleans them.

/// A `select` column list as postgrest-js sends it: whitespace outside double quotes removed.
pub(crate) fn clean_columns(columns: &str) -> compact_str::CompactString {
    if !columns.chars().any(|c| c == '"' || c.is_whitespace()) {
        return columns.into();
    }
    let mut out = compact_str::CompactString::with_capacity(columns.len());
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
    fn query_pairs_in_order() {
        assert_eq!(
            encode_query([("on_conflict", "a,b"), ("select", "*"), ("x", "a+b c")]),
            "on_conflict=a%2Cb&select=*&x=a%2Bb+c"
        );
        assert_eq!(encode_query([]), "");
    }

    #[test]
    fn columns_lose_whitespace_outside_quotes() {
        assert_eq!(clean_columns("id, tags ( name )"), "id,tags(name)");
        assert_eq!(clean_columns("\"my col\", b"), "\"my col\",b");
    }
}
