#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../../codegen/tests/fixtures/rich.rs"]
mod rich;

#[allow(unused_imports)]
use rich::inventory::bins;
#[allow(unused_imports)]
use rich::public::{events, functions, orders, widget_totals, widgets};

// `events` has no primary key or unique constraint: nothing to resolve a conflict on.
fn main() {
    let client = supabase_rest::Client::new("http://127.0.0.1:9", "key").unwrap();
    let row = events::Insert::new();
    let _ = client.table(events::TABLE).upsert(&row, widgets::conflict::SKU);
}
