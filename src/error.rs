//! The one error type of the crate and PostgREST's typed error body.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use reqwest::StatusCode;
use serde::Deserialize;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest body snippet kept in an error, in bytes.
pub(crate) const SNIPPET_LIMIT: usize = 512;

/// Everything that can go wrong between building a request and decoding its answer.
///
/// Every non-2xx response is an `Err`: [`Error::Api`] when the body is PostgREST's JSON error,
/// [`Error::Http`] otherwise (a proxy's HTML 502, an empty 500), so the status is never lost.
///
/// ```
/// # use supabase_rest::Error;
/// fn explain(err: &Error) -> &'static str {
///     if err.is_unique_violation() {
///         "already exists"
///     } else if err.is_rls_violation() {
///         "not yours"
///     } else if err.is_no_rows() {
///         "not found"
///     } else {
///         "something else"
///     }
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// PostgREST answered with its JSON error body (`code`, `message`, `details`, `hint`).
    Api(Box<PostgrestError>),
    /// A non-2xx answer whose body is not a PostgREST error (gateway HTML, empty body, ...).
    /// More fields may be added: match it with `Error::Http { status, .. }`.
    #[non_exhaustive]
    Http {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The start of the body (at most 512 bytes, lossily decoded as UTF-8).
        body: String,
    },
    /// The server answered with a redirect (3xx). PostgREST and Supabase never redirect an API
    /// call, so this is a proxy or a wrong URL. The client does not follow it: the api key and
    /// the user's token are sent to no other host. See [`RedirectError`].
    Redirect(Box<RedirectError>),
    /// The request did not complete within its timeout.
    Timeout(TransportError),
    /// The request could not be sent or its answer could not be read.
    Transport(TransportError),
    /// A 2xx answer whose body does not have the expected shape.
    Decode(Box<DecodeError>),
    /// The request was rejected before it was sent: a bad identifier, a header value with
    /// CR/LF, a body that does not serialize, an unusable base URL. The [`BuildError`] keeps
    /// the cause (e.g. serde's error), reachable through `source()`.
    InvalidRequest(BuildError),
    /// No access token could be had for the request: Supabase Auth refused or could not be
    /// reached, the session ended, or the client's token source failed. Nothing was sent to
    /// PostgREST (or, after a rejected token, nothing it ran). See
    /// [`AuthError`](crate::token::AuthError).
    Auth(Box<crate::token::AuthError>),
}

impl From<crate::token::AuthError> for Error {
    fn from(e: crate::token::AuthError) -> Self {
        Error::Auth(Box::new(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => fmt::Display::fmt(e, f),
            Error::Http { status, .. } => {
                write!(f, "http status {status} without a PostgREST error body")
            }
            Error::Redirect(r) => fmt::Display::fmt(r, f),
            Error::Timeout(t) | Error::Transport(t) => fmt::Display::fmt(t, f),
            Error::Decode(_) => f.write_str("could not decode the response"),
            Error::InvalidRequest(b) => write!(f, "invalid request: {b}"),
            Error::Auth(a) => write!(f, "no access token: {a}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The transport error's text is this error's: its cause comes next.
            Error::Timeout(t) | Error::Transport(t) => std::error::Error::source(t),
            Error::Decode(d) => Some(&**d),
            // The message is already in this error's text: its cause comes next.
            Error::InvalidRequest(b) => b.cause(),
            Error::Auth(a) => Some(&**a),
            Error::Api(_) | Error::Http { .. } | Error::Redirect(_) => None,
        }
    }
}

/// Why a request was refused before it was sent ([`Error::InvalidRequest`]): a message, and
/// the error that caused it when there is one (serde's, for a body that does not serialize).
/// Cheap to clone, so that builders holding one stay `Clone`.
#[derive(Debug, Clone)]
pub struct BuildError {
    message: Cow<'static, str>,
    cause: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl BuildError {
    /// What was wrong, e.g. `table or function name is empty`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// let err = Client::new("http://localhost:54321", "k")?.from("").select("*").build().unwrap_err();
    /// let supabase_rest::Error::InvalidRequest(why) = err else { unreachable!() };
    /// assert_eq!(why.message(), "table or function name is empty");
    /// # Ok::<(), supabase_rest::Error>(())
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn caused_by(
        message: impl Into<Cow<'static, str>>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BuildError {
            message: message.into(),
            cause: Some(Arc::new(cause)),
        }
    }

    fn cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Some(c) => Some(&**c),
            None => None,
        }
    }
}

