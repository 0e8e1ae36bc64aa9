//! Value types of generated code: [`Field`] (absent, null or a value) and [`Numeric`]
//! (PostgreSQL `numeric`, digits kept exactly), and the helpers behind generated enums.

use std::fmt;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::filter::FilterValue;

/// A field of a generated `Insert` or `Update` type for a column that may be NULL: left out
/// of the body ([`Field::Unset`], the default: on insert the column default applies, on
/// update the column keeps its value), sent as `null` ([`Field::Null`]), or sent as a value.
///
/// ```
/// use supabase_rest::typed::Field;
///
/// #[derive(serde::Serialize)]
/// struct Patch {
///     #[serde(skip_serializing_if = "Field::is_unset")]
///     notes: Field<String>,
/// }
/// let json = |notes| serde_json::to_string(&Patch { notes }).unwrap();
/// assert_eq!(json(Field::Unset), "{}");
/// assert_eq!(json(Field::Null), r#"{"notes":null}"#);
/// assert_eq!(json(Field::from("hi".to_owned())), r#"{"notes":"hi"}"#);
/// assert_eq!(json(Field::from(None::<String>)), r#"{"notes":null}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Field<T> {
    /// Not sent.
    #[default]
    Unset,
    /// Sent as `null`.
    Null,
    /// Sent as this value.
    Value(T),
}

impl<T> Field<T> {
    /// Whether the field is left out of the body (`skip_serializing_if` of generated code).
    pub fn is_unset(&self) -> bool {
        matches!(self, Field::Unset)
    }

    /// The value, if one is set.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            Field::Unset | Field::Null => None,
        }
    }
}

impl<T> From<T> for Field<T> {
    fn from(value: T) -> Self {
        Field::Value(value)
    }
}

impl<T> From<Option<T>> for Field<T> {
    /// `None` is [`Field::Null`]: an explicit `Option` says what the column should hold.
    fn from(value: Option<T>) -> Self {
        value.map_or(Field::Null, Field::Value)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reached when a caller's own type does not skip it: null is the honest form.
            Field::Unset | Field::Null => serializer.serialize_none(),
            Field::Value(v) => v.serialize(serializer),
        }
    }
}

/// A PostgreSQL `numeric`, its digits kept as PostgREST sent them (no rounding through
/// `f64`), and sent back the same way: as a JSON number.
///
/// ```
/// use supabase_rest::typed::Numeric;
///
/// let n: Numeric = serde_json::from_str("12345678901234567890.000000000001").unwrap();
/// assert_eq!(n.as_str(), "12345678901234567890.000000000001");
/// assert_eq!(serde_json::to_string(&n).unwrap(), "12345678901234567890.000000000001");
/// assert!(Numeric::new("1e400").is_ok());
/// assert!(Numeric::new("12abc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Numeric(String);

impl Numeric {
    /// A numeric from its decimal text (`"-12.50"`, `"1e-3"`); anything that is not a JSON
    /// number is refused with the text it was given.
    pub fn new(text: impl Into<String>) -> Result<Numeric, InvalidNumeric> {
        let text = text.into();
        match serde_json::from_str::<&RawValue>(&text) {
            Ok(raw) if is_number(raw.get()) => Ok(Numeric(text)),
            _ => Err(InvalidNumeric(text)),
        }
    }

    /// The decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_number(text: &str) -> bool {
    text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// Text that is not a number, given to [`Numeric::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidNumeric(String);

impl fmt::Display for InvalidNumeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a numeric value: \"{}\"",
            crate::error::Escaped(&self.0)
        )
    }
}

impl std::error::Error for InvalidNumeric {}

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Numeric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Numeric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The raw JSON token keeps every digit; a number that reaches here through another
        // deserializer (already an f64) is the best that one can give.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        if is_number(text) {
            return Ok(Numeric(text.to_owned()));
        }
        // PostgREST sends `NaN` and `Infinity` as strings.
        match serde_json::from_str::<String>(text) {
            Ok(s) => Ok(Numeric(s)),
            Err(_) => Err(serde::de::Error::custom("expected a numeric value")),
        }
    }
}

impl FilterValue for Numeric {
    fn write_value(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// A PostgreSQL enum in generated code: its labels in declared order, and an `Other`
/// variant for a label added to the database after the code was generated.
pub trait PgEnum: Sized {
    /// The label sent to and received from PostgreSQL.
    fn label(&self) -> &str;
    /// The variant for `label`, `Other(label)` when it is not one this code knows.
    fn from_label(label: String) -> Self;
}

/// `Serialize` of a generated enum: its label.
#[doc(hidden)]
pub fn serialize_enum<E: PgEnum, S: Serializer>(
    value: &E,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.label())
}

/// `Deserialize` of a generated enum: any label, known or not.
#[doc(hidden)]
pub fn deserialize_enum<'de, E: PgEnum, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<E, D::Error> {
    String::deserialize(deserializer).map(E::from_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keeps_digits_inside_rows() {
        #[derive(serde::Deserialize)]
        struct Row {
            amount: Numeric,
            other: Option<Numeric>,
        }
        let row: Row =
            serde_json::from_str(r#"{"amount": 0.1000000000000000000000001, "other": "NaN"}"#)
                .unwrap();
        assert_eq!(row.amount.as_str(), "0.1000000000000000000000001");
        assert_eq!(row.other.unwrap().as_str(), "NaN");
        let bad: Result<Row, _> = serde_json::from_str(r#"{"amount": true, "other": null}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn invalid_numeric_text_is_refused_and_escaped() {
        let err = Numeric::new("1\n2").unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
        assert!(Numeric::new("").is_err());
        assert!(Numeric::new("\"1\"").is_err());
        assert!(Numeric::new("-0.5").is_ok());
    }
}
