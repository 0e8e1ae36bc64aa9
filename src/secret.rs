//! A string that must never be printed: the api key and access tokens; and the headers a
//! caller adds by hand, whose credentials are marked sensitive by name.

use std::fmt;

use reqwest::header::{HeaderName, HeaderValue};

use crate::error::Error;

/// Header names whose values are credentials, whoever sets them.
const SENSITIVE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "apikey",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// A caller's header (`.header(name, value)` on a builder or the client builder), checked and
/// with a credential's value marked sensitive, so `http`'s `Debug` of a built request hides it.
/// A rejected name or any value is never echoed: either may be a secret pasted in the wrong
/// place.
pub(crate) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::invalid("a header name is not a valid HTTP header name"))?;
    // The name was accepted, so it may be shown; the value never is.
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid(format!(
            "value of header {name} contains a character not allowed in a header (CR, LF, NUL or other control)"
        ))
    })?;
    if SENSITIVE.contains(&name.as_str()) {
        value.set_sensitive(true);
    }
    Ok((name, value))
}

/// Holds a credential. `Debug` prints `<redacted>` and there is deliberately no `Display`.
#[derive(Clone)]
pub(crate) struct Secret(Box<str>);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into_boxed_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A header value marked sensitive, so `http`'s own `Debug` hides it too.
    ///
    /// The error names what was wrong, never the value.
    pub(crate) fn header_value(
        &self,
        prefix: &str,
        what: &'static str,
    ) -> Result<HeaderValue, &'static str> {
        let mut value = HeaderValue::try_from(format!("{prefix}{}", self.0)).map_err(|_| what)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_set_by_hand_are_sensitive_and_rejections_echo_nothing() {
        for name in ["Authorization", "apikey", "Cookie", "x-api-key"] {
            let (_, v) = super::header_pair(name, "sentinel-secret").unwrap();
            assert!(v.is_sensitive(), "{name}");
            assert!(!format!("{v:?}").contains("sentinel"));
        }
        let (_, v) = super::header_pair("x-request-id", "abc").unwrap();
        assert!(!v.is_sensitive());
        for (name, value) in [("bad name sentinel", "v"), ("x-ok", "sentinel\r\nx: y")] {
            let err = super::header_pair(name, value).unwrap_err();
            assert!(!err.to_string().contains("sentinel"), "{err}");
        }
    }

    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("super-secret-key");
        assert_eq!(format!("{s:?}"), "<redacted>");
        let v = s.header_value("Bearer ", "token").unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("super-secret-key"));
    }

    #[test]
    fn control_characters_are_rejected_without_echo() {
        let s = Secret::new("abc\r\nInjected: 1");
        let err = s
            .header_value(
                "Bearer ",
                "access token contains CR, LF or another control character",
            )
            .unwrap_err();
        assert!(!err.contains("Injected"));
    }
}