impl From<&'static str> for BuildError {
    fn from(message: &'static str) -> Self {
        BuildError {
            message: Cow::Borrowed(message),
            cause: None,
        }
    }
}

impl From<String> for BuildError {
    fn from(message: String) -> Self {
        BuildError {
            message: Cow::Owned(message),
            cause: None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause()
    }
}

impl Error {
    pub(crate) fn invalid(msg: impl Into<Cow<'static, str>>) -> Self {
        Error::InvalidRequest(BuildError {
            message: msg.into(),
            cause: None,
        })
    }

    /// The HTTP status of the answer, if one arrived.
    ///
    /// ```
    /// # use supabase_rest::Error;
    /// let err = Error::InvalidRequest("empty table name".into());
    /// assert_eq!(err.status(), None);
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Http { status, .. } => Some(*status),
            Error::Decode(e) => Some(e.status),
            Error::Redirect(r) => Some(r.status),
            Error::Auth(a) => a.status(),
            Error::Timeout(_) | Error::Transport(_) | Error::InvalidRequest(_) => None,
        }
    }

    /// PostgREST's or PostgreSQL's error code (`PGRST116`, `23505`, ...), if the server sent one.
    pub fn code(&self) -> Option<&str> {
        self.as_postgrest().map(|e| e.code.as_str())
    }

    /// The typed PostgREST error body, if this is an [`Error::Api`].
    pub fn as_postgrest(&self) -> Option<&PostgrestError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// `true` for a timeout, whether while connecting, sending or reading.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// `true` when no connection to the server could be made.
    pub fn is_connect(&self) -> bool {
        match self {
            Error::Transport(t) | Error::Timeout(t) => t.is_connect(),
            _ => false,
        }
    }

    /// `true` for PostgreSQL's unique violation (`23505`, HTTP 409).
    pub fn is_unique_violation(&self) -> bool {
        self.code() == Some("23505")
    }

    /// `true` for PostgreSQL's foreign-key violation (`23503`, HTTP 409).
    pub fn is_foreign_key_violation(&self) -> bool {
        self.code() == Some("23503")
    }

    /// `true` for PostgreSQL's check violation (`23514`), e.g. an unknown interaction action.
    pub fn is_check_violation(&self) -> bool {
        self.code() == Some("23514")
    }

    /// `true` when row-level security rejected the row (`42501` with a row-level security message).
    ///
    /// A missing table privilege (`permission denied for table t`) has the same code but is not an
    /// RLS violation; see [`Error::is_permission_denied`].
    pub fn is_rls_violation(&self) -> bool {
        self.as_postgrest()
            .is_some_and(|e| e.code == "42501" && e.message.contains("row-level security"))
    }

    /// `true` for any insufficient-privilege error (`42501`): RLS or a missing GRANT.
    pub fn is_permission_denied(&self) -> bool {
        self.code() == Some("42501")
    }

    /// `true` when a `single()` request matched no row (`PGRST116` with 0 rows).
    pub fn is_no_rows(&self) -> bool {
        self.as_postgrest().and_then(PostgrestError::row_count) == Some(0)
    }

    /// `true` when a `single()` or `maybe_single()` request matched more than one row.
    pub fn is_too_many_rows(&self) -> bool {
        self.as_postgrest()
            .and_then(PostgrestError::row_count)
            .is_some_and(|n| n > 1)
    }

    /// `true` when what was asked for does not exist: a `single()` that matched no row, or an
    /// HTTP 404 (unknown table or function).
    pub fn is_not_found(&self) -> bool {
        self.is_no_rows() || self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the request may have taken effect on the server despite this error: `false` when
    /// it was never sent (invalid, connection refused) or PostgREST answered with an error
    /// (its transaction was rolled back); `true` when the answer was lost (timeout, reset
    /// connection), a gateway failed upstream (HTML 502/504), a 2xx could not be decoded, or
    /// PostgREST lost its database connection in the middle of the request (`PGRST001`: the
    /// connection may have died after COMMIT reached the database, e.g. in a restart).
    ///
    /// ```
    /// # use supabase_rest::Error;
    /// let err = Error::InvalidRequest("empty table name".into());
    /// assert!(!err.may_have_been_applied());
    /// ```
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            // A token was refused (by PostgREST before any SQL, or by Auth): nothing ran.
            Error::Api(e) => e.code == "PGRST001",
            Error::InvalidRequest(_) | Error::Auth(_) => false,
            Error::Transport(t) | Error::Timeout(t) => !t.is_connect(),
            Error::Http { status, .. } => status.is_server_error(),
            // Something between the client and PostgREST answered; what it did is unknown.
            Error::Decode(_) | Error::Redirect(_) => true,
        }
    }

    /// The error's [`ErrorKind`], e.g. to choose the HTTP status an API returns for it.
    ///
    /// ```
    /// # use supabase_rest::{Error, ErrorKind};
    /// fn http_status(err: &Error) -> u16 {
    ///     match err.kind() {
    ///         ErrorKind::Unauthorized => 401,
    ///         ErrorKind::Forbidden => 403,
    ///         ErrorKind::NotFound => 404,
    ///         ErrorKind::Conflict => 409,
    ///         ErrorKind::Invalid => 400,
    ///         ErrorKind::Unavailable => 503,
    ///         ErrorKind::Timeout => 504,
    ///         _ => 502,
    ///     }
    /// }
    /// assert_eq!(http_status(&Error::InvalidRequest("bad".into())), 400);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        let code = self.code().unwrap_or("");
        match self {
            Error::InvalidRequest(_) => ErrorKind::Invalid,
            Error::Auth(a) => match a.kind() {
                crate::token::AuthErrorKind::Unreachable
                | crate::token::AuthErrorKind::BackingOff => ErrorKind::Unavailable,
                _ => ErrorKind::Unauthorized,
            },
            Error::Timeout(t) if t.is_connect() => ErrorKind::Unavailable,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Transport(t) if t.is_connect() => ErrorKind::Unavailable,
            Error::Transport(_) | Error::Decode(_) | Error::Redirect(_) => ErrorKind::Upstream,
            Error::Api(_) | Error::Http { .. } => {
                let status = self.status().map_or(0, |s| s.as_u16());
                if matches!(code, "PGRST301" | "PGRST302" | "PGRST303") {
                    ErrorKind::Unauthorized
                } else if code == "42501" {
                    // PostgREST answers 401 for the anonymous role, 403 otherwise.
                    if status == 401 {
                        ErrorKind::Unauthorized
                    } else {
                        ErrorKind::Forbidden
                    }
                } else if matches!(code, "23505" | "23503") || status == 409 {
                    ErrorKind::Conflict
                } else if self.is_no_rows() || status == 404 {
                    ErrorKind::NotFound
                } else if matches!(code, "PGRST000" | "PGRST001" | "PGRST002" | "PGRST003")
                    || matches!(status, 429 | 503)
                {
                    ErrorKind::Unavailable
                } else if status == 504 || status == 408 {
                    ErrorKind::Timeout
                } else if status == 401 {
                    ErrorKind::Unauthorized
                } else if status == 403 {
                    ErrorKind::Forbidden
                } else if (400..500).contains(&status) {
                    ErrorKind::Invalid
                } else {
                    ErrorKind::Upstream
                }
            }
        }
    }

    /// `true` when PostgREST rejected the JWT (`PGRST301`-`303`): missing, malformed, expired.
    pub fn is_jwt_error(&self) -> bool {
        matches!(self.code(), Some("PGRST301" | "PGRST302" | "PGRST303"))
    }
}

