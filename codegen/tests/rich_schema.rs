//! The generator on a schema richer than the grants one (tests/fixtures/rich.sql), on the
//! real PostgreSQL the test command starts: the output equals the checked-in
//! tests/fixtures/rich.rs (which the crate's typed and compile-fail tests use), and says
//! what each object should become. `UPDATE_FIXTURES=1` rewrites the fixture.

use supabase_rest_gen::{generate, Options};

const RICH_SQL: &str = include_str!("fixtures/rich.sql");
const FIXTURE: &str = "tests/fixtures/rich.rs";

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
    tokio::spawn(connection);
    client
}

/// A fresh database on the test server holding the rich schema; dropped by the caller.
async fn rich_database(admin_url: &str) -> (tokio_postgres::Client, String) {
    let admin = connect(admin_url).await;
    let name = format!("codegen_rich_{}", std::process::id());
    // One statement per call: multi-statement strings run as one transaction block.
    for sql in [
        format!("drop database if exists {name}"),
        format!("create database {name}"),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    let db = connect(&url).await;
    db.batch_execute(RICH_SQL).await.unwrap();
    (db, name)
}

fn database_url() -> String {
    std::env::var("SUPABASE_REST_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("SUPABASE_REST_TEST_DATABASE_URL is not set: run through scripts/with-postgres.sh")
    })
}

#[tokio::test(flavor = "current_thread")]
async fn rich_schema_generates_the_fixture() {
    let admin_url = database_url();
    let (db, name) = rich_database(&admin_url).await;
    let options = Options {
        schemas: vec!["public".into(), "inventory".into()],
        remake: "supabase-rest-gen --db-url \"$DATABASE_URL\" --schema public --schema inventory --out <this file>".into(),
    };
    let generated = generate(&db, &options).await.unwrap();
    // Deterministic: a second run gives the same bytes.
    assert_eq!(generate(&db, &options).await.unwrap(), generated);
    drop(db);
    connect(&admin_url)
        .await
        .batch_execute(&format!("drop database {name}"))
        .await
        .unwrap();

    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(FIXTURE, &generated).unwrap();
    }
    check_contents(&generated);
    let fixture = std::fs::read_to_string(FIXTURE).unwrap_or_default();
    assert!(
        fixture == generated,
        "{FIXTURE} differs from what the generator writes for rich.sql; rerun with UPDATE_FIXTURES=1 and review the diff"
    );
}

/// The slice of `source` from `start` to the next `end` after it.
fn section<'a>(source: &'a str, start: &str, end: &str) -> &'a str {
    let from = source
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not generated"));
    let rest = &source[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

fn check_contents(src: &str) {
    let widgets = section(src, "pub mod widgets {", "\n    }\n");
    let insert = section(widgets, "pub struct Insert {", "\n        }");
    // GENERATED ALWAYS columns are never insertable; everything else is.
    assert!(!insert.contains("pub id:"), "{insert}");
    assert!(!insert.contains("pub weight_kg:"), "{insert}");
    // Required, defaulted, nullable: plain, Option, Field.
    assert!(insert.contains("pub sku: String,"), "{insert}");
    assert!(
        insert.contains("pub mood: Option<super::super::public::Mood>,"),
        "{insert}"
    );
    assert!(
        insert.contains("pub scores: st::Field<Vec<i32>>,"),
        "{insert}"
    );
    // A NOT NULL domain makes the column required.
    assert!(insert.contains("pub quantity: i32,"), "{insert}");
    // Keywords and spaces.
    assert!(
        insert.contains("pub r#type: st::Field<String>,"),
        "{insert}"
    );
    assert!(
        insert.contains("#[serde(rename = \"with space\")]"),
        "{insert}"
    );
    assert!(
        insert.contains("pub price: st::Field<st::Numeric>,"),
        "{insert}"
    );
    assert!(
        insert.contains("pub location: st::Field<serde_json::Value>,"),
        "{insert}"
    );
    assert!(
        widgets.contains("`pg_catalog.point` has no Rust mapping"),
        "{widgets}"
    );

    // Conflict targets: the key, the unique constraint, the composite index; not the partial,
    // expression or deferrable ones.
    let conflict = section(widgets, "pub mod conflict {", "\n        }");
    for present in [
        "PRIMARY_KEY",
        "pub const ID:",
        "pub const SKU:",
        "generated(\"type,with space\")",
    ] {
        assert!(conflict.contains(present), "{present} missing:\n{conflict}");
    }
    for absent in ["NAME", "LOWER", "SERIAL_NO"] {
        assert!(!conflict.contains(absent), "{absent} offered:\n{conflict}");
    }
    let composite = section(src, "pub mod composite_keys {", "\n    }\n");
    assert!(composite.contains("generated(\"a,b\")"), "{composite}");
    assert!(
        composite.contains("pub const C: st::ConflictTarget"),
        "{composite}"
    );

    // Writability from PostgreSQL.
    let events = section(src, "pub mod events {", "\n    }\n");
    assert!(events.contains("impl st::Insertable for "));
    assert!(!events.contains("Upsertable"), "{events}");
    let names = section(src, "pub mod widget_names {", "\n    }\n");
    assert!(
        names.contains("impl st::Insertable for ") && names.contains("impl st::Updatable for ")
    );
    for read_only in ["pub mod widget_totals {", "pub mod widget_snapshot {"] {
        let s = section(src, read_only, "\n    }\n");
        for w in ["Insertable", "Updatable", "Deletable", "pub struct Insert"] {
            assert!(!s.contains(w), "{read_only} has {w}:\n{s}");
        }
    }

    // Enums in declared order, identity by default, functions, the second schema.
    let mood = section(src, "pub enum Mood {", "}");
    let order: Vec<usize> = ["Happy,", "Sad,", "InBetween,", "Other(String)"]
        .iter()
        .map(|v| {
            mood.find(v)
                .unwrap_or_else(|| panic!("{v} missing in {mood}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{mood}");
    let orders = section(src, "pub mod orders {", "\n    }\n");
    assert!(orders.contains("pub id: Option<i32>,"), "{orders}");
    assert!(orders.contains("referenced_table: \"widgets\""), "{orders}");
    let add = section(src, "pub mod add_widgets {", "\n        }\n");
    assert!(add.contains("impl st::ReadOnly for "), "{add}");
    assert!(
        add.contains("pub b: Option<i32>,") && add.contains("pub a: i32,"),
        "{add}"
    );
    let bump = section(src, "pub mod bump {", "\n        }\n");
    assert!(
        !bump.contains("ReadOnly") && bump.contains("type Returns = ();"),
        "{bump}"
    );
    let by_mood = section(src, "pub mod widgets_by_mood {", "\n        }\n");
    assert!(
        by_mood.contains("Vec<super::super::super::public::widgets::Row>"),
        "{by_mood}"
    );
    let bins = section(src, "pub mod inventory {", "\n}\n");
    assert!(
        bins.contains("const SCHEMA: &'static str = \"inventory\";"),
        "{bins}"
    );
    assert!(bins.contains("#[serde(rename = \"Capacity\")]"), "{bins}");
}
