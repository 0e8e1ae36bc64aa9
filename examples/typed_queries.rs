//! Typed reads: filters, a `Cond` logic tree, ordering, pagination with an exact count, one row
//! by id, and function calls (`rpc`), each printed as the request it sends (built with
//! `.build()`, no I/O) followed by the typed rows it decoded.
//!
//! With no configuration it runs against an in-process mock PostgREST holding twelve grants (the
//! five of `supabase/seed.sql` and seven more). The mock answers each demo request with the rows
//! PostgREST would return for it (it evaluates the same conditions in Rust) and a
//! `Content-Range` with the total when a count is asked for:
//!
//! ```text
//! cargo run --example typed_queries
//! ```
//!
//! Against a real project (schema from `supabase/migrations/`, seeded) set `SUPABASE_URL` and
//! `SUPABASE_ANON_KEY` (grants are readable by anyone). The schema defines no functions, so the
//! two `rpc` calls are shown and reported as missing there.

#![allow(clippy::print_stdout)]

use std::env;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use supabase_rest::grants::Grant;
use supabase_rest::{Client, Cond, Count, Is, Order, Result, WithCount};
use uuid::Uuid;

/// The first grant in `supabase/seed.sql`.
const SEED_GRANT: &str = "00000000-0000-4000-8000-000000000001";
const PAGE_SIZE: u64 = 5;

/// A narrower row type for list pages: only the columns selected.
#[derive(Debug, Deserialize)]
struct GrantSummary {
    id: Uuid,
    title: String,
    deadline: Option<NaiveDate>,
}

/// A required setting, named in the error when missing.
fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (needed with SUPABASE_URL)"))
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = match env::var("SUPABASE_URL") {
        Ok(url) => {
            let key = required("SUPABASE_ANON_KEY")?;
            println!("talking to {url}");
            (Client::new(url, key)?, None)
        }
        Err(_) => {
            let mock = mock::start().await;
            println!(
                "SUPABASE_URL is not set: using an in-process mock PostgREST at {}",
                mock.uri()
            );
            (Client::new(mock.uri(), "anon-key")?, Some(mock))
        }
    };

    // 1. Filters and ordering. `in_` quotes the value holding a comma so PostgREST reads it back
    //    as one value; `nulls_last` puts rolling grants (no deadline) at the end.
    section("open grants of 20,000 or more from three funders, soonest deadline first");
    let query = || {
        client
            .from("grants")
            .select("id, title, funder, amount, deadline, status, created_at")
            .eq("status", "open")
            .gte("amount", 20_000)
            .in_(
                "funder",
                [
                    "Rivers Trust",
                    "Digital Commons Foundation",
                    "Arts Council, North",
                ],
            )
            .order("deadline", Order::asc().nulls_last())
            .limit(5)
            .returns::<Grant>()
    };
    show_request(query().build()?);
    let grants: Vec<Grant> = query().await?;
    print_grants(&grants);

    // 2. A logic tree: values are quoted and escaped for PostgREST's grammar by `Cond`, never by
    //    hand. Top-level conditions combine with AND; `Cond::or` / `Cond::and` nest; `.not()`
    //    negates.
    section("not closed, and (over 100,000 or rolling or about the arts)");
    let query = || {
        client
            .from("grants")
            .select("*")
            .where_(Cond::and([
                Cond::eq("status", "closed").not(),
                Cond::or([
                    Cond::gt("amount", 100_000),
                    Cond::is("deadline", Is::Null),
                    Cond::ilike("title", "*arts*"),
                ]),
            ]))
            .order("title", Order::asc())
            .returns::<Grant>()
    };
    show_request(query().build()?);
    let grants: Vec<Grant> = query().await?;
    print_grants(&grants);

    // 3. Pagination with an exact count: `range(from, to)` is inclusive; `count(Count::Exact)`
    //    makes the result a `WithCount { data, count }`, the total read from `Content-Range`.
    section("every grant, newest first, 5 per page, with the total");
    let page_query = |from: u64| {
        client
            .from("grants")
            .select("id, title, deadline")
            .order("created_at", Order::desc())
            .order("id", Order::asc())
            .range(from, from + PAGE_SIZE - 1)
            .count(Count::Exact)
            .returns::<GrantSummary>()
    };
    show_request(page_query(0).build()?);
    let mut from = 0;
    loop {
        let WithCount { data, count, .. } = page_query(from).await?;
        let total = count.ok_or("the server sent no total")?;
        let to = from + data.len() as u64;
        println!("page rows {}-{to} of {total}:", from + 1);
        for g in &data {
            println!(
                "    {}  {:<40} deadline {}",
                g.id,
                g.title,
                g.deadline.map_or("rolling".to_owned(), |d| d.to_string())
            );
        }
        if data.is_empty() || to >= total {
            break;
        }
        from = to;
    }

    // 4. Exactly one row, decoded into `Grant` (406 PGRST116 if the id matched none).
    section("one grant by id");
    let seed_grant: Uuid = SEED_GRANT.parse()?;
    let query = || {
        client
            .from("grants")
            .select("*")
            .eq("id", seed_grant)
            .returns::<Grant>()
            .single()
    };
    show_request(query().build()?);
    let grant: Grant = query().await?;
    println!("{grant:#?}");

    // 5. Function calls: arguments as a JSON body, results decoded into any serde type; reads
    //    such as `limit` apply to a set-returning function's rows.
    section("rpc: a set-returning function, typed rows");
    let query = || {
        client
            .rpc("search_grants", &json!({"query": "fund"}))
            .limit(3)
            .returns::<Vec<Grant>>()
    };
    show_request(query().build()?);
    if let Some(grants) = missing_function_is_ok(query().await)? {
        print_grants(&grants);
    }

    section("rpc: a scalar result");
    let query = || {
        client
            .rpc("open_grants_total", &json!({"min_amount": 0}))
            .returns::<f64>()
    };
    show_request(query().build()?);
    if let Some(total) = missing_function_is_ok(query().await)? {
        println!("open grants total {total:.2}");
    }
    Ok(())
}

