//! `Client` and `ClientBuilder`: the project's base URL, credentials and defaults, checked once.
//! The requests themselves start in `builder/` (`Client::from`, `Client::rpc`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use url::Url;

use crate::error::{Error, Result};
use crate::request::{Defaults, Memo};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::token::AccessTokenSource;
use crate::wire::{Settings, Transport, Wire};

/// The `x-client-info` value this crate sends, naming itself and its version.
pub const CLIENT_INFO: &str = concat!(
    "supabase-rest/",
    env!("CARGO_PKG_VERSION"),
    "; runtime=rust"
);

/// Default cap on a response body: larger answers fail with a decode error instead of
/// exhausting memory. Change it with [`ClientBuilder::max_response_bytes`].
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Default time to establish a connection (TCP and TLS), on the client's own HTTP client.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default longest silence while waiting for or reading an answer, on the client's own HTTP
/// client: a server that accepts and never answers fails after this.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default longest request URL, in bytes (what supabase-js assumes gateways accept); see
/// [`ClientBuilder::max_url_bytes`].
pub const DEFAULT_MAX_URL_BYTES: usize = 8_000;

/// Default limit on one attempt, from sending until the body has been read, on the client's
/// own HTTP client: a server that trickles an answer byte by byte fails after this.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A client for one Supabase project (or one PostgREST server).
///
/// Cloning is cheap (an `Arc` inside) and clones share one connection pool; there is no need to
/// wrap it in an `Arc`. [`Client::with_access_token`] gives a per-user clone whose requests run
/// under that user's row-level security.
///
/// ```
/// use supabase_rest::Client;
///
/// let client = Client::new("https://xyz.supabase.co", "anon-key")?;
/// let req = client.from("grants").select("id,title").eq("status", "open").limit(10).build()?;
/// assert_eq!(
///     req.url().as_str(),
///     "https://xyz.supabase.co/rest/v1/grants?select=id%2Ctitle&status=eq.open&limit=10"
/// );
/// # Ok::<(), supabase_rest::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    /// The transport: the client's own (hyper, or reqwest under `native-tls` or on request) or a
    /// caller's `reqwest::Client`.
    pub(crate) wire: Wire,
    /// Base URL, headers, schema and timeout every request starts from.
    pub(crate) defaults: Defaults,
    /// URLs and header maps of request shapes built before (see `request/memo.rs`).
    /// Never copied to a derived client: its defaults differ.
    pub(crate) memo: Memo,
    /// The longest a call may take across all its attempts and waits.
    pub(crate) deadline: Option<Duration>,
    pub(crate) max_response_bytes: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) api_key: Secret,
    /// Asked for the user's JWT before every request, instead of a fixed `Authorization`.
    pub(crate) token_source: Option<Arc<dyn AccessTokenSource>>,
    /// The retry rule's clock; `None`: the system clock and tokio's timer.
    pub(crate) clock: Option<Arc<dyn crate::retry::Clock>>,
}

impl Client {
    /// A client for a Supabase project URL (`https://<ref>.supabase.co`) and its api key.
    ///
    /// Requests go to `<url>/rest/v1`. Use [`Client::builder`] for more settings.
    pub fn new(project_url: impl AsRef<str>, api_key: impl Into<String>) -> Result<Client> {
        Client::builder(project_url, api_key).build()
    }

    /// A [`ClientBuilder`] for a project URL and api key.
    pub fn builder(project_url: impl AsRef<str>, api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(project_url.as_ref(), api_key.into())
    }

    /// A clone whose requests carry `Authorization: Bearer <token>`: the signed-in user's JWT,
    /// so PostgREST applies that user's row-level security. The api key still goes in `apikey`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// let anon = Client::new("https://xyz.supabase.co", "anon-key")?;
    /// let user = anon.with_access_token("user-jwt");
    /// let req = user.from("user_interactions").select("*").build()?;
    /// assert_eq!(req.headers()["authorization"], "Bearer user-jwt");
    /// assert_eq!(req.headers()["apikey"], "anon-key");
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn with_access_token(&self, token: impl Into<String>) -> Client {
        let token = Secret::new(token);
        let mut inner = self.inner.clone_parts();
        inner.token_source = None;
        match bearer(&token) {
            Ok(value) => {
                inner.defaults.headers.insert(AUTHORIZATION, value);
            }
            Err(e) => inner.defaults.error = Some(e),
        }
        Client {
            inner: Arc::new(inner),
        }
    }

