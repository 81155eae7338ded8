//! Whistle's domain: the vocabulary of 舆情吹哨,部门联动, the events that are the system's
//! public contract, the commands that produce them, and the three aggregates (case, unit,
//! assessment), each an [`Aggregate`]: pure `decide` and `evolve` functions. Beside them,
//! [`access`] says who may read what, and [`refusal`] why a command is refused.
//!
//! Nothing here does I/O or knows about async, SQL, HTTP or GraphQL: the time of a command
//! and the identity of whoever issues it arrive inside the command, and everything that
//! needs the outside world (the event store, other streams) is resolved by the caller.
//! docs/domain/ describes the domain these modules implement.

pub mod access;
pub mod access_record;
pub mod actor;
pub mod aggregate;
pub mod assessment;
pub mod calendar;
pub mod case;
pub mod commands;
pub mod error;
pub mod events;
pub mod ids;
pub mod post_url;
pub mod refusal;
pub mod rules;
pub mod stream;
pub mod text;
pub mod unit;
pub mod vocabulary;

pub use actor::{Actor, Role};
pub use aggregate::{Aggregate, UniqueKey};
pub use commands::{AssessmentCommand, CaseCommand, Command, UnitCommand};
pub use error::{DomainError, ParseError};
pub use events::{Event, EventRecordError};
pub use ids::*;
pub use refusal::{Refusal, RefusalKind};
pub use stream::{StreamCategory, StreamId};
pub use vocabulary::*;
