//! The URL and the header map of recently built requests, kept per client so that a request of
//! a shape seen before costs two clones instead of a URL parse and a dozen header inserts.
//!
//! Both are pure functions of the client (base URL, default headers, schema) and of a few parts
//! of the request, which form the key; a hit returns exactly what building afresh would. The
//! memo is small and bounded (round-robin replacement), lives in `ClientInner` and so dies with
//! the client, and is never shared with a derived client (`with_access_token`, `schema`).
//! The lock is held only to compare keys and clone what a hit hands out, never while building.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use url::Url;

use super::{Query, Target, Text};
use crate::client::ClientInner;
use crate::error::{Error, Result};
use crate::filter::encode_query;
use crate::prefer::Prefer;

/// URLs remembered per client.
const URLS: usize = 32;
/// Header maps remembered per client (one per combination of read/write, `Prefer`, `Accept`).
const HEADER_MAPS: usize = 16;
/// URLs longer than this (a long `in.(...)` list, a wide bulk `columns`) are built afresh and not
/// remembered, so the memo never holds more than about `URLS * 2 * URL_BYTES` bytes.
const URL_BYTES: usize = 2048;

/// What a request's URL is made of besides the client's base, as the memo keeps it.
#[derive(Debug, PartialEq, Eq)]
struct UrlKey {
    target: Target,
    on_conflict: Option<Text>,
    columns: Option<String>,
    query: Query,
}

/// The same, borrowed from a request being built: a hit copies nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlKeyRef<'a> {
    pub(crate) target: &'a Target,
    pub(crate) on_conflict: Option<&'a str>,
    pub(crate) columns: Option<&'a str>,
    pub(crate) query: &'a [(Text, Text)],
}

/// What a request's headers are made of besides the client's defaults and schema (and the
/// request's own extra headers, applied on top), as the memo keeps it.
#[derive(Debug, PartialEq, Eq)]
struct HeaderKey {
    reads: bool,
    prefer: Prefer,
    accept: Option<HeaderValue>,
}

/// The same, borrowed from a request being built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderKeyRef<'a> {
    pub(crate) reads: bool,
    pub(crate) prefer: &'a Prefer,
    pub(crate) accept: Option<&'a HeaderValue>,
}

/// The memo itself.
#[derive(Default)]
pub(crate) struct Templates {
    memo: Mutex<Memo>,
}

#[derive(Default)]
struct Memo {
    urls: Vec<(u64, UrlKey, Arc<Url>)>,
    next_url: usize,
    last_url: usize,
    headers: Vec<(HeaderKey, Arc<HeaderMap>)>,
    next_headers: usize,
}

impl Templates {
    /// Hands `take` the URL for `url` under the client's base and the header map for `headers`
    /// from the client's defaults and schema: remembered ones when this shape was built before.
    ///
    /// On a hit, `take` runs with the memo locked, so it can copy what it needs without
    /// touching the shared handles' counters; it must be quick (a clone at most).
    pub(crate) fn get<R>(
        &self,
        client: &ClientInner,
        url: UrlKeyRef<'_>,
        headers: HeaderKeyRef<'_>,
        take: impl FnOnce(&Arc<Url>, &Arc<HeaderMap>) -> R,
    ) -> Result<R> {
        let mut hash = None;
        let (found_url, found_headers) = {
            let mut memo = self.lock();
            let at_url = memo.find_url(&url, &mut hash);
            let at_headers = memo.find_headers(&headers);
            if let (Some(u), Some(h)) = (at_url, at_headers) {
                return Ok(take(&memo.urls[u].2, &memo.headers[h].1));
            }
            (
                at_url.map(|u| Arc::clone(&memo.urls[u].2)),
                at_headers.map(|h| Arc::clone(&memo.headers[h].1)),
            )
        };
        let fresh_url = found_url.is_none() && url.size() <= URL_BYTES;
        let fresh_headers = found_headers.is_none();
        let built_url = match found_url {
            Some(u) => u,
            None => Arc::new(build_url(&client.base, &url)?),
        };
        let built_headers = match found_headers {
            Some(h) => h,
            None => Arc::new(build_headers(client, &headers)?),
        };
        if fresh_url || fresh_headers {
            let mut memo = self.lock();
            if fresh_url {
                let hash = hash.unwrap_or_else(|| url.hash());
                memo.insert_url(hash, url.to_key(), Arc::clone(&built_url));
            }
            if fresh_headers {
                memo.insert_headers(headers.to_key(), Arc::clone(&built_headers));
            }
        }
        Ok(take(&built_url, &built_headers))
    }