    /// A clone whose requests get the user's JWT from `source` (a [`Session`](crate::auth::Session)
    /// of Supabase Auth, or [`token_fn`](crate::auth::token_fn)): asked before every request,
    /// and asked once to renew when PostgREST rejects the token (the request is then sent once
    /// more; see [`auth`](crate::auth) for why that is safe for every method).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// use supabase_rest::auth::{token_fn, AuthError};
    /// let anon = Client::new("https://xyz.supabase.co", "anon-key")?;
    /// let user = anon.with_access_token_source(token_fn(|| async { Ok::<_, AuthError>("jwt".into()) }));
    /// // The token is fetched when the request is sent, so `build()` shows the api key's bearer.
    /// let req = user.from("user_interactions").select("*").build()?;
    /// assert_eq!(req.headers()["apikey"], "anon-key");
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn with_access_token_source(&self, source: impl AccessTokenSource) -> Client {
        let mut inner = self.inner.clone_parts();
        inner.token_source = Some(Arc::new(source));
        Client {
            inner: Arc::new(inner),
        }
    }

    /// A clone that targets another schema (`Accept-Profile` / `Content-Profile`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// let client = Client::new("https://xyz.supabase.co", "anon-key")?;
    /// let req = client.schema("other").from("things").select("*").build()?;
    /// assert_eq!(req.headers()["accept-profile"], "other");
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn schema(&self, schema: impl AsRef<str>) -> Client {
        let mut inner = self.inner.clone_parts();
        match HeaderValue::from_str(schema.as_ref()) {
            Ok(v) => inner.defaults.schema = Some(v),
            Err(_) => inner.defaults.error = Some("schema name contains a control character"),
        }
        Client {
            inner: Arc::new(inner),
        }
    }

    /// The transport this client sends through ([`Transport::Reqwest`] for a caller's
    /// [`http_client`](ClientBuilder::http_client)).
    pub fn transport(&self) -> Transport {
        self.inner.wire.transport()
    }

    /// The REST base URL every request starts from (`<project>/rest/v1`).
    pub fn base_url(&self) -> &Url {
        &self.inner.defaults.base
    }
}

impl ClientInner {
    fn clone_parts(&self) -> ClientInner {
        ClientInner {
            wire: self.wire.clone(),
            defaults: self.defaults.clone(),
            memo: Memo::default(),
            deadline: self.deadline,
            max_response_bytes: self.max_response_bytes,
            retry: self.retry.clone(),
            api_key: self.api_key.clone(),
            token_source: self.token_source.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ClientInner {
            wire,
            defaults,
            memo: _,
            deadline,
            max_response_bytes,
            retry,
            api_key,
            token_source,
            clock: _,
        } = &*self.inner;
        let Defaults {
            base,
            headers,
            schema,
            timeout,
            error,
            max_url_bytes,
        } = defaults;
        let authorized = headers.contains_key(AUTHORIZATION);
        f.debug_struct("Client")
            .field("base", &base.as_str())
            .field("schema", schema)
            .field("timeout", timeout)
            .field("deadline", deadline)
            .field("transport", &wire.transport())
            .field("own_http", &wire.is_own())
            .field("max_response_bytes", max_response_bytes)
            .field("retry", retry)
            .field("api_key", api_key)
            .field(
                "authorization",
                &match (token_source.is_some(), authorized) {
                    (true, _) => "<from a token source>",
                    (false, true) => "<redacted>",
                    (false, false) => "none",
                },
            )
            .field("deferred_error", error)
            .field("max_url_bytes", max_url_bytes)
            .finish_non_exhaustive()
    }
}

/// `Authorization: Bearer <token>`, marked sensitive; an error never shows the token.
pub(crate) fn bearer(token: &Secret) -> std::result::Result<HeaderValue, &'static str> {
    token.header_value(
        "Bearer ",
        "access token contains a character not allowed in a header (CR, LF, NUL or other control)",
    )
}