/// The schema of `supabase/migrations/` defines no functions: on a real project the rpc calls
/// answer 404, reported here instead of failing the example.
fn missing_function_is_ok<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_not_found() => {
            println!("(this project has no such function: {e})");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn section(title: &str) {
    println!("\n=== {title}");
}

/// The request line, its query decoded one pair a line, the headers that shape the answer, and
/// the body.
fn show_request(req: reqwest::Request) {
    println!("{} {}", req.method(), req.url());
    for (key, value) in req.url().query_pairs() {
        println!("    {key} = {value}");
    }
    for name in ["prefer", "accept"] {
        if let Some(value) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
            println!("    {name}: {value}");
        }
    }
    if let Some(body) = req.body().and_then(|b| b.as_bytes()) {
        println!("    body {}", String::from_utf8_lossy(body));
    }
}

fn print_grants(grants: &[Grant]) {
    println!("{} row(s):", grants.len());
    for g in grants {
        println!(
            "    {:<36} {:<28} {:>10} {:<10} {}",
            g.title,
            g.funder.as_deref().unwrap_or("-"),
            g.amount.map_or("-".to_owned(), |a| format!("{a:.2}")),
            g.deadline.map_or("rolling".to_owned(), |d| d.to_string()),
            g.status
        );
    }
}

mod mock {
    //! The mock PostgREST: twelve grants, and for each request the demo sends, the rows PostgREST
    //! would return, found with the same conditions written in Rust. Requests are told apart by
    //! their parameters; anything else answers 501, so the demo can never print rows the query
    //! did not ask for.

    use serde_json::{json, Map, Value};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    type Row = Map<String, Value>;

    pub(crate) async fn start() -> MockServer {
        let server = MockServer::start().await;
        let rows = grants();
        Mock::given(wiremock::matchers::any())
            .respond_with(move |req: &Request| handle(&rows, req))
            .mount(&server)
            .await;
        server
    }

