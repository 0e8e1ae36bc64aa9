//! Server and caller text made safe to print: control characters escaped.

use std::fmt;

/// Text from a server, written with its control characters escaped (`\n` as `\\n`): an error's
/// text ends up in logs, where a newline in a server's message would forge a log line of its
/// own. Everything else, quotes included, is written as it is.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) =
            rest.find(|c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(f, "{}", c.escape_default())?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}
