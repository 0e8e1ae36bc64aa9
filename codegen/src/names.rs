//! Rust names for database names: any PostgreSQL identifier (a keyword, a space, a leading
//! digit, Unicode) becomes a valid, stable Rust identifier; the database name itself is kept
//! for the wire (`serde(rename)`, the column handle's text).

use std::collections::BTreeSet;

/// Strict and reserved keywords of Rust 2021, which a raw identifier (`r#type`) can spell.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords a raw identifier cannot spell: suffixed with `_` instead.
const NOT_RAW: &[&str] = &["crate", "self", "super", "Self", "_"];

/// Splits a name into lowercase ASCII words: `userInteractions`, `user interactions` and
/// `user_interactions` all give `["user", "interactions"]`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            current.push(c.to_ascii_lowercase());
        } else {
            // Anything else (space, punctuation, non-ASCII) separates words; non-ASCII letters
            // are written as their code point so that distinct names stay distinct.
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if c.is_alphanumeric() {
                words.push(format!("u{:x}", u32::from(c)));
            }
            prev_lower = false;
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn guard_start(mut s: String, fallback: &str) -> String {
    if s.is_empty() {
        s = fallback.to_owned();
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn guard_keyword(s: String) -> String {
    if NOT_RAW.contains(&s.as_str()) {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// `snake_case`, for modules and fields.
pub fn snake(name: &str) -> String {
    guard_keyword(guard_start(words(name).join("_"), "unnamed"))
}

/// `UpperCamelCase`, for types and enum variants.
pub fn camel(name: &str) -> String {
    let s: String = words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect();
    guard_keyword(guard_start(s, "Unnamed"))
}

/// `SCREAMING_SNAKE_CASE`, for constants.
pub fn screaming(name: &str) -> String {
    guard_start(words(name).join("_").to_ascii_uppercase(), "UNNAMED")
}

/// Hands out names unique within one scope: a second `user id` next to `user_id` becomes
/// `user_id_2`.
#[derive(Debug, Default)]
pub struct Scope {
    taken: BTreeSet<String>,
}

impl Scope {
    /// A scope where `reserved` are already taken.
    pub fn with(reserved: &[&str]) -> Scope {
        Scope {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `name`, or `name_2`, `name_3`, ... when taken.
    pub fn claim(&mut self, name: String) -> String {
        let bare = name.trim_start_matches("r#").to_owned();
        if self.taken.insert(bare.clone()) {
            return name;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{bare}_{n}");
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identifiers() {
        assert_eq!(snake("user_interactions"), "user_interactions");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("with space"), "with_space");
        assert_eq!(snake("2fa"), "_2fa");
        assert_eq!(snake("camelCase"), "camel_case");
        assert_eq!(snake("!!"), "unnamed");
        assert_eq!(camel("user_interactions"), "UserInteractions");
        assert_eq!(camel("in progress"), "InProgress");
        assert_eq!(camel("self"), "Self_");
        assert_eq!(screaming("with space"), "WITH_SPACE");
        assert_eq!(screaming("type"), "TYPE");
        assert_ne!(snake("é"), snake("è"));
    }

    #[test]
    fn scope_keeps_names_unique() {
        let mut s = Scope::with(&["table"]);
        assert_eq!(s.claim("table".into()), "table_2");
        assert_eq!(s.claim("a".into()), "a");
        assert_eq!(s.claim("a".into()), "a_2");
        assert_eq!(s.claim("r#type".into()), "r#type");
        assert_eq!(s.claim("r#type".into()), "type_2");
    }
}
