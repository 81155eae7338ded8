//! Personal data kept apart from the log (docs/domain/trust.md). On append, each
//! personal field of an event (`whistle_domain::access::PERSONAL_FIELDS`) is taken out of
//! the payload and stored in `personal_data` with a random salt; the payload keeps a
//! commitment in its place, `{"whistle_personal": "<sha256 hex>"}`. On read the values
//! are put back, and a value that has been erased reads [`ERASED`]. The audit leaf covers
//! the stored payload, hence the commitment: erasing a value never changes a leaf, and
//! the salt keeps an erased value from being guessed back by hashing candidates.

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use whistle_domain::access::PERSONAL_FIELDS;

/// The key of the object that stands for a personal value in a stored payload.
pub const MARKER: &str = "whistle_personal";

/// What an erased personal value reads as.
pub use whistle_domain::access::ERASED;

/// Domain separation for the commitment.
const COMMITMENT_CONTEXT: &[u8] = b"whistle/personal/v1";

/// A personal value taken out of a payload, to be stored beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalValue {
    pub pointer: &'static str,
    pub salt: String,
    pub value: String,
}

/// The commitment to `value` under `salt`: SHA-256 over the context, a NUL, the salt, a
/// NUL and the value, as lower-case hex.
pub fn commitment(salt: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(COMMITMENT_CONTEXT);
    hasher.update([0]);
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(value.as_bytes());
    format!("{:x}", hasher.finalize())
}

/// Take the personal values out of `payload` (an event of `event_type`), leaving
/// commitments in their place.
pub fn split(event_type: &str, payload: &mut Value) -> Vec<PersonalValue> {
    let mut taken = Vec::new();
    for field in PERSONAL_FIELDS
        .iter()
        .filter(|f| f.event_type == event_type)
    {
        let Some(slot) = payload.pointer_mut(field.pointer) else {
            continue;
        };
        let Value::String(value) = slot else {
            continue;
        };
        let salt = uuid::Uuid::new_v4().simple().to_string();
        let value = std::mem::take(value);
        *slot = serde_json::json!({ MARKER: commitment(&salt, &value) });
        taken.push(PersonalValue {
            pointer: field.pointer,
            salt,
            value,
        });
    }
    taken
}

/// The personal values kept for each of `event_ids`: event id → pointer → (salt, value).
/// An event whose values were erased is absent.
pub type StoredValues = HashMap<String, HashMap<String, (String, String)>>;

/// Read the personal values kept beside the events `event_ids`, a few lookups at a time.
pub async fn stored_values(
    db: &crate::Database,
    event_ids: &[String],
) -> Result<StoredValues, crate::StoreError> {
    let mut values = StoredValues::new();
    if event_ids.is_empty() {
        return Ok(values);
    }
    let mut connection = db.pool().acquire().await?;
    for row in crate::appender::fetch_in(&mut connection, event_ids, |placeholders| {
        format!(
            "SELECT event_id, pointer, salt, value FROM personal_data WHERE event_id IN ({})",
            placeholders.join(", ")
        )
    })
    .await?
    {
        values
            .entry(row.try_get(0)?)
            .or_default()
            .insert(row.try_get(1)?, (row.try_get(2)?, row.try_get(3)?));
    }
    Ok(values)
}

/// Does a stored payload hold any commitment (so its values must be joined back)?
pub fn has_commitments(stored_payload: &str) -> bool {
    stored_payload.contains(MARKER)
}

/// Put the values of `stored` (pointer → (salt, value)) back into `payload`; a
/// commitment without a stored value (erased) reads [`ERASED`]. A stored value that does
/// not match its commitment is reported, never shown.
pub fn join(
    event_type: &str,
    payload: &mut Value,
    stored: &HashMap<String, (String, String)>,
) -> Result<(), String> {
    for field in PERSONAL_FIELDS
        .iter()
        .filter(|f| f.event_type == event_type)
    {
        let Some(slot) = payload.pointer_mut(field.pointer) else {
            continue;
        };
        let Some(committed) = slot.get(MARKER).and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        *slot = match stored.get(field.pointer) {
            Some((salt, value)) => {
                if commitment(salt, value) != committed {
                    return Err(format!(
                        "the personal value at {} does not match its commitment",
                        field.pointer
                    ));
                }
                Value::String(value.clone())
            }
            None => Value::String(ERASED.to_owned()),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_split_off_committed_and_joined_back_or_read_as_erased() {
        let original = serde_json::json!({ "case_id": "c", "post": { "url": "u", "author": "微博用户@张三" } });
        let mut stored = original.clone();
        let taken = split("PostFlagged", &mut stored);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].value, "微博用户@张三");
        assert!(!stored.to_string().contains("张三"));
        assert!(has_commitments(&stored.to_string()));
        let values: HashMap<String, (String, String)> = taken
            .iter()
            .map(|t| (t.pointer.to_owned(), (t.salt.clone(), t.value.clone())))
            .collect();
        let mut read = stored.clone();
        join("PostFlagged", &mut read, &values).unwrap();
        assert_eq!(read, original);
        let mut erased = stored.clone();
        join("PostFlagged", &mut erased, &HashMap::new()).unwrap();
        assert_eq!(erased["post"]["author"], ERASED);
        // The same value under another salt commits differently.
        assert_ne!(commitment("a", "张三"), commitment("b", "张三"));
        // A tampered value is refused.
        let mut forged = values.clone();
        forged.get_mut("/post/author").unwrap().1 = "李四".to_owned();
        assert!(join("PostFlagged", &mut stored.clone(), &forged).is_err());
        // No author, nothing taken.
        let mut anonymous = serde_json::json!({ "post": { "author": null } });
        assert!(split("PostFlagged", &mut anonymous).is_empty());
    }
}