    fn grants() -> Vec<Row> {
        let data = [
            // The five grants of supabase/seed.sql.
            (
                "01",
                "Community Water Resilience Fund",
                Some("Rivers Trust"),
                Some(25000.0),
                Some("2030-03-31"),
                "open",
            ),
            (
                "02",
                "Open Source Infrastructure Grant",
                Some("Digital Commons Foundation"),
                Some(50000.0),
                Some("2030-06-30"),
                "open",
            ),
            (
                "03",
                "Rural Broadband Pilot",
                Some("Regional Development Agency"),
                Some(120000.50),
                Some("2030-09-15"),
                "open",
            ),
            ("04", "Arts in Schools Microgrant", None, None, None, "open"),
            (
                "05",
                "Urban Tree Canopy Program",
                Some("City Parks Department"),
                Some(10000.0),
                Some("2020-01-31"),
                "closed",
            ),
            // Seven more.
            (
                "06",
                "Northern Theatre Touring Fund",
                Some("Arts Council, North"),
                Some(40000.0),
                Some("2030-02-28"),
                "open",
            ),
            (
                "07",
                "River Cleanup Volunteers",
                Some("Rivers Trust"),
                Some(8000.0),
                Some("2030-05-01"),
                "open",
            ),
            (
                "08",
                "Public Code Maintenance Fund",
                Some("Digital Commons Foundation"),
                Some(150000.0),
                None,
                "open",
            ),
            (
                "09",
                "Coastal Wetlands Restoration",
                Some("Rivers Trust"),
                Some(60000.0),
                Some("2029-12-31"),
                "closed",
            ),
            (
                "10",
                "Community Murals Program",
                Some("Arts Council, North"),
                Some(15000.0),
                Some("2030-04-15"),
                "open",
            ),
            (
                "11",
                "Small Business Digital Skills",
                Some("Regional Development Agency"),
                Some(30000.0),
                Some("2030-11-30"),
                "open",
            ),
            (
                "12",
                "Library Makerspace Fund",
                None,
                Some(20000.0),
                Some("2030-08-01"),
                "open",
            ),
        ];
        data.iter()
            .enumerate()
            .map(|(i, (n, title, funder, amount, deadline, status))| {
                let row = json!({
                    "id": format!("00000000-0000-4000-8000-0000000000{n}"),
                    "title": title,
                    "funder": funder,
                    "amount": amount,
                    "deadline": deadline,
                    "status": status,
                    "created_at": format!("2024-01-{:02}T09:00:00+00:00", i + 1),
                });
                match row {
                    Value::Object(map) => map,
                    _ => Row::new(),
                }
            })
            .collect()
    }