/// Configures a [`Client`]. Setters never fail; the first bad input is reported by
/// [`ClientBuilder::build`].
///
/// ```
/// use std::time::Duration;
/// use supabase_rest::Client;
///
/// let client = Client::builder("https://xyz.supabase.co", "anon-key")
///     .access_token("user-jwt")
///     .schema("public")
///     .header("x-app-name", "grants-web")
///     .timeout(Duration::from_secs(10))
///     .build()?;
/// # Ok::<(), supabase_rest::Error>(())
/// ```
#[must_use = "a ClientBuilder does nothing until build() is called"]
pub struct ClientBuilder {
    url: String,
    api_key: Secret,
    access_token: Option<Secret>,
    schema: Option<String>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    read_timeout: Duration,
    deadline: Option<Duration>,
    http: Option<reqwest::Client>,
    transport: Option<Transport>,
    roots: Vec<Vec<u8>>,
    bare_postgrest: bool,
    allow_http: bool,
    max_response_bytes: usize,
    max_url_bytes: usize,
    retry: RetryPolicy,
    token_source: Option<Arc<dyn AccessTokenSource>>,
    clock: Option<Arc<dyn crate::retry::Clock>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ClientBuilder {
            url,
            api_key,
            access_token,
            schema,
            headers,
            timeout,
            connect_timeout,
            read_timeout,
            deadline,
            http: _,
            transport,
            roots,
            bare_postgrest,
            allow_http,
            max_response_bytes,
            max_url_bytes,
            retry,
            token_source,
            clock,
        } = self;
        let header_names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ClientBuilder")
            .field("url", url)
            .field("api_key", api_key)
            .field("access_token", access_token)
            .field("schema", schema)
            .field("header_names", &header_names)
            .field("timeout", timeout)
            .field("connect_timeout", connect_timeout)
            .field("read_timeout", read_timeout)
            .field("deadline", deadline)
            .field("transport", transport)
            .field("root_certificates", &roots.len())
            .field("bare_postgrest", bare_postgrest)
            .field("allow_http", allow_http)
            .field("max_response_bytes", max_response_bytes)
            .field("max_url_bytes", max_url_bytes)
            .field("retry", retry)
            .field("token_source", &token_source.is_some())
            .field("clock", clock)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    fn new(url: &str, api_key: String) -> Self {
        ClientBuilder {
            url: url.to_owned(),
            api_key: Secret::new(api_key),
            access_token: None,
            schema: Some("public".to_owned()),
            headers: Vec::new(),
            timeout: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            deadline: None,
            http: None,
            transport: None,
            roots: Vec::new(),
            bare_postgrest: false,
            allow_http: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_url_bytes: DEFAULT_MAX_URL_BYTES,
            retry: RetryPolicy::default(),
            token_source: None,
            clock: None,
        }
    }

    /// The clock of the retry rule: the call deadline, `Retry-After` dates and the waits
    /// between attempts. For tests (`testing::ManualClock` records the waits and returns at
    /// once); the default is the system clock.
    pub fn clock(mut self, clock: impl crate::retry::Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Gets the user's JWT from `source` before every request (see
    /// [`Client::with_access_token_source`]); replaces [`access_token`](Self::access_token).
    pub fn access_token_source(mut self, source: impl AccessTokenSource) -> Self {
        self.token_source = Some(Arc::new(source));
        self
    }

    /// The signed-in user's JWT, sent as `Authorization: Bearer <token>` instead of the api key.
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(Secret::new(token));
        self
    }

    /// The default schema (`public` unless set), sent as `Accept-Profile` on reads and
    /// `Content-Profile` on writes, as supabase-js does.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sends no profile header at all: the server's first exposed schema is used.
    pub fn no_schema(mut self) -> Self {
        self.schema = None;
        self
    }

