//! Sending one request (with its retries) and reading the answer, with a bounded body.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use reqwest::header::{HeaderName, HeaderValue, LOCATION, RETRY_AFTER, WARNING};
use tracing::Instrument;

use crate::client::Client;
use crate::error::{
    from_answer, Cause, DecodeError, Error, Escaped, RedirectError, Result, TransportError,
};
use crate::request::Prepared;
use crate::response::{RawResponse, Shape};
use crate::retry::{should_retry, RetryPolicy};
use crate::wire::{Answer, Cut, Failure};

fn transport(cause: Cause, method: &reqwest::Method, url: Option<&url::Url>) -> Error {
    let timeout = cause.is_timeout();
    let t = TransportError::of(cause, Some(method), url);
    if timeout {
        Error::Timeout(t)
    } else {
        Error::Transport(t)
    }
}

/// Longest error body read (PostgREST's JSON errors are a few hundred bytes): a hostile or
/// broken server cannot make the client read megabytes to keep a 512-byte snippet.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// What one attempt produced.
enum Attempt {
    Done(RawResponse),
    /// A failure, and the server's `Retry-After` (unparsed: it is only read if a retry is
    /// possible).
    Failed(Error, Option<HeaderValue>),
}

/// PostgREST refused the JWT itself (not the api key, not a missing token): `PGRST301`
/// (undecodable, bad signature), `PGRST303` (expired, not yet valid, wrong audience), or a 401
/// whose `WWW-Authenticate` says `invalid_token`. It does so before running any SQL, so the
/// request may be sent again with a new token whatever its method.
fn token_rejected(err: &Error) -> bool {
    err.status().is_some_and(|s| s.as_u16() == 401)
        && (matches!(err.code(), Some("PGRST301" | "PGRST303"))
            || matches!(err, Error::Api(e) if e.invalid_token))
}

/// `Authorization: Bearer <token>` for a token from the client's token source.
fn bearer(token: &str) -> Result<HeaderValue> {
    crate::client::bearer(&crate::secret::Secret::new(token)).map_err(Error::invalid)
}

