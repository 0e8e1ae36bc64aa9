//! The whole retry rule, in one place: which requests may be resent, which failures are worth
//! another attempt, and how long to wait.
//!
//! A request is retried only when sending it again cannot change the outcome:
//! - it never reached the server (the connection was refused): always;
//! - otherwise only if it is idempotent: `GET`/`HEAD` (reads and `rpc(..).get()`), upserts
//!   with an explicit `on_conflict` (the row ends the same however often it lands), and requests
//!   the caller marked with `.idempotent()`. Plain inserts, updates, deletes and RPC `POST`s are
//!   never retried once they may have reached the server.
//!
//! Retried failures ([`Error::is_retryable`]): connection errors, timeouts, a connection lost
//! while sending or reading the answer, HTTP 408, 429, 502, 503, 504, 520, and PostgREST's
//! connection errors (`PGRST000`-`003`).
//! `Retry-After` (seconds or an HTTP date) is honoured; otherwise the wait is random in
//! `0..min(max_delay, base_delay * 2^(n-1))` before retry `n` ("full jitter"). A `Retry-After` longer than
//! `max_delay` is not waited for: the error is returned. Each retry carries
//! `X-Retry-Count: <n>`, as supabase-js sends it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};

use crate::error::Error;

/// How a client retries failed requests. On by default with 3 retries.
///
/// ```
/// use std::time::Duration;
/// use supabase_rest::{Client, RetryPolicy};
///
/// let client = Client::builder("https://xyz.supabase.co", "anon-key")
///     .retry(RetryPolicy::default().max_retries(4).base_delay(Duration::from_millis(50)))
///     .build()?;
/// let no_retries = Client::builder("https://xyz.supabase.co", "anon-key")
///     .retry(RetryPolicy::none())
///     .build()?;
/// # Ok::<(), supabase_rest::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) base_delay: Duration,
    pub(crate) max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// At most `n` retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff delay; each later one doubles (before jitter).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest single wait, for backoff and for `Retry-After`.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The wait before retry number `retry` (1-based), or `None` to give up.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if retry > self.max_retries {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_delay).then_some(wait);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (retry - 1).min(20))
            .min(self.max_delay);
        // "Full jitter" (a random wait in 0..exp), as Supabase's cross-SDK retry spec asks:
        // clients that failed together spread out instead of returning in step.
        Some(exp.mul_f64(random_unit()))
    }
}

/// Statuses worth retrying: timeouts, rate limits and gateway/availability failures.
fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 502 | 503 | 504 | 520)
}

/// Whether a request may be sent again after it may have reached the server: reads, upserts
/// that name their conflict target, and requests the caller vouched for (`.idempotent()`).
pub(crate) fn may_resend(method: &Method, upsert_on_target: bool, vouched: bool) -> bool {
    vouched
        || *method == Method::GET
        || *method == Method::HEAD
        || *method == Method::OPTIONS
        || (*method == Method::POST && upsert_on_target)
}

/// How a failure bears on sending the request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transience {
    /// Another attempt would fail the same way (or cannot help).
    Lasting,
    /// It may pass, and the request never reached the server: resending is always safe.
    NotSent,
    /// It may pass, but the request may have reached the server: resend only what may be
    /// resent ([`may_resend`]).
    MaybeSent,
}

fn transience(err: &Error) -> Transience {
    match err {
        Error::Transport(t) if t.is_certificate_rejected() => Transience::Lasting,
        Error::Transport(t) | Error::Timeout(t) if t.is_connect() => Transience::NotSent,
        Error::Transport(t) if t.is_request_failure() => Transience::MaybeSent,
        Error::Timeout(_) => Transience::MaybeSent,
        Error::Api(_) | Error::Http { .. } => {
            let transient_code = matches!(
                err.code(),
                Some("PGRST000" | "PGRST001" | "PGRST002" | "PGRST003")
            );
            if transient_code || err.status().is_some_and(retryable_status) {
                Transience::MaybeSent
            } else {
                Transience::Lasting
            }
        }
        // Nothing was sent to PostgREST: worth another try only if Auth may answer later.
        Error::Auth(a) => match a.kind() {
            crate::token::AuthErrorKind::Unreachable | crate::token::AuthErrorKind::BackingOff => {
                Transience::NotSent
            }
            _ => Transience::Lasting,
        },
        Error::Transport(_) | Error::Decode(_) | Error::InvalidRequest(_) | Error::Redirect(_) => {
            Transience::Lasting
        }
    }
}

/// Whether the client sends a request again after `err`, given whether the request may be
/// resent ([`may_resend`]).
pub(crate) fn should_retry(err: &Error, resendable: bool) -> bool {
    match transience(err) {
        Transience::Lasting => false,
        Transience::NotSent => true,
        Transience::MaybeSent => resendable,
    }
}

impl Error {
    /// `true` for failures that may pass if the same request is sent again: connection errors,
    /// timeouts, a connection lost mid-request, 408, 429, 502, 503, 504, 520 and PostgREST's
    /// connection errors (`PGRST000`-`003`). The client's own retries use exactly this rule.
    ///
    /// Whether a retry is *safe* depends on the request too (see [`RetryPolicy`]); this only
    /// looks at the failure.
    ///
    /// ```
    /// # use supabase_rest::Error;
    /// assert!(!Error::InvalidRequest("bad".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        transience(self) != Transience::Lasting
    }
}

