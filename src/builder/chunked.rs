//! `from(t).upsert_chunked(&rows)`: one large write as many upserts of a chosen size, a chosen
//! number at a time, with a report of exactly which rows a failure left unwritten.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::Range;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{op, Builder, QueryBuilder};
use crate::error::Error;
use crate::response::{NoContent, Rows, Shape};

/// Rows per request unless [`ChunkedUpsert::chunk_size`] says otherwise.
pub const DEFAULT_CHUNK_SIZE: usize = 1_000;

impl QueryBuilder {
    /// Upserts `rows` in chunks: each chunk of [`chunk_size`](ChunkedUpsert::chunk_size) rows
    /// (1,000 by default) is one request, exactly the one `upsert(&rows[chunk])` with the same
    /// settings would send (including its own bulk `columns`), and
    /// [`concurrency`](ChunkedUpsert::concurrency) of them (1 by default) are in flight at once.
    /// A chunk's body is serialized only when the chunk is sent, so a huge write never holds
    /// more than `concurrency` bodies in memory. Awaiting returns `Result<(), ChunkedError>`, or
    /// every returned row in the order of `rows` after [`select`](ChunkedUpsert::select).
    ///
    /// Each chunk is its own transaction. With `on_conflict`, a chunk is an idempotent upsert,
    /// so the client's [`RetryPolicy`](crate::RetryPolicy) retries it after a timeout or a 503,
    /// and sending a failed chunk again later is safe. A failure is reported as a
    /// [`ChunkedError`] naming the rows of every failed chunk and of the chunks never sent.
    /// Dropping the future stops it: no new chunk starts, and the chunks in flight may or may
    /// not have been applied.
    ///
    /// Unlike the other builders, this one borrows `rows` while it runs, so that nothing is
    /// copied or serialized ahead of sending (and the rows stay with the caller, to resend
    /// [`ChunkedError::unwritten`] ones). To run it in a task of its own, move the rows into the
    /// task:
    ///
    /// ```no_run
    /// # use supabase_rest::Client;
    /// # async fn run(client: Client, rows: Vec<serde_json::Value>) {
    /// let task = tokio::spawn(async move {
    ///     client.from("user_interactions").upsert_chunked(&rows).on_conflict("user_id,grant_id").await
    /// });
    /// # let _ = task.await;
    /// # }
    /// ```
    ///
    /// ```
    /// # use supabase_rest::Client;
    /// # #[derive(serde::Serialize)] struct Row { user_id: u32, grant_id: u32, action: &'static str }
    /// # async fn run(client: Client, rows: Vec<Row>) {
    /// let result = client
    ///     .from("user_interactions")
    ///     .upsert_chunked(&rows)
    ///     .on_conflict("user_id,grant_id")
    ///     .chunk_size(500)
    ///     .concurrency(4)
    ///     .await;
    /// if let Err(e) = result {
    ///     for failure in e.failures() {
    ///         eprintln!("rows {:?} failed: {}", failure.rows(), failure.error());
    ///     }
    ///     // Safe to send again: each chunk is an idempotent upsert.
    ///     for range in e.unwritten() {
    ///         let _ = client
    ///             .from("user_interactions")
    ///             .upsert_chunked(&rows[range])
    ///             .on_conflict("user_id,grant_id")
    ///             .await;
    ///     }
    /// }
    /// # }
    /// ```
    pub fn upsert_chunked<T: Serialize + Sync>(self, rows: &[T]) -> ChunkedUpsert<'_, T> {
        ChunkedUpsert {
            // The placeholder body is never sent: each chunk brings its own.
            builder: self.upsert(&()),
            rows,
            chunk_size: DEFAULT_CHUNK_SIZE,
            concurrency: 1,
            keep_going: false,
        }
    }
}

/// A chunked upsert, from [`QueryBuilder::upsert_chunked`]. Awaiting it returns `()`, or after
/// [`select`](ChunkedUpsert::select) every returned row in the order of `rows`; on failure, a
/// [`ChunkedError`].
#[must_use = "a chunked upsert does nothing until awaited"]
pub struct ChunkedUpsert<'a, T, S = NoContent> {
    /// Every setting of the chunks' requests; its body is a placeholder.
    builder: Builder<op::Upsert, S>,
    rows: &'a [T],
    chunk_size: usize,
    concurrency: usize,
    keep_going: bool,
}

