//! Signed-in users: token sources, renewal on a rejected JWT, and Supabase Auth sessions with
//! single-flight refresh, against the Supabase Auth stand-in (`tests/auth_standin/`) and the
//! PostgREST stand-in over the real PostgreSQL, which verifies every JWT as PostgREST does.
//! Every test checks that no refresh token was ever sent twice.
//!
//! Needs the throwaway database that `./scripts/test-all.sh` provisions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod auth_standin;
mod postgrest_standin;

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_standin::{World, PASSWORD};
use futures::future::join_all;
use serde_json::json;
use supabase_rest::auth::{token_fn, AuthError, AuthErrorKind, Credentials, Session};
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::{Client, Error, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

impl World {
    async fn sign_in(&self) -> Session {
        self.auth_client()
            .sign_in_with_password(Credentials::email(&self.email, PASSWORD))
            .await
            .unwrap()
    }

    fn users(&self, session: &Session) -> UsersService {
        let client = Client::new(self.standin.url(), "anon-key")
            .unwrap()
            .with_access_token_source(session.clone());
        UsersService::new(client)
    }

    fn record(
        &self,
        users: &UsersService,
        i: usize,
    ) -> impl std::future::Future<Output = supabase_rest::Result<()>> + '_ {
        let users = users.clone();
        let action = InteractionAction::ALL[i % 3];
        async move {
            users
                .record_user_interaction(self.user, NewInteraction::new(self.grant, action))
                .await
                .map(drop)
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        assert_eq!(self.auth.reuses(), 0, "a refresh token was sent twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_keeps_auths_error_fields_and_never_shows_a_secret() {
    let w = World::new().await;
    let err = w
        .auth_client()
        .sign_in_with_password(Credentials::email(&w.email, "wrong-password-sentinel"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::InvalidCredentials);
    assert_eq!(err.error_code(), Some("invalid_credentials"));
    assert_eq!(err.message(), "Invalid login credentials");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(!format!("{err} {err:?}").contains("sentinel"));

    let session = w.sign_in().await;
    let tokens = session.tokens().unwrap();
    assert_eq!(tokens.user_id(), Some(w.user));
    let shown = format!(
        "{session:?} {tokens:?} {:?} {:?}",
        Credentials::email(&w.email, PASSWORD),
        Client::new(w.standin.url(), "k")
            .unwrap()
            .with_access_token_source(session.clone())
    );
    for secret in [tokens.access_token(), tokens.refresh_token(), PASSWORD] {
        assert!(!shown.contains(secret), "{shown}");
    }
    // By phone too.
    w.auth.add_user("+15550100", w.user);
    let by_phone = w
        .auth_client()
        .sign_in_with_password(Credentials::phone("+15550100", PASSWORD))
        .await
        .unwrap();
    assert_eq!(by_phone.tokens().unwrap().user_id(), Some(w.user));
    // The session works against PostgREST, and survives a save and restore.
    let users = w.users(&session);
    users
        .record_user_interaction(
            w.user,
            NewInteraction::new(w.grant, InteractionAction::Saved),
        )
        .await
        .unwrap();
    let saved = serde_json::to_string(&tokens).unwrap();
    let restored = w
        .auth_client()
        .restore(serde_json::from_str(&saved).unwrap());
    assert_eq!(restored.tokens(), Some(tokens));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_requests_inside_the_refresh_margin_make_one_refresh() {
    let w = World::new().await;
    // The first token lives 30 s: inside the 90 s margin from the start. The next live an hour.
    w.auth.set_sign_in_lifetime(30);
    let session = w.sign_in().await;
    w.auth.set_refresh_delay(Duration::from_millis(100));
    let mut changes = session.subscribe();
    let users = w.users(&session);

    let results = join_all((0..200).map(|i| w.record(&users, i))).await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    println!(
        "200 requests inside the margin: {failed} failed, {} refresh call(s)",
        w.auth.refreshes()
    );
    assert_eq!(failed, 0, "{:?}", results.iter().find(|r| r.is_err()));
    assert_eq!(w.auth.refreshes(), 1, "exactly one refresh for all of them");
    assert!(
        changes.has_changed().unwrap(),
        "the app is told about the new tokens"
    );
    let new = changes.borrow_and_update().clone().unwrap();
    assert!(new.expires_at() > chrono::Utc::now() + chrono::Duration::minutes(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_renewed_once_per_request_by_one_refresh() {
    let w = World::new().await;
    // The first token is refused by PostgREST (another signature, as after a secret rotation),
    // though Auth said it is valid for an hour.
    w.auth.sign_in_badly_signed();
    let session = w.sign_in().await;
    w.auth.set_refresh_delay(Duration::from_millis(50));
    let users = w.users(&session);
    let before = w.standin.request_count();

    let results = join_all((0..50).map(|i| w.record(&users, i))).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    println!(
        "50 requests with a rejected token: {} PostgREST requests, {} refresh call(s)",
        w.standin.request_count() - before,
        w.auth.refreshes()
    );
    assert_eq!(
        w.auth.refreshes(),
        1,
        "one refresh, however many requests were refused"
    );
    assert_eq!(
        w.standin.request_count() - before,
        100,
        "each request sent twice: refused, then accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_on_the_server_ends_with_one_refresh_attempt_and_no_storm() {
    let w = World::new().await;
    let session = w.sign_in().await;
    let users = w.users(&session);
    w.record(&users, 0).await.unwrap();
    w.auth.revoke(&auth_standin::session_of(
        session.tokens().unwrap().access_token(),
    ));
    let before = w.standin.request_count();

    let results = join_all((0..50).map(|i| w.record(&users, i))).await;
    for r in &results {
        match r {
            Err(Error::Auth(a)) => assert_eq!(a.kind(), AuthErrorKind::SessionEnded, "{a}"),
            other => panic!("expected the session's end, got {other:?}"),
        }
    }
    println!(
        "50 requests after revocation: {} PostgREST requests, {} refresh call(s)",
        w.standin.request_count() - before,
        w.auth.refreshes()
    );
    assert_eq!(w.auth.refreshes(), 1, "no refresh storm");
    // Each request reaches PostgREST at most once (never resent after the failed renewal);
    // those that asked for a token after the session had ended were not sent at all.
    let sent = w.standin.request_count() - before;
    assert!(
        (1..=50).contains(&sent),
        "{sent} PostgREST requests for 50 calls"
    );
    assert_eq!(session.tokens(), None, "the session has ended");
    // Later calls fail at once, without asking Auth again.
    assert!(matches!(w.record(&users, 0).await, Err(Error::Auth(_))));
    assert_eq!(w.auth.refreshes(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_fails_every_waiting_request_then_backs_off() {
    let w = World::new().await;
    // An expired token: every request needs the refresh, which Auth fails.
    w.auth.set_sign_in_lifetime(-5);
    let session = w.sign_in().await;
    session.set_refresh_backoff(Duration::from_secs(2));
    w.auth.fail_refreshes(Some(503));
    w.auth.set_refresh_delay(Duration::from_millis(100));
    let client = Client::builder(w.standin.url(), "anon-key")
        .access_token_source(session.clone())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let before = w.standin.request_count();

    let results = join_all((0..20).map(|_| client.from("grants").select("id").into_future())).await;
    for r in &results {
        match r {
            Err(Error::Auth(a)) => {
                assert_eq!(a.kind(), AuthErrorKind::Unreachable, "{a}");
                assert_eq!(a.status().map(|s| s.as_u16()), Some(503));
            }
            other => panic!("expected the refresh's error, got {other:?}"),
        }
    }
    assert_eq!(
        w.auth.refreshes(),
        1,
        "the waiting requests shared the one refresh"
    );
    assert_eq!(
        w.standin.request_count(),
        before,
        "nothing was sent to PostgREST"
    );

    // Within the back-off: no call to Auth, the error says when the next try is.
    let err = client.from("grants").select("id").await.unwrap_err();
    let Error::Auth(a) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(a.kind(), AuthErrorKind::BackingOff);
    assert!(a.retry_after().unwrap() <= Duration::from_secs(2));
    assert_eq!(w.auth.refreshes(), 1);

    // After it, Auth is asked again (and now answers).
    w.auth.fail_refreshes(None);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    client.from("grants").select("id").await.unwrap();
    assert_eq!(w.auth.refreshes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_calls_for_ten_seconds_with_two_second_tokens() {
    let w = World::new().await;
    w.auth.set_lifetime(2);
    let session = w.sign_in().await;
    session.set_refresh_margin(Duration::from_millis(1000));
    let users = w.users(&session);
    let (calls, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let end = Instant::now() + Duration::from_secs(10);
    let workers = (0..8).map(|worker| {
        let (users, calls, failures) = (users.clone(), calls.clone(), failures.clone());
        let (user, grant) = (w.user, w.grant);
        tokio::spawn(async move {
            let mut i = worker;
            while Instant::now() < end {
                let action = InteractionAction::ALL[i % 3];
                if let Err(e) = users
                    .record_user_interaction(user, NewInteraction::new(grant, action))
                    .await
                {
                    eprintln!("failed call: {e}");
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                calls.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    });
    for w in join_all(workers).await {
        w.unwrap();
    }
    let (calls, failures) = (
        calls.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
    );
    println!(
        "10 s with 2 s tokens: {calls} calls, {failures} failed, {} refreshes",
        w.auth.refreshes()
    );
    assert_eq!(failures, 0);
    assert!(calls > 100, "{calls}");
    // A refresh about every second (2 s tokens, 1 s margin), never two for one token.
    assert!(
        (5..=15).contains(&w.auth.refreshes()),
        "{}",
        w.auth.refreshes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_ends_the_session_and_tells_the_app() {
    let w = World::new().await;
    let session = w.sign_in().await;
    let mut changes = session.subscribe();
    session.sign_out().await.unwrap();
    assert_eq!(w.auth.logouts(), 1);
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), None);
    let err = session.access_token().await.unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::SessionEnded);
}

// --- A closure as the token source, on wiremock -----------------------------------------------

fn rejected_jwt(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(401)
        .insert_header("www-authenticate", "Bearer error=\"invalid_token\"")
        .set_body_json(
            json!({"code": code, "message": "JWT expired", "details": null, "hint": null}),
        )
}

#[tokio::test]
async fn an_insert_refused_for_its_jwt_is_sent_once_more_with_the_renewed_token() {
    let server = MockServer::start().await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    Mock::given(method("POST"))
        .and(path("/rest/v1/things"))
        .respond_with(move |req: &Request| {
            let auth = req.headers["authorization"].to_str().unwrap().to_owned();
            log.lock().unwrap().push(auth.clone());
            if auth == "Bearer old" {
                rejected_jwt("PGRST303")
            } else {
                ResponseTemplate::new(201)
            }
        })
        .mount(&server)
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let source = token_fn(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, AuthError>(if n == 0 { "old" } else { "new" }.to_owned()) }
    });
    let client = Client::new(server.uri(), "anon-key")
        .unwrap()
        .with_access_token_source(source);
    client
        .from("things")
        .insert(&json!({"a": 1}))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["Bearer old", "Bearer new"]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn at_most_one_renewal_and_other_401s_are_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(path("/rest/v1/always_rejected"))
        .respond_with(rejected_jwt("PGRST301"))
        .mount(&server)
        .await;
    Mock::given(path("/rest/v1/bad_key"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"code": "PGRST302", "message": "Anonymous access is disabled", "details": null, "hint": null}),
        ))
        .mount(&server)
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let source = token_fn(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, AuthError>("t".to_owned()) }
    });
    let client = Client::new(server.uri(), "anon-key")
        .unwrap()
        .with_access_token_source(source);

    let err = client
        .from("always_rejected")
        .select("*")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PGRST301"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "asked once, renewed once, then the error"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let err = client.from("bad_key").insert(&json!({})).await.unwrap_err();
    assert_eq!(err.code(), Some("PGRST302"));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "no renewal for a 401 that is not about the JWT"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // A source that fails: nothing is sent, the error is typed.
    let failing = Client::new(server.uri(), "anon-key")
        .unwrap()
        .with_access_token_source(token_fn(|| async {
            Err::<String, _>(AuthError::source_failed("keychain locked"))
        }));
    let err = failing.from("bad_key").select("*").await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth(a) if a.kind() == AuthErrorKind::Source),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
