//! One module per `whistle` subcommand: its flags and what it does.

pub mod audit;
pub mod bulletin;
pub mod calendar;
pub mod demo;
pub mod export;
pub mod migrate;
pub mod projections;
pub mod serve;
pub mod token;
