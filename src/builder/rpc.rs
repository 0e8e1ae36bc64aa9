//! Function calls: `client.rpc(f, &args)`, sent as POST with the arguments as JSON, or as
//! GET/HEAD with them in the query (`get()`, `head()`). Filters, ordering and limits on a
//! set-returning function come from `filters.rs` and `modifiers.rs`.

use reqwest::Method;
use serde::Serialize;

use super::{op, Builder, RpcBuilder};
use crate::client::Client;
use crate::encode::clean_columns;
use crate::error::Error;
use crate::filter::pg_array;
use crate::request::{Query, RequestParts, Target, Text};
use crate::response::Allowed;

impl Client {
    /// Calls a database function with `args` as a JSON body (`POST /rpc/<function>`).
    ///
    /// Awaiting returns the function's JSON result as a `serde_json::Value`; use
    /// `.returns::<T>()` for your own type, `.single()` for one row of a set.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.rpc("fn", &serde_json::json!({"a": 1})).build().unwrap();
    /// assert_eq!(req.method(), "POST");
    /// assert_eq!(req.url().path(), "/rest/v1/rpc/fn");
    /// ```
    pub fn rpc<A: Serialize + ?Sized>(&self, function: impl AsRef<str>, args: &A) -> RpcBuilder {
        let mut parts = RequestParts::new(Method::POST, Target::Rpc(Text::from(function.as_ref())));
        parts.set_json_body(args);
        Builder::new(self.clone(), parts)
    }

    /// Which methods a function allows (`OPTIONS /rpc/<function>`): `GET` only for functions
    /// declared `STABLE` or `IMMUTABLE`. Awaits to `Vec<reqwest::Method>`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.rpc_options("search_grants").build().unwrap();
    /// assert_eq!(req.method(), "OPTIONS");
    /// assert_eq!(req.url().path(), "/rest/v1/rpc/search_grants");
    /// ```
    pub fn rpc_options(&self, function: impl AsRef<str>) -> Builder<op::Options, Allowed> {
        let parts = RequestParts::new(Method::OPTIONS, Target::Rpc(Text::from(function.as_ref())));
        Builder::new(self.clone(), parts)
    }
}

impl<S> Builder<op::Rpc, S> {
    /// Calls the function with `GET`, its arguments in the query string (for functions that do
    /// not write; lets caches and `Accept-Profile` apply). Array arguments become
    /// `{a,b}` literals; object arguments are sent as JSON text.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .rpc("search_grants", &serde_json::json!({"q": "arts", "tags": ["a", "b"]}))
    ///     .get()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "GET");
    /// assert_eq!(req.url().query(), Some("q=arts&tags=%7Ba%2Cb%7D"));
    /// ```
    pub fn get(mut self) -> Self {
        args_to_query(&mut self.parts, false);
        self
    }

    /// Shapes a set-returning function's rows (`?select=`), as supabase-js sends it (with
    /// `Prefer: return=representation`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .rpc("list_grants", &serde_json::json!({"q": "arts"}))
    ///     .select("id, title")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "POST");
    /// assert_eq!(req.url().query(), Some("select=id%2Ctitle"));
    /// assert_eq!(req.headers()["prefer"], "return=representation");
    /// ```
    pub fn select(mut self, columns: impl AsRef<str>) -> Self {
        self.parts.prefer.representation = Some(true);
        self.parts
            .set_query("select", clean_columns(columns.as_ref()));
        self
    }

    /// Fails the call (and rolls it back) if it affects more than `n` rows
    /// (`Prefer: handling=strict, max-affected=n`; functions returning a set only).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.rpc("close_expired", &serde_json::json!({})).max_affected(10).build().unwrap();
    /// assert_eq!(req.url().query(), None);
    /// assert_eq!(req.headers()["prefer"], "handling=strict, max-affected=10");
    /// ```
    pub fn max_affected(mut self, n: u64) -> Self {
        self.parts.prefer.max_affected = Some(n);
        self
    }

    /// Runs the call and rolls it back (`Prefer: tx=rollback`), where the server allows it.
    /// Calls return their result with `.returns::<T>()`, as reads and writes do.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.rpc("close_expired", &serde_json::json!({})).rollback().build().unwrap();
    /// assert_eq!(req.url().query(), None);
    /// assert_eq!(req.headers()["prefer"], "tx=rollback");
    /// ```
    pub fn rollback(mut self) -> Self {
        self.parts.prefer.rollback = true;
        self
    }
}

/// Moves RPC arguments from the JSON body into the query (GET, or HEAD when `head`), as
/// supabase-js does. A HEAD whose arguments include an object cannot carry them in the
/// query, so it stays a POST with `Prefer: return=minimal`, again as supabase-js does.
pub(super) fn args_to_query(parts: &mut RequestParts, head: bool) {
    let args: serde_json::Map<String, serde_json::Value> = match parts.body.as_deref() {
        None => serde_json::Map::new(),
        Some(b) if b.iter().all(u8::is_ascii_whitespace) || b == b"null" => serde_json::Map::new(),
        Some(b) => match serde_json::from_slice(b) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => {
                parts.fail(Error::invalid(
                    "RPC arguments sent in the query must serialize to a JSON object",
                ));
                return;
            }
        },
    };
    if head && args.values().any(serde_json::Value::is_object) {
        parts.prefer.minimal_appended = true;
        return;
    }
    let mut pairs = Query::with_capacity(args.len());
    for (name, value) in args {
        let text = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Array(items) => {
                let mut out = String::new();
                pg_array(&mut out, items.iter());
                out
            }
            other => other.to_string(),
        };
        pairs.push((Text::from(name), Text::from(text)));
    }
    pairs.extend(parts.url.query.drain(..));
    parts.url.query = pairs;
    parts.body = None;
    parts.method = if head { Method::HEAD } else { Method::GET };
}

#[cfg(test)]
mod tests {
    use crate::Client;

    #[test]
    fn rpc_posts_args_to_rpc_path() {
        let client = Client::new("http://localhost:54321", "anon-key").unwrap();
        let req = client
            .rpc("list_grants", &serde_json::json!({"q": "arts"}))
            .eq("id", 1)
            .build()
            .unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(req.url().path(), "/rest/v1/rpc/list_grants");
        assert_eq!(req.url().query(), Some("id=eq.1"));
        assert_eq!(req.headers()["content-profile"], "public");
        let body = req.body().unwrap().as_bytes().unwrap();
        assert_eq!(body, br#"{"q":"arts"}"#);
    }

    /// A null inside an array argument or operand is a bare NULL on the wire (it used to be the
    /// quoted text "null", which PostgreSQL reads as a string).
    #[test]
    fn null_array_elements_are_sent_as_null() {
        let client = Client::new("http://localhost:54321", "anon-key").unwrap();
        let req = client
            .rpc(
                "f",
                &serde_json::json!({"flags": [true, false, null], "names": ["null"]}),
            )
            .get()
            .build()
            .unwrap();
        assert_eq!(
            req.url().query(),
            Some("flags=%7Btrue%2Cfalse%2CNULL%7D&names=%7B%22null%22%7D")
        );
        let req = client
            .from("t")
            .select("*")
            .contains("tags", [Some("a"), None])
            .overlaps("ids", vec![None, Some(1)])
            .build()
            .unwrap();
        assert_eq!(
            req.url().query(),
            Some("select=*&tags=cs.%7Ba%2CNULL%7D&ids=ov.%7BNULL%2C1%7D")
        );
    }
}
