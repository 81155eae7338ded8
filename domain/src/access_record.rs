//! The record of every look at a case's personal data (a post author's identity), as an
//! [`Aggregate`] on the case's access stream (`access-<case>`): reading an author's
//! identity appends who looked, when, at which fields and through which path, so
//! inspectors can answer "who looked at this person's identity". Only those who may see
//! authors (docs/domain/trust.md) can have a look recorded; the record holds no personal
//! data itself.

use serde::Serialize;

use crate::access::may_see_post_authors;
use crate::aggregate::Aggregate;
use crate::commands::Command;
use crate::error::{DomainError, ParseError};
use crate::events::Event;
use crate::ids::CaseId;
use crate::refusal::Refusal;
use crate::stream::StreamId;
use crate::vocabulary::CommandKind;

/// The one command on an access stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AccessCommand {
    /// Record that the actor was shown `fields` of the case through `path`.
    RecordView { fields: Vec<String>, path: String },
}

/// The access record of one case.
pub struct PersonalDataAccessAggregate;

/// Nothing is decided from earlier looks; the stream's version orders them.
#[derive(Debug, Clone, Default)]
pub struct AccessState;

impl Aggregate for PersonalDataAccessAggregate {
    type Id = CaseId;
    type State = AccessState;
    type Command = AccessCommand;

    fn stream_id(id: &CaseId) -> StreamId {
        StreamId::PersonalDataAccess(*id)
    }

    fn kind(_command: &AccessCommand) -> CommandKind {
        CommandKind::RecordPersonalDataView
    }

    fn evolve(state: AccessState, _event: &Event) -> AccessState {
        state
    }

    fn decide(
        case_id: &CaseId,
        _state: &AccessState,
        command: &Command<AccessCommand>,
    ) -> Result<Vec<Event>, DomainError> {
        let AccessCommand::RecordView { fields, path } = &command.body;
        if !may_see_post_authors(&command.actor) {
            return Err(Refusal::RoleNotAllowed {
                command: CommandKind::RecordPersonalDataView,
                allowed: vec![
                    crate::actor::Role::Monitor,
                    crate::actor::Role::Dispatcher,
                    crate::actor::Role::Police,
                    crate::actor::Role::Inspector,
                ],
                role: command.actor.role,
            }
            .into());
        }
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
        Command {
            actor: Actor::new(
                UserId::parse("u1").unwrap(),
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
        let events =
            PersonalDataAccessAggregate::decide(&case_id, &AccessState, &command(Role::Inspector))
                .unwrap();
        assert!(matches!(
            &events[..],
            [Event::PersonalDataViewed { case_id: c, .. }] if *c == case_id
        ));
        assert!(
            PersonalDataAccessAggregate::decide(&case_id, &AccessState, &command(Role::Officer))
                .is_err()
        );
        assert_eq!(
            PersonalDataAccessAggregate::stream_id(&case_id).to_string(),
            format!("access-{case_id}")
        );
    }
}
