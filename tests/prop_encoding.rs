//! Property tests: any value put through `eq`, `in_`, `contains` and the `Cond` logic-tree
//! builder decodes back to itself under PostgREST's grammar (protocol.md §1.2 and §4.3) and
//! PostgreSQL's array input. The decoders below are written from those grammars, independently of
//! the encoders in `src/filter.rs`.
//!
//! `PROPTEST_CASES` sets the number of cases (CI runs 10,000 per encoder).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use supabase_rest::{Client, Cond};

/// One client for all cases: building a `reqwest::Client` (TLS roots) is the expensive part.
fn client() -> Client {
    static CLIENT: std::sync::LazyLock<Client> =
        std::sync::LazyLock::new(|| Client::new("http://localhost:54321", "anon-key").unwrap());
    CLIENT.clone()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

// ---- §1.2: query decoding, `+` as space, %XX as bytes ---------------------------------------

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && hex(bytes[i + 1]).is_some()
                && hex(bytes[i + 2]).is_some() =>
            {
                out.push(hex(bytes[i + 1]).unwrap() * 16 + hex(bytes[i + 2]).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("query decodes to UTF-8")
}

/// `k=v&k=v` → decoded pairs, in order.
fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn pairs_of(req: reqwest::Request) -> Vec<(String, String)> {
    decode_query(req.url().query().unwrap_or(""))
}

// ---- §4.3 rule 2: `in.(...)` lists ------------------------------------------------------------

/// A quoted element starting after its opening `"`: returns the text and the rest after the
/// closing quote. `\x` is a literal `x`.
fn quoted(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, next) = chars.next().expect("escape at end");
                out.push(next);
            }
            '"' => return (out, &s[i + 1..]),
            c => out.push(c),
        }
    }
    panic!("unterminated quoted value in {s:?}");
}

fn decode_in_list(list: &str) -> Vec<String> {
    let mut rest = list.strip_prefix('(').expect("list opens with (");
    rest = rest.trim_start_matches([' ', '\t']);
    let mut out = Vec::new();
    if let Some(r) = rest.strip_prefix(')') {
        assert!(r.is_empty());
        return out;
    }
    loop {
        let (value, after) = if let Some(q) = rest.strip_prefix('"') {
            quoted(q)
        } else {
            let end = rest.find([',', ')']).expect("list element ends");
            (rest[..end].to_owned(), &rest[end..])
        };
        out.push(value);
        match after.chars().next() {
            Some(',') => rest = &after[1..],
            Some(')') => {
                assert_eq!(&after[1..], "", "nothing after the list");
                return out;
            }
            other => {
                panic!("quoted element must be followed by , or ) but got {other:?} in {list:?}")
            }
        }
    }
}

// ---- PostgreSQL array input: `{a,"b"}` --------------------------------------------------------

fn decode_pg_array(lit: &str) -> Vec<Option<String>> {
    let inner = lit
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .expect("braces");
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return out;
    }
    let mut rest = inner;
    loop {
        let trimmed = rest.trim_start();
        let (value, after) = if let Some(q) = trimmed.strip_prefix('"') {
            let (v, a) = quoted(q);
            (Some(v), a.trim_start())
        } else {
            let end = trimmed.find(',').unwrap_or(trimmed.len());
            let raw = trimmed[..end].trim();
            assert!(
                !raw.contains(['{', '}', '"', '\\']),
                "unquoted element {raw:?} needs quoting"
            );
            let v = if raw.eq_ignore_ascii_case("null") {
                None
            } else {
                Some(raw.to_owned())
            };
            (v, &trimmed[end..])
        };
        out.push(value);
        match after.chars().next() {
            Some(',') => rest = &after[1..],
            None => return out,
            other => panic!("array element followed by {other:?} in {lit:?}"),
        }
    }
}

// ---- §4.3 rule 3: logic trees ------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tree {
    Eq(String, String),
    In(String, Vec<String>),
    Group {
        all: bool,
        negated: bool,
        items: Vec<Tree>,
    },
}

fn tree_value(s: &str) -> (String, &str) {
    if let Some(q) = s.strip_prefix('"') {
        let (v, rest) = quoted(q);
        assert!(
            rest.starts_with([',', ')']),
            "quoted value must be followed by , or )"
        );
        (v, rest)
    } else if s.starts_with('{') {
        let end = s.find('}').expect("array literal closes") + 1;
        (s[..end].to_owned(), &s[end..])
    } else {
        let end = s.find([',', ')']).expect("value ends");
        (s[..end].to_owned(), &s[end..])
    }
}

fn decode_items(s: &str) -> (Vec<Tree>, &str) {
    let mut rest = s.strip_prefix('(').expect("group opens");
    let mut items = Vec::new();
    loop {
        let (item, after) = decode_item(rest);
        items.push(item);
        match after.chars().next() {
            Some(',') => rest = &after[1..],
            Some(')') => return (items, &after[1..]),
            other => panic!("expected , or ) got {other:?}"),
        }
    }
}

