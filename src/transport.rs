//! Sending one request and reading its answer, with a bounded body.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use tracing::Instrument;

use crate::builder::RequestParts;
use crate::error::{from_status, DecodeError, Error, Result, TransportError};
use crate::response::RawResponse;

fn transport(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout(TransportError::new(e))
    } else {
        Error::Transport(TransportError::new(e))
    }
}

/// Builds, sends and reads one request. Non-2xx answers become errors here.
pub(crate) async fn send(parts: RequestParts, accept: Option<&'static str>) -> Result<RawResponse> {
    let client = parts.client.clone();
    let target = parts.target.name().to_owned();
    let request = parts.into_request(accept)?;
    let span = tracing::debug_span!(
        "supabase_rest.request",
        method = %request.method(),
        target = %target,
        status = tracing::field::Empty,
        code = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let limit = client.inner.max_response_bytes;
        let result = async {
            let mut response = client
                .inner
                .http
                .execute(request)
                .await
                .map_err(transport)?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            let body = read_body(&mut response, limit, status).await?;
            Ok::<_, Error>((status, headers, body))
        }
        .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok((status, headers, body)) if status.is_success() => {
                tracing::Span::current().record("status", status.as_u16());
                tracing::debug!(
                    status = status.as_u16(),
                    elapsed_ms,
                    bytes = body.len(),
                    "response"
                );
                Ok(RawResponse {
                    status,
                    headers,
                    body,
                })
            }
            Ok((status, _headers, body)) => {
                let err = from_status(status, &body);
                let span = tracing::Span::current();
                span.record("status", status.as_u16());
                if let Some(code) = err.code() {
                    span.record("code", code);
                }
                tracing::debug!(
                    status = status.as_u16(),
                    code = err.code(),
                    elapsed_ms,
                    "error response"
                );
                Err(err)
            }
            Err(err) => {
                tracing::debug!(error = %err, elapsed_ms, "request failed");
                Err(err)
            }
        }
    }
    .instrument(span)
    .await
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