/// A coarse classification of an [`Error`], for mapping it to an HTTP status or a retry
/// decision in one `match`. See [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The JWT or api key was missing, invalid or expired (`PGRST301`-`303`, HTTP 401).
    Unauthorized,
    /// The caller may not do this: row-level security or a missing privilege (`42501`, 403).
    Forbidden,
    /// A unique or foreign-key constraint refused the row (`23505`, `23503`, HTTP 409).
    Conflict,
    /// The request was rejected as invalid: a check or not-null constraint, bad input syntax,
    /// an unknown column, a malformed filter (HTTP 400), or a request refused before sending.
    Invalid,
    /// Nothing matched: `single()` found no row, or the table or function does not exist.
    NotFound,
    /// The service is unavailable or rate-limiting; trying later may work (503, 429,
    /// `PGRST000`-`003`, connection failures).
    Unavailable,
    /// The request timed out.
    Timeout,
    /// Another server-side or gateway failure (other 5xx, a non-PostgREST error page), or an
    /// answer that could not be decoded.
    Upstream,
}

/// PostgREST's error body plus the HTTP status it came with.
///
/// `details` is usually a string, but PostgREST sends a JSON array for some errors (`PGRST201`),
/// so it is kept as JSON; [`PostgrestError::details_str`] gives the text form.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PostgrestError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// `PGRSTxxx` or a PostgreSQL SQLSTATE such as `23505`. Empty when the body had none.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Extra detail (PostgreSQL's DETAIL), string or JSON.
    pub details: Option<serde_json::Value>,
    /// PostgreSQL's or PostgREST's hint.
    pub hint: Option<String>,
    /// For `416 Range Not Satisfiable`: the total from `Content-Range: */N`.
    range_total: Option<u64>,
    /// A 401 whose `WWW-Authenticate` says `error="invalid_token"`.
    pub(crate) invalid_token: bool,
}

