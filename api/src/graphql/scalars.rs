//! The schema's own scalars: log positions and stream versions as 64-bit-safe
//! strings (GraphQL's `Int` is 32-bit and JavaScript's numbers are exact to 2^53 only),
//! a calendar `Date`, and `JSON`. `Date` and `JSON` name the specification they follow
//! (`@specifiedBy`); the two counters are specified here, in their descriptions.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// Parse a non-negative 64-bit counter given as a decimal string (what the server
/// sends) or as an `Int` literal (what hand-written queries send).
fn parse_counter(value: &Value, name: &str) -> Result<i64, String> {
    let parsed = match value {
        Value::String(text) => {
            let digits = text.trim();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{name} must be a non-negative integer, as a string of decimal digits or an Int, not {text:?}"
                ));
            }
            digits.parse::<i64>().map_err(|_| {
                format!("{name} {text} is larger than the largest position, 9223372036854775807")
            })?
        }
        Value::Number(number) => number
            .as_i64()
            .ok_or_else(|| format!("{name} must be a whole number, not {number}"))?,
        other => {
            return Err(format!(
                "{name} must be a string of decimal digits or an Int, not {other}"
            ));
        }
    };
    if parsed < 0 {
        return Err(format!("{name} must not be negative, not {parsed}"));
    }
    Ok(parsed)
}

/// A scalar of a non-negative 64-bit counter: a string of decimal digits out, a string
/// or an `Int` in.
macro_rules! counter_scalar {
    ($(#[doc = $doc:literal])* $type:ident, $name:literal, $what:literal) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
        pub struct $type(pub i64);

        $(#[doc = $doc])*
        #[Scalar(name = $name)]
        impl ScalarType for $type {
            fn parse(value: Value) -> InputValueResult<Self> {
                parse_counter(&value, $what)
                    .map($type)
                    .map_err(InputValueError::custom)
            }

            fn is_valid(value: &Value) -> bool {
                parse_counter(value, $what).is_ok()
            }

            fn to_value(&self) -> Value {
                Value::String(self.0.to_string())
            }
        }
    };
}

counter_scalar!(
    /// A position in the global event log (1 is the first event): an unsigned integer up
    /// to 2^63 − 1, sent as a string of decimal digits so that no client rounds it; an
    /// `Int` literal is accepted as input too. Later events have larger positions; pass a
    /// command's `position` as `waitForPosition` to read your own writes.
    Position,
    "Position",
    "a Position"
);

counter_scalar!(
    /// The number of events in one stream (a case, a unit, an assessment year) after a
    /// command: 1 after the first. Sent as a string of decimal digits like `Position`;
    /// pass it back as `expectedVersion` to refuse a command if anyone wrote since.
    StreamVersion,
    "StreamVersion",
    "a StreamVersion"
);

/// The GraphQL `Date`: a calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar day, `YYYY-MM-DD` (ISO 8601 / RFC 3339 `full-date`), read in
/// Asia/Shanghai where a period or a deadline is meant: `2026-03-02` is that day in
/// China.
#[Scalar(
    name = "Date",
    specified_by_url = "https://scalars.graphql.org/andimarek/local-date"
)]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|_| text.len() == 10)
                .map(Date)
                .ok_or_else(|| {
                    InputValueError::custom(format!(
                        "a Date is written YYYY-MM-DD, e.g. 2026-03-02, not {text:?}"
                    ))
                }),
            other => Err(InputValueError::custom(format!(
                "a Date is a string YYYY-MM-DD, not {other}"
            ))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Json(pub serde_json::Value);

/// Any JSON value (RFC 8259): an event's structured payload, exactly as stored,
/// personal fields redacted by role.
#[Scalar(
    name = "JSON",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc8259"
)]
impl ScalarType for Json {
    fn parse(value: Value) -> InputValueResult<Self> {
        value
            .into_json()
            .map(Json)
            .map_err(|e| InputValueError::custom(e.to_string()))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

/// An instant in UTC, written as RFC 3339 (`2026-03-02T09:00:00Z`; an offset such as
/// `+08:00` is accepted on input and converted). Days and periods are read in
/// Asia/Shanghai elsewhere; instants are always UTC.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for Instant {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => text
                .parse::<chrono::DateTime<chrono::Utc>>()
                .map(Instant)
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "a DateTime is written as RFC 3339, e.g. 2026-03-02T09:00:00Z, not {text:?}"
                    ))
                }),
            other => Err(InputValueError::custom(format!(
                "a DateTime is an RFC 3339 string, not {other}"
            ))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

/// The GraphQL `DateTime`: a UTC instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub chrono::DateTime<chrono::Utc>);
