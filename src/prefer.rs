//! The `Prefer` header. One place decides which tokens a request carries and in which order.
//!
//! The order follows postgrest-js for every chain it can express: `resolution`, `count`,
//! `missing`, `return`, `tx`, `handling`, `max-affected`, joined by `", "`. The one exception
//! is postgrest-js's too: an rpc `head()` whose arguments cannot go in the query is sent as a
//! POST with `return=minimal` appended after a bare `,`.

/// Which count PostgREST computes for `Prefer: count=...`.
///
/// ```
/// # use supabase_rest::{Client, Count};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client.from("grants").select("id").count(Count::Exact).build().unwrap();
/// assert_eq!(req.headers()["prefer"], "count=exact");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Count {
    /// `COUNT(*)`: exact, costs a full scan on large tables.
    Exact,
    /// The planner's estimate: fast, approximate.
    Planned,
    /// Exact up to the server's `db-max-rows`, the planner's estimate above it.
    Estimated,
}

impl Count {
    pub(crate) fn prefer_token(self) -> &'static str {
        match self {
            Count::Exact => "count=exact",
            Count::Planned => "count=planned",
            Count::Estimated => "count=estimated",
        }
    }
}

/// What an upsert does with a row that conflicts with an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

/// How PostgREST treats preferences it cannot honour (`Prefer: handling=...`).
///
/// ```
/// # use supabase_rest::{Client, Handling};
/// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
/// let req = client
///     .from("grants")
///     .select("*")
///     .timezone("Europe/Paris")
///     .handling(Handling::Strict)
///     .build()
///     .unwrap();
/// assert_eq!(req.headers()["prefer"], "timezone=Europe/Paris, handling=strict");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Handling {
    /// Refuse the request (400) if a preference cannot be honoured.
    Strict,
    /// Ignore what cannot be honoured (PostgREST's default).
    Lenient,
}

/// The preferences of one request: a few bytes (it is also part of the key of the client's
/// memo of header maps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prefer {
    pub(crate) resolution: Option<Resolution>,
    pub(crate) count: Option<Count>,
    /// `missing=default`: keys absent from a row take the column default instead of NULL.
    pub(crate) missing_default: bool,
    /// `return=representation`; `Some(false)` sends `return=minimal` explicitly.
    pub(crate) representation: Option<bool>,
    pub(crate) rollback: bool,
    pub(crate) max_affected: Option<u64>,
    /// `return=minimal` appended after a bare `,` (an rpc `head()` sent as POST).
    pub(crate) minimal_appended: bool,
    /// `timezone=<name>`: timestamps in the answer in this zone (validated by the builder).
    pub(crate) timezone: Option<compact_str::CompactString>,
    /// `handling=strict|lenient`; `max_affected` implies strict.
    pub(crate) handling: Option<Handling>,
}

impl Prefer {
    /// The header value, or `None` when no preference is set.
    pub(crate) fn header_value(&self) -> Option<String> {
        let mut out = String::new();
        let mut push = |token: &str| {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(token);
        };
        match self.resolution {
            Some(Resolution::MergeDuplicates) => push("resolution=merge-duplicates"),
            Some(Resolution::IgnoreDuplicates) => push("resolution=ignore-duplicates"),
            None => {}
        }
        if let Some(count) = self.count {
            push(count.prefer_token());
        }
        if self.missing_default {
            push("missing=default");
        }
        match self.representation {
            Some(true) => push("return=representation"),
            Some(false) => push("return=minimal"),
            None => {}
        }
        if self.rollback {
            push("tx=rollback");
        }
        if let Some(tz) = &self.timezone {
            push(&format!("timezone={tz}"));
        }
        match (self.handling, self.max_affected) {
            (_, Some(n)) => {
                push("handling=strict");
                push(&format!("max-affected={n}"));
            }
            (Some(Handling::Strict), None) => push("handling=strict"),
            (Some(Handling::Lenient), None) => push("handling=lenient"),
            (None, None) => {}
        }
        if self.minimal_appended {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str("return=minimal");
        }
        (!out.is_empty()).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_prefer_sends_no_header() {
        assert_eq!(Prefer::default().header_value(), None);
    }

    #[test]
    fn upsert_tokens_in_postgrest_js_order() {
        let p = Prefer {
            resolution: Some(Resolution::MergeDuplicates),
            count: Some(Count::Exact),
            missing_default: true,
            representation: Some(true),
            ..Prefer::default()
        };
        assert_eq!(
            p.header_value().unwrap(),
            "resolution=merge-duplicates, count=exact, missing=default, return=representation"
        );
    }

    #[test]
    fn max_affected_brings_strict_handling() {
        let p = Prefer {
            max_affected: Some(5),
            ..Prefer::default()
        };
        assert_eq!(p.header_value().unwrap(), "handling=strict, max-affected=5");
    }

    #[test]
    fn minimal_appended_as_postgrest_js_appends_it() {
        let p = Prefer {
            count: Some(Count::Exact),
            minimal_appended: true,
            ..Prefer::default()
        };
        assert_eq!(p.header_value().unwrap(), "count=exact,return=minimal");
        let p = Prefer {
            minimal_appended: true,
            ..Prefer::default()
        };
        assert_eq!(p.header_value().unwrap(), "return=minimal");
    }

    #[test]
    fn timezone_and_handling() {
        let p = Prefer {
            timezone: Some("America/Los_Angeles".into()),
            handling: Some(Handling::Lenient),
            ..Prefer::default()
        };
        assert_eq!(
            p.header_value().unwrap(),
            "timezone=America/Los_Angeles, handling=lenient"
        );
        let p = Prefer {
            handling: Some(Handling::Strict),
            max_affected: Some(3),
            ..Prefer::default()
        };
        assert_eq!(p.header_value().unwrap(), "handling=strict, max-affected=3");
    }

    #[test]
    fn rollback_and_ignore() {
        let p = Prefer {
            resolution: Some(Resolution::IgnoreDuplicates),
            rollback: true,
            ..Prefer::default()
        };
        assert_eq!(
            p.header_value().unwrap(),
            "resolution=ignore-duplicates, tx=rollback"
        );
    }
}