impl PostgrestError {
    /// `details` as text: the string itself, or compact JSON for structured details.
    pub fn details_str(&self) -> Option<Cow<'_, str>> {
        match &self.details {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(Cow::Borrowed(s)),
            Some(other) => Some(Cow::Owned(other.to_string())),
        }
    }

    /// For `PGRST116`, the number of rows the result held (from `details`), if it says.
    pub fn row_count(&self) -> Option<u64> {
        if self.code != "PGRST116" {
            return None;
        }
        let details = self.details_str()?;
        details
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|n| n.parse().ok())
    }

    /// Parses a PostgREST error body; `None` when the body is not one.
    pub(crate) fn from_body(status: StatusCode, body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Body {
            code: Option<String>,
            message: Option<String>,
            details: Option<serde_json::Value>,
            hint: Option<serde_json::Value>,
        }
        let parsed: Body = serde_json::from_slice(body).ok()?;
        if parsed.code.is_none() && parsed.message.is_none() {
            return None;
        }
        let hint = match parsed.hint {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        };
        Some(PostgrestError {
            status,
            code: parsed.code.unwrap_or_default(),
            message: parsed.message.unwrap_or_default(),
            details: parsed.details.filter(|d| !d.is_null()),
            hint,
            range_total: None,
            invalid_token: false,
        })
    }

    /// An error body the client makes itself (as PostgREST would have sent it).
    pub(crate) fn new(
        status: StatusCode,
        code: &str,
        message: &str,
        details: Option<serde_json::Value>,
    ) -> Self {
        PostgrestError {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            details,
            hint: None,
            range_total: None,
            invalid_token: false,
        }
    }

    /// For a `416 Range Not Satisfiable` (an offset past the last row): how many rows there
    /// are, from the answer's `Content-Range: */N`.
    pub fn range_total(&self) -> Option<u64> {
        self.range_total
    }
}

impl fmt::Display for PostgrestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgrest error {}", self.status.as_u16())?;
        if !self.code.is_empty() {
            write!(f, " {}", Escaped(&self.code))?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", Escaped(&self.message))?;
        }
        Ok(())
    }
}

impl std::error::Error for PostgrestError {}

/// A failure below HTTP: connecting, sending, reading the body.
///
/// Its text says what failed and where (`connecting to 127.0.0.1:9 failed: connection refused`,
/// `POST /rest/v1/t on db.example.com: the answer was cut off: connection reset`), never the
/// query (its values may be row data) nor a header. The underlying cause is reachable through
/// [`std::error::Error::source`].
#[derive(Debug)]
pub struct TransportError {
    inner: Cause,
    /// Where it happened; boxed, so that `Error` stays small.
    place: Option<Box<Place>>,
}

