//! What the generator reads from `pg_catalog`: one query per kind of object, each ordered so
//! that the output is the same for the same schema, whatever order the catalog holds rows in.

use std::collections::BTreeMap;

use tokio_postgres::Client;

/// Everything read for the requested schemas.
#[derive(Debug, Default)]
pub struct Catalog {
    pub relations: Vec<Relation>,
    /// Every type of the database by oid (a few hundred rows: cheaper than chasing each).
    pub types: BTreeMap<u32, PgType>,
    pub functions: Vec<Function>,
}

#[derive(Debug)]
pub struct Relation {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `r` table, `p` partitioned table, `v` view, `m` materialized view, `f` foreign table.
    pub kind: char,
    pub insertable: bool,
    pub updatable: bool,
    pub deletable: bool,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    /// Usable conflict targets, primary key first, each a list of column names in key order.
    pub keys: Vec<Key>,
    pub foreign_keys: Vec<ForeignKey>,
}

#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
    /// `format_type()`: how PostgreSQL spells the type, for comments.
    pub type_text: String,
    pub not_null: bool,
    pub has_default: bool,
    /// `a`: GENERATED ALWAYS AS IDENTITY, `d`: BY DEFAULT, empty: not an identity.
    pub identity: String,
    /// `s`: a stored generated column.
    pub generated: bool,
    /// `pg_column_is_updatable`: false for a view's computed column.
    pub updatable: bool,
    pub comment: Option<String>,
}

#[derive(Debug)]
pub struct Key {
    pub name: String,
    pub primary: bool,
    pub columns: Vec<String>,
}

#[derive(Debug)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub referenced_schema: String,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PgType {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    /// `b` base, `c` composite, `d` domain, `e` enum, `p` pseudo, `r` range, `m` multirange.
    pub kind: char,
    /// `A` for arrays.
    pub category: char,
    /// The element type of an array (0 otherwise).
    pub element: u32,
    /// The base type of a domain (0 otherwise).
    pub base: u32,
    /// A domain declared NOT NULL.
    pub not_null: bool,
    /// The relation of a composite type (0 otherwise).
    pub relation: u32,
    /// An enum's labels in declared order.
    pub labels: Vec<String>,
}

#[derive(Debug)]
pub struct Function {
    pub schema: String,
    pub name: String,
    /// `i` immutable, `s` stable, `v` volatile.
    pub volatility: char,
    pub returns_set: bool,
    pub return_type: u32,
    /// The input arguments in order.
    pub args: Vec<Argument>,
    pub comment: Option<String>,
}

#[derive(Debug)]
pub struct Argument {
    pub name: String,
    pub type_oid: u32,
    pub has_default: bool,
}

type Error = tokio_postgres::Error;

/// Reads the catalog for `schemas`.
pub async fn read(db: &Client, schemas: &[String]) -> Result<Catalog, Error> {
    let mut catalog = Catalog {
        relations: relations(db, schemas).await?,
        types: types(db).await?,
        functions: Vec::new(),
    };
    columns(db, schemas, &mut catalog.relations).await?;
    keys(db, schemas, &mut catalog.relations).await?;
    foreign_keys(db, schemas, &mut catalog.relations).await?;
    catalog.functions = functions(db, schemas).await?;
    Ok(catalog)
}

fn first_char(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn find(relations: &mut [Relation], oid: u32) -> Option<&mut Relation> {
    relations.iter_mut().find(|r| r.oid == oid)
}

async fn relations(db: &Client, schemas: &[String]) -> Result<Vec<Relation>, Error> {
    // pg_relation_is_updatable's mask: 1 << CMD_UPDATE (4), CMD_INSERT (8), CMD_DELETE (16).
    let rows = db
        .query(
            "select c.oid, n.nspname::text, c.relname::text, c.relkind::text,
                    pg_relation_is_updatable(c.oid, true),
                    coalesce(obj_description(c.oid, 'pg_class'), '')
             from pg_class c
             join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1)
               and c.relkind in ('r', 'p', 'v', 'm', 'f')
               and not c.relispartition
             order by n.nspname, c.relname",
            &[&schemas],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let mask: i32 = r.get(4);
            Relation {
                oid: r.get(0),
                schema: r.get(1),
                name: r.get(2),
                kind: first_char(r.get(3)),
                insertable: mask & 8 != 0,
                updatable: mask & 4 != 0,
                deletable: mask & 16 != 0,
                comment: non_empty(r.get(5)),
                columns: Vec::new(),
                keys: Vec::new(),
                foreign_keys: Vec::new(),
            }
        })
        .collect())
}

async fn columns(db: &Client, schemas: &[String], relations: &mut [Relation]) -> Result<(), Error> {
    let rows = db
        .query(
            "select a.attrelid, a.attname::text, a.atttypid, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull, a.atthasdef, a.attidentity::text, a.attgenerated::text,
                    pg_column_is_updatable(a.attrelid, a.attnum, true),
                    coalesce(col_description(a.attrelid, a.attnum), '')
             from pg_attribute a
             join pg_class c on c.oid = a.attrelid
             join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1)
               and c.relkind in ('r', 'p', 'v', 'm', 'f')
               and a.attnum > 0 and not a.attisdropped
             order by a.attrelid, a.attnum",
            &[&schemas],
        )
        .await?;
    for r in &rows {
        let Some(rel) = find(relations, r.get(0)) else {
            continue;
        };
        let generated: String = r.get(7);
        rel.columns.push(Column {
            name: r.get(1),
            type_oid: r.get(2),
            type_text: r.get(3),
            not_null: r.get(4),
            has_default: r.get(5),
            identity: r.get(6),
            generated: !generated.is_empty(),
            updatable: r.get(8),
            comment: non_empty(r.get(9)),
        });
    }
    Ok(())
}

