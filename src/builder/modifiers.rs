//! Modifiers of what comes back: formats (csv, geojson, explain, strip_nulls) and head
//! requests. Ordering, limits and ranges are in `filters.rs`, beside the filters they follow.

use reqwest::header::HeaderValue;
use reqwest::Method;

use super::{Builder, Reads};
use crate::error::Error;
use crate::request::Target;
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
        if let Target::Rpc(_) = self.parts.url.target {
            super::rpc::args_to_query(&mut self.parts, true);
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