/// What failed below HTTP, from either transport.
#[derive(Debug)]
pub(crate) enum Cause {
    /// reqwest's own error (a caller's `reqwest::Client`, or the client's own under
    /// `native-tls` or on request).
    Reqwest(reqwest::Error),
    /// The hyper transport's: the stage it failed at, and the underlying error.
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    Wire {
        stage: Stage,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where in an exchange the hyper transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
pub(crate) enum Stage {
    /// Setting up: the TLS configuration, or a URL hyper cannot send. Nothing was sent.
    Setup,
    /// Connecting (TCP or TLS): nothing was sent.
    Connect,
    /// The connect timeout passed: nothing was sent.
    ConnectTimeout,
    /// Sending the request or waiting for the answer's head: it may have reached the server.
    Send,
    /// Reading the answer's body: the answer was cut off.
    Body,
    /// The attempt's limit or the read timeout passed.
    Timeout,
}

impl Cause {
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) fn wire(
        stage: Stage,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Cause {
        Cause::Wire {
            stage,
            source: source.into(),
        }
    }

    fn is_connect(&self) -> bool {
        match self {
            Cause::Reqwest(e) => e.is_connect(),
            Cause::Wire { stage, .. } => matches!(stage, Stage::Connect | Stage::ConnectTimeout),
        }
    }

    pub(crate) fn is_timeout(&self) -> bool {
        match self {
            Cause::Reqwest(e) => e.is_timeout(),
            Cause::Wire { stage, .. } => matches!(stage, Stage::Timeout | Stage::ConnectTimeout),
        }
    }

    /// The answer broke off mid-body. reqwest reports that as a decode error wrapping the
    /// body error (the client reads raw bytes, so a decode error can only be that).
    fn is_cut_off(&self) -> bool {
        match self {
            Cause::Reqwest(e) => e.is_body() || e.is_decode(),
            Cause::Wire { stage, .. } => *stage == Stage::Body,
        }
    }

    fn is_request_failure(&self) -> bool {
        match self {
            Cause::Reqwest(e) => e.is_request() || e.is_body() || e.is_decode() || e.is_connect(),
            Cause::Wire { stage, .. } => {
                matches!(stage, Stage::Connect | Stage::Send | Stage::Body)
            }
        }
    }

    fn source(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            Cause::Reqwest(e) => e,
            Cause::Wire { source, .. } => source.as_ref(),
        }
    }
}

/// Where a transport failure happened.
#[derive(Debug)]
struct Place {
    /// `host:port` the request went to.
    host: Box<str>,
    /// `METHOD /path` of the request, without its query, when known.
    request: Option<Box<str>>,
}

impl TransportError {
    /// A failure of a `method` request to `url` (only its host, port and path are kept: its
    /// query may hold row data).
    pub(crate) fn of(
        inner: Cause,
        method: Option<&reqwest::Method>,
        url: Option<&url::Url>,
    ) -> Self {
        let place = url.and_then(|u| {
            let host = u.host_str()?;
            Some(Box::new(Place {
                host: match u.port_or_known_default() {
                    Some(port) => format!("{host}:{port}").into_boxed_str(),
                    None => host.into(),
                },
                request: method.map(|m| format!("{m} {}", u.path()).into_boxed_str()),
            }))
        });
        TransportError { inner, place }
    }

    /// No connection was made: the request never reached the server.
    pub(crate) fn is_connect(&self) -> bool {
        self.inner.is_connect()
    }

    /// The request failed while being sent or while its answer was read (connection reset,
    /// closed early), as opposed to a client-side problem.
    pub(crate) fn is_request_failure(&self) -> bool {
        self.inner.is_request_failure()
    }

    /// The TLS handshake refused the server's certificate (unknown authority, wrong name,
    /// expired): another attempt would fail the same way.
    pub(crate) fn is_certificate_rejected(&self) -> bool {
        #[cfg(feature = "rustls")]
        {
            self.causes().any(|e| {
                matches!(
                    e.downcast_ref::<rustls::Error>(),
                    Some(rustls::Error::InvalidCertificate(_))
                )
            })
        }
        #[cfg(not(feature = "rustls"))]
        {
            false
        }
    }

