//! A case's personal data record, as an [`Aggregate`] on the case's access stream
//! (`access-<case>`): every look at a post author's identity (who looked, when, at which
//! fields and through which path, so inspectors can answer "who looked at this person's
//! identity"), and the erasure of the case's personal data on legal request — proposed
//! by one person with a legal basis, approved by a second (four eyes), both of the roles
//! the rules name ([`ERASURE_ROLES`] by default) — or by the system when the retention period after closing
//! has run out. Only those who may see authors (docs/domain/trust.md) can have a look
//! recorded; the record holds no personal data itself.

use serde::Serialize;

use crate::access::SEES_POST_AUTHORS;
use crate::actor::Role;
use crate::aggregate::Aggregate;
use crate::commands::Command;
use crate::error::{DomainError, ParseError};
use crate::events::Event;
use crate::ids::{CaseId, ErasureId, UserId};
use crate::refusal::Refusal;
use crate::stream::StreamId;
use crate::text::RequiredText;
use crate::vocabulary::CommandKind;

/// The roles that may propose and approve an erasure by default (the rules file's
/// `privacy.erasure_roles` sets others): the cyberspace office's dispatchers, who hold
/// the record, and inspectors.
pub const ERASURE_ROLES: &[Role] = &[Role::Dispatcher, Role::Inspector];

/// The commands on an access stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AccessCommand {
    /// Record that the actor was shown `fields` of the case through `path`.
    RecordView { fields: Vec<String>, path: String },
    /// Ask that the case's personal data be erased, on `legal_basis`.
    ProposeErasure {
        erasure_id: ErasureId,
        legal_basis: RequiredText,
    },
    /// Approve another person's proposal: the personal data is erased.
    ApproveErasure { erasure_id: ErasureId },
    /// The system erases the personal data of a case closed longer ago than the
    /// retention period.
    EraseAfterRetention {
        erasure_id: ErasureId,
        legal_basis: RequiredText,
    },
}

/// The access record of one case.
pub struct PersonalDataAccessAggregate;

/// What earlier events of the stream decide: the open proposals and whether the data
/// has been erased (looks decide nothing).
#[derive(Debug, Clone, Default)]
pub struct AccessState {
    /// Open proposals: who proposed, on which basis.
    proposals: Vec<(ErasureId, UserId, RequiredText)>,
    /// Erased at least once (the retention period erases once).
    erased: bool,
}

impl Aggregate for PersonalDataAccessAggregate {
    type Id = CaseId;
    type State = AccessState;
    type Command = AccessCommand;

    fn stream_id(id: &CaseId) -> StreamId {
        StreamId::PersonalDataAccess(*id)
    }

    fn kind(command: &AccessCommand) -> CommandKind {
        match command {
            AccessCommand::RecordView { .. } => CommandKind::RecordPersonalDataView,
            AccessCommand::ProposeErasure { .. } => CommandKind::ProposePersonalDataErasure,
            AccessCommand::ApproveErasure { .. } => CommandKind::ApprovePersonalDataErasure,
            AccessCommand::EraseAfterRetention { .. } => {
                CommandKind::ErasePersonalDataAfterRetention
            }
        }
    }

    fn evolve(mut state: AccessState, event: &Event) -> AccessState {
        match event {
            Event::PersonalDataErasureProposed {
                erasure_id,
                legal_basis,
                proposed_by,
                ..
            } => state
                .proposals
                .push((*erasure_id, proposed_by.clone(), legal_basis.clone())),
            Event::PersonalDataErased { erasure_id, .. } => {
                state.proposals.retain(|(id, _, _)| id != erasure_id);
                state.erased = true;
            }
            _ => {}
        }
        state
    }

    fn erases_personal_data_of(id: &CaseId, new_events: &[Event]) -> Option<StreamId> {
        new_events
            .iter()
            .any(|e| matches!(e, Event::PersonalDataErased { .. }))
            .then_some(StreamId::Case(*id))
    }