/// The time the retry rule reads and the waits between attempts, replaceable so that tests
/// check a retry schedule (`Retry-After: 30`, an HTTP date, the backoff of five attempts, a
/// call deadline) without waiting for it: see `testing::ManualClock` (feature `testing`), given
/// to [`ClientBuilder::clock`](crate::ClientBuilder::clock). The default is the system clock
/// and tokio's timer. Each attempt's own timeout is the HTTP client's and stays real.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now, for the call's deadline.
    fn now(&self) -> std::time::Instant;
    /// Now on the wall clock, for `Retry-After` dates.
    fn wall(&self) -> SystemTime;
    /// Waits `duration` before the next attempt.
    fn sleep(
        &self,
        duration: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;
}

/// `Retry-After` as a duration: delta-seconds, or an HTTP date (any of the three forms HTTP
/// allows) in the future. A value that is neither, or a date beyond what the clock can hold, is
/// ignored; nothing here can overflow or panic, whatever the server sends.
#[cfg(test)]
pub(crate) fn retry_after(value: &HeaderValue) -> Option<Duration> {
    retry_after_at(value, SystemTime::now())
}

/// [`retry_after`] with the wall-clock time of a [`Clock`].
pub(crate) fn retry_after_at(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A uniform number in `[0, 1)`, from std's randomly keyed hasher: enough for jitter.
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let bits = hasher.finish() >> 11; // 53 bits
    #[allow(clippy::cast_precision_loss)]
    let unit = bits as f64 / (1u64 << 53) as f64;
    unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(300))
            .max_retries(5);
        let mut second: Vec<Duration> = Vec::new();
        for _ in 0..100 {
            let d1 = p.delay(1, None).unwrap();
            assert!(d1 <= Duration::from_millis(100));
            let d2 = p.delay(2, None).unwrap();
            assert!(d2 <= Duration::from_millis(200));
            second.push(d2);
            let d5 = p.delay(5, None).unwrap();
            assert!(d5 <= Duration::from_millis(300));
        }
        // Full jitter: waits spread over the whole window (each bound fails with odds 2^-100).
        assert!(second.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(second.iter().any(|d| *d > Duration::from_millis(100)));
        assert_eq!(p.delay(6, None), None);
        assert_eq!(RetryPolicy::none().delay(1, None), None);
    }

    #[test]
    fn retry_after_is_honoured_unless_too_long() {
        let p = RetryPolicy::default().max_delay(Duration::from_secs(5));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let parse = |v: &'static str| retry_after(&HeaderValue::from_static(v));
        assert_eq!(parse("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(
            parse("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(Duration::ZERO));
        let later = SystemTime::now() + Duration::from_secs(3600);
        let wait =
            retry_after(&HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap()).unwrap();
        assert!(wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600));
        assert_eq!(parse("soon"), None);
    }

    /// A year of 20 digits used to overflow the hand-written date arithmetic.
    #[test]
    fn hostile_dates_are_ignored() {
        for v in [
            "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
            "Sun, 06 Nov 9999 08:49:37 GMT",
            "Sun, 99 Nov 1994 99:99:99 GMT",
            "18446744073709551616",
            "-1",
            "",
        ] {
            let _ = retry_after(&HeaderValue::from_static(v));
        }
        assert_eq!(
            retry_after(&HeaderValue::from_static("18446744073709551615")),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_retry_after_value_is_parsed_without_panicking(text in "[ -~]{0,40}", n in proptest::num::u64::ANY) {
            if let Ok(v) = HeaderValue::from_str(&text) {
                let _ = retry_after(&v);
            }
            let date = format!("Sun, 06 Nov {n} 08:49:37 GMT");
            let _ = retry_after(&HeaderValue::from_str(&date).unwrap());
        }
    }

    #[test]
    fn only_reads_targeted_upserts_and_vouched_requests_may_be_resent() {
        assert!(may_resend(&Method::GET, false, false));
        assert!(may_resend(&Method::HEAD, false, false));
        assert!(may_resend(&Method::POST, true, false));
        assert!(!may_resend(&Method::POST, false, false));
        assert!(!may_resend(&Method::PATCH, false, false));
        assert!(!may_resend(&Method::DELETE, false, false));
        assert!(may_resend(&Method::DELETE, false, true));
    }

    #[test]
    fn the_client_retries_what_is_retryable() {
        let api = |status: u16, code: &str| {
            crate::error::from_status(
                StatusCode::from_u16(status).unwrap(),
                format!(r#"{{"code":"{code}","message":"m","details":null,"hint":null}}"#)
                    .as_bytes(),
            )
        };
        let errors = [
            api(503, "PGRST001"),
            api(500, "PGRST000"),
            api(409, "23505"),
            api(400, "PGRST204"),
            crate::error::from_status(StatusCode::BAD_GATEWAY, b"<html>"),
            crate::error::from_status(StatusCode::INTERNAL_SERVER_ERROR, b""),
            Error::invalid("bad"),
        ];
        for err in &errors {
            assert_eq!(should_retry(err, true), err.is_retryable(), "{err:?}");
            assert!(!should_retry(err, false) || err.is_connect(), "{err:?}");
        }
        assert!(errors[0].is_retryable() && errors[1].is_retryable() && errors[4].is_retryable());
        assert!(
            !errors[2].is_retryable() && !errors[3].is_retryable() && !errors[5].is_retryable()
        );
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 502, 503, 504, 520] {
            assert!(retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [400, 401, 403, 404, 406, 409, 500] {
            assert!(!retryable_status(StatusCode::from_u16(s).unwrap()));
        }
    }
}