    /// The memo, locked. Nothing that can panic runs under the lock, but a poisoned lock
    /// is still usable: the memo is only ever replaced entry by entry.
    fn lock(&self) -> MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UrlKeyRef<'_> {
    /// About how many bytes the key (and so its URL) takes.
    fn size(&self) -> usize {
        self.target.name().len()
            + self.on_conflict.map_or(0, str::len)
            + self.columns.map_or(0, str::len)
            + self
                .query
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>()
    }

    fn matches(&self, key: &UrlKey) -> bool {
        *self.target == key.target
            && self.on_conflict == key.on_conflict.as_deref()
            && self.columns == key.columns.as_deref()
            && self.query.len() == key.query.len()
            && self
                .query
                .iter()
                .zip(&key.query)
                .all(|((k1, v1), (k2, v2))| {
                    k1.as_str() == k2.as_str() && v1.as_str() == v2.as_str()
                })
    }

    fn to_key(self) -> UrlKey {
        UrlKey {
            target: self.target.clone(),
            on_conflict: self.on_conflict.map(Text::from),
            columns: self.columns.map(str::to_owned),
            query: self.query.iter().cloned().collect(),
        }
    }

    fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        match self.target {
            Target::Table(t) => (0u8, t.as_str()).hash(&mut h),
            Target::Rpc(f) => (1u8, f.as_str()).hash(&mut h),
        }
        self.on_conflict.hash(&mut h);
        self.columns.hash(&mut h);
        h.write_usize(self.query.len());
        for (k, v) in self.query {
            k.as_str().hash(&mut h);
            v.as_str().hash(&mut h);
        }
        h.finish()
    }
}

impl HeaderKeyRef<'_> {
    fn matches(&self, key: &HeaderKey) -> bool {
        self.reads == key.reads && *self.prefer == key.prefer && self.accept == key.accept.as_ref()
    }

    fn to_key(self) -> HeaderKey {
        HeaderKey {
            reads: self.reads,
            prefer: self.prefer.clone(),
            accept: self.accept.cloned(),
        }
    }
}

impl Memo {
    /// Where the URL for `key` is, if remembered.
    fn find_url(&mut self, key: &UrlKeyRef<'_>, hash: &mut Option<u64>) -> Option<usize> {
        // The shape used last is the likeliest: compare it first, without hashing.
        if let Some((_, k, _)) = self.urls.get(self.last_url) {
            if key.matches(k) {
                return Some(self.last_url);
            }
        }
        let h = *hash.get_or_insert_with(|| key.hash());
        let at = self
            .urls
            .iter()
            .position(|(eh, k, _)| *eh == h && key.matches(k))?;
        self.last_url = at;
        Some(at)
    }

    fn insert_url(&mut self, hash: u64, key: UrlKey, url: Arc<Url>) {
        let entry = (hash, key, url);
        self.last_url = if self.urls.len() < URLS {
            self.urls.push(entry);
            self.urls.len() - 1
        } else {
            let at = self.next_url;
            self.urls[at] = entry;
            self.next_url = (at + 1) % URLS;
            at
        };
    }

    /// Where the header map for `key` is, if remembered.
    fn find_headers(&self, key: &HeaderKeyRef<'_>) -> Option<usize> {
        self.headers.iter().position(|(k, _)| key.matches(k))
    }

    fn insert_headers(&mut self, key: HeaderKey, map: Arc<HeaderMap>) {
        if self.headers.len() < HEADER_MAPS {
            self.headers.push((key, map));
        } else {
            self.headers[self.next_headers] = (key, map);
            self.next_headers = (self.next_headers + 1) % HEADER_MAPS;
        }
    }
}

