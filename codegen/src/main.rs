//! `supabase-rest-gen --db-url postgres://... [--schema public]... --out src/schema.rs`

use std::process::ExitCode;

use supabase_rest_gen::{generate, Options};

const USAGE: &str = "\
supabase-rest-gen: writes supabase-rest's typed schema (tables, columns, conflict targets,
enums, functions) from a PostgreSQL catalog.

USAGE:
    supabase-rest-gen [--db-url URL] [--schema NAME]... --out FILE

    --db-url URL    the database (default: $DATABASE_URL), e.g. the connection string of a
                    Supabase project, or `supabase start`'s local one
    --schema NAME   a schema to read; repeatable (default: public)
    --out FILE      where to write the Rust file (`-` for standard output)
";

struct Args {
    db_url: String,
    schemas: Vec<String>,
    out: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut db_url = std::env::var("DATABASE_URL").ok();
    let mut schemas = Vec::new();
    let mut out = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--db-url" => db_url = Some(value("--db-url")?),
            "--schema" => schemas.push(value("--schema")?),
            "--out" => out = Some(value("--out")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if schemas.is_empty() {
        schemas.push("public".to_owned());
    }
    Ok(Args {
        db_url: db_url.ok_or("no database: pass --db-url or set DATABASE_URL")?,
        schemas,
        out: out.ok_or("--out is required")?,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("supabase-rest-gen: {msg}\n");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("supabase-rest-gen: {msg}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let (db, connection) = tokio_postgres::connect(&args.db_url, tokio_postgres::NoTls)
        .await
        // tokio-postgres's error never repeats the password; the URL itself is not printed.
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let conn = tokio::spawn(connection);
    let mut remake = String::from("supabase-rest-gen --db-url \"$DATABASE_URL\"");
    for s in &args.schemas {
        remake.push_str(&format!(" --schema {s}"));
    }
    // The output path is left out: the header then reads the same wherever the file is written
    // (the drift check writes a temporary copy).
    remake.push_str(" --out <this file>");
    let options = Options {
        schemas: args.schemas.clone(),
        remake,
    };
    let source = generate(&db, &options).await.map_err(|e| e.to_string())?;
    drop(db);
    let _ = conn.await;
    if args.out == "-" {
        print!("{source}");
        Ok(())
    } else {
        std::fs::write(&args.out, source).map_err(|e| format!("cannot write {}: {e}", args.out))
    }
}