    /// The chain of causes below the transport's own error, looking inside I/O errors (whose
    /// `source` skips the error they carry, e.g. a TLS failure).
    fn causes(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let first = match &self.inner {
            // The hyper transport's source is the failure itself, not a wrapper.
            Cause::Wire { source, .. } => {
                Some(source.as_ref() as &(dyn std::error::Error + 'static))
            }
            Cause::Reqwest(e) => std::error::Error::source(e),
        };
        std::iter::successors(first, |err| match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        })
    }

    /// The innermost cause in a few words: an I/O error's kind (`connection refused`), or the
    /// deepest cause's own text (a TLS failure carried by an I/O error is named, not its kind).
    fn cause(&self) -> Option<String> {
        let deepest = self.causes().last()?;
        match deepest.downcast_ref::<std::io::Error>() {
            Some(io) => Some(io.kind().to_string()),
            None => Some(deepest.to_string()),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.place.as_ref().map_or("the server", |p| &p.host);
        let request = self.place.as_ref().and_then(|p| p.request.as_deref());
        if self.inner.is_connect() {
            write!(f, "connecting to {host} failed")?;
        } else {
            match request {
                Some(r) => write!(f, "{r} on {host}")?,
                None => write!(f, "request to {host}")?,
            }
            if self.inner.is_timeout() {
                f.write_str(" timed out")?;
            } else if self.inner.is_cut_off() {
                f.write_str(": the answer was cut off")?;
            } else {
                f.write_str(" failed")?;
            }
        }
        match self.cause() {
            Some(cause) => write!(f, ": {}", Escaped(&cause)),
            None => Ok(()),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.inner.source())
    }
}

pub(crate) use crate::escape::Escaped;

/// A redirect answered to an API call (see [`Error::Redirect`]).
#[derive(Debug)]
pub struct RedirectError {
    status: StatusCode,
    location: Option<String>,
    followed: bool,
}

impl RedirectError {
    /// `location` is resolved against the request's URL; only its origin and path are kept
    /// (a query may carry another host's parameters).
    pub(crate) fn error(
        status: StatusCode,
        request_url: &url::Url,
        location: Option<&str>,
        followed: bool,
    ) -> Error {
        let location = location
            .and_then(|l| request_url.join(l).ok())
            .map(|mut u| {
                u.set_query(None);
                u.set_fragment(None);
                // `join` keeps credentials of an absolute location; never show them.
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.to_string()
            });
        Error::Redirect(Box::new(RedirectError {
            status,
            location,
            followed,
        }))
    }

    /// The redirect's status (301, 302, 303, 307, 308...).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Where the server pointed, resolved to an absolute URL without its query, when it sent a
    /// usable `Location`.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// `true` when a caller-supplied `reqwest::Client` followed the redirect before this crate
    /// saw the answer (the request then went to the other location too; configure that client
    /// with `reqwest::redirect::Policy::none()`).
    pub fn followed(&self) -> bool {
        self.followed
    }
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.followed {
            f.write_str("the http client followed a redirect")?;
        } else {
            write!(
                f,
                "server answered {} with a redirect",
                self.status.as_u16()
            )?;
        }
        match &self.location {
            Some(l) => write!(f, " to {}", Escaped(l))?,
            None => f.write_str(" without a usable location")?,
        }
        if !self.followed {
            f.write_str(" (not followed)")?;
        }
        Ok(())
    }
}

impl std::error::Error for RedirectError {}

/// A 2xx answer that could not be decoded into the requested type.
#[derive(Debug)]
pub struct DecodeError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// The start of the body (at most 512 bytes).
    pub snippet: String,
    reason: DecodeReason,
}

#[derive(Debug)]
enum DecodeReason {
    Json(serde_json::Error),
    Other(Cow<'static, str>),
}

impl DecodeError {
    pub(crate) fn json(status: StatusCode, body: &[u8], err: serde_json::Error) -> Error {
        Error::Decode(Box::new(DecodeError {
            status,
            snippet: snippet(body),
            reason: DecodeReason::Json(err),
        }))
    }

