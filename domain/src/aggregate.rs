//! The one shape every aggregate has (case, unit, assessment): a state folded from the
//! aggregate's own stream with `evolve`, and `decide`, which turns a command into the
//! events it produces or a refusal. Both are pure; the command handler in `whistle-app`
//! does the I/O around them for any aggregate.

use crate::commands::Command;
use crate::error::DomainError;
use crate::events::Event;
use crate::ids::PostUrl;
use crate::refusal::Refusal;
use crate::stream::StreamId;
use crate::vocabulary::CommandKind;

/// An event-sourced aggregate.
pub trait Aggregate {
    /// What names one instance (and its stream).
    type Id: Clone + std::fmt::Debug + Send + Sync;
    /// What `decide` needs to know, and nothing more.
    type State: Default + Clone + Send + Sync;
    /// The commands on one instance.
    type Command: Clone + std::fmt::Debug + Send + Sync + serde::Serialize;

    /// The stream an instance's events go to.
    fn stream_id(id: &Self::Id) -> StreamId;

    /// What `command` does (for logs, refusals and the command record).
    fn kind(command: &Self::Command) -> CommandKind;

    /// Apply one event to the state; events of other aggregates leave it unchanged.
    fn evolve(state: Self::State, event: &Event) -> Self::State;

    /// The events `command` produces on the instance `id` in `state`, or why not.
    fn decide(
        id: &Self::Id,
        state: &Self::State,
        command: &Command<Self::Command>,
    ) -> Result<Vec<Event>, DomainError>;

    /// Keys the command claims for its stream alone, in the same transaction as its
    /// events (a post URL opens one case only).
    fn unique_keys(_command: &Self::Command) -> Vec<UniqueKey> {
        Vec::new()
    }

    /// The stream whose personal values these new events erase (deleted in the same
    /// transaction that records them); none for almost every event.
    fn erases_personal_data_of(_id: &Self::Id, _new_events: &[Event]) -> Option<StreamId> {
        None
    }

    /// Fold a stream's events into the state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self::State {
        events
            .into_iter()
            .fold(Self::State::default(), Self::evolve)
    }
}

/// A key that may belong to one stream only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniqueKey {
    /// One post URL, one case.
    PostUrl(PostUrl),
}

impl UniqueKey {
    /// The namespace the key is unique in (stored with the claim).
    pub fn namespace(&self) -> &'static str {
        match self {
            UniqueKey::PostUrl(_) => "post_url",
        }
    }

    /// The key's text as stored.
    pub fn key(&self) -> &str {
        match self {
            UniqueKey::PostUrl(url) => url.as_str(),
        }
    }

    /// Why a command is refused when the key already belongs to `owner`.
    pub fn taken_by(&self, owner: &str) -> Refusal {
        match self {
            UniqueKey::PostUrl(url) => Refusal::PostOnAnotherCase {
                url: url.to_string(),
                case_id: match StreamId::parse(owner) {
                    Ok(StreamId::Case(case_id)) => case_id.to_string(),
                    _ => owner.to_owned(),
                },
            },
        }
    }
}
