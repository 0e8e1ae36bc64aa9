//! A Supabase Auth (GoTrue) stand-in on wiremock, for the session tests: password sign-in,
//! refresh and logout, issuing HS256 access tokens signed with the PostgREST stand-in's secret
//! (so that the stand-in over the real PostgreSQL accepts them), with lifetimes the test
//! chooses and single-use, rotating refresh tokens. A refresh token presented twice is
//! counted ([`AuthStandIn::reuses`]) and refused as Supabase Auth refuses it
//! (`refresh_token_already_used`); every test asserts that count is zero.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::postgrest_standin::{self, jwt, unix_now};

pub const PASSWORD: &str = "sentinel-PASSWORD-c41d";

#[derive(Default)]
struct State {
    /// email → user id.
    users: HashMap<String, Uuid>,
    /// Refresh tokens not yet used: token → (user, session).
    live: HashMap<String, (Uuid, String)>,
    used: HashSet<String>,
    revoked_sessions: HashSet<String>,
    reuses: usize,
    sign_ins: usize,
    refreshes: usize,
    logouts: usize,
    /// Seconds of life of the next access tokens.
    lifetime: i64,
    /// Lifetime of the token the next sign-in issues, when different.
    sign_in_lifetime: Option<i64>,
    /// Sign the next sign-in's token with another secret (as after a secret rotation).
    sign_in_badly_signed: bool,
    /// Answer refreshes with this status (a failing Auth).
    fail_refresh: Option<u16>,
    refresh_delay: Duration,
}

#[derive(Clone)]
pub struct AuthStandIn {
    pub server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl AuthStandIn {
    pub async fn start() -> AuthStandIn {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            lifetime: 3600,
            ..State::default()
        }));
        let s = state.clone();
        Mock::given(method("POST"))
            .and(path("/auth/v1/token"))
            .respond_with(move |req: &Request| token(&s, req))
            .mount(&server)
            .await;
        let s = state.clone();
        Mock::given(method("POST"))
            .and(path("/auth/v1/logout"))
            .respond_with(move |req: &Request| logout(&s, req))
            .mount(&server)
            .await;
        AuthStandIn {
            server: Arc::new(server),
            state,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A user who can sign in with `email` (or a phone number) and [`PASSWORD`].
    pub fn add_user(&self, email: &str, id: Uuid) {
        self.state
            .lock()
            .unwrap()
            .users
            .insert(email.to_owned(), id);
    }

    pub fn set_lifetime(&self, secs: i64) {
        self.state.lock().unwrap().lifetime = secs;
    }

    pub fn set_sign_in_lifetime(&self, secs: i64) {
        self.state.lock().unwrap().sign_in_lifetime = Some(secs);
    }

    pub fn sign_in_badly_signed(&self) {
        self.state.lock().unwrap().sign_in_badly_signed = true;
    }

    pub fn fail_refreshes(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_refresh = status;
    }

    pub fn set_refresh_delay(&self, delay: Duration) {
        self.state.lock().unwrap().refresh_delay = delay;
    }

    /// Revokes a session: its refresh tokens stop working (and the PostgREST stand-in refuses
    /// its access tokens, as a revocation check would).
    pub fn revoke(&self, session_id: &str) {
        self.state
            .lock()
            .unwrap()
            .revoked_sessions
            .insert(session_id.to_owned());
        crate::postgrest_standin::revoked_sessions()
            .lock()
            .unwrap()
            .insert(session_id.to_owned());
    }

    pub fn sign_ins(&self) -> usize {
        self.state.lock().unwrap().sign_ins
    }

    pub fn refreshes(&self) -> usize {
        self.state.lock().unwrap().refreshes
    }

    pub fn logouts(&self) -> usize {
        self.state.lock().unwrap().logouts
    }

    /// Refresh tokens presented a second time. Must stay zero.
    pub fn reuses(&self) -> usize {
        self.state.lock().unwrap().reuses
    }
}

/// The session id inside an access token.
pub fn session_of(access_token: &str) -> String {
    use base64::Engine;
    let payload = access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["session_id"].as_str().unwrap().to_owned()
}

fn error(status: u16, code: &str, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"code": status, "error_code": code, "msg": msg}))
}

