//! The unit aggregate (单位): registered, renamed and deactivated by an administrator.
//! Units are event-sourced like cases, so "which units existed, under which name, when"
//! is itself part of the record.

use crate::actor::Role;
use crate::aggregate::Aggregate;
use crate::commands::{Command, ReferencedUnit, UnitCommand};
use crate::error::DomainError;
use crate::events::Event;
use crate::ids::UnitId;
use crate::refusal::Refusal;
use crate::stream::StreamId;
use crate::vocabulary::{CommandKind, UnitKind, Vocabulary};

/// What the write side knows about one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub unit_id: Option<UnitId>,
    pub name: String,
    pub kind: Option<UnitKind>,
    pub parent: Option<UnitId>,
    pub active: bool,
}

impl UnitState {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), evolve)
    }

    /// The unit as a command on another stream may reference it, if it exists.
    pub fn as_reference(&self) -> Option<ReferencedUnit> {
        Some(ReferencedUnit {
            unit_id: self.unit_id.clone()?,
            name: self.name.clone(),
            kind: self.kind?,
            active: self.active,
        })
    }
}

/// The unit as an [`Aggregate`].
pub struct UnitAggregate;

impl Aggregate for UnitAggregate {
    type Id = UnitId;
    type State = UnitState;
    type Command = UnitCommand;

    fn stream_id(id: &UnitId) -> StreamId {
        StreamId::Unit(id.clone())
    }

    fn kind(command: &UnitCommand) -> CommandKind {
        command.kind()
    }

    fn evolve(state: UnitState, event: &Event) -> UnitState {
        evolve(state, event)
    }

    fn decide(
        id: &UnitId,
        state: &UnitState,
        command: &Command<UnitCommand>,
    ) -> Result<Vec<Event>, DomainError> {
        decide(id, state, command)
    }
}

/// Decide a command on the unit `unit_id`: only administrators register, rename and
/// deactivate units.
pub fn decide(
    unit_id: &UnitId,
    state: &UnitState,
    command: &Command<UnitCommand>,
) -> Result<Vec<Event>, DomainError> {
    command
        .actor
        .require_role(&[Role::Admin], command.body.kind())?;
    match &command.body {
        UnitCommand::RegisterUnit {
            name,
            kind,
            parent,
            jurisdiction,
        } => {
            if state.unit_id.is_some() {
                return Err(Refusal::UnitAlreadyRegistered(unit_id.clone()).into());
            }
            if let Some(parent) = parent {
                if !parent.active {
                    return Err(Refusal::ParentDeactivated(parent.unit_id.clone()).into());
                }
                if &parent.unit_id == unit_id {
                    return Err(Refusal::OwnParent.into());
                }
            }
            Ok(vec![Event::UnitRegistered {
                unit_id: unit_id.clone(),
                name: name.clone(),
                kind: *kind,
                parent: parent.as_ref().map(|p| p.unit_id.clone()),
                jurisdiction: jurisdiction.clone(),
            }])
        }
        UnitCommand::RenameUnit { name } => {
            let unit_id = registered(unit_id, state)?;
            if state.name == name.as_str() {
                return Err(Refusal::UnitAlreadyNamed {
                    unit: unit_id,
                    name: name.to_string(),
                }
                .into());
            }
            Ok(vec![Event::UnitRenamed {
                unit_id,
                from: state.name.clone(),
                to: name.clone(),
            }])
        }
        UnitCommand::DeactivateUnit { reason } => {
            let unit_id = registered(unit_id, state)?;
            if !state.active {
                return Err(Refusal::UnitAlreadyDeactivated(unit_id).into());
            }
            Ok(vec![Event::UnitDeactivated {
                unit_id,
                reason: reason.clone(),
            }])
        }
    }
}

fn registered(unit_id: &UnitId, state: &UnitState) -> Result<UnitId, Refusal> {
    state
        .unit_id
        .clone()
        .ok_or_else(|| Refusal::UnitNotRegistered(unit_id.clone()))
}

pub fn evolve(mut state: UnitState, event: &Event) -> UnitState {
    match event {
        Event::UnitRegistered {
            unit_id,
            name,
            kind,
            parent,
            ..
        } => {
            state.unit_id = Some(unit_id.clone());
            state.name = name.as_str().to_owned();
            state.kind = Some(*kind);
            state.parent = parent.clone();
            state.active = true;
        }
        Event::UnitRenamed { to, .. } => state.name = to.as_str().to_owned(),
        Event::UnitDeactivated { .. } => state.active = false,
        _ => {}
    }
    state
}

impl std::fmt::Display for UnitState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.unit_id, self.kind) {
            (Some(id), Some(kind)) => write!(f, "{} ({id}, {})", self.name, kind.label_zh()),
            _ => f.write_str("(unregistered unit)"),
        }
    }
}
