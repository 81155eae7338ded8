//! The fuzz targets' inputs, replayed on stable: every input kept in `fuzz/corpus/`
//! (what libFuzzer found that reaches new code, minimised) and in `fuzz/regressions/`
//! (the hardening review's attacks and every finding once fixed, never minimised away)
//! runs through its target in `whistle-fuzz`, which panics when an invariant breaks. So
//! a finding saved there is a regression test of the ordinary suite.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package sits in the workspace")
        .join("fuzz");
    let mut inputs = Vec::new();
    for kept in ["corpus", "regressions"] {
        let folder = fuzz.join(kept).join(target);
        if !folder.exists() {
            continue;
        }
        for entry in
            std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        {
            let path = entry.expect("the entry is readable").path();
            if path.is_file() {
                inputs.push(path);
            }
        }
    }
    inputs.sort();
    inputs
}

fn replay(target: &str, mut run: impl FnMut(&[u8])) {
    let inputs = inputs(target);
    assert!(
        inputs.len() >= 100,
        "{target}: only {} inputs",
        inputs.len()
    );
    for input in inputs {
        let data = std::fs::read(&input).expect("the input is readable");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
        assert!(
            outcome.is_ok(),
            "{target}: {} breaks an invariant",
            input.display()
        );
    }
}

/// Every input holds the domain's invariants, and together they reach every kind of case
/// event (a corpus that stopped at flagging would prove little).
#[test]
fn the_domain_corpus_holds_every_invariant_and_reaches_every_case_event() {
    let mut reached = BTreeSet::new();
    replay("case_commands", |data| {
        reached.extend(whistle_fuzz::case_commands::events_accepted(data));
    });
    let case_events: Vec<&str> = whistle_domain::events::EVENT_TYPES
        .iter()
        .copied()
        .skip_while(|t| *t != "PostFlagged")
        .take_while(|t| *t != "PenaltyApplied")
        .collect();
    assert_eq!(case_events.len(), 34);
    let missing: Vec<&&str> = case_events
        .iter()
        .filter(|t| !reached.contains(*t))
        .collect();
    assert!(missing.is_empty(), "the corpus never reaches {missing:?}");
}

/// Every request, the attacks of the hardening review among them, is answered in time,
/// without a 5xx, with a coded error or data.
#[test]
fn the_request_corpus_is_answered_within_its_contract() {
    let regressions = inputs("graphql_request")
        .iter()
        .filter(|p| p.to_string_lossy().contains("regressions"))
        .count();
    assert!(regressions >= 30, "{regressions} regression inputs");
    replay("graphql_request", whistle_fuzz::graphql_request::run);
}
