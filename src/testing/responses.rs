//! PostgREST's answers, ready for `respond_with`.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;

/// Any PostgREST error body.
pub fn error(
    status: u16,
    code: &str,
    message: &str,
    details: Option<&str>,
    hint: Option<&str>,
) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"code": code, "message": message, "details": details, "hint": hint}))
}

/// 409 `23505`: a plain insert hit a unique constraint.
pub fn unique_violation(constraint: &str, details: &str) -> ResponseTemplate {
    error(
        409,
        "23505",
        &format!("duplicate key value violates unique constraint \"{constraint}\""),
        Some(details),
        None,
    )
}

/// 403 `42501`: row-level security rejected the row.
pub fn rls_violation(table: &str) -> ResponseTemplate {
    error(
        403,
        "42501",
        &format!("new row violates row-level security policy for table \"{table}\""),
        None,
        None,
    )
}

/// 406 `PGRST116`: `.single()` matched no row.
pub fn no_rows() -> ResponseTemplate {
    error(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
        Some("The result contains 0 rows"),
        None,
    )
}

/// 503 `PGRST002` (schema cache loading), with `Retry-After` when given.
pub fn service_unavailable(retry_after_secs: Option<u64>) -> ResponseTemplate {
    let t = error(
        503,
        "PGRST002",
        "Could not query the database for the schema cache. Retrying.",
        None,
        None,
    );
    match retry_after_secs {
        Some(s) => t.insert_header("retry-after", s.to_string().as_str()),
        None => t,
    }
}

/// 200 with these rows (a JSON array), as a read or `return=representation` answers.
pub fn rows(rows: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(rows)
}

/// 200 with one object, as `.single()` receives it.
pub fn row(row: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(row)
}
