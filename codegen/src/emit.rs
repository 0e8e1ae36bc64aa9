//! The catalog as Rust source: one module per schema, in it one module per relation (and
//! `functions`), each holding the relation's marker type, `Row`, `Insert`, `Update`,
//! column handles, conflict targets and relationships. Unformatted; `lib.rs` runs rustfmt.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::catalog::{Catalog, Column, Function, PgType, Relation};
use crate::names::{camel, screaming, snake, Scope};

/// The `use` line every generated module starts with.
const USES: &str = "#[allow(unused_imports)]\nuse supabase_rest::typed::{self as st, __private::{chrono, serde, serde_json, uuid}};\n";
const SERDE_CRATE: &str = "#[serde(crate = \"supabase_rest::typed::__private::serde\")]";

/// A Rust type for a PostgreSQL type, with a note when it is a fallback.
struct Mapped {
    rust: String,
    note: Option<String>,
    /// A domain declared NOT NULL.
    not_null: bool,
}

struct Emitter<'a> {
    catalog: &'a Catalog,
    /// Rust module name of each schema that gets a module.
    schema_mods: BTreeMap<String, String>,
    /// Rust type name of each enum emitted, by oid.
    enum_names: BTreeMap<u32, (String, String)>,
    /// Module path (schema module, relation module) of each relation, by oid.
    relation_mods: BTreeMap<u32, (String, String)>,
}

/// The whole file.
pub fn emit(catalog: &Catalog, header: &str) -> String {
    let mut e = Emitter {
        catalog,
        schema_mods: BTreeMap::new(),
        enum_names: BTreeMap::new(),
        relation_mods: BTreeMap::new(),
    };
    e.plan();
    let mut out = String::new();
    out.push_str(header);
    let schemas: Vec<(String, String)> = e
        .schema_mods
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (schema, module) in schemas {
        e.schema(&mut out, &schema, &module);
    }
    out
}

fn doc(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "/// {}", line.trim_end());
    }
}

/// `text` as a Rust string literal.
fn lit(text: &str) -> String {
    format!("{text:?}")
}

/// The identifier without a raw prefix (what serde calls the field).
fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

