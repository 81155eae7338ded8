//! Whistle's domain: the vocabulary of 舆情吹哨,部门联动, the events that are the system's
//! public contract, the commands that produce them, and the three aggregates (case, unit,
//! assessment) written as pure `decide` and `evolve` functions.
//!
//! Nothing here does I/O or knows about async, SQL, HTTP or GraphQL: the time of a command
//! and the identity of whoever issues it arrive inside the command, and everything that
//! needs the outside world (the event store, other streams) is resolved by the caller.

pub mod access;
pub mod actor;
pub mod assessment;
pub mod calendar;
pub mod case;
pub mod commands;
pub mod error;
pub mod events;
pub mod ids;
pub mod rules;
pub mod text;
pub mod unit;
pub mod vocabulary;

pub use actor::{Actor, Role};
pub use commands::{AssessmentCommand, CaseCommand, Command, UnitCommand};
pub use error::{DomainError, ParseError};
pub use events::{Event, EventRecordError};
pub use ids::*;
pub use vocabulary::*;
