//! Supabase Auth (GoTrue) password sign-in, refresh and sign-out, and [`Session`]: a token
//! source that refreshes ahead of expiry, one refresh at a time.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Mutex};
use url::Url;
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, Result, TransportError};
use crate::secret::Secret;
use crate::token::{AccessTokenSource, AuthError, AuthErrorKind, TokenFuture};
use crate::wire::{Address, Cut, Held, Outgoing};

/// How long before expiry a session refreshes its access token (90 s, as supabase-js).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(90);

/// The first wait after a failed refresh; it doubles with each failure in a row, up to 64×.
pub const DEFAULT_REFRESH_BACKOFF: Duration = Duration::from_secs(1);

/// Longest answer read from Supabase Auth (a session with its user is a few KiB).
const ANSWER_LIMIT: usize = 256 * 1024;

/// A client of Supabase Auth (`<project>/auth/v1`), sharing a [`Client`]'s connection pool,
/// api key and safety rules (https, timeouts, no redirects followed).
#[derive(Clone)]
pub struct AuthClient {
    client: Client,
    /// The client's own HTTP client, or (when the caller supplied one, which may follow
    /// redirects) one of Auth's own that never does: a password or refresh token must reach
    /// no other host.
    wire: crate::wire::Wire,
    base: Url,
}

impl fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// What to sign in with. The password is held only until the request is sent and never shown.
#[derive(Clone)]
pub enum Credentials {
    /// Email and password.
    Email {
        /// The user's email.
        email: String,
        /// The password.
        password: String,
    },
    /// Phone number and password.
    Phone {
        /// The user's phone number.
        phone: String,
        /// The password.
        password: String,
    },
}

impl Credentials {
    /// Email and password.
    pub fn email(email: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::Email {
            email: email.into(),
            password: password.into(),
        }
    }

    /// Phone and password.
    pub fn phone(phone: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials::Phone {
            phone: phone.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Email { email, .. } => f
                .debug_struct("Email")
                .field("email", email)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Phone { phone, .. } => f
                .debug_struct("Phone")
                .field("phone", phone)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// A session's tokens, to persist and restore ([`AuthClient::restore`]). `Debug` hides both
/// tokens; `Serialize` writes them (it is how an app stores them: keep that store private).
#[derive(Clone, PartialEq)]
pub struct SessionTokens {
    access_token: Arc<str>,
    refresh_token: Arc<str>,
    expires_at: DateTime<Utc>,
    user_id: Option<Uuid>,
}

impl SessionTokens {
    /// Tokens saved earlier: the access token, the refresh token and when the access token
    /// expires.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: impl Into<String>,
        expires_at: DateTime<Utc>,
    ) -> SessionTokens {
        SessionTokens {
            access_token: access_token.into().into(),
            refresh_token: refresh_token.into().into(),
            expires_at,
            user_id: None,
        }
    }

    /// The access token (a JWT).
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token (single-use: each refresh returns a new one).
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// When the access token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The signed-in user's id, when Supabase Auth said.
    pub fn user_id(&self) -> Option<Uuid> {
        self.user_id
    }

    fn fresh(&self, margin: Duration) -> bool {
        let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_add_signed(margin)
            .is_some_and(|t| t < self.expires_at)
    }

    fn expired(&self) -> bool {
        Utc::now() >= self.expires_at
    }
}

impl fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokens")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user_id", &self.user_id)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: String,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    user_id: Option<Uuid>,
}

impl Serialize for SessionTokens {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Stored {
            access_token: self.access_token.to_string(),
            refresh_token: self.refresh_token.to_string(),
            expires_at: self.expires_at,
            user_id: self.user_id,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SessionTokens {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = Stored::deserialize(d)?;
        Ok(SessionTokens {
            access_token: s.access_token.into(),
            refresh_token: s.refresh_token.into(),
            expires_at: s.expires_at,
            user_id: s.user_id,
        })
    }
}

/// The token answer of `POST /token`.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    expires_at: Option<i64>,
    /// Read leniently: an odd `user` must not make a spent refresh token's answer unreadable.
    #[serde(default)]
    user: Option<serde_json::Value>,
}

