//! The ledger's leaf: a canonical binary encoding of one stored event.
//!
//! Every column of the `events` row goes in, as stored, in a fixed order: integers as
//! 8-byte big-endian, text as a 4-byte big-endian length and its UTF-8 bytes, an absent
//! value as a 0 byte (present: a 1 byte, then the value). The payload is committed by its
//! SHA-256, so a payload can one day be erased (its hash kept) without breaking a proof.
//! The encoding starts with a version tag; a new encoding would be a new tag.

use sha2::{Digest, Sha256};

use crate::merkle::{Hash, leaf_hash};

/// Names the encoding; part of every leaf.
pub const LEAF_ENCODING: &str = "whistle/leaf/v1";

pub use whistle_store::StoredEvent;

/// A stored event as a leaf of the ledger.
pub trait Leaf {
    /// SHA-256 of the payload text as stored.
    fn payload_hash(&self) -> Hash;
    /// The canonical encoding (the leaf's bytes), with the payload by its hash.
    fn leaf(&self) -> Vec<u8>;
    /// The RFC 6962 leaf hash of [`Leaf::leaf`].
    fn leaf_hash(&self) -> Hash;
}

impl Leaf for StoredEvent {
    fn payload_hash(&self) -> Hash {
        Sha256::digest(self.payload.as_bytes()).into()
    }

    fn leaf(&self) -> Vec<u8> {
        encode_leaf(self, &self.payload_hash())
    }

    fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.leaf())
    }
}

fn text(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// The leaf of `event` with `payload_hash` standing for its payload.
pub fn encode_leaf(event: &StoredEvent, payload_hash: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    text(&mut out, LEAF_ENCODING);
    integer(&mut out, event.position);
    text(&mut out, &event.event_id);
    text(&mut out, &event.stream_id);
    integer(&mut out, event.stream_version);
    text(&mut out, &event.event_type);
    integer(&mut out, event.schema_version);
    integer(&mut out, event.recorded_at);
    text(&mut out, &event.actor_id);
    text(&mut out, &event.actor_name);
    text(&mut out, &event.actor_role);
    text(&mut out, &event.actor_unit);
    text(&mut out, &event.command_id);
    text(&mut out, &event.correlation_id);
    match &event.causation_id {
        None => out.push(0),
        Some(id) => {
            out.push(1);
            text(&mut out, id);
        }
    }
    out.extend_from_slice(payload_hash);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> StoredEvent {
        StoredEvent {
            position: 7,
            event_id: "0193a1f0-0000-7000-8000-000000000001".into(),
            stream_id: "case-1".into(),
            stream_version: 2,
            event_type: "CaseAssigned".into(),
            schema_version: 1,
            payload: r#"{"case_id":"1"}"#.into(),
            recorded_at: 1_772_413_200_000_000,
            actor_id: "d1".into(),
            actor_name: "王研判".into(),
            actor_role: "dispatcher".into(),
            actor_unit: "city-cac".into(),
            command_id: "c".into(),
            correlation_id: "c".into(),
            causation_id: None,
        }
    }

    #[test]
    fn every_column_changes_the_leaf() {
        let original = event().leaf_hash();
        type Change = Box<dyn Fn(&mut StoredEvent)>;
        let changes: Vec<Change> = vec![
            Box::new(|e| e.position += 1),
            Box::new(|e| e.event_id.push('0')),
            Box::new(|e| e.stream_id.push('0')),
            Box::new(|e| e.stream_version += 1),
            Box::new(|e| e.event_type.push('X')),
            Box::new(|e| e.schema_version += 1),
            Box::new(|e| e.payload.push(' ')),
            Box::new(|e| e.recorded_at += 1),
            Box::new(|e| e.actor_id.push('0')),
            Box::new(|e| e.actor_name = "王研".into()),
            Box::new(|e| e.actor_role = "leader".into()),
            Box::new(|e| e.actor_unit.push('0')),
            Box::new(|e| e.command_id.push('0')),
            Box::new(|e| e.correlation_id.push('0')),
            Box::new(|e| e.causation_id = Some(String::new())),
        ];
        for (n, change) in changes.iter().enumerate() {
            let mut changed = event();
            change(&mut changed);
            assert_ne!(changed.leaf_hash(), original, "change {n} went unnoticed");
        }
    }

    #[test]
    fn lengths_keep_neighbouring_fields_apart() {
        let mut a = event();
        a.actor_id = "ab".into();
        a.actor_name = "c".into();
        let mut b = event();
        b.actor_id = "a".into();
        b.actor_name = "bc".into();
        assert_ne!(a.leaf(), b.leaf());
    }
}