    /// A header sent with every request (e.g. `x-app-name`). A per-request header of the same
    /// name replaces it. A client-wide `Prefer` is merged with each request's own preferences
    /// (the client's tokens first, a token the request sets itself taken from the request).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Timeout for each attempt of a request, from sending until the body has been read
    /// ([`DEFAULT_TIMEOUT`] unless set). A per-request `.timeout()` overrides it. Each retry
    /// gets the full timeout again; bound the whole call with [`ClientBuilder::deadline`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time allowed to connect (TCP and TLS); default [`DEFAULT_CONNECT_TIMEOUT`]. Applies to
    /// the client's own HTTP client, not to one given with [`ClientBuilder::http_client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest silence while waiting for or reading an answer; default
    /// [`DEFAULT_READ_TIMEOUT`]. Applies to the client's own HTTP client, not to one given
    /// with [`ClientBuilder::http_client`]. On the hyper transport the answer's head must come
    /// within the connect and read timeouts together (counted from sending, connecting
    /// included), and each later piece of the body within the read timeout; reqwest counts
    /// the read timeout from each read.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The longest one call may take, all attempts and the waits between them included
    /// (none by default: each attempt is bounded by the timeouts above). No retry starts
    /// whose wait would end after the deadline; the last attempt's timeout is cut to what is
    /// left. A call over its deadline fails with [`Error::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use supabase_rest::Client;
    ///
    /// let client = Client::builder("https://xyz.supabase.co", "anon-key")
    ///     .timeout(Duration::from_secs(2))
    ///     .deadline(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Uses this `reqwest::Client` (its pool, proxy and TLS settings) instead of a new one.
    ///
    /// Its own settings then apply: give it timeouts, and
    /// `.redirect(reqwest::redirect::Policy::none())` so that a redirect is never followed
    /// (reqwest would send the `apikey` header, which it does not know is a secret, to the
    /// other host). A redirect it follows anyway is still reported as [`Error::Redirect`].
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The HTTP implementation of the client's own transport (ignored when
    /// [`http_client`](Self::http_client) gives one). Without this call:
    /// `SUPABASE_REST_TRANSPORT` (`hyper` or `reqwest`) when set, else [`Transport::Reqwest`]
    /// without the `rustls` feature, else [`Transport::Hyper`]. Both send the same bytes and
    /// follow the same settings, the environment's proxies included.
    ///
    /// ```
    /// use supabase_rest::{Client, Transport};
    ///
    /// let client = Client::builder("https://xyz.supabase.co", "anon-key")
    ///     .transport(Transport::Reqwest)
    ///     .build()?;
    /// assert_eq!(client.transport(), Transport::Reqwest);
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Trusts this certificate (DER bytes) as a root, besides the platform's store: for a
    /// self-hosted project behind a private certificate authority. Applies to the client's own
    /// transport, either one; a [`http_client`](Self::http_client) has its own.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(der.into());
        self
    }

    /// Allows a plain `http://` URL to a host other than this machine. Without it such a URL
    /// is refused by [`ClientBuilder::build`]: the api key and the user's token would cross
    /// the network in clear text. `http://localhost` and loopback addresses need no opt-in.
    ///
    /// ```
    /// use supabase_rest::Client;
    ///
    /// assert!(Client::new("http://db.example.com", "anon-key").is_err());
    /// assert!(Client::new("http://localhost:54321", "anon-key").is_ok());
    /// let inside_a_private_network = Client::builder("http://kong:8000", "anon-key")
    ///     .allow_insecure_http()
    ///     .build()?;
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Treats the URL as a bare PostgREST server (`http://localhost:3000`): no `/rest/v1` is
    /// appended.
    pub fn bare_postgrest(mut self) -> Self {
        self.bare_postgrest = true;
        self
    }

    /// Largest response body accepted, in bytes (default 256 MiB). Larger bodies fail with a
    /// decode error rather than exhausting memory.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Longest request URL accepted, in bytes (default [`DEFAULT_MAX_URL_BYTES`]). A longer one
    /// (a large `in_` list, say) fails before it is sent with [`Error::InvalidRequest`] saying
    /// how long it was: gateways refuse such URLs with an unhelpful 414 or a dropped
    /// connection. Send the values in a body instead (an rpc called with POST).
    ///
    /// ```
    /// use supabase_rest::Client;
    ///
    /// let client = Client::new("https://xyz.supabase.co", "anon-key")?;
    /// let ids: Vec<u32> = (0..2_000).collect();
    /// let err = client.from("grants").select("*").in_("id", &ids).build().unwrap_err();
    /// assert!(err.to_string().contains("over the budget of 8000"), "{err}");
    ///
    /// let roomy = Client::builder("https://xyz.supabase.co", "anon-key").max_url_bytes(64_000).build()?;
    /// assert!(roomy.from("grants").select("*").in_("id", &ids).build().is_ok());
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn max_url_bytes(mut self, limit: usize) -> Self {
        self.max_url_bytes = limit;
        self
    }

    /// The retry policy (default: 3 retries, only for requests that cannot duplicate data).
    /// See [`RetryPolicy`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client, reporting the first invalid setting.
    pub fn build(self) -> Result<Client> {
        let ClientBuilder {
            url,
            api_key,
            access_token,
            schema,
            headers: extra_headers,
            timeout,
            connect_timeout,
            read_timeout,
            deadline,
            http,
            transport,
            roots,
            bare_postgrest,
            allow_http,
            max_response_bytes,
            max_url_bytes,
            retry,
            token_source,
            clock,
        } = self;

        let base = base_url(&url, bare_postgrest)?;
        if base.scheme() == "http" && !allow_http && !is_loopback(&base) {
            return Err(Error::invalid(
                "project URL uses plain http to a remote host, which would send the api key in clear text; use https, or opt in with allow_insecure_http()",
            ));
        }

        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-client-info"),
            HeaderValue::from_static(CLIENT_INFO),
        );
        if !api_key.is_empty() {
            let value = api_key
                .header_value("", "api key contains a character not allowed in a header")
                .map_err(Error::invalid)?;
            headers.insert(HeaderName::from_static("apikey"), value);
        }
        let bearer_source = access_token.as_ref().unwrap_or(&api_key);
        if !bearer_source.is_empty() {
            headers.insert(
                AUTHORIZATION,
                bearer(bearer_source).map_err(Error::invalid)?,
            );
        }
        for (name, value) in extra_headers {
            let (name, value) = crate::secret::header_pair(&name, &value)?;
            headers.insert(name, value);
        }
        let schema = schema
            .map(|s| {
                HeaderValue::from_str(&s)
                    .map_err(|_| Error::invalid("schema name contains a control character"))
            })
            .transpose()?;

        let wire = match http {
            Some(http) => Wire::caller(http),
            None => {
                let transport = match transport {
                    Some(t) => t,
                    None => Transport::default_for_environment()?,
                };
                let settings = Settings {
                    connect_timeout,
                    read_timeout,
                    timeout: DEFAULT_TIMEOUT,
                    tls: base.scheme() == "https",
                    roots,
                };
                Wire::own(transport, settings)?
            }
        };

        Ok(Client {
            inner: Arc::new(ClientInner {
                wire,
                defaults: Defaults {
                    base,
                    headers,
                    schema,
                    timeout,
                    error: None,
                    max_url_bytes,
                },
                memo: Memo::default(),
                deadline,
                max_response_bytes,
                retry,
                api_key,
                token_source,
                clock,
            }),
        })
    }
}

