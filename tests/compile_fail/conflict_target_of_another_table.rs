#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../../codegen/tests/fixtures/rich.rs"]
mod rich;

#[allow(unused_imports)]
use rich::inventory::bins;
#[allow(unused_imports)]
use rich::public::{events, functions, orders, widget_totals, widgets};

// The conflict target of `inventory.bins` on an upsert into `widgets`.
fn main() {
    let client = supabase_rest::Client::new("http://127.0.0.1:9", "key").unwrap();
    let row = widgets::Insert::new("sku".into(), "name".into(), 1);
    let _ = client.table(widgets::TABLE).upsert(&row, bins::conflict::PRIMARY_KEY);
}
