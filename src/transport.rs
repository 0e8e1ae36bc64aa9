//! Sending one request (with its retries) and reading the answer, with a bounded body.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderName, HeaderValue};
use tracing::Instrument;

use crate::builder::RequestParts;
use crate::error::{from_status, DecodeError, Error, Result, TransportError};
use crate::response::RawResponse;
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

/// Builds, sends (retrying where that is safe) and reads one request. Non-2xx answers become
/// errors here.
pub(crate) async fn send(parts: RequestParts, accept: Option<&'static str>) -> Result<RawResponse> {
    let client = parts.client.clone();
    let target = parts.target.name().to_owned();
    let idempotent = parts.is_idempotent();
    let policy = match parts.retry {
        Some(false) => RetryPolicy::none(),
        _ => client.inner.retry.clone(),
    };
    let request = parts.into_request(accept)?;
    let span = tracing::debug_span!(
        "supabase_rest.request",
        method = %request.method(),
        target = %target,
        attempt = 0u32,
        status = tracing::field::Empty,
        code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let limit = client.inner.max_response_bytes;
        let mut pending = Some(request);
        let mut retry = 0u32;
        loop {
            let Some(original) = pending.take() else {
                return Err(Error::invalid("request could not be repeated"));
            };
            // Keep a copy only while another attempt is possible (bodies are shared bytes).
            if retry < policy.max_retries {
                pending = original.try_clone();
            }
            let mut request = original;
            if retry > 0 {
                request.headers_mut().insert(
                    HeaderName::from_static("x-retry-count"),
                    HeaderValue::from(retry),
                );
            }
            if retry > 0 {
                tracing::Span::current().record("attempt", retry);
            }
            let outcome = attempt(&client.inner.http, request, limit).await;
            let span = tracing::Span::current();
            span.record(
                "duration_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            let (err, wait_hint) = match outcome {
                Attempt::Done(raw) => {
                    span.record("status", raw.status.as_u16());
                    tracing::debug!(status = raw.status.as_u16(), bytes = raw.body.len(), "response");
                    return Ok(raw);
                }
                Attempt::Failed(err, hint) => (err, hint),
            };
            if let Some(status) = err.status() {
                span.record("status", status.as_u16());
            }
            if let Some(code) = err.code() {
                span.record("code", code);
            }
            let safe = should_retry(&err, idempotent);
            let delay = if safe {
                policy.delay(retry + 1, wait_hint)
            } else {
                None
            };
            let (Some(delay), Some(_)) = (delay, pending.as_ref()) else {
                tracing::debug!(error = %err, status = err.status().map(|s| s.as_u16()), code = err.code(), retries = retry, "request failed");
                return Err(err);
            };
            retry += 1;
            tracing::debug!(error = %err, retry, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "retrying");
            tokio::time::sleep(delay).await;
        }
    }
    .instrument(span)
    .await
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

async fn attempt(http: &reqwest::Client, request: reqwest::Request, limit: usize) -> Attempt {
    let mut response = match http.execute(request).await {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(transport(e), None),
    };
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = match read_body(&mut response, limit, status).await {
        Ok(b) => b,
        Err(e) => return Attempt::Failed(e, None),
    };
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
