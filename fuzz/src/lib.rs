//! Whistle's fuzz targets, as plain functions of an input's bytes that panic when an
//! invariant does not hold: [`case_commands`] (the domain: command sequences through
//! `decide` and `evolve`) and [`graphql_request`] (the request path: one request through
//! the whole router). libFuzzer drives them from `fuzz/libfuzzer` (nightly, `cargo fuzz`);
//! the end-to-end suite replays every input kept in `fuzz/corpus/` on stable, so a
//! finding, once its input is saved there, is a regression test.

pub mod case_commands;
pub mod graphql_request;
