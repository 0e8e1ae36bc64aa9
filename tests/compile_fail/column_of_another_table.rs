#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../../codegen/tests/fixtures/rich.rs"]
mod rich;

#[allow(unused_imports)]
use rich::inventory::bins;
#[allow(unused_imports)]
use rich::public::{events, functions, orders, widget_totals, widgets};

// A column of `orders` in a filter on `widgets`.
fn main() {
    let client = supabase_rest::Client::new("http://127.0.0.1:9", "key").unwrap();
    let _ = client.table(widgets::TABLE).select().eq(orders::columns::N, 1);
}