    pub(crate) fn other(
        status: StatusCode,
        body: &[u8],
        reason: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error::Decode(Box::new(DecodeError {
            status,
            snippet: snippet(body),
            reason: DecodeReason::Other(reason.into()),
        }))
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status {}: ", self.status.as_u16())?;
        match &self.reason {
            // serde's message says where the shape differed; the caller may not walk the chain.
            DecodeReason::Json(e) => write!(f, "{e}")?,
            DecodeReason::Other(m) => f.write_str(m)?,
        }
        if self.snippet.is_empty() {
            f.write_str(" (empty body)")
        } else {
            write!(f, " (body starts: {:?})", self.snippet)
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.reason {
            DecodeReason::Json(e) => Some(e),
            DecodeReason::Other(_) => None,
        }
    }
}

/// The start of a body, cut at a character boundary, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let cut = &body[..body.len().min(SNIPPET_LIMIT)];
    // Invalid bytes become U+FFFD (3 bytes each), so bound the text again after decoding.
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if text.len() > SNIPPET_LIMIT {
        let mut end = SNIPPET_LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Turns a non-2xx answer into the right error variant, keeping the total of a 416's
/// `Content-Range: */N`.
pub(crate) fn from_answer(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Error {
    let mut err = from_status(status, body);
    if status == StatusCode::UNAUTHORIZED {
        if let Error::Api(e) = &mut err {
            e.invalid_token = headers
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .any(|v| v.as_bytes().windows(13).any(|w| w == b"invalid_token"));
        }
    }
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        if let Error::Api(e) = &mut err {
            e.range_total = headers
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().strip_prefix("*/"))
                .and_then(|n| n.parse().ok());
        }
    }
    err
}

/// Turns a non-2xx answer into the right error variant.
pub(crate) fn from_status(status: StatusCode, body: &[u8]) -> Error {
    match PostgrestError::from_body(status, body) {
        Some(e) => Error::Api(Box::new(e)),
        None => Error::Http {
            status,
            body: snippet(body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_forge_log_lines() {
        let body = br#"{"code":"P0001","message":"boom\nERROR forged line\u2028x\ty \"q\"","details":null,"hint":null}"#;
        let text = from_status(StatusCode::BAD_REQUEST, body).to_string();
        assert_eq!(
            text,
            "postgrest error 400 P0001: boom\\nERROR forged line\\u{2028}x\\ty \"q\""
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn error_is_send_sync_static_and_small() {
        fn assert_traits<T: Send + Sync + 'static>() {}
        assert_traits::<Error>();
        assert!(
            std::mem::size_of::<Error>() <= 40,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn decodes_postgrest_body_with_string_details() {
        let body = br#"{"code":"23505","message":"duplicate key value violates unique constraint \"k\"","details":"Key (a)=(1) already exists.","hint":null}"#;
        let err = from_status(StatusCode::CONFLICT, body);
        assert!(err.is_unique_violation());
        assert_eq!(err.status(), Some(StatusCode::CONFLICT));
        let pg = err.as_postgrest().unwrap();
        assert_eq!(pg.details_str().unwrap(), "Key (a)=(1) already exists.");
        assert_eq!(pg.hint, None);
        assert_eq!(
            err.to_string(),
            "postgrest error 409 23505: duplicate key value violates unique constraint \"k\""
        );
    }

    #[test]
    fn decodes_json_details() {
        let body =
            br#"{"code":"PGRST201","message":"ambiguous","details":[{"a":1}],"hint":"pick one"}"#;
        let err = from_status(StatusCode::MULTIPLE_CHOICES, body);
        let pg = err.as_postgrest().unwrap();
        assert_eq!(pg.details_str().unwrap(), r#"[{"a":1}]"#);
        assert_eq!(pg.hint.as_deref(), Some("pick one"));
    }

    #[test]
    fn html_body_keeps_status_and_bounded_snippet() {
        let mut html = b"<html><body>502 Bad Gateway</body></html>".to_vec();
        html.extend(std::iter::repeat_n(b'x', 5000));
        let err = from_status(StatusCode::BAD_GATEWAY, &html);
        match &err {
            Error::Http { status, body } => {
                assert_eq!(*status, StatusCode::BAD_GATEWAY);
                assert!(body.starts_with("<html>"));
                assert!(body.len() <= SNIPPET_LIMIT);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.is_retryable());
    }

    #[test]
    fn empty_body_and_array_body_are_http_errors() {
        assert!(matches!(
            from_status(StatusCode::NOT_FOUND, b""),
            Error::Http { .. }
        ));
        assert!(matches!(
            from_status(StatusCode::NOT_FOUND, b"[]"),
            Error::Http { .. }
        ));
        assert!(from_status(StatusCode::NOT_FOUND, b"").is_not_found());
    }

    #[test]
    fn single_row_counts_are_told_apart() {
        let none = br#"{"code":"PGRST116","message":"Cannot coerce the result to a single JSON object","details":"The result contains 0 rows","hint":null}"#;
        let many = br#"{"code":"PGRST116","message":"JSON object requested, multiple (or no) rows returned","details":"Results contain 2 rows, application/vnd.pgrst.object+json requires 1 row","hint":null}"#;
        let none = from_status(StatusCode::NOT_ACCEPTABLE, none);
        let many = from_status(StatusCode::NOT_ACCEPTABLE, many);
        assert!(none.is_no_rows() && !none.is_too_many_rows());
        assert!(many.is_too_many_rows() && !many.is_no_rows());
    }

    #[test]
    fn a_lost_database_connection_may_have_applied_the_write() {
        let body =
            |code: &str| format!(r#"{{"code":"{code}","message":"m","details":null,"hint":null}}"#);
        let lost = from_status(StatusCode::SERVICE_UNAVAILABLE, body("PGRST001").as_bytes());
        assert!(
            lost.may_have_been_applied(),
            "PGRST001: the connection died mid-request"
        );
        let refused = from_status(StatusCode::SERVICE_UNAVAILABLE, body("PGRST000").as_bytes());
        assert!(
            !refused.may_have_been_applied(),
            "PGRST000: never connected"
        );
    }

    #[test]
    fn kinds() {
        let api = |status: u16, code: &str| {
            let body = format!(r#"{{"code":"{code}","message":"m","details":null,"hint":null}}"#);
            from_status(StatusCode::from_u16(status).unwrap(), body.as_bytes())
        };
        assert_eq!(api(401, "PGRST303").kind(), ErrorKind::Unauthorized);
        assert!(api(401, "PGRST303").is_jwt_error());
        assert_eq!(api(401, "42501").kind(), ErrorKind::Unauthorized);
        assert_eq!(api(403, "42501").kind(), ErrorKind::Forbidden);
        assert_eq!(api(409, "23505").kind(), ErrorKind::Conflict);
        assert_eq!(api(409, "23503").kind(), ErrorKind::Conflict);
        assert_eq!(api(400, "23514").kind(), ErrorKind::Invalid);
        assert_eq!(api(400, "PGRST100").kind(), ErrorKind::Invalid);
        assert_eq!(api(404, "PGRST205").kind(), ErrorKind::NotFound);
        let none = br#"{"code":"PGRST116","message":"m","details":"The result contains 0 rows","hint":null}"#;
        assert_eq!(
            from_status(StatusCode::NOT_ACCEPTABLE, none).kind(),
            ErrorKind::NotFound
        );
        assert_eq!(api(503, "PGRST002").kind(), ErrorKind::Unavailable);
        assert_eq!(api(500, "XX000").kind(), ErrorKind::Upstream);
        assert_eq!(
            from_status(StatusCode::BAD_GATEWAY, b"<html>").kind(),
            ErrorKind::Upstream
        );
        assert_eq!(
            from_status(StatusCode::TOO_MANY_REQUESTS, b"").kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(Error::invalid("x").kind(), ErrorKind::Invalid);
    }

    #[test]
    fn rls_and_grant_denials_are_told_apart() {
        let rls = br#"{"code":"42501","message":"new row violates row-level security policy for table \"t\"","details":null,"hint":null}"#;
        let grant = br#"{"code":"42501","message":"permission denied for table t","details":null,"hint":null}"#;
        let rls = from_status(StatusCode::FORBIDDEN, rls);
        let grant = from_status(StatusCode::UNAUTHORIZED, grant);
        assert!(rls.is_rls_violation() && rls.is_permission_denied());
        assert!(!grant.is_rls_violation() && grant.is_permission_denied());
    }

    #[test]
    fn snippet_cuts_inside_multibyte_chars_without_panicking() {
        let body = "é".repeat(SNIPPET_LIMIT);
        assert!(snippet(body.as_bytes()).len() <= SNIPPET_LIMIT);
        let garbage = vec![0xffu8; 4 * SNIPPET_LIMIT];
        assert!(snippet(&garbage).len() <= SNIPPET_LIMIT);
    }
}
