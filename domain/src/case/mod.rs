//! The case aggregate (舆情事项): one stream per case, from the first flagged post to
//! closing and reopening. [`decide`] enforces the lifecycle of docs/domain/lifecycle.md
//! and the role and unit scope of docs/domain/people.md; [`evolve`] folds events into
//! the [`CaseState`] `decide` needs, and nothing more.

mod decide;
mod evolve;
mod state;

pub use decide::decide;
pub use evolve::evolve;
pub use state::*;

use crate::aggregate::{Aggregate, UniqueKey};
use crate::commands::{CaseCommand, Command};
use crate::error::DomainError;
use crate::events::Event;
use crate::ids::CaseId;
use crate::stream::StreamId;
use crate::vocabulary::CommandKind;

/// The case as an [`Aggregate`].
pub struct CaseAggregate;

impl Aggregate for CaseAggregate {
    type Id = CaseId;
    type State = CaseState;
    type Command = CaseCommand;

    fn stream_id(id: &CaseId) -> StreamId {
        StreamId::Case(*id)
    }

    fn kind(command: &CaseCommand) -> CommandKind {
        command.kind()
    }

    fn evolve(state: CaseState, event: &Event) -> CaseState {
        evolve(state, event)
    }

    fn decide(
        id: &CaseId,
        state: &CaseState,
        command: &Command<CaseCommand>,
    ) -> Result<Vec<Event>, DomainError> {
        decide(*id, state, command)
    }

    /// A flagged or attached post claims its URL: one URL never opens two cases.
    fn unique_keys(command: &CaseCommand) -> Vec<UniqueKey> {
        match command {
            CaseCommand::FlagPost { post, .. } | CaseCommand::AttachPost { post, .. } => {
                vec![UniqueKey::PostUrl(post.url.clone())]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