/// The one way a request is sent: builders, templates and chunked upserts all end here.
/// Sends (retrying where that is safe), reads and decodes; non-2xx answers become errors here.
///
/// A request that failed to build is reported when the future is awaited, with no span (it was
/// never sent). Each attempt makes its `reqwest::Request` from the prepared parts (two clones),
/// so a possible retry costs nothing up front. The future holds only what the attempts need, so
/// it stays small: it is boxed and moved once per call. The span (and its fields) is only
/// entered and recorded when enabled.
pub(crate) fn send<S: Shape>(
    client: Client,
    prepared: Result<Prepared>,
) -> Pin<Box<dyn Future<Output = Result<S::Output>> + Send + 'static>> {
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => return Box::pin(std::future::ready(Err(e))),
    };
    let policy = match &prepared.retry {
        Some(own) => own.clone(),
        None => client.inner.retry.clone(),
    };
    let span = tracing::debug_span!(
        "supabase_rest.request",
        method = %prepared.method,
        target = %prepared.target.name(),
        attempt = 0u32,
        status = tracing::field::Empty,
        code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let traced = !span.is_disabled();
    let run = Run {
        client,
        may_resend: prepared.may_resend,
        method: prepared.method.clone(),
        prepared: Some(prepared),
        policy,
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
    /// Whether the request may be sent again once it may have reached the server.
    may_resend: bool,
    /// Named in transport errors (the prepared request may be handed over on the last attempt).
    method: reqwest::Method,
    /// The call's span, to record fields on; `None` when it is disabled.
    fields: Option<tracing::Span>,
}

/// The attempt loop. Why it is shaped this way:
///
/// - The request is rebuilt from `Prepared` for each attempt (a cheap clone of the shared URL
///   and headers) and handed over whole on the last possible one, so the common single attempt
///   copies nothing it does not have to.
/// - Whether to try again is decided by `retry.rs` alone ([`should_retry`]): the failure must be
///   transient, and a request that may have reached the server is resent only if resending
///   cannot change the outcome. `Retry-After` is parsed only then.
/// - A deadline (if the client has one) bounds the whole call: each attempt's timeout is cut
///   to what is left, and no wait starts that would end after it.
async fn attempts<S: Shape>(mut run: Run) -> Result<S::Output> {
    let started = run.fields.is_some().then(Instant::now);
    let clock = run.client.inner.clock.clone();
    let now = || clock.as_ref().map_or_else(Instant::now, |c| c.now());
    let deadline = run.client.inner.deadline.map(|d| now() + d);
    let mut retry = 0u32;
    // A client with a token source asks it now, and once more if PostgREST rejects the token.
    let source = run.client.inner.token_source.clone();
    let (mut token, mut authorization) = match &source {
        Some(source) => {
            let t = source.access_token().await?;
            let header = bearer(&t)?;
            (Some(t), Some(header))
        }
        None => (None, None),
    };
    let mut renewed = false;
    loop {
        // In a block of its own, so that the request's storage is not kept across the await
        // (the future is allocated at its largest size on every call).
        let request = {
            let renewal_left = source.is_some() && !renewed;
            let next = if retry < run.policy.max_retries || renewal_left {
                run.prepared.as_ref().map(Prepared::request)
            } else {
                run.prepared.take().map(Prepared::into_request)
            };
            let Some(mut request) = next else {
                return Err(Error::invalid("request could not be repeated"));
            };
            if let Some(value) = &authorization {
                request
                    .headers
                    .insert(reqwest::header::AUTHORIZATION, value.clone());
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(now());
                request.timeout = Some(request.timeout.map_or(left, |t| left.min(t)));
            }
            if retry > 0 {
                request.headers.insert(
                    HeaderName::from_static("x-retry-count"),
                    HeaderValue::from(retry),
                );
                if let Some(span) = &run.fields {
                    span.record("attempt", retry);
                }
            }
            request
        };
        // The request is handed to the transport before anything is awaited, so no future
        // keeps it (an `async fn`'s arguments stay in its state for as long as it runs).
        let inner = &run.client.inner;
        let exchange = inner.wire.send(request);
        let outcome = attempt(exchange, &run.method, inner.max_response_bytes).await;
        if let (Some(span), Some(started)) = (&run.fields, started) {
            span.record(
                "duration_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
        }
        let (err, retry_after) = match outcome {
            Attempt::Done(raw) => {
                if let Some(span) = &run.fields {
                    span.record("status", raw.status.as_u16());
                }
                tracing::debug!(
                    status = raw.status.as_u16(),
                    bytes = raw.body.len(),
                    "response"
                );
                // Looked up only when the event would be seen.
                if tracing::enabled!(tracing::Level::WARN) {
                    for warning in raw.headers.get_all(WARNING) {
                        let text = String::from_utf8_lossy(warning.as_bytes());
                        tracing::warn!(warning = %Escaped(&text), "the server warned about this request");
                    }
                }
                return S::decode(raw);
            }
            Attempt::Failed(err, retry_after) => (err, retry_after),
        };
        if let Some(span) = &run.fields {
            if let Some(status) = err.status() {
                span.record("status", status.as_u16());
            }
            if let Some(code) = err.code() {
                span.record("code", code);
            }
        }
        if let (Some(source), Some(rejected), false) = (&source, &token, renewed) {
            if token_rejected(&err) && run.prepared.is_some() {
                renewed = true;
                tracing::debug!(code = err.code(), "access token rejected; renewing it once");
                let fresh = source.renew(rejected).await?;
                authorization = Some(bearer(&fresh)?);
                token = Some(fresh);
                continue;
            }
        }
        let delay = if run.prepared.is_some() && should_retry(&err, run.may_resend) {
            let wall = clock
                .as_ref()
                .map_or_else(std::time::SystemTime::now, |c| c.wall());
            let hint = retry_after
                .as_ref()
                .and_then(|v| crate::retry::retry_after_at(v, wall));
            run.policy
                .delay(retry + 1, hint)
                .filter(|d| deadline.is_none_or(|end| now() + *d < end))
        } else {
            None
        };
        let Some(delay) = delay else {
            tracing::debug!(error = %err, status = err.status().map(|s| s.as_u16()), code = err.code(), retries = retry, "request failed");
            return Err(err);
        };
        retry += 1;
        tracing::debug!(error = %err, retry, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "retrying");
        match &clock {
            Some(clock) => clock.sleep(delay).await,
            // Boxed: a wait is rare, and an inline timer would enlarge every call's future.
            None => Box::pin(tokio::time::sleep(delay)).await,
        }
    }
}

/// One attempt: the answer's head, a redirect refused (or reported, when a caller's HTTP
/// client followed it), the body read within its cap.
async fn attempt(
    exchange: impl Future<Output = std::result::Result<Answer, Failure>>,
    method: &reqwest::Method,
    limit: usize,
) -> Attempt {
    let mut answer = match exchange.await {
        Ok(a) => a,
        Err(Failure { cause, url }) => {
            return Attempt::Failed(transport(cause, method, url.as_ref()), None)
        }
    };
    let status = answer.status;
    if let Some((sent_to, at)) = answer.redirected_to.as_deref() {
        return Attempt::Failed(
            RedirectError::error(status, sent_to, Some(at.as_str()), true),
            None,
        );
    }
    if status.is_redirection() {
        let location = answer.headers.get(LOCATION).and_then(|v| v.to_str().ok());
        let err = RedirectError::error(status, answer.url(), location, false);
        return Attempt::Failed(err, None);
    }
    let limit = if status.is_success() {
        limit
    } else {
        limit.min(ERROR_BODY_LIMIT)
    };
    let body = match answer.read_body(limit).await {
        Ok(b) => b,
        // An error body over its cap is cut there: the status and the start are what count.
        Err(Cut::TooLarge(seen)) if !status.is_success() => seen,
        Err(Cut::TooLarge(seen)) => {
            let reason = format!("response body exceeds the limit of {limit} bytes");
            return Attempt::Failed(DecodeError::other(status, &seen, reason), None);
        }
        Err(Cut::Failed(cause)) => {
            return Attempt::Failed(transport(cause, method, Some(answer.url())), None)
        }
    };
    let mut headers = answer.headers;
    if status.is_success() {
        Attempt::Done(RawResponse {
            status,
            headers,
            body,
        })
    } else {
        let wait = headers.remove(RETRY_AFTER);
        Attempt::Failed(from_answer(status, &headers, &body), wait)
    }
}