impl Emitter<'_> {
    /// Names every module and enum before anything is written, so that references between
    /// schemas resolve.
    fn plan(&mut self) {
        let mut schemas = BTreeSet::new();
        for r in &self.catalog.relations {
            schemas.insert(r.schema.clone());
        }
        for f in &self.catalog.functions {
            schemas.insert(f.schema.clone());
        }
        // Enums: every enum of a relation's column or a function's signature, wherever it lives.
        let mut enums = BTreeSet::new();
        let mut note_enum = |oid: u32| {
            if let Some(t) = self.resolve_enum(oid) {
                enums.insert(t.oid);
            }
        };
        for r in &self.catalog.relations {
            for c in &r.columns {
                note_enum(c.type_oid);
            }
        }
        for f in &self.catalog.functions {
            f.args.iter().for_each(|a| note_enum(a.type_oid));
            note_enum(f.return_type);
        }
        for oid in &enums {
            if let Some(t) = self.catalog.types.get(oid) {
                schemas.insert(t.schema.clone());
            }
        }
        let mut top = Scope::default();
        for s in schemas {
            let m = top.claim(snake(&s));
            self.schema_mods.insert(s, m);
        }
        let mut scopes: BTreeMap<String, Scope> = BTreeMap::new();
        for oid in enums {
            let Some(t) = self.catalog.types.get(&oid) else {
                continue;
            };
            let scope = scopes
                .entry(t.schema.clone())
                .or_insert_with(|| Scope::with(&["functions"]));
            let name = scope.claim(camel(&t.name));
            self.enum_names.insert(oid, (t.schema.clone(), name));
        }
        for r in &self.catalog.relations {
            let scope = scopes
                .entry(r.schema.clone())
                .or_insert_with(|| Scope::with(&["functions"]));
            let m = scope.claim(snake(&r.name));
            self.relation_mods.insert(r.oid, (r.schema.clone(), m));
        }
    }

    /// The enum behind `oid` (through domains and arrays).
    fn resolve_enum(&self, oid: u32) -> Option<&PgType> {
        let t = self.catalog.types.get(&oid)?;
        match t.kind {
            'e' => Some(t),
            'd' => self.resolve_enum(t.base),
            _ if t.category == 'A' && t.element != 0 => self.resolve_enum(t.element),
            _ => None,
        }
    }

    /// The Rust type of `oid`, written from a module `depth` levels below the file's root.
    fn map(&self, oid: u32, depth: usize) -> Mapped {
        let root = vec!["super"; depth].join("::");
        let Some(t) = self.catalog.types.get(&oid) else {
            return fallback(format!("type oid {oid} not found"));
        };
        if let Some((schema, name)) = self.enum_names.get(&oid) {
            let m = &self.schema_mods[schema];
            return plain(format!("{root}::{m}::{name}"));
        }
        if t.kind == 'd' {
            let mut base = self.map(t.base, depth);
            base.not_null |= t.not_null;
            return base;
        }
        if t.category == 'A' && t.element != 0 {
            let inner = self.map(t.element, depth);
            return Mapped {
                rust: format!("Vec<{}>", inner.rust),
                note: inner.note,
                not_null: false,
            };
        }
        if t.kind == 'c' {
            if let Some((s, m)) = self.relation_mods.get(&t.relation) {
                let sm = &self.schema_mods[s];
                return plain(format!("{root}::{sm}::{m}::Row"));
            }
        }
        let builtin = t.schema == "pg_catalog";
        let rust = match (builtin, t.name.as_str()) {
            (true, "bool") => "bool",
            (true, "int2") => "i16",
            (true, "int4") => "i32",
            (true, "int8") => "i64",
            (true, "oid") => "u32",
            (true, "float4") => "f32",
            (true, "float8") => "f64",
            (true, "numeric") => "st::Numeric",
            (true, "text" | "varchar" | "bpchar" | "name" | "char" | "xml" | "money")
            | (_, "citext") => "String",
            (true, "uuid") => "uuid::Uuid",
            (true, "date") => "chrono::NaiveDate",
            (true, "time") => "chrono::NaiveTime",
            (true, "timestamp") => "chrono::NaiveDateTime",
            (true, "timestamptz") => "chrono::DateTime<chrono::Utc>",
            (true, "json" | "jsonb") => "serde_json::Value",
            (true, "void") => "()",
            // Text forms PostgREST sends as JSON strings.
            (
                true,
                "timetz" | "interval" | "bytea" | "inet" | "cidr" | "macaddr" | "macaddr8"
                | "tsvector" | "tsquery" | "bit" | "varbit" | "ltree",
            ) => "String",
            _ => {
                return fallback(format!(
                    "`{}.{}` has no Rust mapping; decoded as JSON",
                    t.schema, t.name
                ))
            }
        };
        plain(rust.to_owned())
    }

    fn schema(&self, out: &mut String, schema: &str, module: &str) {
        doc(out, &format!("Schema `{schema}`."));
        let _ = writeln!(out, "pub mod {module} {{\n{USES}");
        for (oid, (s, name)) in &self.enum_names {
            if s == schema {
                if let Some(t) = self.catalog.types.get(oid) {
                    enum_type(out, t, name);
                }
            }
        }
        for r in self.catalog.relations.iter().filter(|r| r.schema == schema) {
            self.relation(out, r);
        }
        let functions: Vec<&Function> = self
            .catalog
            .functions
            .iter()
            .filter(|f| f.schema == schema)
            .collect();
        if !functions.is_empty() {
            doc(
                out,
                &format!("Functions of schema `{schema}` (`client.call(..)`)."),
            );
            let _ = writeln!(out, "pub mod functions {{\n{USES}");
            let mut scope = Scope::default();
            for f in functions {
                self.function(out, f, &mut scope);
            }
            out.push_str("}\n");
        }
        out.push_str("}\n\n");
    }

    #[allow(clippy::too_many_lines)]
    fn relation(&self, out: &mut String, r: &Relation) {
        let module = &self.relation_mods[&r.oid].1;
        let kind = match r.kind {
            'v' => "View",
            'm' => "Materialized view",
            'f' => "Foreign table",
            _ => "Table",
        };
        let mut what = format!("{kind} `{}.{}`", r.schema, r.name);
        let access = match (r.insertable, r.updatable, r.deletable) {
            (false, false, false) => " (read-only)".to_owned(),
            (true, true, true) => String::new(),
            (i, u, d) => {
                let verbs: Vec<&str> = [(i, "insert"), (u, "update"), (d, "delete")]
                    .iter()
                    .filter(|(ok, _)| *ok)
                    .map(|(_, v)| *v)
                    .collect();
                format!(
                    " (allows {})",
                    if verbs.is_empty() {
                        "reads only".to_owned()
                    } else {
                        verbs.join(", ")
                    }
                )
            }
        };
        what.push_str(&access);
        what.push('.');
        if let Some(c) = &r.comment {
            what.push_str("\n\n");
            what.push_str(c);
        }
        doc(out, &what);
        let _ = writeln!(out, "pub mod {module} {{\n{USES}");

        // The marker type, named after the relation so that compiler errors say which one
        // (`Column<Widgets, _>`, not `Column<Table, _>`), and its traits.
        let marker = Scope::with(&["Row", "Insert", "Update"]).claim(camel(&r.name));
        doc(
            out,
            &format!("`{}.{}`: `client.table(TABLE)`.", r.schema, r.name),
        );
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]\npub struct {marker};"
        );
        doc(out, "The relation, to pass to `client.table(..)`.");
        let _ = writeln!(out, "pub const TABLE: {marker} = {marker};");
        let _ = writeln!(
            out,
            "impl st::Relation for {marker} {{ const SCHEMA: &'static str = {}; const NAME: &'static str = {}; type Row = Row; }}",
            lit(&r.schema),
            lit(&r.name)
        );
        if r.insertable {
            let _ = writeln!(
                out,
                "impl st::Insertable for {marker} {{ type Insert = Insert; }}"
            );
            if !r.keys.is_empty() {
                let _ = writeln!(out, "impl st::Upsertable for {marker} {{}}");
            }
        }
        if r.updatable {
            let _ = writeln!(
                out,
                "impl st::Updatable for {marker} {{ type Update = Update; }}"
            );
        }
        if r.deletable {
            let _ = writeln!(out, "impl st::Deletable for {marker} {{}}");
        }

        // Field names, shared by Row, Insert and Update.
        let mut scope = Scope::default();
        let fields: Vec<String> = r
            .columns
            .iter()
            .map(|c| scope.claim(snake(&c.name)))
            .collect();
        let mapped: Vec<Mapped> = r.columns.iter().map(|c| self.map(c.type_oid, 2)).collect();
        let not_null = |i: usize| r.columns[i].not_null || mapped[i].not_null;

        // Row.
        doc(out, "One row, as a read returns it (`select=*`).");
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]\n{SERDE_CRATE}\npub struct Row {{"
        );
        for (i, c) in r.columns.iter().enumerate() {
            let ty = if not_null(i) {
                mapped[i].rust.clone()
            } else {
                format!("Option<{}>", mapped[i].rust)
            };
            column_doc(out, c, mapped[i].note.as_deref());
            rename(out, &fields[i], &c.name);
            let _ = writeln!(out, "pub {}: {ty},", fields[i]);
        }
        out.push_str("}\n");

        // Insert.
        if r.insertable {
            let mut required = Vec::new();
            doc(out, "A row to insert. Required columns are plain fields; a column with a default, an identity or NULL allowed may be left out (`None` / `Field::Unset`: no key is sent and the database default applies). Generated columns are absent.");
            let _ = writeln!(
                out,
                "#[derive(Debug, Clone, PartialEq, serde::Serialize)]\n{SERDE_CRATE}\npub struct Insert {{"
            );
            for (i, c) in r.columns.iter().enumerate() {
                if !insertable(c) {
                    continue;
                }
                let ty = &mapped[i].rust;
                column_doc(out, c, mapped[i].note.as_deref());
                rename(out, &fields[i], &c.name);
                let optional = c.has_default || c.identity == "d";
                if !not_null(i) {
                    out.push_str("#[serde(skip_serializing_if = \"st::Field::is_unset\")]\n");
                    let _ = writeln!(out, "pub {}: st::Field<{ty}>,", fields[i]);
                } else if optional {
                    out.push_str("#[serde(skip_serializing_if = \"Option::is_none\")]\n");
                    let _ = writeln!(out, "pub {}: Option<{ty}>,", fields[i]);
                } else {
                    let _ = writeln!(out, "pub {}: {ty},", fields[i]);
                    required.push(i);
                }
            }
            out.push_str("}\n");
            let params: Vec<String> = required
                .iter()
                .map(|&i| format!("{}: {}", fields[i], mapped[i].rust))
                .collect();
            let inits: Vec<String> = r
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| insertable(c))
                .map(|(i, _)| {
                    if required.contains(&i) {
                        fields[i].clone()
                    } else if !not_null(i) {
                        format!("{}: st::Field::Unset", fields[i])
                    } else {
                        format!("{}: None", fields[i])
                    }
                })
                .collect();
            let _ = writeln!(out, "impl Insert {{");
            doc(
                out,
                "A row with the required columns set and every other column left out.",
            );
            let _ = writeln!(
                out,
                "#[allow(clippy::too_many_arguments)]\npub fn new({}) -> Self {{ Insert {{ {} }} }}\n}}",
                params.join(", "),
                inits.join(", ")
            );
        }

        // Update.
        if r.updatable {
            doc(out, "A change: only the fields that are set are sent (`None` / `Field::Unset` leave the column as it is).");
            let _ = writeln!(
                out,
                "#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]\n{SERDE_CRATE}\npub struct Update {{"
            );
            for (i, c) in r.columns.iter().enumerate() {
                if !updatable(c) {
                    continue;
                }
                let ty = &mapped[i].rust;
                column_doc(out, c, mapped[i].note.as_deref());
                rename(out, &fields[i], &c.name);
                if not_null(i) {
                    out.push_str("#[serde(skip_serializing_if = \"Option::is_none\")]\n");
                    let _ = writeln!(out, "pub {}: Option<{ty}>,", fields[i]);
                } else {
                    out.push_str("#[serde(skip_serializing_if = \"st::Field::is_unset\")]\n");
                    let _ = writeln!(out, "pub {}: st::Field<{ty}>,", fields[i]);
                }
            }
            out.push_str("}\n");
        }

        // Column handles.
        doc(out, "Column handles, carrying each column's Rust type (the non-null type for a nullable column).");
        let _ = writeln!(out, "pub mod columns {{\n{USES}");
        let mut consts = Scope::default();
        for c in &r.columns {
            let ty = self.map(c.type_oid, 3).rust;
            doc(out, &format!("`{}` ({}).", c.name, c.type_text));
            let _ = writeln!(
                out,
                "pub const {}: st::Column<super::{marker}, {ty}> = st::Column::generated({});",
                consts.claim(screaming(&c.name)),
                lit(&c.name)
            );
        }
        out.push_str("}\n");

        // Conflict targets.
        if r.insertable && !r.keys.is_empty() {
            doc(out, "Conflict targets for `upsert`: the primary key and every unique key PostgreSQL can use as an `ON CONFLICT` arbiter (partial and expression indexes cannot be).");
            let _ = writeln!(out, "pub mod conflict {{\n{USES}");
            let mut consts = Scope::with(&["PRIMARY_KEY"]);
            for k in &r.keys {
                let columns = k.columns.join(",");
                let name = consts.claim(screaming(&k.columns.join("_")));
                doc(
                    out,
                    &format!(
                        "`({})`: {} `{}`.",
                        k.columns.join(", "),
                        if k.primary {
                            "the primary key"
                        } else {
                            "unique key"
                        },
                        k.name
                    ),
                );
                let _ = writeln!(
                    out,
                    "pub const {name}: st::ConflictTarget<super::{marker}> = st::ConflictTarget::generated({});",
                    lit(&columns)
                );
                if k.primary {
                    doc(out, "The primary key.");
                    let _ = writeln!(
                        out,
                        "pub const PRIMARY_KEY: st::ConflictTarget<super::{marker}> = {name};"
                    );
                }
            }
            out.push_str("}\n");
        }

        // Relationships.
        if !r.foreign_keys.is_empty() {
            doc(out, "Foreign keys of this relation, by constraint name: what `select` embeds with `table!constraint(...)`.");
            let _ = writeln!(out, "pub mod relationships {{\n{USES}");
            let mut consts = Scope::default();
            for fk in &r.foreign_keys {
                doc(
                    out,
                    &format!(
                        "`({})` references `{}.{}` `({})`.",
                        fk.columns.join(", "),
                        fk.referenced_schema,
                        fk.referenced_table,
                        fk.referenced_columns.join(", ")
                    ),
                );
                let list = |v: &[String]| v.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ");
                let _ = writeln!(
                    out,
                    "pub const {}: st::Relationship = st::Relationship {{ name: {}, columns: &[{}], referenced_schema: {}, referenced_table: {}, referenced_columns: &[{}] }};",
                    consts.claim(screaming(&fk.name)),
                    lit(&fk.name),
                    list(&fk.columns),
                    lit(&fk.referenced_schema),
                    lit(&fk.referenced_table),
                    list(&fk.referenced_columns)
                );
            }
            out.push_str("}\n");
        }
        out.push_str("}\n\n");
    }

    fn function(&self, out: &mut String, f: &Function, scope: &mut Scope) {
        // PostgREST passes arguments by name: a function with an unnamed input cannot be
        // called with a JSON object (a single unnamed json argument takes the whole body,
        // which the string API's rpc covers).
        if f.args.iter().any(|a| a.name.is_empty()) {
            let _ = writeln!(
                out,
                "// `{}.{}` is not generated: it has an unnamed argument (use `client.rpc`).",
                f.schema, f.name
            );
            return;
        }
        let module = scope.claim(snake(&f.name));
        let mut text = format!(
            "Function `{}.{}` ({}).",
            f.schema,
            f.name,
            match f.volatility {
                'i' => "immutable: callable with GET",
                's' => "stable: callable with GET",
                _ => "volatile: POST only",
            }
        );
        if let Some(c) = &f.comment {
            text.push_str("\n\n");
            text.push_str(c);
        }
        doc(out, &text);
        let _ = writeln!(out, "pub mod {module} {{\n{USES}");
        doc(out, "The function, to pass to `client.call(..)`.");
        let marker = Scope::with(&["Args"]).claim(camel(&f.name));
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]\npub struct {marker};"
        );
        doc(out, "The function.");
        let _ = writeln!(out, "pub const FUNCTION: {marker} = {marker};");
        let result = self.map(f.return_type, 3);
        let returns = if f.returns_set {
            format!("Vec<{}>", result.rust)
        } else if result.rust == "()" || result.rust.ends_with("::Row") {
            result.rust.clone()
        } else {
            format!("Option<{}>", result.rust)
        };
        if let Some(note) = &result.note {
            let _ = writeln!(out, "// Result: {note}.");
        }
        let _ = writeln!(
            out,
            "impl st::Function for {marker} {{ const SCHEMA: &'static str = {}; const NAME: &'static str = {}; type Args = Args; type Returns = {returns}; }}",
            lit(&f.schema),
            lit(&f.name)
        );
        if f.volatility != 'v' {
            let _ = writeln!(out, "impl st::ReadOnly for {marker} {{}}");
        }
        doc(
            out,
            "The arguments, by name; one with a default may be left out (`None`).",
        );
        let _ = writeln!(
            out,
            "#[derive(Debug, Clone, PartialEq, serde::Serialize)]\n{SERDE_CRATE}\npub struct Args {{"
        );
        let mut fields = Scope::default();
        for a in &f.args {
            let m = self.map(a.type_oid, 3);
            let field = fields.claim(snake(&a.name));
            if let Some(note) = &m.note {
                let _ = writeln!(out, "// {note}");
            }
            doc(out, &format!("Argument `{}`.", a.name));
            rename(out, &field, &a.name);
            if a.has_default {
                out.push_str("#[serde(skip_serializing_if = \"Option::is_none\")]\n");
                let _ = writeln!(out, "pub {field}: Option<{}>,", m.rust);
            } else {
                let _ = writeln!(out, "pub {field}: {},", m.rust);
            }
        }
        out.push_str("}\n}\n");
    }
}