/// Supabase Auth's error body, in its current (`error_code`, `msg`) and older (`error`,
/// `error_description`) forms.
#[derive(Deserialize, Default)]
struct AuthBody {
    error_code: Option<String>,
    msg: Option<String>,
    message: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Call {
    SignIn,
    Refresh,
    SignOut,
}

impl AuthClient {
    /// Supabase Auth of the project `client` talks to (`<project>/auth/v1`), through the
    /// client's connection pool and api key. Fails for a client made with
    /// [`bare_postgrest`](crate::ClientBuilder::bare_postgrest) (it has no project URL).
    pub fn for_client(client: &Client) -> Result<AuthClient> {
        let rest = client.base_url();
        let Some(project) = rest.as_str().strip_suffix("/rest/v1") else {
            return Err(Error::invalid(
                "Supabase Auth needs a project URL; this client was built for a bare PostgREST URL",
            ));
        };
        let base = Url::parse(&format!("{project}/auth/v1/"))
            .map_err(|_| Error::invalid("cannot derive the Supabase Auth URL"))?;
        let wire = if client.inner.wire.is_own() {
            client.inner.wire.clone()
        } else {
            let settings = crate::wire::Settings {
                connect_timeout: crate::client::DEFAULT_CONNECT_TIMEOUT,
                read_timeout: crate::client::DEFAULT_READ_TIMEOUT,
                timeout: crate::client::DEFAULT_TIMEOUT,
                tls: base.scheme() == "https",
                roots: Vec::new(),
            };
            crate::wire::Wire::own(crate::wire::Transport::default_for_environment()?, settings)
                .map_err(|_| Error::invalid("cannot build the HTTP client for Supabase Auth"))?
        };
        Ok(AuthClient {
            client: client.clone(),
            wire,
            base,
        })
    }

    /// Supabase Auth of a project: `AuthClient::for_client(&Client::new(url, key)?)`.
    pub fn new(project_url: impl AsRef<str>, api_key: impl Into<String>) -> Result<AuthClient> {
        AuthClient::for_client(&Client::new(project_url, api_key)?)
    }

    /// Signs in with a password: `POST /auth/v1/token?grant_type=password`.
    pub async fn sign_in_with_password(
        &self,
        credentials: Credentials,
    ) -> std::result::Result<Session, AuthError> {
        let body = match &credentials {
            Credentials::Email { email, password } => {
                serde_json::json!({"email": email, "password": password})
            }
            Credentials::Phone { phone, password } => {
                serde_json::json!({"phone": phone, "password": password})
            }
        };
        drop(credentials);
        let answer = self
            .post("token?grant_type=password", &body, None, Call::SignIn)
            .await?;
        let tokens = tokens_of(&answer)?;
        Ok(self.restore(tokens))
    }

    /// A session from tokens saved earlier; it refreshes when it needs to.
    pub fn restore(&self, tokens: SessionTokens) -> Session {
        Session::new(self.clone(), tokens)
    }

    async fn refresh(&self, refresh_token: &str) -> std::result::Result<SessionTokens, AuthError> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        let answer = self
            .post("token?grant_type=refresh_token", &body, None, Call::Refresh)
            .await?;
        tokens_of(&answer).map_err(|mut e| {
            // The refresh token is spent whatever the answer said.
            e.kind = AuthErrorKind::SessionEnded;
            e
        })
    }

    async fn sign_out(&self, access_token: &str) -> std::result::Result<(), AuthError> {
        self.post(
            "logout",
            &serde_json::json!({}),
            Some(access_token),
            Call::SignOut,
        )
        .await
        .map(drop)
    }

