//! Response-format modifiers (csv, geojson, explain, strip_nulls) and head requests.

use reqwest::header::HeaderValue;
use reqwest::Method;

use super::{op, Builder, Reads};
use crate::error::Error;
use crate::response::{Head, Json, Retype, RowSet, Shape, Text};

/// Options of [`Builder::explain`]: which `EXPLAIN` options PostgREST passes on, and the plan's
/// format. Servers must enable `db-plan-enabled` for this to work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explain {
    analyze: bool,
    verbose: bool,
    settings: bool,
    buffers: bool,
    wal: bool,
    json: bool,
}

impl Explain {
    /// Plain `EXPLAIN`, text format.
    pub fn new() -> Self {
        Explain::default()
    }
    /// `ANALYZE`: run the query and report real timings.
    pub fn analyze(mut self) -> Self {
        self.analyze = true;
        self
    }
    /// `VERBOSE`.
    pub fn verbose(mut self) -> Self {
        self.verbose = true;
        self
    }
    /// `SETTINGS`.
    pub fn settings(mut self) -> Self {
        self.settings = true;
        self
    }
    /// `BUFFERS`.
    pub fn buffers(mut self) -> Self {
        self.buffers = true;
        self
    }
    /// `WAL`.
    pub fn wal(mut self) -> Self {
        self.wal = true;
        self
    }
    /// The plan as JSON text instead of PostgreSQL's text format.
    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }

    fn options(&self) -> String {
        let names = [
            (self.analyze, "analyze"),
            (self.verbose, "verbose"),
            (self.settings, "settings"),
            (self.buffers, "buffers"),
            (self.wal, "wal"),
        ];
        names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join("|")
    }
}

impl<Op, S> Builder<Op, S> {
    fn with_accept<S2>(mut self, accept: &'static str) -> Builder<Op, S2> {
        self.parts.accept = Some(HeaderValue::from_static(accept));
        self.reshape()
    }
}

impl<Op, S: RowSet> Builder<Op, S> {
    /// The rows as CSV (`Accept: text/csv`); awaits to `String`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").csv().build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// assert_eq!(req.headers()["accept"], "text/csv");
    /// ```
    pub fn csv(self) -> Builder<Op, Text> {
        self.with_accept("text/csv")
    }

    /// The rows as a GeoJSON `FeatureCollection` (`Accept: application/geo+json`, needs PostGIS);
    /// awaits to `serde_json::Value`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("parks").select("*").geojson().build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// assert_eq!(req.headers()["accept"], "application/geo+json");
    /// ```
    pub fn geojson(self) -> Builder<Op, Json<serde_json::Value>> {
        self.with_accept("application/geo+json")
    }
}

impl<Op, S: Retype> Builder<Op, S> {
    /// Leaves out keys whose value is null (`Accept: ...;nulls=stripped`, PostgREST 11.2+).
    /// Only JSON answers can be stripped, so it does not exist after `.csv()`:
    ///
    /// ```compile_fail
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let _ = client.from("grants").select("*").csv().strip_nulls();
    /// ```
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("t").select("*").strip_nulls().build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// assert_eq!(req.headers()["accept"], "application/vnd.pgrst.array+json;nulls=stripped");
    /// let req = client.from("t").select("*").strip_nulls().single().build().unwrap();
    /// assert_eq!(req.headers()["accept"], "application/vnd.pgrst.object+json;nulls=stripped");
    /// ```
    pub fn strip_nulls(mut self) -> Self {
        self.parts.strip_nulls = true;
        self
    }
}

impl<Op, S: Shape> Builder<Op, S> {
    /// The query plan instead of the result (`Accept: application/vnd.pgrst.plan+text;
    /// for="<the Accept it replaces>"; options=...;`); awaits to the plan as `String`.
    ///
    /// ```
    /// # use supabase_rest::{Client, Explain};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("grants").select("*").single().explain(Explain::new().analyze()).build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// assert_eq!(
    ///     req.headers()["accept"],
    ///     r#"application/vnd.pgrst.plan+text; for="application/vnd.pgrst.object+json"; options=analyze;"#
    /// );
    /// ```
    pub fn explain(mut self, explain: Explain) -> Builder<Op, Text> {
        let current = self
            .parts
            .effective_accept(S::ACCEPT)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_else(|| "application/json".to_owned());
        let format = if explain.json { "json" } else { "text" };
        let value = format!(
            "application/vnd.pgrst.plan+{format}; for=\"{current}\"; options={};",
            explain.options()
        );
        match HeaderValue::try_from(value) {
            Ok(v) => self.parts.accept = Some(v),
            Err(_) => self.parts.fail(Error::invalid(
                "explain media type is not a valid header value",
            )),
        }
        self.reshape()
    }
}

impl<Op: Reads, S: RowSet> Builder<Op, S> {
    /// Asks only for the count and headers, no rows (`HEAD`); awaits to
    /// [`WithCount<()>`](crate::WithCount). Combine with `.count(Count::Exact)` for a cheap
    /// "how many".
    ///
    /// ```
    /// # use supabase_rest::{Client, Count};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client.from("user_interactions").select("*").count(Count::Exact).head().build().unwrap();
    /// assert_eq!(req.url().query(), Some("select=*"));
    /// assert_eq!(req.method(), "HEAD");
    /// assert_eq!(req.headers()["prefer"], "count=exact");
    /// ```
    pub fn head(mut self) -> Builder<Op, Head> {
        if let super::Target::Rpc(_) = self.parts.target {
            self.parts.rpc_to_query(true);
        } else {
            self.parts.method = Method::HEAD;
        }
        self.reshape()
    }
}

impl<Op> Builder<Op, Head> {
    /// Asks for a total count on a head request (`Prefer: count=...`).
    ///
    /// ```
    /// # use supabase_rest::{Client, Count};
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .select("*")
    ///     .eq("status", "open")
    ///     .head()
    ///     .count(Count::Planned)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "HEAD");
    /// assert_eq!(req.url().query(), Some("select=*&status=eq.open"));
    /// assert_eq!(req.headers()["prefer"], "count=planned");
    /// ```
    pub fn count(mut self, count: crate::Count) -> Self {
        self.parts.prefer.count = Some(count);
        self
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
        self.parts.rpc_to_query(false);
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
            .set_query("select", crate::filter::clean_columns(columns.as_ref()));
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
