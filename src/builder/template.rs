//! The URL and the header map of recently built requests, kept per client so that a request of
//! a shape seen before costs two clones instead of a URL parse and a dozen header inserts.
//!
//! Both are pure functions of the client (base URL, default headers, schema) and of a few parts
//! of the request, which form the key; a hit returns exactly what building afresh would. The
//! memo is small and bounded (round-robin replacement), lives in `ClientInner` and so dies with
//! the client, and is never shared with a derived client (`with_access_token`, `schema`).
//! It is only ever `try_lock`ed: a builder that finds it busy builds afresh instead of waiting.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use url::Url;

use super::Target;
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

/// What a request's URL is made of besides the client's base.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct UrlKey {
    pub(crate) target: Target,
    pub(crate) on_conflict: Option<String>,
    pub(crate) columns: Option<String>,
    pub(crate) query: Vec<(Cow<'static, str>, String)>,
}

/// What a request's headers are made of besides the client's defaults and schema (and the
/// request's own extra headers, applied on top).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HeaderKey {
    pub(crate) reads: bool,
    pub(crate) prefer: Prefer,
    pub(crate) accept: Option<HeaderValue>,
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
    /// The URL for `url` under the client's base and the header map for `headers` from the
    /// client's defaults and schema: remembered ones when this shape was built before.
    pub(crate) fn get(
        &self,
        client: &ClientInner,
        url: UrlKey,
        headers: HeaderKey,
    ) -> Result<(Arc<Url>, Arc<HeaderMap>)> {
        let mut hash = None;
        let (mut found_url, mut found_headers) = (None, None);
        if let Ok(mut memo) = self.memo.try_lock() {
            found_url = memo.find_url(&url, &mut hash);
            found_headers = memo.find_headers(&headers);
        }
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
            if let Ok(mut memo) = self.memo.try_lock() {
                if fresh_url {
                    let hash = hash.unwrap_or_else(|| hash_of(&url));
                    memo.insert_url(hash, url, Arc::clone(&built_url));
                }
                if fresh_headers {
                    memo.insert_headers(headers, Arc::clone(&built_headers));
                }
            }
        }
        Ok((built_url, built_headers))
    }
}

impl UrlKey {
    /// About how many bytes the key (and so its URL) takes.
    fn size(&self) -> usize {
        self.target.name().len()
            + self.on_conflict.as_ref().map_or(0, String::len)
            + self.columns.as_ref().map_or(0, String::len)
            + self
                .query
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>()
    }
}

impl Memo {
    fn find_url(&mut self, key: &UrlKey, hash: &mut Option<u64>) -> Option<Arc<Url>> {
        // The shape used last is the likeliest: compare it first, without hashing.
        if let Some((_, k, url)) = self.urls.get(self.last_url) {
            if k == key {
                return Some(Arc::clone(url));
            }
        }
        let h = *hash.get_or_insert_with(|| hash_of(key));
        let at = self
            .urls
            .iter()
            .position(|(eh, k, _)| *eh == h && k == key)?;
        self.last_url = at;
        Some(Arc::clone(&self.urls[at].2))
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

    fn find_headers(&self, key: &HeaderKey) -> Option<Arc<HeaderMap>> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, map)| Arc::clone(map))
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

fn hash_of(key: &UrlKey) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

fn build_url(base: &Url, key: &UrlKey) -> Result<Url> {
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
        .as_deref()
        .map(|v| ("on_conflict", v))
        .into_iter()
        .chain(key.columns.as_deref().map(|v| ("columns", v)))
        .chain(key.query.iter().map(|(k, v)| (k.as_ref(), v.as_str())));
    let encoded = encode_query(pairs);
    if !encoded.is_empty() {
        url.set_query(Some(&encoded));
    }
    Ok(url)
}

fn build_headers(client: &ClientInner, key: &HeaderKey) -> Result<HeaderMap> {
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
    if let Some(a) = &key.accept {
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
