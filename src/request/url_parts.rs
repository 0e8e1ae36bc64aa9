//! What a request's URL is made of besides the client's base. [`UrlParts`] is the one place the
//! target, the conflict target, the bulk `columns` and the query pairs live: a request being
//! built holds one, the client's memo keys its URLs by one, a template keeps one.

use url::Url;

use crate::encode::encode_query;
use crate::error::{Error, Result};

/// Short text kept inline (names, conflict targets, query pairs are usually a few bytes), so a
/// builder chain does not allocate for each of them.
pub(crate) type Text = compact_str::CompactString;

/// Query pairs (decoded form) in call order; most requests have one or two.
pub(crate) type Query = smallvec::SmallVec<[(Text, Text); 2]>;

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Table(Text),
    Rpc(Text),
}

impl Target {
    pub(crate) fn name(&self) -> &str {
        match self {
            Target::Table(t) | Target::Rpc(t) => t,
        }
    }
}

/// The URL of a request, as parts: `<base>/[rpc/]<name>?on_conflict=..&columns=..&<query>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct UrlParts {
    pub(crate) target: Target,
    /// Upsert conflict target; sent first, as postgrest-js does.
    pub(crate) on_conflict: Option<Text>,
    /// `columns` of a bulk body; sent right after `on_conflict`.
    pub(crate) columns: Option<String>,
    /// Query pairs (decoded form) in call order.
    pub(crate) query: Query,
}

impl UrlParts {
    pub(crate) fn new(target: Target) -> Self {
        UrlParts {
            target,
            on_conflict: None,
            columns: None,
            query: Query::new(),
        }
    }

    /// Appends a query pair (filters may repeat a key).
    #[inline]
    pub(crate) fn push_query(&mut self, key: impl Into<Text>, value: impl Into<Text>) {
        self.query.push((key.into(), value.into()));
    }

    /// Sets a query pair: replaces the first pair with this key in place, or appends.
    #[inline]
    pub(crate) fn set_query(&mut self, key: &str, value: impl Into<Text>) {
        match self.query.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = value.into(),
            None => self.query.push((Text::from(key), value.into())),
        }
    }

    /// About how many bytes these parts (and so their URL) take.
    pub(crate) fn size(&self) -> usize {
        self.target.name().len()
            + self.on_conflict.as_ref().map_or(0, |t| t.len())
            + self.columns.as_ref().map_or(0, String::len)
            + self
                .query
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>()
    }

    /// The URL under `base`, built afresh.
    pub(crate) fn url(&self, base: &Url) -> Result<Url> {
        let mut url = base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| Error::invalid("base URL cannot take a path"))?;
            segments.pop_if_empty();
            if let Target::Rpc(_) = self.target {
                segments.push("rpc");
            }
            segments.push(self.target.name());
        }
        let pairs = self
            .on_conflict
            .as_deref()
            .map(|v| ("on_conflict", v))
            .into_iter()
            .chain(self.columns.as_deref().map(|v| ("columns", v)))
            .chain(self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let encoded = encode_query(pairs);
        if !encoded.is_empty() {
            url.set_query(Some(&encoded));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_target_and_columns_come_first() {
        let mut parts = UrlParts::new(Target::Table("user interactions".into()));
        parts.push_query("select", "*");
        parts.columns = Some(r#""a","b""#.to_owned());
        parts.on_conflict = Some("a,b".into());
        let base = Url::parse("https://x.supabase.co/rest/v1").unwrap();
        assert_eq!(
            parts.url(&base).unwrap().as_str(),
            "https://x.supabase.co/rest/v1/user%20interactions?on_conflict=a%2Cb&columns=%22a%22%2C%22b%22&select=*"
        );
        let rpc = UrlParts::new(Target::Rpc("f".into()));
        assert_eq!(
            rpc.url(&base).unwrap().as_str(),
            "https://x.supabase.co/rest/v1/rpc/f"
        );
    }

    #[test]
    fn set_query_replaces_in_place() {
        let mut parts = UrlParts::new(Target::Table("t".into()));
        parts.push_query("select", "a");
        parts.push_query("id", "eq.1");
        parts.set_query("select", "b");
        parts.set_query("limit", "1");
        let pairs: Vec<(&str, &str)> = parts
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(pairs, [("select", "b"), ("id", "eq.1"), ("limit", "1")]);
    }
}
