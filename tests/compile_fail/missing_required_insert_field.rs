#[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
#[path = "../../codegen/tests/fixtures/rich.rs"]
mod rich;

#[allow(unused_imports)]
use rich::inventory::bins;
#[allow(unused_imports)]
use rich::public::{events, functions, orders, widget_totals, widgets};

// `orders.widget_id` and `orders.n` are NOT NULL without a default.
fn main() {
    let _ = orders::Insert { id: None };
}