    /// One call: the api key always, the user's token for sign-out; a bounded answer.
    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
        bearer: Option<&str>,
        call: Call,
    ) -> std::result::Result<bytes::Bytes, AuthError> {
        let url = self.base.join(path).map_err(|_| {
            AuthError::new(AuthErrorKind::Rejected, "cannot form the Supabase Auth URL")
        })?;
        let inner = &self.client.inner;
        let mut headers = HeaderMap::new();
        if let Ok(key) = inner
            .api_key
            .header_value("", "api key contains a character not allowed in a header")
        {
            headers.insert("apikey", key);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            "x-client-info",
            HeaderValue::from_static(crate::client::CLIENT_INFO),
        );
        if let Some(token) = bearer {
            let value = crate::client::bearer(&Secret::new(token))
                .map_err(|m| AuthError::new(AuthErrorKind::Rejected, m))?;
            headers.insert(AUTHORIZATION, value);
        }
        let req = Outgoing {
            method: Method::POST,
            url: Held::Own(Address::new(url)),
            headers,
            body: Some(body.to_string().into()),
            timeout: Some(
                inner
                    .defaults
                    .timeout
                    .unwrap_or(crate::client::DEFAULT_TIMEOUT),
            ),
        };
        let host = self.base.host_str().unwrap_or("?").to_owned();
        // A refresh whose answer is lost or unreadable after it was sent may have spent the
        // refresh token: sending it again could trip reuse detection and revoke the session,
        // so such a refresh ends the session instead of backing off.
        let spent = |what: &str, source: Option<TransportError>| {
            let kind = if call == Call::Refresh {
                AuthErrorKind::SessionEnded
            } else {
                AuthErrorKind::Unreachable
            };
            let mut err = AuthError::new(
                kind,
                format!("{what} ({host}); sign in again if the session ended"),
            );
            err.source = source.map(|e| Arc::new(e) as Arc<dyn std::error::Error + Send + Sync>);
            err
        };
        let failure = |cause| TransportError::of(cause, Some(&Method::POST), None);
        let mut response = match self.wire.send(req).await {
            Ok(r) => r,
            Err(f) => {
                let e = failure(f.cause);
                if e.is_connect() {
                    let mut err = AuthError::new(
                        AuthErrorKind::Unreachable,
                        format!("connecting to {host} failed"),
                    );
                    err.source = Some(Arc::new(e));
                    return Err(err);
                }
                return Err(spent("the answer of Supabase Auth was lost", Some(e)));
            }
        };
        let status = response.status;
        let answer = match response.read_body(ANSWER_LIMIT).await {
            Ok(body) => body,
            Err(Cut::TooLarge(_)) if status.is_success() => {
                return Err(spent("the answer of Supabase Auth is too large", None))
            }
            Err(Cut::Failed(e)) if status.is_success() => {
                return Err(spent(
                    "the answer of Supabase Auth was cut off",
                    Some(failure(e)),
                ))
            }
            // An error answer: its status and error code are what count.
            Err(Cut::TooLarge(seen)) => seen,
            Err(Cut::Failed(_)) => bytes::Bytes::new(),
        };
        if status.is_success() {
            Ok(answer)
        } else {
            Err(error_of(status, &answer, call))
        }
    }
}

fn tokens_of(answer: &[u8]) -> std::result::Result<SessionTokens, AuthError> {
    let t: TokenAnswer = serde_json::from_slice(answer).map_err(|_| {
        AuthError::new(
            AuthErrorKind::Rejected,
            "Supabase Auth's answer has no session (expected access_token and refresh_token)",
        )
    })?;
    let expires_at = match (t.expires_at, t.expires_in) {
        (Some(at), _) => DateTime::from_timestamp(at, 0),
        (None, Some(secs)) => {
            chrono::Duration::try_seconds(secs).and_then(|d| Utc::now().checked_add_signed(d))
        }
        (None, None) => None,
    }
    .unwrap_or_else(Utc::now);
    Ok(SessionTokens {
        access_token: t.access_token.into(),
        refresh_token: t.refresh_token.into(),
        expires_at,
        user_id: t
            .user
            .as_ref()
            .and_then(|u| u.get("id"))
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok()),
    })
}

/// The error of a non-2xx answer, classified by `error_code` (or the older `error`).
fn error_of(status: StatusCode, body: &[u8], call: Call) -> AuthError {
    let parsed: AuthBody = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error_code.clone().or(parsed.error.clone());
    let message = parsed
        .msg
        .or(parsed.message)
        .or(parsed.error_description)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            if text.is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                text
            }
        });
    let ended_codes = [
        "refresh_token_not_found",
        "refresh_token_already_used",
        "session_not_found",
        "session_expired",
        "user_not_found",
        "user_banned",
    ];
    let kind = if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        AuthErrorKind::Unreachable
    } else {
        match (call, code.as_deref()) {
            (Call::SignIn, Some("invalid_credentials" | "invalid_grant")) => {
                AuthErrorKind::InvalidCredentials
            }
            (Call::Refresh | Call::SignOut, Some(c)) if ended_codes.contains(&c) => {
                AuthErrorKind::SessionEnded
            }
            // The older form: `invalid_grant` for a bad or used refresh token.
            (Call::Refresh, Some("invalid_grant")) => AuthErrorKind::SessionEnded,
            _ => AuthErrorKind::Rejected,
        }
    };
    AuthError {
        kind,
        status: Some(status),
        error_code: code,
        message,
        retry_after: None,
        source: None,
    }
}