/// Whether the URL's host is this machine: `localhost` (and `*.localhost`), 127.0.0.0/8, `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `<project>/rest/v1` (or the bare PostgREST URL), without a trailing slash.
fn base_url(raw: &str, bare_postgrest: bool) -> Result<Url> {
    let mut url =
        Url::parse(raw.trim()).map_err(|e| Error::invalid(format!("invalid project URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid("project URL must use http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "project URL must not carry credentials; pass the api key separately",
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    let trimmed = url.path().trim_end_matches('/').to_owned();
    let path = if bare_postgrest || trimmed.ends_with("/rest/v1") {
        trimmed
    } else {
        format!("{trimmed}/rest/v1")
    };
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_url_gets_rest_v1_once() {
        for raw in [
            "https://xyz.supabase.co",
            "https://xyz.supabase.co/",
            "https://xyz.supabase.co/rest/v1",
            "https://xyz.supabase.co/rest/v1/",
        ] {
            assert_eq!(
                base_url(raw, false).unwrap().as_str(),
                "https://xyz.supabase.co/rest/v1",
                "{raw}"
            );
        }
        assert_eq!(
            base_url("http://localhost:3000/", true).unwrap().as_str(),
            "http://localhost:3000/"
        );
        assert_eq!(
            base_url("http://localhost:3000/api/", true)
                .unwrap()
                .as_str(),
            "http://localhost:3000/api"
        );
    }

    #[test]
    fn bad_urls_are_clear_errors() {
        assert!(matches!(
            base_url("not a url", false),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            base_url("ftp://x", false),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            base_url("https://user:pw@x.supabase.co", false),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for remote in [
            "http://xyz.supabase.co",
            "http://10.0.0.5:3000",
            "http://[2001:db8::1]",
            "http://localhost.example.com",
        ] {
            let err = Client::new(remote, "k").unwrap_err();
            assert!(err.to_string().contains("clear text"), "{remote}: {err}");
            assert!(Client::builder(remote, "k")
                .allow_insecure_http()
                .build()
                .is_ok());
        }
        for local in [
            "http://localhost:54321",
            "http://LOCALHOST",
            "http://api.localhost:8000",
            "http://127.0.0.1:3000",
            "http://127.1.2.3",
            "http://[::1]:3000",
            "https://xyz.supabase.co",
        ] {
            assert!(Client::new(local, "k").is_ok(), "{local}");
        }
    }

    #[test]
    fn debug_hides_key_and_token() {
        let client = Client::builder("https://xyz.supabase.co", "sentinel-api-key-123")
            .access_token("sentinel-jwt-456")
            .build()
            .unwrap();
        let user = client.with_access_token("sentinel-jwt-789");
        for text in [format!("{client:?}"), format!("{user:?}")] {
            assert!(!text.contains("sentinel"), "{text}");
        }
        let builder = Client::builder("https://xyz.supabase.co", "sentinel-api-key-123")
            .access_token("sentinel-jwt-456");
        assert!(!format!("{builder:?}").contains("sentinel"));
    }

    #[test]
    fn header_injection_is_rejected() {
        let err = Client::builder("https://xyz.supabase.co", "key\r\nx: y")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)));
        assert!(!err.to_string().contains("x: y"));
        let err = Client::builder("https://xyz.supabase.co", "key")
            .header("x-app", "a\nb")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)));
        let err = Client::builder("https://xyz.supabase.co", "key")
            .schema("pub\rlic")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)));
    }
}