impl<'a, T, S> ChunkedUpsert<'a, T, S> {
    fn map<S2>(
        self,
        f: impl FnOnce(Builder<op::Upsert, S>) -> Builder<op::Upsert, S2>,
    ) -> ChunkedUpsert<'a, T, S2> {
        ChunkedUpsert {
            builder: f(self.builder),
            rows: self.rows,
            chunk_size: self.chunk_size,
            concurrency: self.concurrency,
            keep_going: self.keep_going,
        }
    }

    /// The conflict target of every chunk (`?on_conflict=`); see [`Builder::on_conflict`].
    pub fn on_conflict(self, columns: impl AsRef<str>) -> Self {
        self.map(|b| b.on_conflict(columns))
    }

    /// Skip rows that conflict instead of merging them; see [`Builder::ignore_duplicates`].
    pub fn ignore_duplicates(self, ignore: bool) -> Self {
        self.map(|b| b.ignore_duplicates(ignore))
    }

    /// What a key missing from a row becomes; see [`Builder::default_to_null`].
    pub fn default_to_null(self, default_to_null: bool) -> Self {
        self.map(|b| b.default_to_null(default_to_null))
    }

    /// Adds a header to every chunk's request; see [`Builder::header`].
    pub fn header(self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.map(|b| b.header(name, value))
    }

    /// A timeout for each chunk's request (each attempt); see [`Builder::timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// `false` turns the client's retries off for the chunks; see [`Builder::retry`].
    pub fn retry(self, enabled: bool) -> Self {
        self.map(|b| b.retry(enabled))
    }

    /// A retry policy for every chunk; see [`Builder::retry_policy`].
    pub fn retry_policy(self, policy: crate::RetryPolicy) -> Self {
        self.map(|b| b.retry_policy(policy))
    }

    /// Rows per request (1,000 by default). Zero fails the call before anything is sent.
    pub fn chunk_size(self, rows: usize) -> Self {
        ChunkedUpsert {
            chunk_size: rows,
            ..self
        }
    }

    /// How many chunk requests are in flight at once (1 by default). Zero fails the call
    /// before anything is sent.
    pub fn concurrency(self, requests: usize) -> Self {
        ChunkedUpsert {
            concurrency: requests,
            ..self
        }
    }

    /// `false` (default): after a chunk fails, no further chunk is started (those in flight
    /// finish), and the ones never sent are reported in [`ChunkedError::not_sent`]. `true`:
    /// every chunk is attempted whatever the others do.
    pub fn keep_going(self, keep_going: bool) -> Self {
        ChunkedUpsert { keep_going, ..self }
    }
}

impl<'a, T> ChunkedUpsert<'a, T, NoContent> {
    /// Returns the written rows (`return=representation`) with these columns: awaiting gives
    /// every chunk's rows as `serde_json::Value`s (or `R` after `.returns::<R>()`), in the
    /// order of the input.
    pub fn select(self, columns: impl AsRef<str>) -> ChunkedUpsert<'a, T, Rows<serde_json::Value>> {
        self.map(|b| b.select(columns))
    }
}

impl<'a, T, R: DeserializeOwned + Send + 'static> ChunkedUpsert<'a, T, Rows<R>> {
    /// Decodes the returned rows into `U`, as [`Builder::returns`] does.
    pub fn returns<U: DeserializeOwned + Send + 'static>(self) -> ChunkedUpsert<'a, T, Rows<U>> {
        self.map(Builder::returns::<U>)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl<R> Sealed for Vec<R> {}
}

/// What one chunk's answer adds to the whole: nothing, or its rows. Sealed: implemented for
/// `()` and `Vec<R>`, the outputs of a chunked upsert without and with `.select(cols)`.
pub trait ChunkOutput: sealed::Sealed + Send + Sized + 'static {
    /// Joins the chunks' outputs, in chunk order.
    fn join(parts: Vec<Self>) -> Self;
}

