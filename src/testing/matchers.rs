//! Wiremock matchers that read PostgREST requests the way PostgREST does.

use std::fmt;

use wiremock::{Match, Request};

/// The `Accept` of `.single()`.
pub(super) const OBJECT: &str = "application/vnd.pgrst.object+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Select,
    Insert,
    Upsert,
    Update,
    Delete,
    Rpc,
}

/// A wiremock matcher for one kind of PostgREST request on one table or function. Build it with
/// [`select_from`], [`insert_into`], [`upsert_into`], [`update`], [`delete_from`] or [`rpc`], then
/// narrow it with the methods below.
#[derive(Debug, Clone)]
pub struct PostgrestRequest {
    kind: Kind,
    name: String,
    on_conflict: Option<String>,
    ignore_duplicates: Option<bool>,
    params: Vec<(String, String)>,
    schema: Option<String>,
    returning: Option<bool>,
    single: Option<bool>,
}

fn matcher(kind: Kind, name: &str) -> PostgrestRequest {
    PostgrestRequest {
        kind,
        name: name.to_owned(),
        on_conflict: None,
        ignore_duplicates: None,
        params: Vec::new(),
        schema: None,
        returning: None,
        single: None,
    }
}

/// `GET` (or `HEAD`) on a table: `client.from(table).select(..)`.
pub fn select_from(table: &str) -> PostgrestRequest {
    matcher(Kind::Select, table)
}

/// A plain `POST` on a table (no conflict resolution): `client.from(table).insert(..)`.
pub fn insert_into(table: &str) -> PostgrestRequest {
    matcher(Kind::Insert, table)
}

/// A `POST` with `Prefer: resolution=...`: `client.from(table).upsert(..)`.
pub fn upsert_into(table: &str) -> PostgrestRequest {
    matcher(Kind::Upsert, table)
}

/// A `PATCH` on a table: `client.from(table).update(..)`.
pub fn update(table: &str) -> PostgrestRequest {
    matcher(Kind::Update, table)
}

/// A `DELETE` on a table: `client.from(table).delete()`.
pub fn delete_from(table: &str) -> PostgrestRequest {
    matcher(Kind::Delete, table)
}

/// A call of a database function, by any method: `client.rpc(function, ..)`.
pub fn rpc(function: &str) -> PostgrestRequest {
    matcher(Kind::Rpc, function)
}

impl PostgrestRequest {
    /// The upsert's `on_conflict` target, exactly as sent (e.g. `"user_id,grant_id"`).
    pub fn on_conflict(mut self, columns: &str) -> Self {
        self.on_conflict = Some(columns.to_owned());
        self
    }

    /// Requires `resolution=ignore-duplicates` (`true`) or `merge-duplicates` (`false`).
    pub fn ignore_duplicates(mut self, ignore: bool) -> Self {
        self.ignore_duplicates = Some(ignore);
        self
    }

    /// Requires the filter `column=eq.value` among the query parameters.
    pub fn eq(self, column: &str, value: impl fmt::Display) -> Self {
        self.param(column, format!("eq.{value}"))
    }

    /// Requires the decoded query parameter `key=value`.
    pub fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params.push((key.to_owned(), value.into()));
        self
    }

    /// Requires this schema in `Accept-Profile` / `Content-Profile`.
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }

    /// Requires (`true`) or forbids (`false`) `Prefer: return=representation`.
    pub fn returning(mut self, returning: bool) -> Self {
        self.returning = Some(returning);
        self
    }

    /// Requires (`true`) or forbids (`false`) the singular `Accept` of `.single()`.
    pub fn single(mut self, single: bool) -> Self {
        self.single = Some(single);
        self
    }
}

pub(super) fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

pub(super) fn prefer_has(req: &Request, token: &str) -> bool {
    header(req, "prefer").split(',').any(|t| t.trim() == token)
}

/// The decoded last path segment and whether the one before it is `rpc`.
pub(super) fn target(req: &Request) -> Option<(String, bool)> {
    let mut segments: Vec<String> = req
        .url
        .path_segments()?
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let name = segments.pop()?;
    let rpc = segments.last().is_some_and(|s| s == "rpc");
    Some((name, rpc))
}

impl Match for PostgrestRequest {
    fn matches(&self, req: &Request) -> bool {
        let Some((name, is_rpc)) = target(req) else {
            return false;
        };
        if name != self.name || is_rpc != (self.kind == Kind::Rpc) {
            return false;
        }
        let method = req.method.as_str();
        let merge = prefer_has(req, "resolution=merge-duplicates");
        let ignore = prefer_has(req, "resolution=ignore-duplicates");
        let kind_ok = match self.kind {
            Kind::Select => method == "GET" || method == "HEAD",
            Kind::Insert => method == "POST" && !merge && !ignore,
            Kind::Upsert => method == "POST" && (merge || ignore),
            Kind::Update => method == "PATCH",
            Kind::Delete => method == "DELETE",
            Kind::Rpc => true,
        };
        if !kind_ok {
            return false;
        }
        if let Some(want) = self.ignore_duplicates {
            if want != ignore {
                return false;
            }
        }
        let pairs: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        if let Some(target) = &self.on_conflict {
            if !pairs.iter().any(|(k, v)| k == "on_conflict" && v == target) {
                return false;
            }
        }
        if !self.params.iter().all(|p| pairs.contains(p)) {
            return false;
        }
        if let Some(schema) = &self.schema {
            let profile = if method == "GET" || method == "HEAD" {
                header(req, "accept-profile")
            } else {
                header(req, "content-profile")
            };
            if profile != schema {
                return false;
            }
        }
        if let Some(want) = self.returning {
            if want != prefer_has(req, "return=representation") {
                return false;
            }
        }
        if let Some(want) = self.single {
            if want != (header(req, "accept") == OBJECT) {
                return false;
            }
        }
        true
    }
}