fn plain(rust: String) -> Mapped {
    Mapped {
        rust,
        note: None,
        not_null: false,
    }
}

fn fallback(note: String) -> Mapped {
    Mapped {
        rust: "serde_json::Value".to_owned(),
        note: Some(note),
        not_null: false,
    }
}

/// Never insertable: GENERATED ALWAYS (identity or stored expression), or a view column
/// PostgreSQL cannot write through.
fn insertable(c: &Column) -> bool {
    c.identity != "a" && !c.generated && c.updatable
}

fn updatable(c: &Column) -> bool {
    insertable(c)
}

fn column_doc(out: &mut String, c: &Column, note: Option<&str>) {
    let mut text = format!("`{}` ({}", c.name, c.type_text);
    if c.not_null {
        text.push_str(", not null");
    }
    match c.identity.as_str() {
        "a" => text.push_str(", generated always as identity"),
        "d" => text.push_str(", generated by default as identity"),
        _ => {}
    }
    if c.generated {
        text.push_str(", generated");
    } else if c.has_default {
        text.push_str(", has a default");
    }
    text.push_str(").");
    if let Some(n) = note {
        text.push_str(&format!(" Note: {n}."));
    }
    if let Some(comment) = &c.comment {
        text.push_str("\n\n");
        text.push_str(comment);
    }
    doc(out, &text);
}

