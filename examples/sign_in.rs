//! Signs in with Supabase Auth, hands the session to a client as its token source, and records
//! an interaction: the session refreshes its token by itself, one refresh at a time, and tells
//! the app when the tokens change (to persist them).
//!
//! With no configuration it runs against in-process stand-ins of Supabase Auth and PostgREST:
//!
//! ```text
//! cargo run --example sign_in
//! ```
//!
//! Against a real project (schema from `supabase/migrations/`), set `SUPABASE_URL`,
//! `SUPABASE_ANON_KEY`, `SUPABASE_EMAIL` and `SUPABASE_PASSWORD` of a user who can sign in with a
//! password; `SUPABASE_GRANT_ID` defaults to the first grant of `supabase/seed.sql`.

#![allow(clippy::print_stdout)]

use std::env;

use supabase_rest::auth::{AuthClient, Credentials};
use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

/// The first grant in `supabase/seed.sql`.
const SEED_GRANT: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, key, email, password, _mock) = match env::var("SUPABASE_URL") {
        Ok(url) => (
            url,
            env::var("SUPABASE_ANON_KEY")?,
            env::var("SUPABASE_EMAIL")?,
            env::var("SUPABASE_PASSWORD")?,
            None,
        ),
        Err(_) => {
            let server = standin::start().await;
            println!("SUPABASE_URL is not set: using in-process stand-ins of Auth and PostgREST");
            let url = server.uri();
            (
                url,
                "anon-key".into(),
                standin::EMAIL.into(),
                standin::PASSWORD.into(),
                Some(server),
            )
        }
    };
    let grant_id: Uuid = env::var("SUPABASE_GRANT_ID")
        .unwrap_or_else(|_| SEED_GRANT.to_owned())
        .parse()?;

    let client = Client::new(&url, key)?;
    let auth = AuthClient::for_client(&client)?;
    let session = auth
        .sign_in_with_password(Credentials::email(email, password))
        .await?;
    let tokens = session.tokens().ok_or("no session")?;
    let user_id = tokens.user_id().ok_or("Auth did not say who signed in")?;
    println!(
        "signed in as {user_id}; token expires at {}",
        tokens.expires_at()
    );

    // Persist new tokens whenever they change (here: print that they did).
    let mut changes = session.subscribe();
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let expiry = changes.borrow().as_ref().map(|t| t.expires_at());
            println!("tokens changed; new expiry {expiry:?}");
        }
    });

    let users = UsersService::new(client.with_access_token_source(session.clone()));
    let row = users
        .record_user_interaction(
            user_id,
            NewInteraction::new(grant_id, InteractionAction::Saved),
        )
        .await?;
    println!(
        "recorded: {} {} on grant {}",
        row.id, row.action, row.grant_id
    );

    // A forced refresh (the session also does this by itself before expiry).
    let refreshed = session.refresh().await?;
    println!("refreshed; new expiry {}", refreshed.expires_at());
    let again = users
        .record_user_interaction(
            user_id,
            NewInteraction::new(grant_id, InteractionAction::Applied),
        )
        .await?;
    assert_eq!(again.id, row.id);
    println!(
        "recorded again with the new token: same row, action {}",
        again.action
    );

    session.sign_out().await?;
    println!("signed out");
    Ok(())
}

mod standin {
    //! Supabase Auth (`/auth/v1/token`, `/auth/v1/logout`) issuing unsigned test tokens with
    //! rotating refresh tokens, and `user_interactions` as the crate's `MemoryTable` with
    //! row-level security by the token's `sub`.

    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    use base64::Engine;
    use serde_json::{json, Value};
    use supabase_rest::testing::MemoryTable;
    use uuid::Uuid;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    pub(super) const EMAIL: &str = "demo@example.test";
    pub(super) const PASSWORD: &str = "demo-password";
    const USER: Uuid = Uuid::from_u128(0x7d3e_2c1b_0a9f_4e8d_8c7b_6a5f_4e3d_2c1b);

    fn tokens(live: &Mutex<HashSet<String>>) -> Value {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let exp = chrono::Utc::now().timestamp() + 3600;
        let claims = json!({"sub": USER, "role": "authenticated", "exp": exp});
        let access = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(claims.to_string())
        );
        let refresh = Uuid::new_v4().simple().to_string();
        live.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(refresh.clone());
        json!({"access_token": access, "token_type": "bearer", "expires_in": 3600,
               "expires_at": exp, "refresh_token": refresh, "user": {"id": USER}})
    }

    fn sub(req: &Request) -> Option<String> {
        let token = req
            .headers
            .get("authorization")?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        let payload = token.split('.').nth(1)?;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()?,
        )
        .ok()?;
        claims["sub"].as_str().map(str::to_owned)
    }

    pub(super) async fn start() -> MockServer {
        let server = MockServer::start().await;
        let live: Arc<Mutex<HashSet<String>>> = Arc::default();
        Mock::given(method("POST"))
            .and(path("/auth/v1/token"))
            .respond_with(move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let grant = req
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "grant_type")
                    .map(|(_, v)| v.into_owned());
                let refused = |code: &str, msg: &str| {
                    ResponseTemplate::new(400)
                        .set_body_json(json!({"code": 400, "error_code": code, "msg": msg}))
                };
                match grant.as_deref() {
                    Some("password") if body["email"] == EMAIL && body["password"] == PASSWORD => {
                        ResponseTemplate::new(200).set_body_json(tokens(&live))
                    }
                    Some("password") => refused("invalid_credentials", "Invalid login credentials"),
                    Some("refresh_token") => {
                        let presented = body["refresh_token"].as_str().unwrap_or_default();
                        let known = live
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(presented);
                        if known {
                            ResponseTemplate::new(200).set_body_json(tokens(&live))
                        } else {
                            refused(
                                "refresh_token_already_used",
                                "Invalid Refresh Token: Already Used",
                            )
                        }
                    }
                    _ => refused("validation_failed", "unsupported grant_type"),
                }
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/auth/v1/logout"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
        let table = MemoryTable::user_interactions().with_row_security(|req, row| {
            sub(req).is_some_and(|uid| row.get("user_id").and_then(Value::as_str) == Some(&uid))
        });
        Mock::given(path("/rest/v1/user_interactions"))
            .respond_with(table)
            .mount(&server)
            .await;
        server
    }
}
