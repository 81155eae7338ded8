//! Who acts: a person with one role, belonging to one unit. Roles and what each may do
//! follow docs/domain/people.md; the `System` role is reserved for events the service writes
//! itself (deadline warnings and misses) and cannot be issued to a person.

use serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::ids::{UnitId, UserId};
use crate::refusal::Refusal;
use crate::text::{TextKind, normalize};
use crate::vocabulary::{CommandKind, Vocabulary};

crate::vocabulary::vocabulary_role!();

/// The person (or the system) issuing a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub unit: UnitId,
}

impl Actor {
    pub fn new(user_id: UserId, name: &str, role: Role, unit: UnitId) -> Result<Self, ParseError> {
        let name = normalize("name", name, TextKind::Name)?;
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ParseError::new(
                "name",
                "a display name of 1-100 characters is required",
            ));
        }
        Ok(Self {
            user_id,
            name,
            role,
            unit,
        })
    }

    /// The service itself, writing deadline events; it belongs to the cyberspace office
    /// unit configured for the deployment.
    pub fn system(unit: UnitId) -> Self {
        Self {
            user_id: UserId::system(),
            name: "系统".to_owned(),
            role: Role::System,
            unit,
        }
    }

    /// Refuse unless the actor has one of `roles`.
    pub fn require_role(&self, roles: &[Role], command: CommandKind) -> Result<(), Refusal> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Refusal::RoleNotAllowed {
                command,
                allowed: roles.to_vec(),
                role: self.role,
            })
        }
    }

    /// Refuse unless the actor belongs to `unit`.
    pub fn require_unit(&self, unit: &UnitId, command: CommandKind) -> Result<(), Refusal> {
        if &self.unit == unit {
            Ok(())
        } else {
            Err(Refusal::NotYourUnit {
                command,
                unit: unit.clone(),
                actor_unit: self.unit.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_role_cannot_be_parsed_from_outside() {
        assert!(Role::parse_person_role("system").is_err());
        assert_eq!(Role::parse_person_role("officer").unwrap(), Role::Officer);
        assert_eq!(Role::Inspector.label_zh(), "纪检监察");
    }
}
