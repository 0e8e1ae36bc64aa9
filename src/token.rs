//! Where a request's JWT comes from ([`AccessTokenSource`]), and why there is none
//! ([`AuthError`]). Public as `supabase_rest::auth::*`; Supabase Auth sessions are in `auth/`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use crate::escape::Escaped;

/// What an [`AccessTokenSource`] returns: the token, or why there is none.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<String, AuthError>> + Send + 'a>>;

/// Where a client's requests get the user's JWT. Asked before every request, so keep
/// [`access_token`](AccessTokenSource::access_token) cheap when the token is cached.
pub trait AccessTokenSource: Send + Sync + 'static {
    /// The token to send now.
    fn access_token(&self) -> TokenFuture<'_>;

    /// PostgREST rejected `rejected`: a token to send instead (once per request). The default
    /// asks [`access_token`](AccessTokenSource::access_token) again.
    fn renew<'a>(&'a self, rejected: &'a str) -> TokenFuture<'a> {
        let _ = rejected;
        self.access_token()
    }
}

/// A closure as an [`AccessTokenSource`]: called before every request, and once more when
/// PostgREST rejects what it gave (it should then return a fresh token).
///
/// ```
/// use supabase_rest::auth::{token_fn, AuthError};
/// use supabase_rest::Client;
///
/// let client = Client::new("http://localhost:54321", "anon-key")?
///     .with_access_token_source(token_fn(|| async { Ok::<_, AuthError>("a user's JWT".to_owned()) }));
/// # Ok::<(), supabase_rest::Error>(())
/// ```
pub fn token_fn<F, Fut>(f: F) -> impl AccessTokenSource
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, AuthError>> + Send + 'static,
{
    FnSource(f)
}

struct FnSource<F>(F);

impl<F, Fut> AccessTokenSource for FnSource<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, AuthError>> + Send + 'static,
{
    fn access_token(&self) -> TokenFuture<'_> {
        Box::pin((self.0)())
    }
}

impl<T: AccessTokenSource + ?Sized> AccessTokenSource for Arc<T> {
    fn access_token(&self) -> TokenFuture<'_> {
        (**self).access_token()
    }

    fn renew<'a>(&'a self, rejected: &'a str) -> TokenFuture<'a> {
        (**self).renew(rejected)
    }
}

/// What went wrong, to decide what to do: ask the user to sign in again, wait, or report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// Wrong email, phone or password (`invalid_credentials`).
    InvalidCredentials,
    /// The session is over: its refresh token was revoked, already used, or not found, or the
    /// user signed out. Sign in again.
    SessionEnded,
    /// Supabase Auth could not be reached or is failing (network, 5xx, 429).
    Unreachable,
    /// A refresh failed moments ago; the session waits before trying again (see
    /// [`AuthError::retry_after`]).
    BackingOff,
    /// Supabase Auth refused the request for another reason (its `error_code` says which).
    Rejected,
    /// A caller's own [`AccessTokenSource`] failed.
    Source,
}

/// A failure of Supabase Auth or of a token source. Keeps Auth's `error_code` and `msg`;
/// never holds a password or a token.
#[derive(Clone)]
pub struct AuthError {
    pub(crate) kind: AuthErrorKind,
    pub(crate) status: Option<StatusCode>,
    pub(crate) error_code: Option<String>,
    pub(crate) message: String,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl AuthError {
    /// A failure of a caller's token source, with its message (shown escaped; do not put a
    /// token in it).
    pub fn source_failed(message: impl Into<String>) -> AuthError {
        AuthError::new(AuthErrorKind::Source, message)
    }

    pub(crate) fn new(kind: AuthErrorKind, message: impl Into<String>) -> AuthError {
        AuthError {
            kind,
            status: None,
            error_code: None,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// Supabase Auth's HTTP status, when it answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// Supabase Auth's `error_code` (`invalid_credentials`, `refresh_token_already_used`, ...).
    pub fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    /// Supabase Auth's `msg` (or this crate's description).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// For [`AuthErrorKind::BackingOff`]: how long until the session tries again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("error_code", &self.error_code)
            .field("message", &Escaped(&self.message).to_string())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            AuthErrorKind::InvalidCredentials => "sign-in refused: invalid credentials",
            AuthErrorKind::SessionEnded => "the session has ended; sign in again",
            AuthErrorKind::Unreachable => "Supabase Auth is unreachable",
            AuthErrorKind::BackingOff => "a token refresh failed recently; waiting before the next",
            AuthErrorKind::Rejected => "Supabase Auth refused the request",
            AuthErrorKind::Source => "the access token source failed",
        };
        write!(f, "{what}: {}", Escaped(&self.message))?;
        match (&self.error_code, self.status) {
            (Some(code), Some(status)) => {
                write!(f, " ({}, HTTP {})", Escaped(code), status.as_u16())
            }
            (Some(code), None) => write!(f, " ({})", Escaped(code)),
            (None, Some(status)) => write!(f, " (HTTP {})", status.as_u16()),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
