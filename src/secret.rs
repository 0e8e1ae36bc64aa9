//! A string that must never be printed: the api key and access tokens.

use std::fmt;

use reqwest::header::HeaderValue;

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