fn rename(out: &mut String, field: &str, name: &str) {
    if unraw(field) != name {
        let _ = writeln!(out, "#[serde(rename = {})]", lit(name));
    }
}

/// A PostgreSQL enum: a variant per label in declared order, and `Other` for a label added
/// later.
fn enum_type(out: &mut String, t: &PgType, name: &str) {
    doc(
        out,
        &format!("Enum `{}.{}`, labels in declared order.", t.schema, t.name),
    );
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq, Eq, Hash)]\npub enum {name} {{"
    );
    let mut scope = Scope::with(&["Other"]);
    let variants: Vec<String> = t.labels.iter().map(|l| scope.claim(camel(l))).collect();
    for (label, v) in t.labels.iter().zip(&variants) {
        doc(out, &format!("`{label}`"));
        let _ = writeln!(out, "{v},");
    }
    doc(
        out,
        "A label this code does not know (added to the database after it was generated).",
    );
    out.push_str("Other(String),\n}\n");
    let _ = writeln!(out, "impl {name} {{");
    doc(out, "Every known label's variant, in declared order.");
    let all: Vec<String> = variants.iter().map(|v| format!("{name}::{v}")).collect();
    let _ = writeln!(
        out,
        "pub const ALL: [{name}; {}] = [{}];\n}}",
        all.len(),
        all.join(", ")
    );
    let arms: Vec<String> = t
        .labels
        .iter()
        .zip(&variants)
        .map(|(l, v)| format!("{name}::{v} => {}", lit(l)))
        .collect();
    let back: Vec<String> = t
        .labels
        .iter()
        .zip(&variants)
        .map(|(l, v)| format!("{} => {name}::{v}", lit(l)))
        .collect();
    let _ = writeln!(
        out,
        "impl st::PgEnum for {name} {{ fn label(&self) -> &str {{ match self {{ {}{}{name}::Other(s) => s }} }} fn from_label(label: String) -> Self {{ match label.as_str() {{ {}{}_ => {name}::Other(label) }} }} }}",
        arms.join(", "),
        if arms.is_empty() { "" } else { ", " },
        back.join(", "),
        if back.is_empty() { "" } else { ", " },
    );
    let _ = writeln!(
        out,
        "impl serde::Serialize for {name} {{ fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {{ st::serialize_enum(self, s) }} }}"
    );
    let _ = writeln!(
        out,
        "impl<'de> serde::Deserialize<'de> for {name} {{ fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{ st::deserialize_enum(d) }} }}"
    );
    let _ = writeln!(
        out,
        "impl supabase_rest::FilterValue for {name} {{ fn write_value(&self, out: &mut String) {{ out.push_str(st::PgEnum::label(self)); }} }}"
    );
}
