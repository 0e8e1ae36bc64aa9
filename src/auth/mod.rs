//! Signed-in users: where a request's JWT comes from, and Supabase Auth sessions.
//!
//! A client made with a fixed token ([`Client::with_access_token`](crate::Client::with_access_token))
//! sends that token until it expires. A client with an [`AccessTokenSource`]
//! ([`ClientBuilder::access_token_source`](crate::ClientBuilder::access_token_source),
//! [`Client::with_access_token_source`](crate::Client::with_access_token_source)) asks the
//! source before every request, and when PostgREST rejects the token (401 with `PGRST301` or
//! `PGRST303`, or `WWW-Authenticate: Bearer error="invalid_token"`) asks it once for a new one
//! and sends the request once more. That second send is safe for every method, inserts
//! included: PostgREST checks the JWT before it runs any SQL, so a rejected request did nothing.
//! Any other 401 (a wrong api key, anonymous access turned off) is returned at once.
//!
//! A [`Session`] of Supabase Auth is such a source: sign in with [`AuthClient`], hand the session
//! to the client, and it refreshes ahead of expiry, one refresh at a time however many requests
//! wait, always with the newest refresh token (Supabase Auth's refresh tokens are single-use: a
//! reused one revokes the whole session), and tells the app when the tokens change so it can
//! persist them.
//!
//! ```no_run
//! use supabase_rest::auth::{AuthClient, Credentials};
//! use supabase_rest::Client;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("https://xyz.supabase.co", "anon-key")?;
//! let auth = AuthClient::for_client(&client)?;
//! let session = auth.sign_in_with_password(Credentials::email("a@example.com", "pw")).await?;
//! let mut changes = session.subscribe();
//! tokio::spawn(async move {
//!     while changes.changed().await.is_ok() {
//!         // Persist the new tokens (changes.borrow()) to sign in again after a restart.
//!     }
//! });
//! let user = client.with_access_token_source(session.clone());
//! let rows = user.from("user_interactions").select("*").await?;
//! # Ok(()) }
//! ```

mod error;
mod session;

use std::future::Future;
use std::pin::Pin;

pub use error::{AuthError, AuthErrorKind};
pub use session::{
    AuthClient, Credentials, Session, SessionTokens, DEFAULT_REFRESH_BACKOFF,
    DEFAULT_REFRESH_MARGIN,
};

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

impl<T: AccessTokenSource + ?Sized> AccessTokenSource for std::sync::Arc<T> {
    fn access_token(&self) -> TokenFuture<'_> {
        (**self).access_token()
    }

    fn renew<'a>(&'a self, rejected: &'a str) -> TokenFuture<'a> {
        (**self).renew(rejected)
    }
}
