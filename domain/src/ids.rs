//! Identifiers and other parsed values: once one of these exists it is valid, so code
//! past the boundary never checks it again.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ParseError;
use crate::text::{TextKind, normalize};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            pub fn parse(raw: &str) -> Result<Self, ParseError> {
                Uuid::parse_str(raw.trim())
                    .map(Self)
                    .map_err(|_| ParseError::new($field, format!("`{raw}` is not a UUID")))
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// One case (舆情事项): one real-world problem and its event stream.
    CaseId,
    "caseId"
);
uuid_id!(
    /// One assignment (转办) of a case to a unit.
    AssignmentId,
    "assignmentId"
);
uuid_id!(
    /// One reply (反馈) submitted by a unit.
    ReplyId,
    "replyId"
);
uuid_id!(
    /// One memo (抄告单) sent to a leader.
    MemoId,
    "memoId"
);
uuid_id!(
    /// One rumour referral (移交公安).
    ReferralId,
    "referralId"
);
uuid_id!(
    /// One erasure of a case's personal data on legal request.
    ErasureId,
    "erasureId"
);
uuid_id!(
    /// One penalty (问责/扣分).
    PenaltyId,
    "penaltyId"
);
uuid_id!(
    /// One commendation (表扬/加分).
    CommendationId,
    "commendationId"
);
uuid_id!(
    /// One accountability referral (移送问责) to discipline inspection.
    AccountabilityId,
    "accountabilityId"
);
uuid_id!(
    /// The idempotency key of one command: retrying with the same id returns the first
    /// result and appends nothing.
    CommandId,
    "commandId"
);

/// A unit's code, e.g. `city-housing`: lowercase ASCII letters, digits and `-`, 2 to 64
/// characters, starting with a letter. Codes are stable; names can change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(String);

impl UnitId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let code = raw.trim();
        let valid_chars = code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(2..=64).contains(&code.len())
            || !valid_chars
            || !code.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return Err(ParseError::new(
                "unitId",
                format!(
                    "`{raw}` is not a unit code: use 2-64 lowercase letters, digits or '-', starting with a letter"
                ),
            ));
        }
        Ok(Self(code.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UnitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's user id as issued by the identity provider (1-128 printable characters,
/// no spaces, nothing invisible).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let id = normalize("userId", raw, TextKind::Name)?;
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_whitespace) {
            return Err(ParseError::new(
                "userId",
                format!("`{raw}` is not a user id: 1-128 characters without spaces"),
            ));
        }
        Ok(Self(id))
    }
    /// The actor the system itself uses for deadline events.
    pub fn system() -> Self {
        Self("system".to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub use crate::post_url::PostUrl;

/// A problem class (类问题): a short tag grouping recurring cases, e.g. `道路塌陷`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProblemClass(String);

impl ProblemClass {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let class = normalize("problemClass", raw, TextKind::Name)?;
        if class.is_empty() || class.chars().count() > 50 {
            return Err(ParseError::new("problemClass", "must be 1-50 characters"));
        }
        Ok(Self(class))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ProblemClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_parse_only_when_well_formed() {
        for good in ["city-housing", "wxb", "town-03"] {
            assert!(UnitId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "City",
            "3town",
            "has space",
            "住建局",
            &"x".repeat(65),
        ] {
            assert!(UnitId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_refuse_what_is_not_a_uuid() {
        assert!(CaseId::parse("not-a-uuid").is_err());
        let id = Uuid::now_v7();
        assert_eq!(CaseId::parse(&id.to_string()).unwrap().as_uuid(), id);
    }
}