/// A signed-in user's session: an [`AccessTokenSource`] for [`Client`]s. Cheap to clone (one
/// shared state); every clone sees the same tokens.
///
/// - It refreshes when the access token is within the refresh margin of expiry
///   ([`DEFAULT_REFRESH_MARGIN`], [`Session::set_refresh_margin`]), and when PostgREST rejects
///   the token it holds.
/// - One refresh at a time: requests that need a token while a refresh runs wait for it and use
///   its result, so a refresh token is never sent twice.
/// - After a failed refresh it waits before the next ([`DEFAULT_REFRESH_BACKOFF`], doubling);
///   meanwhile a still-valid token is used, and an expired one gives the error.
/// - A refresh token that Supabase Auth no longer accepts ends the session
///   ([`AuthErrorKind::SessionEnded`]).
/// - [`Session::subscribe`] tells the app about every change of tokens (`None` once ended).
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    auth: AuthClient,
    /// Held while a refresh runs: the single flight.
    state: Mutex<State>,
    margin_ms: AtomicU64,
    backoff_ms: AtomicU64,
    /// Refreshes finished so far: a caller that saw fewer before it waited for the lock waited
    /// for the refresh that just ended, and gets its outcome as is.
    refreshes: AtomicU64,
    changes: watch::Sender<Option<SessionTokens>>,
}

struct State {
    failure: Option<Failure>,
    failures: u32,
    /// Why the session ended, for callers that come after.
    ended: Option<AuthError>,
}

struct Failure {
    until: Instant,
    error: AuthError,
    /// The value of `refreshes` once this failure was recorded.
    after: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("tokens", &*self.inner.changes.borrow())
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Session {
    fn new(auth: AuthClient, tokens: SessionTokens) -> Session {
        Session {
            inner: Arc::new(Inner {
                auth,
                state: Mutex::new(State {
                    failure: None,
                    failures: 0,
                    ended: None,
                }),
                margin_ms: AtomicU64::new(millis(DEFAULT_REFRESH_MARGIN)),
                backoff_ms: AtomicU64::new(millis(DEFAULT_REFRESH_BACKOFF)),
                refreshes: AtomicU64::new(0),
                changes: watch::channel(Some(tokens)).0,
            }),
        }
    }

    /// Refresh this long before the access token expires (default 90 s).
    pub fn set_refresh_margin(&self, margin: Duration) {
        self.inner
            .margin_ms
            .store(millis(margin), Ordering::Relaxed);
    }

    /// The first wait after a failed refresh (default 1 s; doubles per failure in a row, up
    /// to 64×).
    pub fn set_refresh_backoff(&self, backoff: Duration) {
        self.inner
            .backoff_ms
            .store(millis(backoff), Ordering::Relaxed);
    }

    /// The current tokens; `None` once the session has ended.
    pub fn tokens(&self) -> Option<SessionTokens> {
        self.inner.tokens()
    }

    /// Every change of tokens (a refresh, the end of the session as `None`), to persist them.
    pub fn subscribe(&self) -> watch::Receiver<Option<SessionTokens>> {
        self.inner.changes.subscribe()
    }

    /// An access token valid for at least the refresh margin, refreshing first if needed.
    pub async fn access_token(&self) -> std::result::Result<String, AuthError> {
        // The common case, without waiting for the lock: a cached token that is fresh.
        if let Some(t) = &*self.inner.changes.borrow() {
            if t.fresh(self.inner.margin()) {
                return Ok(t.access_token.to_string());
            }
        }
        self.refreshed(None).await
    }

    /// Refreshes now, whatever the expiry (one refresh however many callers ask at once).
    pub async fn refresh(&self) -> std::result::Result<SessionTokens, AuthError> {
        let current = self.tokens().map(|t| t.access_token.to_string());
        self.refreshed(Some(current.as_deref().unwrap_or("")))
            .await?;
        self.tokens().ok_or_else(ended)
    }

    /// Signs out (`POST /auth/v1/logout`) and ends the session, even when Supabase Auth cannot
    /// be reached (the error is returned, the tokens are dropped either way).
    pub async fn sign_out(&self) -> std::result::Result<(), AuthError> {
        let _state = self.inner.state.lock().await;
        let Some(tokens) = self.tokens() else {
            return Ok(());
        };
        self.inner.changes.send_replace(None);
        match self.inner.auth.sign_out(&tokens.access_token).await {
            Err(e) if e.kind != AuthErrorKind::SessionEnded => Err(e),
            _ => Ok(()),
        }
    }

    /// Refreshes if the tokens still need it (`stale` is the token the caller found wanting;
    /// `None`: refresh only if within the margin), else uses what another caller's refresh
    /// produced. Runs as a task of its own: a caller that gives up (a dropped future, a
    /// timeout) cannot stop a refresh half-way, after Supabase Auth spent the old refresh
    /// token but before the new one was stored.
    async fn refreshed(&self, stale: Option<&str>) -> std::result::Result<String, AuthError> {
        let seen = self.inner.refreshes.load(Ordering::Acquire);
        let inner = self.inner.clone();
        let stale = stale.map(str::to_owned);
        match tokio::spawn(async move { inner.refresh_locked(stale.as_deref(), seen).await }).await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(AuthError::new(
                AuthErrorKind::Rejected,
                "the token refresh task failed",
            )),
        }
    }
}