fn decode_item(s: &str) -> (Tree, &str) {
    let (negated, s) = match s.strip_prefix("not.") {
        Some(r) if r.starts_with("and(") || r.starts_with("or(") => (true, r),
        _ => (false, s),
    };
    for (word, all) in [("and", true), ("or", false)] {
        if let Some(r) = s.strip_prefix(word) {
            if r.starts_with('(') {
                let (items, rest) = decode_items(r);
                return (
                    Tree::Group {
                        all,
                        negated,
                        items,
                    },
                    rest,
                );
            }
        }
    }
    assert!(!negated);
    let dot = s.find('.').expect("field ends at a dot");
    let column = s[..dot].to_owned();
    let rest = &s[dot + 1..];
    if let Some(r) = rest.strip_prefix("eq.") {
        let (v, rest) = tree_value(r);
        (Tree::Eq(column, v), rest)
    } else if let Some(r) = rest.strip_prefix("in.") {
        let end = list_end(r);
        (Tree::In(column, decode_in_list(&r[..end])), &r[end..])
    } else {
        panic!("unexpected operator in {rest:?}");
    }
}

/// Length of an `in` list at the start of `s`, honouring quoted elements.
fn list_end(s: &str) -> usize {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ')' if !in_quotes => return i + 1,
            _ => {}
        }
    }
    panic!("list does not close: {s:?}");
}

fn to_cond(t: &Tree) -> Cond {
    match t {
        Tree::Eq(c, v) => Cond::eq(c.clone(), v.clone()),
        Tree::In(c, vs) => Cond::in_(c.clone(), vs.clone()),
        Tree::Group {
            all,
            negated,
            items,
        } => {
            let conds: Vec<Cond> = items.iter().map(to_cond).collect();
            let g = if *all {
                Cond::and(conds)
            } else {
                Cond::or(conds)
            };
            if *negated {
                g.not()
            } else {
                g
            }
        }
    }
}

// ---- Generators --------------------------------------------------------------------------------

/// Strings rich in the characters that matter: PostgREST's reserved ones, URL-special ones,
/// whitespace, quotes, backslashes, emoji, and anything else.
fn tricky() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        ',', '(', ')', '"', '\\', '.', ':', ' ', '+', '%', '&', '#', '=', '?', '\n', '\t', '{',
        '}', '[', ']', '*', '\'', '😀', 'ü', '/', ';',
    ]);
    let ch = prop_oneof![3 => special, 2 => any::<char>().prop_filter("no NUL", |c| *c != '\0'), 3 => prop::char::range('a', 'z')];
    prop::collection::vec(ch, 0..24).prop_map(|cs| cs.into_iter().collect())
}

fn column() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}"
}

fn tree(depth: u32) -> BoxedStrategy<Tree> {
    let leaf = prop_oneof![
        (column(), tricky()).prop_map(|(c, v)| Tree::Eq(c, v)),
        (column(), prop::collection::vec(tricky(), 1..5)).prop_map(|(c, vs)| {
            let mut unique: Vec<String> = Vec::new();
            for v in vs {
                if !unique.contains(&v) {
                    unique.push(v);
                }
            }
            Tree::In(c, unique)
        }),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        2 => leaf,
        1 => (any::<bool>(), any::<bool>(), prop::collection::vec(tree(depth - 1), 1..4))
            .prop_map(|(all, negated, items)| Tree::Group { all, negated, items }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn eq_values_round_trip(col in column(), value in tricky()) {
        let pairs = pairs_of(client().from("t").select("*").eq(&col, &value).build().unwrap());
        prop_assert_eq!(&pairs[1].0, &col);
        prop_assert_eq!(pairs[1].1.strip_prefix("eq.").unwrap(), value.as_str());
    }

    #[test]
    fn in_lists_round_trip(values in prop::collection::vec(tricky(), 0..8)) {
        let pairs = pairs_of(client().from("t").select("*").in_("c", &values).build().unwrap());
        let decoded = decode_in_list(pairs[1].1.strip_prefix("in.").unwrap());
        let mut unique: Vec<String> = Vec::new();
        for v in values {
            if !unique.contains(&v) {
                unique.push(v);
            }
        }
        prop_assert_eq!(decoded, unique);
    }

    #[test]
    fn contains_arrays_round_trip(values in prop::collection::vec(tricky(), 0..8)) {
        let pairs = pairs_of(client().from("t").select("*").contains("tags", values.clone()).build().unwrap());
        let decoded = decode_pg_array(pairs[1].1.strip_prefix("cs.").unwrap());
        let expected: Vec<Option<String>> = values.into_iter().map(Some).collect();
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn logic_trees_round_trip(t in tree(3)) {
        let group = match &t {
            Tree::Group { .. } => t.clone(),
            leaf => Tree::Group { all: true, negated: false, items: vec![leaf.clone()] },
        };
        let pairs = pairs_of(client().from("t").select("*").where_(to_cond(&t)).build().unwrap());
        let (key, value) = &pairs[1];
        let Tree::Group { all, negated, .. } = &group else { unreachable!() };
        let expected_key = format!("{}{}", if *negated { "not." } else { "" }, if *all { "and" } else { "or" });
        prop_assert_eq!(key, &expected_key);
        let (items, rest) = decode_items(value);
        prop_assert_eq!(rest, "");
        let decoded = Tree::Group { all: *all, negated: *negated, items };
        prop_assert_eq!(decoded, group);
    }
}
