//! The URL and the header map of recently built requests, kept per client so that a request of
//! a shape seen before costs two clones instead of a URL parse and a dozen header inserts.
//!
//! Why it is safe: both are pure functions of the client's [`Defaults`] (base URL, default
//! headers, schema) and of a few parts of the request, which form the key ([`UrlParts`] and
//! [`HeaderKey`]). A hit returns exactly what building afresh would (a test checks every shape
//! against a fresh build, before and after the memo wraps around).
//!
//! Why it is bounded: at most [`URLS`] URLs and [`HEADER_MAPS`] header maps, replaced
//! round-robin; URLs longer than [`URL_BYTES`] are never kept. It lives in the client and dies
//! with it, and a derived client (`with_access_token`, `schema`) starts with an empty one,
//! because its defaults differ.
//!
//! Why it is cheap under load: the lock is held only to compare keys and clone two `Arc`s,
//! never while building; a miss builds outside the lock, then inserts.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use url::Url;

use crate::error::{Error, Result};
use crate::prefer::Prefer;
use crate::request::{Defaults, Held, UrlParts, Use};
use crate::wire::Address;

/// URLs remembered per client.
const URLS: usize = 32;
/// Header maps remembered per client (one per combination of read/write, `Prefer`, `Accept`).
const HEADER_MAPS: usize = 16;
/// URLs longer than this (a long `in.(...)` list, a wide bulk `columns`) are built afresh and not
/// remembered, so the memo never holds more than about `URLS * 2 * URL_BYTES` bytes.
const URL_BYTES: usize = 2048;

/// What a request's headers are made of besides the client's defaults and schema (and the
/// request's own extra headers, applied on top).
#[derive(Debug, Clone, Eq)]
pub(crate) struct HeaderKey {
    /// `GET`/`HEAD`: `Accept-Profile` and no `Content-Type`; otherwise `Content-Profile` and
    /// `Content-Type: application/json`.
    pub(crate) reads: bool,
    pub(crate) prefer: Prefer,
    pub(crate) accept: Option<HeaderValue>,
}

impl PartialEq for HeaderKey {
    fn eq(&self, other: &Self) -> bool {
        self.reads == other.reads
            && self.prefer == other.prefer
            && match (&self.accept, &other.accept) {
                (None, None) => true,
                // Most values are the same static text: equal pointers mean equal bytes.
                (Some(a), Some(b)) => {
                    let (a, b) = (a.as_bytes(), b.as_bytes());
                    std::ptr::eq(a, b) || a == b
                }
                _ => false,
            }
    }
}

/// The memo itself, one per client.
#[derive(Default)]
pub(crate) struct Memo {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    urls: Vec<(u64, UrlParts, Arc<Address>)>,
    next_url: usize,
    /// The entry hit or made last: the likeliest next hit, compared before hashing.
    last_url: usize,
    headers: Vec<(HeaderKey, Arc<HeaderMap>)>,
    next_headers: usize,
}

impl Memo {
    /// The URL for `url` under the client's base and the header map for `headers` over the
    /// client's defaults: remembered ones when this shape was built before. For
    /// [`Use::Build`] they are copied under the lock (no reference counting), for
    /// [`Use::Send`] shared.
    pub(crate) fn get(
        &self,
        defaults: &Defaults,
        url: &UrlParts,
        headers: &HeaderKey,
        usage: Use,
    ) -> Result<(Held<Address>, Held<HeaderMap>)> {
        let mut hash = None;
        let (found_url, found_headers) = {
            let mut entries = self.lock();
            let at_url = entries.find_url(url, &mut hash);
            let at_headers = entries.find_headers(headers);
            if let (Some(u), Some(h)) = (at_url, at_headers) {
                let (url, map) = (&entries.urls[u].2, &entries.headers[h].1);
                return Ok(match usage {
                    Use::Build => (
                        Held::Own(Address::new(Url::clone(url.url()))),
                        Held::Own(HeaderMap::clone(map)),
                    ),
                    Use::Send => (Held::Shared(Arc::clone(url)), Held::Shared(Arc::clone(map))),
                });
            }
            (
                at_url.map(|u| Arc::clone(&entries.urls[u].2)),
                at_headers.map(|h| Arc::clone(&entries.headers[h].1)),
            )
        };
        let fresh_url = found_url.is_none() && url.size() <= URL_BYTES;
        let fresh_headers = found_headers.is_none();
        let built_url = match found_url {
            Some(u) => u,
            None => Arc::new(Address::new(url.url(&defaults.base)?)),
        };
        let built_headers = match found_headers {
            Some(h) => h,
            None => Arc::new(build_headers(defaults, headers)?),
        };
        if fresh_url || fresh_headers {
            let mut entries = self.lock();
            if fresh_url {
                let hash = hash.unwrap_or_else(|| fx_hash(url));
                entries.insert_url(hash, url.clone(), Arc::clone(&built_url));
            }
            if fresh_headers {
                entries.insert_headers(headers.clone(), Arc::clone(&built_headers));
            }
        }
        // A miss: shared with the memo now (a URL too long to be remembered is not, and is
        // handed over without a copy).
        Ok((Held::Shared(built_url), Held::Shared(built_headers)))
    }

