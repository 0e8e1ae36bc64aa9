//! The seed's atomic upsert written with the types generated from `supabase/migrations/`
//! (`supabase_rest::grants::schema`, made by `supabase-rest-gen`): the table, the columns, the
//! value types and the conflict target are all checked by the compiler.
//!
//! With no configuration it runs against an in-process stand-in of PostgREST over
//! `user_interactions` (the crate's `testing::MemoryTable`):
//!
//! ```text
//! cargo run --example typed_schema
//! ```
//!
//! Against a real project (schema from `supabase/migrations/`), set `SUPABASE_URL`,
//! `SUPABASE_ANON_KEY`, a signed-in user's `SUPABASE_ACCESS_TOKEN` and that user's
//! `SUPABASE_USER_ID`; `SUPABASE_GRANT_ID` defaults to the first grant of `supabase/seed.sql`.
//!
//! What the types refuse, at compile time (each is a case of tests/compile_fail/):
//!
//! ```text
//! .upsert(&row)                                   // no conflict target: error[E0061]
//! .upsert(&row, grants::conflict::ID)             // another table's key: error[E0308]
//! .eq(ui::columns::USER_ID, "not a uuid")         // `&str` is not a value of this column
//! .eq(grants::columns::TITLE, "x") on ui::TABLE   // a column of another table: error[E0308]
//! ```

#![allow(clippy::print_stdout)]

use std::env;

use supabase_rest::grants::schema::public::user_interactions::{self as ui, columns as c};
use supabase_rest::testing::MemoryTable;
use supabase_rest::typed::Field;
use supabase_rest::{Client, Order};
use uuid::Uuid;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer};

/// The first grant in `supabase/seed.sql`.
const SEED_GRANT: &str = "00000000-0000-4000-8000-000000000001";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, user_id, grant_id, _server) = match env::var("SUPABASE_URL") {
        Ok(url) => {
            let client = Client::new(url, env::var("SUPABASE_ANON_KEY")?)?
                .with_access_token(env::var("SUPABASE_ACCESS_TOKEN")?);
            let user_id: Uuid = env::var("SUPABASE_USER_ID")?.parse()?;
            let grant_id: Uuid = env::var("SUPABASE_GRANT_ID")
                .unwrap_or_else(|_| SEED_GRANT.to_owned())
                .parse()?;
            (client, user_id, grant_id, None)
        }
        Err(_) => {
            let server = MockServer::start().await;
            Mock::given(path("/rest/v1/user_interactions"))
                .respond_with(MemoryTable::user_interactions())
                .mount(&server)
                .await;
            println!("SUPABASE_URL is not set: using an in-process PostgREST stand-in");
            let client = Client::new(server.uri(), "anon-key")?.with_access_token("user-jwt");
            (client, Uuid::new_v4(), SEED_GRANT.parse()?, Some(server))
        }
    };

    // The required columns go through `Insert::new`; `notes` may be left out (the key is not
    // sent), set, or set to NULL.
    let row = ui::Insert {
        notes: Field::Value("deadline in May".to_owned()),
        ..ui::Insert::new(user_id, grant_id, "saved".to_owned())
    };
    let upsert = || {
        client
            .table(ui::TABLE)
            .upsert(&row, ui::conflict::USER_ID_GRANT_ID)
            .returning()
            .single()
    };

    let request = upsert().build()?;
    println!("\n{} {}", request.method(), request.url());
    println!("prefer: {}", request.headers()["prefer"].to_str()?);
    if let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        println!("{}", String::from_utf8_lossy(body));
    }

    // Awaiting decodes into the generated `Row`.
    let stored: ui::Row = upsert().await?;
    println!(
        "\nstored: {} {} ({:?})",
        stored.id, stored.action, stored.notes
    );

    // Recording again on the same pair updates the one row: same id, new action.
    let applied = ui::Insert::new(user_id, grant_id, "applied".to_owned());
    let again = client
        .table(ui::TABLE)
        .upsert(&applied, ui::conflict::USER_ID_GRANT_ID)
        .returning()
        .single()
        .await?;
    println!(
        "again: same row {}, action {}, notes kept: {:?}",
        again.id == stored.id,
        again.action,
        again.notes
    );
    assert_eq!(again.id, stored.id);
    assert_eq!(again.notes, stored.notes);

    // Typed reads: columns of this table only, values of their types.
    let mine: Vec<ui::Row> = client
        .table(ui::TABLE)
        .select()
        .eq(c::USER_ID, user_id)
        .order(c::UPDATED_AT, Order::desc())
        .await?;
    println!("\n{} interaction(s) for this user", mine.len());
    assert_eq!(mine.len(), 1);
    Ok(())
}