impl ChunkOutput for () {
    fn join(_parts: Vec<()>) {}
}

impl<R: Send + 'static> ChunkOutput for Vec<R> {
    fn join(parts: Vec<Vec<R>>) -> Vec<R> {
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            all.extend(part);
        }
        all
    }
}

impl<'a, T, S> IntoFuture for ChunkedUpsert<'a, T, S>
where
    T: Serialize + Sync,
    S: Shape,
    S::Output: ChunkOutput,
{
    type Output = Result<S::Output, ChunkedError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<'a, T, S> ChunkedUpsert<'a, T, S>
where
    T: Serialize + Sync,
    S: Shape,
    S::Output: ChunkOutput,
{
    async fn run(self) -> Result<S::Output, ChunkedError> {
        let ChunkedUpsert {
            builder,
            rows,
            chunk_size,
            concurrency,
            keep_going,
        } = self;
        let everything = |error| ChunkedError::before_sending(rows.len(), error);
        if chunk_size == 0 {
            return Err(everything(Error::invalid("chunk_size must be at least 1")));
        }
        if concurrency == 0 {
            return Err(everything(Error::invalid("concurrency must be at least 1")));
        }
        if rows.is_empty() {
            return Ok(S::Output::join(Vec::new()));
        }
        let template = builder.template().map_err(everything)?;
        let chunks: Vec<Range<usize>> = (0..rows.len())
            .step_by(chunk_size)
            .map(|start| start..rows.len().min(start.saturating_add(chunk_size)))
            .collect();
        let mut outputs: Vec<Option<S::Output>> = chunks.iter().map(|_| None).collect();
        let mut failures = Vec::new();
        let mut in_flight = FuturesUnordered::new();
        let mut next = 0;
        loop {
            while next < chunks.len()
                && in_flight.len() < concurrency
                && (keep_going || failures.is_empty())
            {
                let at = next;
                next += 1;
                // Serializes this chunk's body now; the future owns it.
                let sent = template.send(&rows[chunks[at].clone()]);
                in_flight.push(async move { (at, sent.await) });
            }
            let Some((at, outcome)) = in_flight.next().await else {
                break;
            };
            match outcome {
                Ok(output) => outputs[at] = Some(output),
                Err(error) => {
                    tracing::debug!(rows = ?chunks[at], %error, "chunk failed");
                    failures.push(ChunkFailure {
                        rows: chunks[at].clone(),
                        error,
                    });
                }
            }
        }
        if failures.is_empty() {
            return Ok(S::Output::join(outputs.into_iter().flatten().collect()));
        }
        failures.sort_by_key(|f| f.rows.start);
        Err(ChunkedError {
            failures,
            not_sent: chunks[next..].to_vec(),
            chunks: chunks.len(),
            rows: rows.len(),
        })
    }
}

/// The builder's own `Debug` (no header values) and the number of rows.
impl<T, S> fmt::Debug for ChunkedUpsert<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ChunkedUpsert {
            builder,
            rows,
            chunk_size,
            concurrency,
            keep_going,
        } = self;
        f.debug_struct("ChunkedUpsert")
            .field("builder", builder)
            .field("rows", &rows.len())
            .field("chunk_size", chunk_size)
            .field("concurrency", concurrency)
            .field("keep_going", keep_going)
            .finish()
    }
}

/// One chunk that failed: which rows it held and why.
#[derive(Debug)]
pub struct ChunkFailure {
    rows: Range<usize>,
    error: Error,
}

impl ChunkFailure {
    /// The indexes (into the rows given to `upsert_chunked`) this chunk held.
    pub fn rows(&self) -> Range<usize> {
        self.rows.clone()
    }

    /// Why it failed.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The error, owned.
    pub fn into_error(self) -> Error {
        self.error
    }
}

/// The failure of a chunked upsert: every failed chunk with its rows and error, and the chunks
/// never sent. Every row outside [`ChunkedError::unwritten`] was written.
///
/// A failed chunk was rolled back by the database, except when its answer was lost (a timeout
/// or a dropped connection: see [`Error::may_have_been_applied`]); with `on_conflict`, sending
/// it again is safe either way. After `.select(cols)`, the rows the successful chunks returned
/// are not kept here: read them back, or send the unwritten rows again and select then.
#[derive(Debug)]
pub struct ChunkedError {
    failures: Vec<ChunkFailure>,
    not_sent: Vec<Range<usize>>,
    chunks: usize,
    rows: usize,
}

