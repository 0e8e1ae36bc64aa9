//! Options of writes: the conflict target and duplicate handling of upserts, missing keys of
//! bulk inserts, row limits of updates and deletes, the rows a write returns, and rollback.

use super::{op, Builder, Writes};
use crate::encode::clean_columns;
use crate::filter::field_name;
use crate::prefer::Resolution;
use crate::request::Text;
use crate::response::Returning;

impl<Op: Writes, S: Returning> Builder<Op, S> {
    /// Returns the written rows (`return=representation`) with these columns: awaiting gives
    /// `Vec<serde_json::Value>`, or `Vec<T>` after `.returns::<T>()`, as on a read.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .insert(&serde_json::json!({"user_id": "u1", "grant_id": "g1"}))
    ///     .select("id, action")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("select=id%2Caction"));
    /// assert_eq!(req.headers()["prefer"], "return=representation");
    /// ```
    #[inline]
    pub fn select(mut self, columns: impl AsRef<str>) -> Builder<Op, S::Rows<serde_json::Value>> {
        self.parts.prefer.representation = Some(true);
        self.parts
            .set_query("select", clean_columns(columns.as_ref()));
        self.reshape()
    }
}

impl<Op: Writes, S> Builder<Op, S> {
    /// Runs the write and rolls it back (`Prefer: tx=rollback`), e.g. to validate it. Honoured
    /// only where the server allows the override (`db-tx-end = *-allow-override`). Before or
    /// after `.select(cols)`: the request is the same.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .update(&serde_json::json!({"status": "closed"}))
    ///     .eq("id", 1)
    ///     .rollback()
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "PATCH");
    /// assert_eq!(req.url().query(), Some("id=eq.1"));
    /// assert_eq!(req.headers()["prefer"], "tx=rollback");
    /// ```
    pub fn rollback(mut self) -> Self {
        self.parts.prefer.rollback = true;
        self
    }
}

impl<S> Builder<op::Upsert, S> {
    /// The conflict target (`?on_conflict=`): columns of a unique constraint, e.g.
    /// `"user_id,grant_id"`. Sent as written.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1"}))
    ///     .on_conflict("user_id,grant_id")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id"));
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates");
    /// ```
    #[inline]
    pub fn on_conflict(mut self, columns: impl AsRef<str>) -> Self {
        let columns = columns.as_ref();
        if !columns.contains(':') {
            self.parts.url.on_conflict = Some(Text::from(columns));
            return self;
        }
        // A column holding `:` is quoted, as in filters; the list's commas stay separators.
        // Anything else (a `"` the caller wrote, say) is sent as written, as before.
        let mut target = Text::default();
        for (i, column) in columns.split(',').enumerate() {
            if i > 0 {
                target.push(',');
            }
            match field_name(column) {
                Ok(name) => target.push_str(&name),
                Err(_) => target.push_str(column),
            }
        }
        self.parts.url.on_conflict = Some(target);
        self
    }

    /// `true`: keep the existing row and skip the new one (`ON CONFLICT DO NOTHING`,
    /// `resolution=ignore-duplicates`). `false` (default): merge the new values in.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!({"user_id": "u1", "grant_id": "g1"}))
    ///     .on_conflict("user_id,grant_id")
    ///     .ignore_duplicates(true)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("on_conflict=user_id%2Cgrant_id"));
    /// assert_eq!(req.headers()["prefer"], "resolution=ignore-duplicates");
    /// ```
    pub fn ignore_duplicates(mut self, ignore: bool) -> Self {
        self.parts.prefer.resolution = Some(if ignore {
            Resolution::IgnoreDuplicates
        } else {
            Resolution::MergeDuplicates
        });
        self
    }

    /// See [`Builder::<op::Insert, S>::default_to_null`].
    /// `false` sends `Prefer: missing=default`.
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .upsert(&serde_json::json!([{"user_id": "u1", "notes": "x"}, {"user_id": "u2"}]))
    ///     .default_to_null(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("columns=%22user_id%22%2C%22notes%22"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs, [("columns".to_owned(), r#""user_id","notes""#.to_owned())]);
    /// assert_eq!(req.headers()["prefer"], "resolution=merge-duplicates, missing=default");
    /// ```
    pub fn default_to_null(mut self, default_to_null: bool) -> Self {
        self.parts.prefer.missing_default = !default_to_null;
        self
    }
}