    fn text<'a>(row: &'a Row, column: &str) -> Option<&'a str> {
        row.get(column).and_then(Value::as_str)
    }

    fn amount(row: &Row) -> Option<f64> {
        row.get("amount").and_then(Value::as_f64)
    }

    fn unsupported(what: &str) -> ResponseTemplate {
        ResponseTemplate::new(501).set_body_json(json!({
            "code": "MOCK", "message": format!("the mock does not answer {what}"),
            "details": null, "hint": null
        }))
    }

    fn handle(all: &[Row], req: &Request) -> ResponseTemplate {
        let params: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let param = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let limit: Option<usize> = param("limit").and_then(|v| v.parse().ok());
        let offset: usize = param("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let open = |r: &Row| text(r, "status") == Some("open");

        let mut rows: Vec<Row> = match (req.method.as_str(), req.url.path()) {
            ("GET", "/rest/v1/grants") if param("and").is_some() => {
                // and=(status.not.eq.closed,or(amount.gt.100000,deadline.is.null,title.ilike.*arts*))
                let mut rows: Vec<Row> = all
                    .iter()
                    .filter(|r| text(r, "status") != Some("closed"))
                    .filter(|r| {
                        amount(r).is_some_and(|a| a > 100_000.0)
                            || r.get("deadline").is_some_and(Value::is_null)
                            || text(r, "title").is_some_and(|t| t.to_lowercase().contains("arts"))
                    })
                    .cloned()
                    .collect();
                rows.sort_by(|a, b| text(a, "title").cmp(&text(b, "title")));
                rows
            }
            ("GET", "/rest/v1/grants") if param("id").is_some() => {
                let id = param("id").and_then(|v| v.strip_prefix("eq."));
                all.iter()
                    .filter(|r| text(r, "id") == id)
                    .cloned()
                    .collect()
            }
            ("GET", "/rest/v1/grants") if param("offset").is_some() => {
                // order=created_at.desc,id.asc
                let mut rows = all.to_vec();
                rows.sort_by(|a, b| {
                    text(b, "created_at")
                        .cmp(&text(a, "created_at"))
                        .then(text(a, "id").cmp(&text(b, "id")))
                });
                rows
            }
            ("GET", "/rest/v1/grants") if param("status").is_some() => {
                // status=eq.open&amount=gte.20000&funder=in.(...)&order=deadline.asc.nullslast
                let funders = [
                    "Rivers Trust",
                    "Digital Commons Foundation",
                    "Arts Council, North",
                ];
                let mut rows: Vec<Row> = all
                    .iter()
                    .filter(|r| open(r))
                    .filter(|r| amount(r).is_some_and(|a| a >= 20_000.0))
                    .filter(|r| text(r, "funder").is_some_and(|f| funders.contains(&f)))
                    .cloned()
                    .collect();
                fn nulls_last(r: &Row) -> (bool, Option<&str>) {
                    (text(r, "deadline").is_none(), text(r, "deadline"))
                }
                rows.sort_by(|a, b| nulls_last(a).cmp(&nulls_last(b)));
                rows
            }
            ("POST", "/rest/v1/rpc/search_grants") => {
                let query = serde_json::from_slice::<Value>(&req.body)
                    .ok()
                    .and_then(|args| args["query"].as_str().map(str::to_lowercase))
                    .unwrap_or_default();
                all.iter()
                    .filter(|r| open(r))
                    .filter(|r| text(r, "title").is_some_and(|t| t.to_lowercase().contains(&query)))
                    .cloned()
                    .collect()
            }
            ("POST", "/rest/v1/rpc/open_grants_total") => {
                let total: f64 = all.iter().filter(|r| open(r)).filter_map(amount).sum();
                return ResponseTemplate::new(200).set_body_json(json!(total));
            }
            (method, path) => {
                return unsupported(&format!("{method} {path}?{:?}", req.url.query()))
            }
        };

        let total = rows.len();
        rows = rows
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        if let Some(columns) = param("select").filter(|s| *s != "*") {
            let keep: Vec<&str> = columns.split(',').collect();
            for row in &mut rows {
                row.retain(|k, _| keep.contains(&k.as_str()));
            }
        }
        let counted = req
            .headers
            .get("prefer")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.contains("count=exact"));
        let range = match (rows.len(), counted) {
            (0, true) => format!("*/{total}"),
            (0, false) => "*/*".to_owned(),
            (n, true) => format!("{offset}-{}/{total}", offset + n - 1),
            (n, false) => format!("{offset}-{}/*", offset + n - 1),
        };
        let singular = req
            .headers
            .get("accept")
            .is_some_and(|v| v.as_bytes() == b"application/vnd.pgrst.object+json");
        let response = ResponseTemplate::new(200).insert_header("content-range", range.as_str());
        if singular {
            return match rows.as_slice() {
                [one] => response.set_body_json(Value::Object(one.clone())),
                _ => ResponseTemplate::new(406).set_body_json(json!({
                    "code": "PGRST116",
                    "message": "Cannot coerce the result to a single JSON object",
                    "details": format!("The result contains {} rows", rows.len()),
                    "hint": null
                })),
            };
        }
        response.set_body_json(Value::Array(rows.into_iter().map(Value::Object).collect()))
    }
}