/// The URL for `key` under `base`, built afresh.
pub(crate) fn build_url(base: &Url, key: &UrlKeyRef<'_>) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|()| Error::invalid("base URL cannot take a path"))?;
        segments.pop_if_empty();
        if let Target::Rpc(_) = key.target {
            segments.push("rpc");
        }
        segments.push(key.target.name());
    }
    let pairs = key
        .on_conflict
        .map(|v| ("on_conflict", v))
        .into_iter()
        .chain(key.columns.map(|v| ("columns", v)))
        .chain(key.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let encoded = encode_query(pairs);
    if !encoded.is_empty() {
        url.set_query(Some(&encoded));
    }
    Ok(url)
}

fn build_headers(client: &ClientInner, key: &HeaderKeyRef<'_>) -> Result<HeaderMap> {
    let mut map = client.headers.clone();
    if let Some(schema) = &client.schema {
        let name = if key.reads {
            "accept-profile"
        } else {
            "content-profile"
        };
        map.insert(HeaderName::from_static(name), schema.clone());
    }
    if !key.reads {
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(p) = key.prefer.header_value() {
        let value = HeaderValue::try_from(p)
            .map_err(|_| Error::invalid("Prefer header is not a valid header value"))?;
        map.insert(HeaderName::from_static("prefer"), value);
    }
    if let Some(a) = key.accept {
        map.insert(ACCEPT, a.clone());
    }
    Ok(map)
}

/// A fast non-cryptographic hash (rustc's "Fx" mixing). The memo compares keys in full after
/// a hash match, so the hash only needs to be quick and to spread.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use crate::Client;

    /// A hit returns exactly what building afresh returns, for every shape in the memo and
    /// after it has wrapped around.
    #[test]
    fn memo_hits_equal_fresh_builds() {
        let client = Client::builder("https://xyz.supabase.co", "anon-key")
            .access_token("jwt")
            .build()
            .unwrap();
        let build = |n: usize| {
            let req = match n % 4 {
                0 => client.from("t").select("*").eq("id", n).build(),
                1 => client
                    .from("t")
                    .upsert(&serde_json::json!([{"a": n}]))
                    .on_conflict("a")
                    .build(),
                2 => client
                    .rpc("f", &serde_json::json!({"x": n % 3}))
                    .get()
                    .build(),
                _ => client
                    .from("t")
                    .delete()
                    .eq("id", n % 5)
                    .header("x-n", (n % 2).to_string())
                    .build(),
            }
            .unwrap();
            let headers: Vec<(String, Vec<u8>)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect();
            (req.method().clone(), req.url().to_string(), headers)
        };
        let fresh: Vec<_> = (0..200).map(build).collect();
        for round in 0..3 {
            for (n, expected) in fresh.iter().enumerate() {
                assert_eq!(&build(n), expected, "round {round}, request {n}");
            }
        }
    }

    /// Long URLs are built every time and never remembered.
    #[test]
    fn long_urls_are_not_remembered() {
        let client = Client::new("https://xyz.supabase.co", "anon-key").unwrap();
        let ids: Vec<u32> = (0..2_000).collect();
        for _ in 0..3 {
            let req = client
                .from("t")
                .select("*")
                .in_("id", &ids)
                .build()
                .unwrap();
            assert!(req.url().as_str().len() > super::URL_BYTES);
        }
        let memo = client.inner.templates.memo.lock().unwrap();
        assert!(memo.urls.is_empty());
    }

    /// Derived clients never see their parent's memo (different token, different schema).
    #[test]
    fn derived_clients_build_their_own() {
        let client = Client::new("https://xyz.supabase.co", "anon-key").unwrap();
        let before = client.from("t").select("*").build().unwrap();
        let user = client.with_access_token("user-jwt");
        let other = client.schema("other");
        let as_user = user.from("t").select("*").build().unwrap();
        let in_other = other.from("t").select("*").build().unwrap();
        assert_eq!(before.headers()["authorization"], "Bearer anon-key");
        assert_eq!(as_user.headers()["authorization"], "Bearer user-jwt");
        assert_eq!(in_other.headers()["accept-profile"], "other");
        assert_eq!(before.headers()["accept-profile"], "public");
    }
}
