//! The dashboard's counts per Asia/Shanghai flagging day (`rm_case_day_counts`), kept by
//! the projector, so the live dashboard over all cases (or whole days of them) adds up
//! a few rows per figure and day instead of grouping every case once per figure.
//!
//! A row counts the cases flagged on a day that show one key of one figure now: all of
//! them, the open ones, each status, level (`untriaged` before triage), lead unit,
//! platform, problem class and category. After a batch, each case it created or changed
//! takes back what it counted for as loaded and adds what it counts for now (a
//! retriaged case its old and new categories); the differences are added to the rows,
//! and a row that comes to nothing is deleted — so the rows depend on the events
//! applied, not on the batches.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AnyConnection;
use whistle_domain::{CaseStatus, Vocabulary};

use super::rows::{Case, Category};
use crate::ProjectionError;
use crate::batch::{Rows, add_to_sums, delete_nothing, load_where_in};

pub(super) const TABLE: &str = "rm_case_day_counts";

/// A figure of the dashboard the counts keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CountedFigure {
    Total,
    Open,
    Status,
    Level,
    LeadUnit,
    Platform,
    ProblemClass,
    Category,
}

impl CountedFigure {
    pub(crate) const ALL: [CountedFigure; 8] = [
        CountedFigure::Total,
        CountedFigure::Open,
        CountedFigure::Status,
        CountedFigure::Level,
        CountedFigure::LeadUnit,
        CountedFigure::Platform,
        CountedFigure::ProblemClass,
        CountedFigure::Category,
    ];

    /// Its name in `rm_case_day_counts.figure`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            CountedFigure::Total => "total",
            CountedFigure::Open => "open",
            CountedFigure::Status => "status",
            CountedFigure::Level => "level",
            CountedFigure::LeadUnit => "lead_unit",
            CountedFigure::Platform => "platform",
            CountedFigure::ProblemClass => "problem_class",
            CountedFigure::Category => "category",
        }
    }
}

/// The key a figure counts a case under (`None`: the case is not counted by it). The
/// totals have the empty key; a case not yet triaged counts under level `untriaged`.
pub(crate) const UNTRIAGED: &str = "untriaged";

type CountKey = (CountedFigure, String, String);

/// What a case counts for: (figure, key, flagging day).
fn counted_for(case: &Case) -> Vec<CountKey> {
    let day = || case.flagged_day.clone();
    let mut keys = vec![
        (CountedFigure::Total, String::new(), day()),
        (CountedFigure::Status, case.status.clone(), day()),
        (
            CountedFigure::Level,
            case.level.clone().unwrap_or_else(|| UNTRIAGED.to_owned()),
            day(),
        ),
        (CountedFigure::Platform, case.platform.clone(), day()),
    ];
    if case.status != CaseStatus::Closed.key() {
        keys.push((CountedFigure::Open, String::new(), day()));
    }
    if let Some(unit) = &case.lead_unit {
        keys.push((CountedFigure::LeadUnit, unit.clone(), day()));
    }
    if let Some(class) = &case.problem_class {
        keys.push((CountedFigure::ProblemClass, class.clone(), day()));
    }
    keys
}

/// The differences a batch makes to the counts: its cases as loaded and now, and the
/// categories of the cases whose categories it replaced (`replaced`, the new ones).
pub(super) async fn differences(
    c: &mut AnyConnection,
    cases: &Rows<Case>,
    replaced: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<CountKey, i64>, ProjectionError> {
    let mut differences: BTreeMap<CountKey, i64> = BTreeMap::new();
    for (loaded, now) in cases.touched() {
        for key in loaded.map(counted_for).unwrap_or_default() {
            *differences.entry(key).or_default() -= 1;
        }
        for key in counted_for(now) {
            *differences.entry(key).or_default() += 1;
        }
    }
    if !replaced.is_empty() {
        let case_ids: Vec<String> = replaced.keys().cloned().collect();
        let stored: Vec<Category> = load_where_in(c, "case_id", &case_ids, None).await?;
        let day_of = |case_id: &str| -> Result<String, ProjectionError> {
            cases
                .get(&case_id.to_owned())
                .map(|case| case.flagged_day.clone())
                .ok_or_else(|| ProjectionError::Unreadable {
                    position: 0,
                    reason: format!(
                        "case {case_id}'s categories changed but it is not on the board"
                    ),
                })
        };
        for category in stored {
            let day = day_of(&category.case_id)?;
            *differences
                .entry((CountedFigure::Category, category.category, day))
                .or_default() -= 1;
        }
        for (case_id, categories) in replaced {
            let day = day_of(case_id)?;
            for category in categories {
                *differences
                    .entry((CountedFigure::Category, category.clone(), day.clone()))
                    .or_default() += 1;
            }
        }
    }
    differences.retain(|_, difference| *difference != 0);
    Ok(differences)
}

/// Add `differences` to the counts and delete the rows that come to nothing.
pub(super) async fn write(
    c: &mut AnyConnection,
    differences: &BTreeMap<CountKey, i64>,
) -> Result<(), ProjectionError> {
    let rows: Vec<(Vec<String>, Vec<i64>)> = differences
        .iter()
        .map(|((figure, key, day), difference)| {
            (
                vec![figure.key().to_owned(), day.clone(), key.clone()],
                vec![*difference],
            )
        })
        .collect();
    add_to_sums(
        c,
        TABLE,
        &["figure", "flagged_day", "figure_key"],
        &["cases"],
        &rows,
    )
    .await?;
    let days: Vec<String> = differences
        .keys()
        .map(|(_, _, day)| day.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Every figure named, so the key's index (figure, flagged_day, …) finds the days'
    // rows instead of the whole table being read.
    let figures: Vec<String> = CountedFigure::ALL
        .iter()
        .map(|figure| format!("'{}'", figure.key()))
        .collect();
    let by_figure = format!("figure IN ({})", figures.join(", "));
    delete_nothing(c, TABLE, &["cases"], "flagged_day", &days, Some(&by_figure)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::CountedFigure as F;

    /// `ALL` names every figure once: a new figure must be numbered here (the match is
    /// exhaustive) and then be in `ALL` for the numbers to run on.
    #[test]
    fn all_names_every_figure_once() {
        let number = |figure: F| match figure {
            F::Total => 0,
            F::Open => 1,
            F::Status => 2,
            F::Level => 3,
            F::LeadUnit => 4,
            F::Platform => 5,
            F::ProblemClass => 6,
            F::Category => 7,
        };
        let numbers: Vec<usize> = F::ALL.iter().map(|f| number(*f)).collect();
        assert_eq!(numbers, (0..8).collect::<Vec<_>>());
    }
}