impl ChunkedError {
    /// A problem found before any chunk was sent: nothing was written.
    fn before_sending(rows: usize, error: Error) -> ChunkedError {
        ChunkedError {
            failures: vec![ChunkFailure {
                rows: 0..rows,
                error,
            }],
            not_sent: Vec::new(),
            chunks: 0,
            rows,
        }
    }

    /// The chunks that failed, in the order of their rows. Never empty.
    pub fn failures(&self) -> &[ChunkFailure] {
        &self.failures
    }

    /// The failures, owned.
    pub fn into_failures(self) -> Vec<ChunkFailure> {
        self.failures
    }

    /// The rows of the chunks never sent because an earlier chunk failed (see
    /// [`ChunkedUpsert::keep_going`]), in order.
    pub fn not_sent(&self) -> &[Range<usize>] {
        &self.not_sent
    }

    /// Every row that may not have been written (failed or never sent), as sorted, merged
    /// ranges of indexes into the rows given to `upsert_chunked`.
    pub fn unwritten(&self) -> Vec<Range<usize>> {
        let mut all: Vec<Range<usize>> = self
            .failures
            .iter()
            .map(|f| f.rows.clone())
            .chain(self.not_sent.iter().cloned())
            .collect();
        all.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(all.len());
        for range in all {
            match merged.last_mut() {
                Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }

    /// How many rows were written.
    pub fn written(&self) -> usize {
        self.rows
            - self
                .unwritten()
                .iter()
                .map(ExactSizeIterator::len)
                .sum::<usize>()
    }

    /// The first failure's error, for callers that only propagate one [`Error`].
    pub fn into_first_error(self) -> Error {
        match self.failures.into_iter().next() {
            Some(f) => f.error,
            None => Error::invalid("chunked upsert failed"),
        }
    }
}

/// A short phrase with the counts and the first failed chunk's rows; the error itself is the
/// [`source`](std::error::Error::source).
impl fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ChunkedError {
            failures,
            not_sent,
            chunks,
            rows,
        } = self;
        if *chunks == 0 {
            write!(f, "chunked upsert of {rows} rows not sent")?;
        } else {
            write!(f, "{} of {chunks} chunks failed", failures.len())?;
            if let Some(first) = failures.first() {
                write!(
                    f,
                    ", first at rows {}..{}",
                    first.rows.start, first.rows.end
                )?;
            }
        }
        if !not_sent.is_empty() {
            write!(f, "; {} chunks not sent", not_sent.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for ChunkedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failures
            .first()
            .map(|f| &f.error as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(rows: Range<usize>) -> ChunkFailure {
        ChunkFailure {
            rows,
            error: Error::invalid("x"),
        }
    }

    #[test]
    fn unwritten_merges_failed_and_unsent_ranges() {
        let e = ChunkedError {
            failures: vec![failure(0..10), failure(30..40)],
            not_sent: vec![40..50, 50..55],
            chunks: 6,
            rows: 55,
        };
        assert_eq!(e.unwritten(), vec![0..10, 30..55]);
        assert_eq!(e.written(), 20);
        let shown = e.to_string();
        assert_eq!(
            shown,
            "2 of 6 chunks failed, first at rows 0..10; 2 chunks not sent"
        );
        let before = ChunkedError::before_sending(5, Error::invalid("y"));
        assert_eq!(before.to_string(), "chunked upsert of 5 rows not sent");
    }

    #[test]
    fn chunked_error_is_send_sync_static() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<ChunkedError>();
    }

    #[test]
    fn chunked_upserts_are_send() {
        fn send<F: Send>(_: &F) {}
        let client = crate::Client::new("http://localhost:1", "k").unwrap();
        let rows = vec![serde_json::json!({"a": 1})];
        let fut = client
            .from("t")
            .upsert_chunked(&rows)
            .select("*")
            .into_future();
        send(&fut);
    }
}
