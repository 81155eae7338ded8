//! Instants are stored as microseconds since the Unix epoch (UTC) in 64-bit integers, the
//! one time representation every SQL backend reads and orders the same way.

use chrono::{DateTime, Utc};

pub fn to_micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

pub fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}
