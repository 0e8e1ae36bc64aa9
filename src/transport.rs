//! Sending one request (with its retries) and reading the answer, with a bounded body.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderName, HeaderValue};
use tracing::Instrument;

use crate::builder::{Prepared, RequestParts};
use crate::client::Client;
use crate::error::{from_status, DecodeError, Error, Result, TransportError};
use crate::response::{RawResponse, Shape};
use crate::retry::{retry_after, retryable_status, RetryPolicy};

fn transport(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout(TransportError::new(e))
    } else {
        Error::Transport(TransportError::new(e))
    }
}

/// What one attempt produced.
enum Attempt {
    Done(RawResponse),
    /// A failure, and the server's `Retry-After` if it sent one.
    Failed(Error, Option<Duration>),
}

/// Builds, sends (retrying where that is safe), reads and decodes one request. Non-2xx answers
/// become errors here.
///
/// The request is prepared here, before the returned future first runs (building is pure, and
/// a failure is still only reported when the future is awaited). Each attempt makes its
/// `reqwest::Request` from the prepared parts (two clones), so a possible retry costs nothing
/// up front. The future holds only what the attempts need, so it stays small: it is boxed and
/// moved once per call. The span (and its fields) is only entered and recorded when enabled.
pub(crate) fn send<S: Shape>(
    parts: Box<RequestParts>,
) -> Pin<Box<dyn Future<Output = Result<S::Output>> + Send + 'static>> {
    let client = parts.client.clone();
    let idempotent = parts.is_idempotent();
    let retry = parts.retry;
    // The span needs the target's name, which preparing consumes: copy it only when a
    // subscriber may want it.
    let target =
        tracing::level_enabled!(tracing::Level::DEBUG).then(|| parts.target.name().to_owned());
    match parts.prepare(S::ACCEPT) {
        Ok(prepared) => dispatch::<S>(client, retry, idempotent, target, prepared),
        // Reported when awaited, as before; no span for a request that was never sent.
        Err(e) => Box::pin(std::future::ready(Err(e))),
    }
}

/// Sends a prepared request: see [`send`]. `retry: Some(false)` turns retries off; `target`
/// names the table or function in the span (only needed when spans are enabled).
pub(crate) fn dispatch<S: Shape>(
    client: Client,
    retry: Option<bool>,
    idempotent: bool,
    target: Option<String>,
    prepared: Prepared,
) -> Pin<Box<dyn Future<Output = Result<S::Output>> + Send + 'static>> {
    let policy = match retry {
        Some(false) => RetryPolicy::none(),
        _ => client.inner.retry.clone(),
    };
    let span = tracing::debug_span!(
        "supabase_rest.request",
        method = %prepared.method(),
        target = %target.as_deref().unwrap_or_default(),
        attempt = 0u32,
        status = tracing::field::Empty,
        code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let traced = !span.is_disabled();
    let run = Run {
        client,
        prepared: Some(prepared),
        policy,
        idempotent,
        fields: traced.then(|| span.clone()),
    };
    // Entering a disabled span on every poll does nothing: skip the wrapper then.
    if traced {
        Box::pin(attempts::<S>(run).instrument(span))
    } else {
        Box::pin(attempts::<S>(run))
    }
}

/// What the attempts of one call need.
struct Run {
    client: Client,
    /// Kept while another attempt is possible.
    prepared: Option<Prepared>,
    policy: RetryPolicy,
    idempotent: bool,
    /// The call's span, to record fields on; `None` when it is disabled.
    fields: Option<tracing::Span>,
}

