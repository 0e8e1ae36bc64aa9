//! No access token, refresh token or password of a Supabase Auth session in any log line, at
//! any level, on every path: sign-in (right and wrong password), refresh ahead of expiry, a
//! failed refresh, a token PostgREST rejects, a session ended by the server. In a test binary
//! of its own, so that no other test's threads share its log subscriber.
//!
//! Needs the throwaway database that `./scripts/test-all.sh` provisions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth_standin;
mod postgrest_standin;
mod wiremock_helpers;

use std::time::Duration;

use auth_standin::{World, PASSWORD};
use supabase_rest::auth::{AuthClient, Credentials};
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;

#[tokio::test(flavor = "current_thread")]
async fn no_token_or_password_in_any_log_line_of_a_session() {
    let (captured, _guard) = wiremock_helpers::Captured::start();

    let World {
        auth,
        standin,
        user,
        email,
        grant,
    } = World::new().await;
    let auth_client = AuthClient::new(auth.uri(), "anon-key").unwrap();

    // A first token inside the refresh margin: the first call refreshes.
    auth.set_sign_in_lifetime(10);
    let session = auth_client
        .sign_in_with_password(Credentials::email(&email, PASSWORD))
        .await
        .unwrap();
    let first = session.tokens().unwrap();
    let users = UsersService::new(
        Client::new(standin.url(), "anon-key")
            .unwrap()
            .with_access_token_source(session.clone()),
    );
    let record =
        |a: InteractionAction| users.record_user_interaction(user, NewInteraction::new(grant, a));
    record(InteractionAction::Saved).await.unwrap();
    let second = session.tokens().unwrap();
    assert_ne!(first, second);
    // A failed refresh, then a session the server revoked (PostgREST rejects its token).
    auth.fail_refreshes(Some(500));
    let _ = session.refresh().await;
    auth.revoke(&auth_standin::session_of(second.access_token()));
    auth.fail_refreshes(None);
    session.set_refresh_backoff(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _ = record(InteractionAction::Applied).await;
    let _ = auth_client
        .sign_in_with_password(Credentials::email(&email, "sentinel-wrong-pw"))
        .await;
    assert_eq!(auth.reuses(), 0);

    let logs = captured.text();
    assert!(
        logs.contains("session refreshed"),
        "the session logged nothing?\n{logs}"
    );
    for secret in [
        first.access_token(),
        first.refresh_token(),
        second.access_token(),
        second.refresh_token(),
        PASSWORD,
        "sentinel-wrong-pw",
    ] {
        assert!(!logs.contains(secret), "a secret in the logs:\n{logs}");
    }
}
