//! Records a user's interaction with a grant in one atomic request and prints the request it
//! sent and the row it got back.
//!
//! With no configuration it runs against an in-process mock PostgREST:
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Against a real project (schema from `supabase/migrations/`), set `SUPABASE_URL`,
//! `SUPABASE_ANON_KEY`, a signed-in user's `SUPABASE_ACCESS_TOKEN` and that user's
//! `SUPABASE_USER_ID`; `SUPABASE_GRANT_ID` defaults to the first grant of `supabase/seed.sql`.

#![allow(clippy::print_stdout)]

use std::env;

use supabase_rest::grants::{InteractionAction, NewInteraction, UsersService};
use supabase_rest::Client;
use uuid::Uuid;

/// The first grant in `supabase/seed.sql`.
const SEED_GRANT: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, user_id, grant_id, _mock) = match env::var("SUPABASE_URL") {
        Ok(url) => {
            let key = env::var("SUPABASE_ANON_KEY")?;
            let token = env::var("SUPABASE_ACCESS_TOKEN")?;
            let user_id: Uuid = env::var("SUPABASE_USER_ID")?.parse()?;
            let grant_id: Uuid = env::var("SUPABASE_GRANT_ID")
                .unwrap_or_else(|_| SEED_GRANT.to_owned())
                .parse()?;
            println!("talking to {url}");
            let client = Client::new(url, key)?.with_access_token(token);
            (client, user_id, grant_id, None)
        }
        Err(_) => {
            let mock = mock::start().await;
            println!(
                "SUPABASE_URL is not set: using an in-process mock PostgREST at {}",
                mock.uri()
            );
            let client = Client::new(mock.uri(), "anon-key")?.with_access_token("user-jwt");
            (client, Uuid::new_v4(), SEED_GRANT.parse()?, Some(mock))
        }
    };

    let interaction =
        NewInteraction::new(grant_id, InteractionAction::Saved).with_notes("deadline in May");

    // The exact request the service sends, built without I/O.
    let users = UsersService::new(client);
    let request = users
        .record_user_interaction(user_id, interaction.clone())
        .build()?;
    println!("\n{} {}", request.method(), request.url());
    for (name, value) in request.headers() {
        let shown = if value.is_sensitive() {
            "<redacted>"
        } else {
            value.to_str().unwrap_or("?")
        };
        println!("{name}: {shown}");
    }
    if let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        println!("\n{}", String::from_utf8_lossy(body));
    }

    let row = users.record_user_interaction(user_id, interaction).await?;
    println!("\nstored row:\n{row:#?}");

    // Same pair again with another action: still one row, same id and created_at.
    let again = users
        .record_user_interaction(
            user_id,
            NewInteraction::new(grant_id, InteractionAction::Applied),
        )
        .await?;
    println!(
        "\nrecorded again as {}: same row {} (created {}), notes kept: {:?}",
        again.action,
        again.id == row.id,
        again.created_at,
        again.notes
    );
    Ok(())
}

mod mock {
    //! A tiny PostgREST stand-in: keeps one row per (user_id, grant_id) and answers the upsert.

    use std::sync::{Arc, Mutex};

    use serde_json::{json, Map, Value};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    pub(super) async fn start() -> MockServer {
        let server = MockServer::start().await;
        let rows: Arc<Mutex<Vec<Map<String, Value>>>> = Arc::default();
        Mock::given(method("POST"))
            .and(path("/rest/v1/user_interactions"))
            .respond_with(move |req: &Request| upsert(&rows, req))
            .mount(&server)
            .await;
        server
    }

    fn upsert(rows: &Mutex<Vec<Map<String, Value>>>, req: &Request) -> ResponseTemplate {
        let Ok(Value::Object(incoming)) = serde_json::from_slice::<Value>(&req.body) else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code":"PGRST102","message":"Empty or invalid json","details":null,"hint":null}));
        };
        let now = chrono::Utc::now().to_rfc3339();
        let mut rows = rows.lock().unwrap_or_else(|p| p.into_inner());
        let same_pair = |r: &Map<String, Value>| {
            r.get("user_id") == incoming.get("user_id")
                && r.get("grant_id") == incoming.get("grant_id")
        };
        let (status, row) = match rows.iter_mut().find(|r| same_pair(r)) {
            Some(existing) => {
                existing.extend(incoming.clone());
                existing.insert("updated_at".into(), json!(now));
                (200, existing.clone())
            }
            None => {
                let mut row = Map::new();
                row.insert("id".into(), json!(uuid::Uuid::new_v4()));
                row.insert("notes".into(), Value::Null);
                row.extend(incoming.clone());
                row.insert("created_at".into(), json!(now));
                row.insert("updated_at".into(), json!(now));
                rows.push(row.clone());
                (201, row)
            }
        };
        ResponseTemplate::new(status).set_body_json(Value::Object(row))
    }
}
