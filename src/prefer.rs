//! The `Prefer` header. One place decides which tokens a request carries and in which order.
//!
//! The order follows postgrest-js for every chain it can express: `resolution`, `count`,
//! `missing`, `return`, `tx`, `handling`, `max-affected`, joined by `", "`.

use crate::Count;

/// What an upsert does with a row that conflicts with an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

/// The preferences of one request.
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
        if let Some(n) = self.max_affected {
            push("handling=strict");
            push(&format!("max-affected={n}"));
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