    /// The entries, locked. Nothing that can panic runs under the lock, but a poisoned lock
    /// is still usable: entries are only ever replaced whole.
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn fx_hash(url: &UrlParts) -> u64 {
    let mut h = FxHasher::default();
    url.hash(&mut h);
    h.finish()
}

impl Entries {
    /// Where the URL for `key` is, if remembered.
    fn find_url(&mut self, key: &UrlParts, hash: &mut Option<u64>) -> Option<usize> {
        // The shape used last is the likeliest: compare it first, without hashing.
        if let Some((_, k, _)) = self.urls.get(self.last_url) {
            if k == key {
                return Some(self.last_url);
            }
        }
        let h = *hash.get_or_insert_with(|| fx_hash(key));
        let at = self
            .urls
            .iter()
            .position(|(eh, k, _)| *eh == h && k == key)?;
        self.last_url = at;
        Some(at)
    }

    fn insert_url(&mut self, hash: u64, key: UrlParts, url: Arc<Address>) {
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
    fn find_headers(&self, key: &HeaderKey) -> Option<usize> {
        self.headers.iter().position(|(k, _)| k == key)
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

const PREFER: HeaderName = HeaderName::from_static("prefer");

/// A client-wide `Prefer` (`ClientBuilder::header("Prefer", ..)`) and the request's own tokens in
/// one value, as supabase-js appends them: the client's first, then the request's, joined by
/// `", "`. A token family the request sets (`count`, `return`, ...) is taken from the request
/// only: PostgREST honours the first occurrence, and the request's choice is the one meant.
fn merge_prefer(default: &str, own: &str) -> String {
    let family = |token: &str| token.split('=').next().unwrap_or("").trim().to_owned();
    let own_families: Vec<String> = own.split(',').map(family).collect();
    let mut merged = String::with_capacity(default.len() + own.len() + 2);
    for token in default.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !own_families.contains(&family(token)) {
            merged.push_str(token);
            merged.push_str(", ");
        }
    }
    merged.push_str(own);
    merged
}

fn build_headers(defaults: &Defaults, key: &HeaderKey) -> Result<HeaderMap> {
    let mut map = defaults.headers.clone();
    if let Some(schema) = &defaults.schema {
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
    if let Some(own) = key.prefer.header_value() {
        let merged = match map.get(PREFER).and_then(|v| v.to_str().ok()) {
            Some(default) => merge_prefer(default, &own),
            None => own,
        };
        let value = HeaderValue::try_from(merged)
            .map_err(|_| Error::invalid("Prefer header is not a valid header value"))?;
        map.insert(PREFER, value);
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
        let ids: Vec<u32> = (0..1_000).collect();
        for _ in 0..3 {
            let req = client
                .from("t")
                .select("*")
                .in_("id", &ids)
                .build()
                .unwrap();
            assert!(req.url().as_str().len() > super::URL_BYTES);
        }
        let entries = client.inner.memo.entries.lock().unwrap();
        assert!(entries.urls.is_empty());
    }

    /// A client-wide Prefer is merged with the request's tokens, never dropped, and no token
    /// family is sent twice.
    #[test]
    fn client_wide_prefer_is_merged() {
        let client = Client::builder("https://xyz.supabase.co", "anon-key")
            .header("Prefer", "timezone=UTC, count=planned")
            .build()
            .unwrap();
        let req = client
            .from("t")
            .select("*")
            .count(crate::Count::Exact)
            .build()
            .unwrap();
        assert_eq!(req.headers()["prefer"], "timezone=UTC, count=exact");
        let req = client.from("t").select("*").build().unwrap();
        assert_eq!(req.headers()["prefer"], "timezone=UTC, count=planned");
        let req = client
            .from("t")
            .upsert(&serde_json::json!({"a": 1}))
            .select("*")
            .build()
            .unwrap();
        assert_eq!(
            req.headers()["prefer"],
            "timezone=UTC, count=planned, resolution=merge-duplicates, return=representation"
        );
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