async fn attempts<S: Shape>(mut run: Run) -> Result<S::Output> {
    let started = run.fields.is_some().then(Instant::now);
    let mut retry = 0u32;
    loop {
        // In a block of its own, so that the request's storage is not kept across the await
        // (the future is allocated at its largest size on every call).
        let pending = {
            let next = if retry < run.policy.max_retries {
                run.prepared.as_ref().map(Prepared::request)
            } else {
                run.prepared.take().map(Prepared::into_request)
            };
            let Some(mut request) = next else {
                return Err(Error::invalid("request could not be repeated"));
            };
            if retry > 0 {
                request.headers_mut().insert(
                    HeaderName::from_static("x-retry-count"),
                    HeaderValue::from(retry),
                );
                if let Some(span) = &run.fields {
                    span.record("attempt", retry);
                }
            }
            run.client.inner.http.execute(request)
        };
        let outcome = attempt(pending, run.client.inner.max_response_bytes).await;
        if let (Some(span), Some(started)) = (&run.fields, started) {
            span.record(
                "duration_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
        }
        let (err, wait_hint) = match outcome {
            Attempt::Done(raw) => {
                if let Some(span) = &run.fields {
                    span.record("status", raw.status.as_u16());
                }
                tracing::debug!(
                    status = raw.status.as_u16(),
                    bytes = raw.body.len(),
                    "response"
                );
                return S::decode(raw);
            }
            Attempt::Failed(err, hint) => (err, hint),
        };
        if let Some(span) = &run.fields {
            if let Some(status) = err.status() {
                span.record("status", status.as_u16());
            }
            if let Some(code) = err.code() {
                span.record("code", code);
            }
        }
        let safe = should_retry(&err, run.idempotent);
        let delay = if safe {
            run.policy.delay(retry + 1, wait_hint)
        } else {
            None
        };
        let (Some(delay), Some(_)) = (delay, run.prepared.as_ref()) else {
            tracing::debug!(error = %err, status = err.status().map(|s| s.as_u16()), code = err.code(), retries = retry, "request failed");
            return Err(err);
        };
        retry += 1;
        tracing::debug!(error = %err, retry, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "retrying");
        tokio::time::sleep(delay).await;
    }
}

/// Whether `err` may be retried for a request that is (or is not) idempotent.
fn should_retry(err: &Error, idempotent: bool) -> bool {
    match err {
        // Never reached the server: repeating it cannot duplicate anything.
        Error::Transport(_) | Error::Timeout(_) if err.is_connect() => true,
        Error::Transport(t) => idempotent && t.is_request_failure(),
        Error::Timeout(_) => idempotent,
        Error::Api(_) | Error::Http { .. } => {
            idempotent && err.status().is_some_and(retryable_status)
        }
        Error::Decode(_) | Error::InvalidRequest(_) => false,
    }
}

async fn attempt(
    pending: impl Future<Output = reqwest::Result<reqwest::Response>>,
    limit: usize,
) -> Attempt {
    let mut response = match pending.await {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(transport(e), None),
    };
    let status = response.status();
    let body = match read_body(&mut response, limit, status).await {
        Ok(b) => b,
        Err(e) => return Attempt::Failed(e, None),
    };
    let headers = std::mem::take(response.headers_mut());
    if status.is_success() {
        Attempt::Done(RawResponse {
            status,
            headers,
            body,
        })
    } else {
        Attempt::Failed(from_status(status, &body), retry_after(&headers))
    }
}

/// Reads the body chunk by chunk, refusing more than `limit` bytes. A body that arrives in one
/// chunk is used as is, without a copy.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
    status: reqwest::StatusCode,
) -> Result<Bytes> {
    let too_large = |seen: &[u8]| {
        DecodeError::other(
            status,
            seen,
            format!("response body exceeds the limit of {limit} bytes"),
        )
    };
    let Some(first) = response.chunk().await.map_err(transport)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large(&first));
    }
    let Some(second) = response.chunk().await.map_err(transport)? else {
        return Ok(first);
    };
    let hint = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(first.len() + second.len())
        .min(limit);
    let mut buf = BytesMut::with_capacity(hint);
    buf.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > limit {
            return Err(too_large(&buf));
        }
        buf.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(transport)?;
    }
    Ok(buf.freeze())
}
