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

mod session;

pub use crate::token::{token_fn, AccessTokenSource, AuthError, AuthErrorKind, TokenFuture};
pub use session::{
    AuthClient, Credentials, Session, SessionTokens, DEFAULT_REFRESH_BACKOFF,
    DEFAULT_REFRESH_MARGIN,
};