impl<S> Builder<op::Insert, S> {
    /// `true` (default): in a bulk write, a key missing from a row is written as NULL.
    /// `false`: it takes the column's default (`Prefer: missing=default`).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .insert(&serde_json::json!([{"user_id": "u1", "notes": "x"}, {"user_id": "u2"}]))
    ///     .default_to_null(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("columns=%22user_id%22%2C%22notes%22"));
    /// let pairs: Vec<(String, String)> = req.url().query_pairs().into_owned().collect();
    /// assert_eq!(pairs, [("columns".to_owned(), r#""user_id","notes""#.to_owned())]);
    /// assert_eq!(req.headers()["prefer"], "missing=default");
    /// ```
    pub fn default_to_null(mut self, default_to_null: bool) -> Self {
        self.parts.prefer.missing_default = !default_to_null;
        self
    }
}

impl<S> Builder<op::Update, S> {
    /// Fails the update (and rolls it back) if it would touch more than `n` rows
    /// (`Prefer: handling=strict, max-affected=n`, PostgREST 12.2+).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("grants")
    ///     .update(&serde_json::json!({"status": "closed"}))
    ///     .eq("status", "open")
    ///     .max_affected(5)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.url().query(), Some("status=eq.open"));
    /// assert_eq!(req.headers()["prefer"], "handling=strict, max-affected=5");
    /// ```
    pub fn max_affected(mut self, n: u64) -> Self {
        self.parts.prefer.max_affected = Some(n);
        self
    }
}

impl<S> Builder<op::Delete, S> {
    /// Fails the delete (and rolls it back) if it would remove more than `n` rows
    /// (`Prefer: handling=strict, max-affected=n`, PostgREST 12.2+).
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # let client = Client::new("http://localhost:54321", "anon-key").unwrap();
    /// let req = client
    ///     .from("user_interactions")
    ///     .delete()
    ///     .eq("user_id", "u1")
    ///     .max_affected(1)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(req.method(), "DELETE");
    /// assert_eq!(req.url().query(), Some("user_id=eq.u1"));
    /// assert_eq!(req.headers()["prefer"], "handling=strict, max-affected=1");
    /// ```
    pub fn max_affected(mut self, n: u64) -> Self {
        self.parts.prefer.max_affected = Some(n);
        self
    }
}

#[cfg(test)]
mod tests {
    /// supabase-js accepts `rollback()` before or after `select()`; so does this crate, with the
    /// same request either way.
    #[test]
    fn rollback_before_or_after_select_is_the_same_request() {
        let client = crate::Client::new("http://localhost:54321", "k").unwrap();
        let body = serde_json::json!({"status": "closed"});
        let before = client
            .from("t")
            .update(&body)
            .eq("id", 1)
            .rollback()
            .select("*")
            .build();
        let after = client
            .from("t")
            .update(&body)
            .eq("id", 1)
            .select("*")
            .rollback()
            .build();
        let (before, after) = (before.unwrap(), after.unwrap());
        assert_eq!(before.url(), after.url());
        assert_eq!(before.headers(), after.headers());
        assert_eq!(
            after.headers()["prefer"],
            "return=representation, tx=rollback"
        );
    }

    #[test]
    fn conflict_columns_with_a_colon_are_quoted() {
        let client = crate::Client::new("http://localhost:54321", "k").unwrap();
        let upsert = |target: &str| {
            client
                .from("t")
                .upsert(&serde_json::json!({"a": 1}))
                .on_conflict(target)
                .build()
        };
        let pairs = |r: reqwest::Request| -> Vec<(String, String)> {
            r.url().query_pairs().into_owned().collect()
        };
        assert_eq!(
            pairs(upsert("user_id,grant_id").unwrap()),
            [("on_conflict".to_owned(), "user_id,grant_id".to_owned())]
        );
        assert_eq!(
            pairs(upsert("tenant:id,grant_id").unwrap()),
            [(
                "on_conflict".to_owned(),
                r#""tenant:id",grant_id"#.to_owned()
            )]
        );
        assert_eq!(
            pairs(upsert(r#"a"b:c"#).unwrap()),
            [("on_conflict".to_owned(), r#"a"b:c"#.to_owned())]
        );
    }
}