    fn decide(
        case_id: &CaseId,
        state: &AccessState,
        command: &Command<AccessCommand>,
    ) -> Result<Vec<Event>, DomainError> {
        let kind = Self::kind(&command.body);
        let (fields, path) = match &command.body {
            AccessCommand::RecordView { fields, path } => (fields, path),
            AccessCommand::ProposeErasure {
                erasure_id,
                legal_basis,
            } => {
                // A case erased before may have gained posts since: it may be erased
                // again.
                command
                    .actor
                    .require_role(&command.rules.erasure_roles, kind)?;
                return Ok(vec![Event::PersonalDataErasureProposed {
                    case_id: *case_id,
                    erasure_id: *erasure_id,
                    legal_basis: legal_basis.clone(),
                    proposed_by: command.actor.user_id.clone(),
                }]);
            }
            AccessCommand::ApproveErasure { erasure_id } => {
                command
                    .actor
                    .require_role(&command.rules.erasure_roles, kind)?;
                let (_, proposed_by, legal_basis) = state
                    .proposals
                    .iter()
                    .find(|(id, _, _)| id == erasure_id)
                    .ok_or(Refusal::NoSuchErasure(*erasure_id))?;
                if proposed_by == &command.actor.user_id {
                    return Err(Refusal::FourEyes.into());
                }
                return Ok(vec![Event::PersonalDataErased {
                    case_id: *case_id,
                    erasure_id: *erasure_id,
                    legal_basis: legal_basis.clone(),
                    proposed_by: Some(proposed_by.clone()),
                }]);
            }
            AccessCommand::EraseAfterRetention {
                erasure_id,
                legal_basis,
            } => {
                command.actor.require_role(&[Role::System], kind)?;
                if state.erased {
                    return Err(Refusal::PersonalDataAlreadyErased.into());
                }
                return Ok(vec![Event::PersonalDataErased {
                    case_id: *case_id,
                    erasure_id: *erasure_id,
                    legal_basis: legal_basis.clone(),
                    proposed_by: None,
                }]);
            }
        };
        command
            .actor
            .require_role(SEES_POST_AUTHORS, CommandKind::RecordPersonalDataView)?;
        if fields.is_empty() || path.trim().is_empty() || path.len() > 200 {
            return Err(ParseError::new(
                "access",
                "a look names at least one field and a path of at most 200 bytes",
            )
            .into());
        }
        Ok(vec![Event::PersonalDataViewed {
            case_id: *case_id,
            fields: fields.clone(),
            path: path.clone(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{Actor, Role};
    use crate::ids::{UnitId, UserId};

    fn command(role: Role) -> Command<AccessCommand> {
        by("u1", role)
    }

    fn by(user: &str, role: Role) -> Command<AccessCommand> {
        Command {
            actor: Actor::new(
                UserId::parse(user).unwrap(),
                "某人",
                role,
                UnitId::parse("city-discipline").unwrap(),
            )
            .unwrap(),
            issued_at: chrono::Utc::now(),
            rules: crate::rules::CaseRules::default(),
            body: AccessCommand::RecordView {
                fields: vec!["post.author".to_owned()],
                path: "Post.author".to_owned(),
            },
        }
    }

    #[test]
    fn a_look_is_recorded_for_those_who_may_look_only() {
        let case_id = CaseId::from_uuid(uuid::Uuid::now_v7());
        let events = PersonalDataAccessAggregate::decide(
            &case_id,
            &AccessState::default(),
            &command(Role::Inspector),
        )
        .unwrap();
        assert!(matches!(
            &events[..],
            [Event::PersonalDataViewed { case_id: c, .. }] if *c == case_id
        ));
        assert!(
            PersonalDataAccessAggregate::decide(
                &case_id,
                &AccessState::default(),
                &command(Role::Officer)
            )
            .is_err()
        );
        assert_eq!(
            PersonalDataAccessAggregate::stream_id(&case_id).to_string(),
            format!("access-{case_id}")
        );
    }

    #[test]
    fn an_erasure_needs_a_second_pair_of_eyes_and_happens_once() {
        let case_id = CaseId::from_uuid(uuid::Uuid::now_v7());
        let erasure_id = ErasureId::from_uuid(uuid::Uuid::now_v7());
        let with = |mut c: Command<AccessCommand>, body| {
            c.body = body;
            c
        };
        let basis = RequiredText::parse("legalBasis", "个人信息保护法第四十七条").unwrap();
        let propose = with(
            by("d1", Role::Dispatcher),
            AccessCommand::ProposeErasure {
                erasure_id,
                legal_basis: basis.clone(),
            },
        );
        let proposed =
            PersonalDataAccessAggregate::decide(&case_id, &AccessState::default(), &propose)
                .unwrap();
        let state = PersonalDataAccessAggregate::fold(&proposed);
        let approve =
            |user: &str, role| with(by(user, role), AccessCommand::ApproveErasure { erasure_id });
        let refused = |result: Result<Vec<Event>, DomainError>| match result {
            Err(DomainError::Refused(refusal)) => refusal.code(),
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            refused(PersonalDataAccessAggregate::decide(
                &case_id,
                &state,
                &approve("d1", Role::Dispatcher)
            )),
            "four_eyes"
        );
        assert_eq!(
            refused(PersonalDataAccessAggregate::decide(
                &case_id,
                &state,
                &approve("o1", Role::Officer)
            )),
            "role_not_allowed"
        );
        let erased =
            PersonalDataAccessAggregate::decide(&case_id, &state, &approve("i1", Role::Inspector))
                .unwrap();
        assert!(PersonalDataAccessAggregate::erases_personal_data_of(&case_id, &erased).is_some());
        assert!(
            PersonalDataAccessAggregate::erases_personal_data_of(&case_id, &proposed).is_none()
        );
        let mut all = proposed.clone();
        all.extend(erased);
        let state = PersonalDataAccessAggregate::fold(&all);
        // The proposal is settled; approving it again finds nothing.
        assert_eq!(
            refused(PersonalDataAccessAggregate::decide(
                &case_id,
                &state,
                &approve("i2", Role::Inspector)
            )),
            "no_such_erasure"
        );
        // The retention period erases a case once.
        let retention = with(
            Command {
                actor: Actor::system(UnitId::parse("city-cac").unwrap()),
                ..by("d1", Role::Dispatcher)
            },
            AccessCommand::EraseAfterRetention {
                erasure_id: ErasureId::from_uuid(uuid::Uuid::now_v7()),
                legal_basis: basis,
            },
        );
        assert_eq!(
            refused(PersonalDataAccessAggregate::decide(
                &case_id, &state, &retention
            )),
            "personal_data_already_erased"
        );
        assert!(
            PersonalDataAccessAggregate::decide(&case_id, &AccessState::default(), &retention)
                .is_ok()
        );
    }
}