fn issue(state: &mut State, user: Uuid, session: &str, lifetime: i64, bad: bool) -> Value {
    let exp = unix_now() + lifetime;
    let claims = json!({
        "sub": user, "role": "authenticated", "aud": "authenticated",
        "session_id": session, "exp": exp,
    });
    let mut access = jwt(&claims);
    if bad {
        // Another signature: PostgREST refuses it with PGRST301.
        access.push('x');
    }
    let refresh = format!("refresh-{}", Uuid::new_v4().simple());
    state
        .live
        .insert(refresh.clone(), (user, session.to_owned()));
    json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": lifetime,
        "expires_at": exp,
        "refresh_token": refresh,
        "user": {"id": user, "aud": "authenticated", "role": "authenticated"},
    })
}

fn token(state: &Mutex<State>, req: &Request) -> ResponseTemplate {
    let grant = req
        .url
        .query_pairs()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let mut st = state.lock().unwrap();
    if req.headers.get("apikey").is_none() {
        return error(401, "no_api_key", "No API key found in request");
    }
    match grant.as_str() {
        "password" => {
            st.sign_ins += 1;
            // Users are found by email or by phone, whichever the request names.
            let login = body["email"]
                .as_str()
                .or(body["phone"].as_str())
                .unwrap_or_default();
            let Some(user) = st.users.get(login).copied() else {
                return error(400, "invalid_credentials", "Invalid login credentials");
            };
            if body["password"] != PASSWORD {
                return error(400, "invalid_credentials", "Invalid login credentials");
            }
            let lifetime = st.sign_in_lifetime.take().unwrap_or(st.lifetime);
            let bad = std::mem::take(&mut st.sign_in_badly_signed);
            let session = Uuid::new_v4().to_string();
            ResponseTemplate::new(200).set_body_json(issue(&mut st, user, &session, lifetime, bad))
        }
        "refresh_token" => {
            st.refreshes += 1;
            let delay = st.refresh_delay;
            if let Some(status) = st.fail_refresh {
                return error(status, "unexpected_failure", "Auth is having a bad day")
                    .set_delay(delay);
            }
            let presented = body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if st.used.contains(&presented) {
                st.reuses += 1;
                return error(
                    400,
                    "refresh_token_already_used",
                    "Invalid Refresh Token: Already Used",
                );
            }
            let Some((user, session)) = st.live.remove(&presented) else {
                return error(
                    400,
                    "refresh_token_not_found",
                    "Invalid Refresh Token: Refresh Token Not Found",
                );
            };
            st.used.insert(presented);
            if st.revoked_sessions.contains(&session) {
                return error(
                    403,
                    "session_not_found",
                    "Session from session_id claim in JWT does not exist",
                )
                .set_delay(delay);
            }
            let lifetime = st.lifetime;
            ResponseTemplate::new(200)
                .set_body_json(issue(&mut st, user, &session, lifetime, false))
                .set_delay(delay)
        }
        _ => error(400, "validation_failed", "unsupported grant_type"),
    }
}

fn logout(state: &Mutex<State>, req: &Request) -> ResponseTemplate {
    let mut st = state.lock().unwrap();
    st.logouts += 1;
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if bearer.split('.').count() != 3 {
        return error(401, "bad_jwt", "invalid JWT");
    }
    let session = session_of(&bearer);
    st.revoked_sessions.insert(session);
    ResponseTemplate::new(204)
}

/// A user known to both stand-ins (Auth by email and [`PASSWORD`], PostgREST's `auth.users`),
/// and a grant to record interactions on.
pub struct World {
    pub auth: AuthStandIn,
    pub standin: postgrest_standin::StandIn,
    pub user: Uuid,
    pub email: String,
    pub grant: Uuid,
}

impl World {
    pub async fn new() -> World {
        let auth = AuthStandIn::start().await;
        let standin = postgrest_standin::start(Duration::ZERO).await;
        let user = Uuid::new_v4();
        postgrest_standin::create_users(&[user]).await;
        let email = format!("{user}@example.test");
        auth.add_user(&email, user);
        let grant = postgrest_standin::create_grants(1).await[0];
        World {
            auth,
            standin,
            user,
            email,
            grant,
        }
    }

    pub fn auth_client(&self) -> supabase_rest::auth::AuthClient {
        supabase_rest::auth::AuthClient::new(self.auth.uri(), "anon-key").unwrap()
    }
}