async fn keys(db: &Client, schemas: &[String], relations: &mut [Relation]) -> Result<(), Error> {
    // What `ON CONFLICT (cols)` can infer as its arbiter: valid, non-deferrable unique indexes
    // without a predicate (partial) or expressions; only the key columns, not INCLUDE ones.
    let rows = db
        .query(
            "select i.indrelid, ic.relname::text, i.indisprimary,
                    array(select a.attname::text
                          from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
                          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                          where k.ord <= i.indnkeyatts
                          order by k.ord)
             from pg_index i
             join pg_class ic on ic.oid = i.indexrelid
             join pg_class c on c.oid = i.indrelid
             join pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1)
               and i.indisunique and i.indisvalid and i.indimmediate
               and i.indpred is null and i.indexprs is null
             order by i.indrelid, not i.indisprimary, ic.relname",
            &[&schemas],
        )
        .await?;
    for r in &rows {
        let Some(rel) = find(relations, r.get(0)) else {
            continue;
        };
        let columns: Vec<String> = r.get(3);
        // A unique index over the same columns as an earlier key adds no new target.
        if columns.is_empty() || rel.keys.iter().any(|k| k.columns == columns) {
            continue;
        }
        rel.keys.push(Key {
            name: r.get(1),
            primary: r.get(2),
            columns,
        });
    }
    Ok(())
}

async fn foreign_keys(
    db: &Client,
    schemas: &[String],
    relations: &mut [Relation],
) -> Result<(), Error> {
    let rows = db
        .query(
            "select con.conrelid, con.conname::text, rn.nspname::text, rc.relname::text,
                    array(select a.attname::text
                          from unnest(con.conkey) with ordinality k(attnum, ord)
                          join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
                          order by k.ord),
                    array(select a.attname::text
                          from unnest(con.confkey) with ordinality k(attnum, ord)
                          join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum
                          order by k.ord)
             from pg_constraint con
             join pg_class c on c.oid = con.conrelid
             join pg_namespace n on n.oid = c.relnamespace
             join pg_class rc on rc.oid = con.confrelid
             join pg_namespace rn on rn.oid = rc.relnamespace
             where con.contype = 'f' and n.nspname = any($1)
             order by con.conrelid, con.conname",
            &[&schemas],
        )
        .await?;
    for r in &rows {
        let Some(rel) = find(relations, r.get(0)) else {
            continue;
        };
        rel.foreign_keys.push(ForeignKey {
            name: r.get(1),
            referenced_schema: r.get(2),
            referenced_table: r.get(3),
            columns: r.get(4),
            referenced_columns: r.get(5),
        });
    }
    Ok(())
}

async fn types(db: &Client) -> Result<BTreeMap<u32, PgType>, Error> {
    let rows = db
        .query(
            "select t.oid, n.nspname::text, t.typname::text, t.typtype::text,
                    t.typcategory::text, t.typelem, t.typbasetype, t.typnotnull, t.typrelid,
                    coalesce(array(select e.enumlabel::text from pg_enum e
                                   where e.enumtypid = t.oid order by e.enumsortorder),
                             '{}')
             from pg_type t
             join pg_namespace n on n.oid = t.typnamespace",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let t = PgType {
                oid: r.get(0),
                schema: r.get(1),
                name: r.get(2),
                kind: first_char(r.get(3)),
                category: first_char(r.get(4)),
                element: r.get(5),
                base: r.get(6),
                not_null: r.get(7),
                relation: r.get(8),
                labels: r.get(9),
            };
            (t.oid, t)
        })
        .collect())
}

async fn functions(db: &Client, schemas: &[String]) -> Result<Vec<Function>, Error> {
    // Plain functions (not procedures, aggregates or window functions) that PostgREST can
    // call: not returning a trigger or an internal value.
    let rows = db
        .query(
            "select n.nspname::text, p.proname::text, p.provolatile::text, p.proretset,
                    p.prorettype,
                    coalesce(p.proargnames, '{}')::text[],
                    coalesce(p.proallargtypes, p.proargtypes::oid[]),
                    coalesce(p.proargmodes::text[], '{}'),
                    p.pronargs::int4, p.pronargdefaults::int4,
                    coalesce(obj_description(p.oid, 'pg_proc'), '')
             from pg_proc p
             join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = any($1)
               and p.prokind = 'f'
               and p.prorettype not in ('trigger'::regtype, 'event_trigger'::regtype,
                                        'internal'::regtype)
             order by n.nspname, p.proname, p.oid",
            &[&schemas],
        )
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let names: Vec<String> = r.get(5);
        let types: Vec<u32> = r.get(6);
        let modes: Vec<String> = r.get(7);
        let inputs: i32 = r.get(8);
        let defaults: i32 = r.get(9);
        // Input arguments: mode i (in), b (inout), v (variadic); all inputs when no modes.
        let mut args = Vec::new();
        for (i, type_oid) in types.iter().enumerate() {
            let mode = modes.get(i).map_or('i', |m| first_char(m));
            if matches!(mode, 'i' | 'b' | 'v') {
                args.push(Argument {
                    name: names.get(i).cloned().unwrap_or_default(),
                    type_oid: *type_oid,
                    has_default: false,
                });
            }
        }
        // The last `pronargdefaults` inputs have defaults.
        let first_default = usize::try_from(inputs - defaults).unwrap_or(0);
        for arg in args.iter_mut().skip(first_default) {
            arg.has_default = true;
        }
        out.push(Function {
            schema: r.get(0),
            name: r.get(1),
            volatility: first_char(r.get(2)),
            returns_set: r.get(3),
            return_type: r.get(4),
            args,
            comment: non_empty(r.get(10)),
        });
    }
    Ok(out)
}