impl Inner {
    fn tokens(&self) -> Option<SessionTokens> {
        self.changes.borrow().clone()
    }

    fn margin(&self) -> Duration {
        Duration::from_millis(self.margin_ms.load(Ordering::Relaxed))
    }

    /// Under the lock (the single flight); `seen`: refreshes finished before the caller waited.
    async fn refresh_locked(
        &self,
        stale: Option<&str>,
        seen: u64,
    ) -> std::result::Result<String, AuthError> {
        let mut state = self.state.lock().await;
        let Some(tokens) = self.tokens() else {
            return Err(state.ended.clone().unwrap_or_else(ended));
        };
        let refreshed_meanwhile = self.refreshes.load(Ordering::Acquire) > seen;
        let needed = match stale {
            Some(rejected) => &*tokens.access_token == rejected,
            // A refresh finished while this caller waited: use its token if it works, even if
            // Supabase Auth gave it a lifetime shorter than the margin (else every waiter would
            // refresh again, one after the other).
            None if refreshed_meanwhile && state.failure.is_none() => tokens.expired(),
            None => !tokens.fresh(self.margin()),
        };
        if !needed {
            return Ok(tokens.access_token.to_string());
        }
        if let Some(f) = &state.failure {
            let now = Instant::now();
            if now < f.until {
                // Backing off: a token that still works is better than none.
                if stale.is_none() && !tokens.expired() {
                    return Ok(tokens.access_token.to_string());
                }
                let mut err = f.error.clone();
                // Waited for that very refresh: its error as it came.
                if f.after > seen {
                    return Err(err);
                }
                err.kind = AuthErrorKind::BackingOff;
                err.retry_after = Some(f.until - now);
                return Err(err);
            }
        }
        let outcome = self.auth.refresh(&tokens.refresh_token).await;
        let after = self.refreshes.fetch_add(1, Ordering::AcqRel) + 1;
        match outcome {
            Ok(new) => {
                state.failure = None;
                state.failures = 0;
                let access = new.access_token.to_string();
                self.changes.send_replace(Some(SessionTokens {
                    user_id: new.user_id.or(tokens.user_id),
                    ..new
                }));
                tracing::debug!("session refreshed");
                Ok(access)
            }
            Err(e) if e.kind == AuthErrorKind::SessionEnded => {
                state.ended = Some(e.clone());
                self.changes.send_replace(None);
                tracing::warn!(error = %e, "session ended by Supabase Auth");
                Err(e)
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                let base = self.backoff_ms.load(Ordering::Relaxed);
                let wait = base.saturating_mul(1 << state.failures.saturating_sub(1).min(6));
                let now = Instant::now();
                let until = now
                    .checked_add(Duration::from_millis(wait))
                    .unwrap_or(now + Duration::from_secs(3600));
                state.failure = Some(Failure {
                    until,
                    error: e.clone(),
                    after,
                });
                tracing::warn!(error = %e, retry_in_ms = wait, "session refresh failed");
                if stale.is_none() && !tokens.expired() {
                    return Ok(tokens.access_token.to_string());
                }
                Err(e)
            }
        }
    }
}

fn ended() -> AuthError {
    AuthError::new(AuthErrorKind::SessionEnded, "the session has ended")
}

impl AccessTokenSource for Session {
    fn access_token(&self) -> TokenFuture<'_> {
        Box::pin(Session::access_token(self))
    }

    fn renew<'a>(&'a self, rejected: &'a str) -> TokenFuture<'a> {
        Box::pin(self.refreshed(Some(rejected)))
    }
}
